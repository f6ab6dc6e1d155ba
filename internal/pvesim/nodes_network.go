package pvesim

// GET /nodes/{node}/network as PVE::API2::Network lists it: the node's
// interfaces from /etc/network/interfaces (here: one physical port and the
// configured bridges), filtered by type; any_bridge, vnet and include_sdn
// add the applied SDN vnets.

func nodeNetworkRoutes() []route {
	return []route{{
		method: "GET", path: "/nodes/{node}/network", proxyNode: true,
		params: []Param{nodeParam, strP("type").opt().oneOf("bridge", "bond", "eth", "alias", "vlan", "fabric",
			"OVSBridge", "OVSBond", "OVSPort", "OVSIntPort", "vnet", "any_bridge", "any_local_bridge", "include_sdn")},
		handle: (*Cluster).nodeNetwork, perm: permAll,
	}}
}

func (c *Cluster) nodeNetwork(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ifaces := []map[string]any{{
		"iface": "eno1", "type": "eth", "method": "manual", "method6": "manual", "families": []string{"inet"},
		"active": 1, "exists": 1, "priority": 1,
	}}
	for i, b := range c.cfg.Bridges {
		ifaces = append(ifaces, map[string]any{
			"iface": b, "type": "bridge", "method": "manual", "method6": "manual", "families": []string{"inet"},
			"active": 1, "autostart": 1, "bridge_ports": map[bool]string{true: "eno1", false: ""}[i == 0],
			"bridge_stp": "off", "bridge_fd": "0", "bridge_vlan_aware": 1, "bridge_vids": "2-4094", "priority": i + 2,
		})
	}
	typ := req.str("type")
	out := []map[string]any{}
	for _, it := range ifaces {
		t := it["type"].(string)
		bridge := t == "bridge" || t == "OVSBridge"
		if typ == "" || typ == "include_sdn" || typ == t || bridge && (typ == "any_bridge" || typ == "any_local_bridge") {
			out = append(out, it)
		}
	}
	if typ == "any_bridge" || typ == "vnet" || typ == "include_sdn" {
		for _, name := range sortedKeys(c.sdn.running.vnets) {
			out = append(out, map[string]any{"iface": name, "type": "vnet", "active": 1})
		}
	}
	return out, nil
}
