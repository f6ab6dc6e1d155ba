package migration

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// NICTarget is where one NIC of the VM goes in the target datacenter.
type NICTarget struct {
	Bridge  string       // a vnet or a plain bridge
	VLAN    int          // tag on a plain bridge; 0 on a vnet
	IP      netip.Prefix // cloud-init address; invalid: none (or, with Alloc, not assigned yet)
	Gateway netip.Addr
	// Alloc is the allocation behind a vnet target; its address is assigned once the VM is in
	// the target (Networks.Address), so a move never reserves an address it does not use.
	Alloc *network.Allocation
	// Want is an address the configuration asks for (an error when unusable); the VM's own
	// current address is kept only when it is a free host of the allocation.
	Want netip.Addr
}

// Networks turns network references into networks of a datacenter: allocation ids
// ("DC1/acme/default"), "vlan<N>" on the datacenter's bridge, or bridge names. It is the one
// resolver both the VM resource and moves use.
type Networks struct {
	Pools map[string]*datacenter.Network // by datacenter; nil entry: no pools
	Addrs *network.Addresses
}

// Resolve turns one reference into a network of dst's datacenter, without assigning an address.
func (n *Networks) Resolve(ctx context.Context, dst *dcrouter.Client, ref string) (NICTarget, error) {
	dc := dst.DC()
	if r, err := network.ParseID(ref); err == nil {
		if r.DC != dc {
			return NICTarget{}, fmt.Errorf("allocation %s belongs to datacenter %s, not %s; datacenters' networks are isolated", ref, r.DC, dc)
		}
		pools := n.Pools[dc]
		if pools == nil {
			return NICTarget{}, fmt.Errorf("datacenter %q declares no network block in the provider configuration, so it has no allocations", dc)
		}
		a, found, err := network.Get(ctx, dst, *pools, r)
		if err != nil {
			return NICTarget{}, err
		}
		if !found {
			return NICTarget{}, fmt.Errorf("allocation %s does not exist in datacenter %s", ref, dc)
		}
		return NICTarget{Bridge: a.Vnet, Gateway: a.Gateway, Alloc: &a}, nil
	}
	if tag, ok := strings.CutPrefix(ref, "vlan"); ok {
		var v int
		if _, err := fmt.Sscanf(tag, "%d", &v); err == nil && v >= 1 && v <= 4094 && fmt.Sprint(v) == tag {
			return NICTarget{Bridge: n.bridge(dc), VLAN: v}, nil
		}
	}
	return NICTarget{Bridge: ref}, nil
}

func (n *Networks) bridge(dc string) string {
	if p := n.Pools[dc]; p != nil && p.Bridge != "" {
		return p.Bridge
	}
	return "vmbr0"
}

// Address fills t.IP for an allocation target: t.Want when set (an error if it is not free),
// else cur when it is a free host of the allocation (the VM keeps its address), else the next
// free host. vmid is the VM itself, whose own address does not count as taken.
func (n *Networks) Address(ctx context.Context, dst *dcrouter.Client, t *NICTarget, cur netip.Addr, vmid int) error {
	if t.Alloc == nil {
		return nil
	}
	if t.Want.IsValid() {
		ip, err := n.Addrs.Assign(ctx, dst, *t.Alloc, t.Want, vmid)
		t.IP = ip
		return err
	}
	if cur.IsValid() && t.Alloc.CIDR.Contains(cur) {
		if ip, err := n.Addrs.Assign(ctx, dst, *t.Alloc, cur, vmid); err == nil {
			t.IP = ip
			return nil
		}
	}
	ip, err := n.Addrs.Assign(ctx, dst, *t.Alloc, netip.Addr{}, vmid)
	t.IP = ip
	return err
}

// Keys are the names a network_mapping may use for a NIC of src: its allocation id,
// "vlan<tag>", or its bridge.
func (n *Networks) Keys(ctx context.Context, src *dcrouter.Client, nic vm.NIC) []string {
	var keys []string
	if p := n.Pools[src.DC()]; p != nil {
		if a, found, err := network.Get(ctx, src, *p, network.Ref{Vnet: nic.Bridge}); err == nil && found {
			if a.ClientID != "" {
				keys = append(keys, a.ID())
			}
			keys = append(keys, fmt.Sprintf("vlan%d", a.VLAN))
		}
	}
	if nic.VLAN > 0 {
		keys = append(keys, fmt.Sprintf("vlan%d", nic.VLAN))
	}
	return append(keys, nic.Bridge)
}

