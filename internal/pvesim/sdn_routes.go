package pvesim

// sdnRoutes declares /cluster/sdn as the official schema has it (formats
// included, which the router takes from the schema). Zone
// types vxlan, evpn and faucet are declared (the schema lists them) but
// refused by the handlers: the simulator has no underlay to emulate.
func sdnRoutes() []route {
	lockToken := strP("lock-token").opt()
	pending, running := boolP("pending").opt(), boolP("running").opt()
	deleteList := strP("delete").opt().maxLen(4096)
	digest := strP("digest").opt().maxLen(64)
	zoneID := strP("zone")
	vnetID := strP("vnet")
	subnetParam := strP("subnet")
	zoneTypes := []string{"evpn", "faucet", "qinq", "simple", "vlan", "vxlan"}

	zoneOptions := []Param{
		boolP("advertise-subnets").opt(),
		strP("bridge").opt(),
		boolP("bridge-disable-mac-learning").opt(),
		strP("controller").opt(),
		strP("dhcp").opt().oneOf("dnsmasq"),
		boolP("disable-arp-nd-suppression").opt(),
		strP("dns").opt(),
		strP("dnszone").opt(),
		intP("dp-id").opt(),
		strP("exitnodes").opt(),
		boolP("exitnodes-local-routing").opt(),
		strP("exitnodes-primary").opt(),
		strP("fabric").opt(),
		strP("ipam").opt(),
		lockToken,
		strP("mac").opt(),
		intP("mtu").opt(),
		strP("nodes").opt(),
		strP("peers").opt(),
		strP("reversedns").opt(),
		strP("rt-import").opt(),
		intP("tag").opt().atLeast(0),
		strP("vlan-protocol").opt().oneOf("802.1q", "802.1ad"),
		intP("vrf-vxlan").opt().between(1, 16777215),
		intP("vxlan-port").opt().between(1, 65536),
		zoneID,
	}
	vnetOptions := []Param{
		strP("alias").opt().maxLen(256).matching(`(?i:[\(\)-_.\w\d\s]{0,256})`),
		boolP("isolate-ports").opt(),
		lockToken,
		intP("tag").opt().between(1, 16777215),
		boolP("vlanaware").opt(),
		vnetID,
	}
	subnetOptions := []Param{
		strP("dhcp-dns-server").opt(),
		strP("dnszoneprefix").opt(),
		strP("gateway").opt(),
		lockToken,
		boolP("snat").opt(),
		subnetParam,
	}

	return []route{
		{method: "GET", path: "/cluster/sdn", handle: (*Cluster).sdnIndex, perm: checked(needs("/sdn", "SDN.Audit"))},
		{method: "PUT", path: "/cluster/sdn", params: []Param{lockToken, boolP("release-lock").opt()}, handle: (*Cluster).sdnApply, perm: checked(needs("/sdn", "SDN.Allocate"))},
		{method: "POST", path: "/cluster/sdn/lock", params: []Param{boolP("allow-pending").opt()}, handle: (*Cluster).sdnLock, perm: checked(needs("/sdn", "SDN.Allocate"))},
		{method: "DELETE", path: "/cluster/sdn/lock", params: []Param{boolP("force").opt(), lockToken}, handle: (*Cluster).sdnUnlock, perm: checked(needs("/sdn", "SDN.Allocate"))},
		{method: "POST", path: "/cluster/sdn/rollback", params: []Param{lockToken, boolP("release-lock").opt()}, handle: (*Cluster).sdnRollback, perm: checked(needs("/sdn", "SDN.Allocate"))},

		{method: "GET", path: "/cluster/sdn/zones", params: []Param{pending, running, strP("type").opt().oneOf(zoneTypes...)}, handle: (*Cluster).listZones, perm: permAll},
		{method: "POST", path: "/cluster/sdn/zones", params: withParams(zoneOptions, strP("type").oneOf(zoneTypes...)), handle: (*Cluster).createZone, perm: checked(needs("/sdn/zones", "SDN.Allocate"))},
		{method: "GET", path: "/cluster/sdn/zones/{zone}", params: []Param{pending, running, zoneID}, handle: (*Cluster).readZone, perm: checked(needs("/sdn/zones/{zone}", "SDN.Allocate"))},
		{method: "PUT", path: "/cluster/sdn/zones/{zone}", params: withParams(zoneOptions, deleteList, digest), handle: (*Cluster).updateZone, perm: checked(needs("/sdn/zones/{zone}", "SDN.Allocate"))},
		{method: "DELETE", path: "/cluster/sdn/zones/{zone}", params: []Param{lockToken, zoneID}, handle: (*Cluster).deleteZone, perm: checked(needs("/sdn/zones/{zone}", "SDN.Allocate"))},

		{method: "GET", path: "/cluster/sdn/vnets", params: []Param{pending, running}, handle: (*Cluster).listVnets, perm: permAll},
		{method: "POST", path: "/cluster/sdn/vnets", params: withParams(vnetOptions, strP("type").opt().oneOf("vnet"), strP("zone")), handle: (*Cluster).createVnet, perm: checked(needs("/sdn/zones/{zone}", "SDN.Allocate"))},
		{method: "GET", path: "/cluster/sdn/vnets/{vnet}", params: []Param{pending, running, vnetID}, handle: (*Cluster).readVnet, perm: permAll},
		{method: "PUT", path: "/cluster/sdn/vnets/{vnet}", params: withParams(vnetOptions, deleteList, digest, strP("zone").opt()), handle: (*Cluster).updateVnet, perm: permAll},
		{method: "DELETE", path: "/cluster/sdn/vnets/{vnet}", params: []Param{lockToken, vnetID}, handle: (*Cluster).deleteVnet, perm: permAll},

		{method: "GET", path: "/cluster/sdn/vnets/{vnet}/subnets", params: []Param{pending, running, vnetID}, handle: (*Cluster).listSubnets, perm: permAll},
		{method: "POST", path: "/cluster/sdn/vnets/{vnet}/subnets", params: withParams(subnetOptions, strP("type").oneOf("subnet"), strP("vnet")), handle: (*Cluster).createSubnet, perm: permAll},
		{method: "GET", path: "/cluster/sdn/vnets/{vnet}/subnets/{subnet}", params: []Param{pending, running, subnetParam, vnetID}, handle: (*Cluster).readSubnet, perm: permAll},
		{method: "PUT", path: "/cluster/sdn/vnets/{vnet}/subnets/{subnet}", params: withParams(subnetOptions, deleteList, digest, strP("vnet").opt()), handle: (*Cluster).updateSubnet, perm: permAll},
		{method: "DELETE", path: "/cluster/sdn/vnets/{vnet}/subnets/{subnet}", params: []Param{lockToken, subnetParam, vnetID}, handle: (*Cluster).deleteSubnet, perm: permAll},
	}
}
