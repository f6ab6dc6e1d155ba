package pvesim

// SDNState is a snapshot of a cluster's SDN configuration for tests.
type SDNState struct {
	Applied        SDNConfig // the running configuration (last PUT /cluster/sdn)
	Pending        SDNConfig // the edited configuration the next apply makes live
	PendingChanges bool      // Pending differs from Applied
	Locked         bool      // the global SDN lock is held
	LockToken      string    // the held lock's token ("" when free)
}

// SDNConfig is one SDN configuration; every list is sorted by ID.
type SDNConfig struct {
	Zones   []SDNZone
	Vnets   []SDNVnet
	Subnets []SDNSubnet
}

// SDNZone is one zone. Options holds every stored value, raw.
type SDNZone struct {
	Zone, Type, Bridge, VLANProtocol string
	Tag, MTU                         int
	Options                          map[string]string
}

// SDNVnet is one vnet.
type SDNVnet struct {
	Vnet, Zone, Alias string
	Tag               int
	VLANAware         bool
}

// SDNSubnet is one subnet; ID is "<zone>-<cidr with / as ->".
type SDNSubnet struct {
	ID, CIDR, Vnet, Zone, Gateway string
	SNAT                          bool
}

// SDN returns copies of the applied and pending SDN configuration.
func (c *Cluster) SDN() SDNState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return SDNState{
		Applied:        c.sdn.running.snapshot(),
		Pending:        c.sdn.pending.snapshot(),
		PendingChanges: c.sdn.hasPendingChanges(),
		Locked:         c.sdn.lockToken != "",
		LockToken:      c.sdn.lockToken,
	}
}

// Zone finds a zone by ID.
func (s SDNConfig) Zone(id string) (SDNZone, bool) {
	for _, z := range s.Zones {
		if z.Zone == id {
			return z, true
		}
	}
	return SDNZone{}, false
}

// Vnet finds a vnet by ID.
func (s SDNConfig) Vnet(id string) (SDNVnet, bool) {
	for _, v := range s.Vnets {
		if v.Vnet == id {
			return v, true
		}
	}
	return SDNVnet{}, false
}

// Subnet finds a subnet by ID.
func (s SDNConfig) Subnet(id string) (SDNSubnet, bool) {
	for _, sn := range s.Subnets {
		if sn.ID == id {
			return sn, true
		}
	}
	return SDNSubnet{}, false
}

func (c sdnConfig) snapshot() SDNConfig {
	var out SDNConfig
	for _, id := range sortedKeys(c.zones) {
		z := c.zones[id]
		out.Zones = append(out.Zones, SDNZone{
			Zone: id, Type: z["type"], Bridge: z["bridge"], VLANProtocol: z["vlan-protocol"],
			Tag: atoiDef(z["tag"], 0), MTU: atoiDef(z["mtu"], 0), Options: copyMap(z),
		})
	}
	for _, id := range sortedKeys(c.vnets) {
		v := c.vnets[id]
		out.Vnets = append(out.Vnets, SDNVnet{
			Vnet: id, Zone: v["zone"], Alias: v["alias"], Tag: atoiDef(v["tag"], 0), VLANAware: v["vlanaware"] == "1",
		})
	}
	for _, id := range sortedKeys(c.subnets) {
		s := c.subnets[id]
		zone, cidr := subnetCIDR(id)
		out.Subnets = append(out.Subnets, SDNSubnet{
			ID: id, CIDR: cidr, Vnet: s["vnet"], Zone: zone, Gateway: s["gateway"], SNAT: s["snat"] == "1",
		})
	}
	return out
}
