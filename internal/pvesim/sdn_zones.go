package pvesim

// zonePlugins lists, per supported zone type, the options its plugin
// accepts and whether each is required (PVE's plugin options()).
var zonePlugins = map[string]map[string]bool{
	"simple": {"nodes": false, "mtu": false, "dns": false, "reversedns": false, "dnszone": false, "ipam": false, "dhcp": false},
	"vlan": {"nodes": false, "bridge": true, "bridge-disable-mac-learning": false, "mtu": false,
		"dns": false, "reversedns": false, "dnszone": false, "ipam": false},
	"qinq": {"nodes": false, "tag": true, "bridge": true, "bridge-disable-mac-learning": false, "mtu": false,
		"vlan-protocol": false, "dns": false, "reversedns": false, "dnszone": false, "ipam": false},
}

// sectionValues collects a request's option values, leaving out the keys
// the API extracts before the plugin sees them.
func sectionValues(req *request, extracted ...string) sdnSection {
	out := sdnSection{}
	for k, v := range req.params {
		if !contains(extracted, k) {
			out[k] = v
		}
	}
	return out
}

// checkOptions is SectionConfig's check_config against a plugin's options.
func checkOptions(opts map[string]bool, values sdnSection, create bool) *apiError {
	for _, k := range sortedKeys(values) {
		if _, ok := opts[k]; !ok {
			return failf("unexpected property '%s'", k)
		}
	}
	if create {
		for _, k := range sortedKeys(opts) {
			if _, ok := values[k]; opts[k] && !ok {
				return failf("missing value for required option '%s'", k)
			}
		}
	}
	return nil
}

// applyDelete is SectionConfig's delete_from_config for a "delete" list.
func applyDelete(section sdnSection, opts map[string]bool, set sdnSection, list string) *apiError {
	for _, k := range splitList(list) {
		required, known := opts[k]
		switch _, setToo := set[k]; {
		case !known:
			return failf("no such option '%s'", k)
		case required:
			return failf("unable to delete required option '%s'", k)
		case setToo:
			return failf("cannot set and delete property '%s' at the same time!", k)
		}
		delete(section, k)
	}
	return nil
}

// checkDigest is assert_if_modified on one SDN file.
func checkDigest(req *request, f sdnFile) *apiError {
	if d := req.str("digest"); d != "" && d != f.digest() {
		return failf("detected modified configuration - file changed by other user? Try again.")
	}
	return nil
}

// checkZoneRefs checks what a zone names elsewhere: the simulator has no
// DNS plugins and only PVE's built-in "pve" IPAM.
func checkZoneRefs(values sdnSection) *apiError {
	if dns := values["dns"]; dns != "" {
		return paramErr("dns", dns+" don't exist")
	}
	if rdns := values["reversedns"]; rdns != "" {
		return paramErr("reversedns", rdns+" don't exist")
	}
	if values["dnszone"] != "" {
		return paramErr("dnszone", "missing dns server")
	}
	if ipam := values["ipam"]; ipam != "" && ipam != "pve" {
		return paramErr("ipam", ipam+" not existing")
	}
	return nil
}

func zonesOf(c sdnConfig) sdnFile { return c.zones }

func (c *Cluster) listZones(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	objs, digest := c.sdn.view(listMode(req), zonesOf)
	out := []map[string]any{}
	for _, id := range sortedKeys(objs) {
		o := objs[id]
		if t := req.str("type"); t != "" && o["type"] != t {
			continue
		}
		if !c.acl.HasAny(req.user, "/sdn/zones/"+id, sdnRead...) {
			continue
		}
		o["zone"], o["digest"] = id, digest
		out = append(out, o)
	}
	return out, nil
}

func (c *Cluster) readZone(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := req.str("zone")
	objs, digest := c.sdn.view(listMode(req), zonesOf)
	o, ok := objs[id]
	if !ok {
		return nil, failf("sdn zone '%s' does not exist", id)
	}
	o["zone"], o["digest"] = id, digest
	return o, nil
}

// createZone validates the plugin options before taking the config lock,
// as PVE does, so option errors carry no "create ... failed" prefix.
func (c *Cluster) createZone(req *request) (any, error) {
	typ, id := req.str("type"), req.str("zone")
	opts, ok := zonePlugins[typ]
	if !ok {
		return nil, failf("pvesim: zone type '%s' is not supported by the simulator (use simple, vlan or qinq)", typ)
	}
	values := sectionValues(req, "type", "zone", "lock-token")
	if err := checkOptions(opts, values, true); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lockedWrite("create sdn zone object failed", req, func() *apiError {
		if _, exists := c.sdn.pending.zones[id]; exists {
			return failf("sdn zone object ID '%s' already defined", id)
		}
		if err := checkZoneRefs(values); err != nil {
			return err
		}
		values["type"] = typ
		c.sdn.pending.zones[id] = values
		return nil
	})
}

func (c *Cluster) updateZone(req *request) (any, error) {
	id := req.str("zone")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lockedWrite("update sdn zone object failed", req, func() *apiError {
		if err := checkDigest(req, c.sdn.pending.zones); err != nil {
			return err
		}
		zone, ok := c.sdn.pending.zones[id]
		if !ok {
			return failf("sdn zone '%s' does not exist", id)
		}
		opts := zonePlugins[zone["type"]]
		values := sectionValues(req, "zone", "digest", "delete", "lock-token")
		if err := checkOptions(opts, values, false); err != nil {
			return err
		}
		next := zone.clone()
		if err := applyDelete(next, opts, values, req.str("delete")); err != nil {
			return err
		}
		for k, v := range values {
			next[k] = v
		}
		if err := checkZoneRefs(values); err != nil {
			return err
		}
		c.sdn.pending.zones[id] = next
		return nil
	})
}

// deleteZone refuses while a vnet (in the edited config) uses the zone.
func (c *Cluster) deleteZone(req *request) (any, error) {
	id := req.str("zone")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lockedWrite("delete sdn zone object failed", req, func() *apiError {
		if _, ok := c.sdn.pending.zones[id]; !ok {
			return failf("sdn zone '%s' does not exist", id)
		}
		for _, vnet := range sortedKeys(c.sdn.pending.vnets) {
			if c.sdn.pending.vnets[vnet]["zone"] == id {
				return perlDie("zone "+id+" is used by vnet "+vnet, perlZonesPlugin, 178)
			}
		}
		delete(c.sdn.pending.zones, id)
		return nil
	})
}

// sdnZoneResources lists applied zones per node for /cluster/resources.
// Caller holds mu.
func (c *Cluster) sdnZoneResources() []map[string]any {
	var out []map[string]any
	for _, n := range c.nodes {
		out = append(out, map[string]any{
			"id": "sdn/" + n.Name + "/localnetwork", "type": "sdn", "sdn": "localnetwork",
			"node": n.Name, "status": "ok",
		})
		for _, z := range sortedKeys(c.sdn.running.zones) {
			out = append(out, map[string]any{
				"id": "sdn/" + n.Name + "/" + z, "type": "sdn", "sdn": z,
				"node": n.Name, "status": "ok",
			})
		}
	}
	return out
}
