package dcrouter

import (
	"context"
	"fmt"
)

// NetworkInterface is one entry of GET /nodes/{node}/network.
type NetworkInterface struct {
	Iface  string
	Type   string // "bridge", "OVSBridge", "eth", "vnet", ...
	Active bool
	Ports  string // bridge_ports: a bridge without any is isolated from the outside
}

// NodeNetwork returns GET /nodes/{node}/network; typ is PVE's filter ("any_bridge" lists node
// bridges and SDN vnets), "" for every local interface.
func (c *Client) NodeNetwork(ctx context.Context, node, typ string) ([]NetworkInterface, error) {
	if err := checkNode(node); err != nil {
		return nil, fmt.Errorf("%s: %w", c.dc, err)
	}
	var q map[string]any
	if typ != "" {
		q = map[string]any{"type": typ}
	}
	var items []struct {
		Iface  flexString `json:"iface"`
		Type   flexString `json:"type"`
		Active flexBool   `json:"active"`
		Ports  flexString `json:"bridge_ports"`
	}
	if err := c.Get(ctx, "/nodes/"+pathSegment(node)+"/network", q, &items); err != nil {
		return nil, err
	}
	out := make([]NetworkInterface, len(items))
	for i, it := range items {
		out[i] = NetworkInterface{Iface: string(it.Iface), Type: string(it.Type), Active: bool(it.Active), Ports: string(it.Ports)}
	}
	return out, nil
}