// NICPlan says where a VM's NICs go.
type NICPlan interface {
	// Targets: a target for each NIC of the VM as it is in src.
	Targets(ctx context.Context, src, dst *dcrouter.Client, nics []vm.NIC) ([]NICTarget, error)
	// Arrived: a target for each NIC of a VM that is in dst already, its bridges mapped by
	// remote_migrate (an interrupted move resumed, the source gone).
	Arrived(ctx context.Context, dst *dcrouter.Client, nics []vm.NIC) ([]NICTarget, error)
}

// Mapping is a network_mapping: source network reference to target network reference.
type Mapping struct {
	Nets *Networks
	Map  map[string]string
}

// Targets resolves the mapping for every NIC; an unmapped NIC is an error naming it and the
// keys that would map it.
func (m Mapping) Targets(ctx context.Context, src, dst *dcrouter.Client, nics []vm.NIC) ([]NICTarget, error) {
	out := make([]NICTarget, len(nics))
	for i, nic := range nics {
		keys := m.Nets.Keys(ctx, src, nic)
		target, ok := "", false
		for _, k := range keys {
			if target, ok = m.Map[k]; ok {
				break
			}
		}
		if !ok {
			q := make([]string, len(keys))
			for j, k := range keys {
				q[j] = fmt.Sprintf("%q", k)
			}
			return nil, fmt.Errorf("network interface net%d (bridge %s) has no entry in network_mapping; map one of: %s", i, nic.Bridge, strings.Join(q, ", "))
		}
		t, err := m.Nets.Resolve(ctx, dst, target)
		if err != nil {
			return nil, fmt.Errorf("network_mapping of net%d: %w", i, err)
		}
		out[i] = t
	}
	return out, nil
}

// Arrived finds, for each NIC, the mapping value that put it on its bridge; a NIC no single
// value explains keeps its network.
func (m Mapping) Arrived(ctx context.Context, dst *dcrouter.Client, nics []vm.NIC) ([]NICTarget, error) {
	byBridge := map[string][]NICTarget{}
	for _, v := range m.Map {
		t, err := m.Nets.Resolve(ctx, dst, v)
		if err != nil {
			continue // a value for another datacenter (a mapping used both ways)
		}
		byBridge[t.Bridge] = append(byBridge[t.Bridge], t)
	}
	out := make([]NICTarget, len(nics))
	for i, nic := range nics {
		out[i] = NICTarget{Bridge: nic.Bridge, VLAN: nic.VLAN}
		if ts := byBridge[nic.Bridge]; len(ts) > 0 {
			same := true
			for _, t := range ts[1:] {
				same = same && t.VLAN == ts[0].VLAN
			}
			if same {
				out[i] = ts[0]
			}
		}
	}
	return out, nil
}

// ConfigNIC is a NIC as a VM's configuration gives it for its (new) datacenter.
type ConfigNIC struct {
	AllocationID string
	Bridge       string
	VLAN         int
	IP           netip.Addr // wanted address on an allocation; invalid: any
}

// Configured places NICs where the VM's own configuration says, index by index.
type Configured struct {
	Nets *Networks
	NICs []ConfigNIC
}

// Targets resolves the configuration; a VM with another number of NICs than configured
// cannot be mapped (PVE maps bridges, so each NIC needs a target).
func (c Configured) Targets(ctx context.Context, _, dst *dcrouter.Client, nics []vm.NIC) ([]NICTarget, error) {
	if len(nics) != len(c.NICs) {
		return nil, fmt.Errorf("the VM has %d network interfaces but network_interface lists %d; make them match before moving", len(nics), len(c.NICs))
	}
	return c.Arrived(ctx, dst, nics)
}

// Arrived resolves the configuration in dst.
func (c Configured) Arrived(ctx context.Context, dst *dcrouter.Client, nics []vm.NIC) ([]NICTarget, error) {
	out := make([]NICTarget, len(nics))
	for i := range nics {
		if i >= len(c.NICs) {
			out[i] = NICTarget{Bridge: nics[i].Bridge, VLAN: nics[i].VLAN}
			continue
		}
		n := c.NICs[i]
		if n.AllocationID == "" {
			out[i] = NICTarget{Bridge: n.Bridge, VLAN: n.VLAN}
			continue
		}
		t, err := c.Nets.Resolve(ctx, dst, n.AllocationID)
		if err != nil {
			return nil, fmt.Errorf("network_interface %d: %w", i, err)
		}
		t.Want = n.IP
		out[i] = t
	}
	return out, nil
}
