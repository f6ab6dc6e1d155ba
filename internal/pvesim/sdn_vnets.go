package pvesim

import (
	"fmt"
	"strconv"
)

// vnetOptions are VnetPlugin's options (zone required).
var vnetOptions = map[string]bool{"zone": true, "tag": false, "alias": false, "vlanaware": false, "isolate-ports": false}

func vnetsOf(c sdnConfig) sdnFile { return c.vnets }

// vnetAccess is PVE's check_vnet_access: the vnet must exist in the edited
// config and the caller hold one of privs on /sdn/zones/<zone>/<vnet>. It
// runs before the config lock, so its error has no prefix. Caller holds mu.
func (c *Cluster) vnetAccess(user, id string, privs ...string) *apiError {
	v, ok := c.sdn.pending.vnets[id]
	if !ok {
		return failf("sdn vnet '%s' does not exist", id)
	}
	if err := c.acl.CheckAny(user, "/sdn/zones/"+v["zone"]+"/"+id, privs...); err != nil {
		return apiErr(err)
	}
	return nil
}

// sdnRead is what listing or reading an SDN object takes.
var sdnRead = []string{"SDN.Audit", "SDN.Allocate"}

// vnetHasSubnets is get_subnets on the edited config. Caller holds mu.
func (c *Cluster) vnetHasSubnets(vnet string) bool {
	for _, s := range c.sdn.pending.subnets {
		if s["vnet"] == vnet {
			return true
		}
	}
	return false
}

// vnetHooks runs the zone plugin's vnet_update_hook and VnetPlugin's
// on_update_hook for vnet id of vnets (the would-be edited file).
// Caller holds mu.
func (c *Cluster) vnetHooks(vnets sdnFile, id string) *apiError {
	v := vnets[id]
	zone, ok := c.sdn.pending.zones[v["zone"]]
	if !ok {
		// pve-network looks the zone's plugin up by an undefined type.
		return failf("unknown section type ''")
	}
	tag, hasTag := v["tag"]
	n, _ := strconv.Atoi(tag)
	others := sortedKeys(vnets)
	switch zone["type"] {
	case "simple":
		if hasTag {
			return paramErr("tag", "vlan tag is not allowed on simple zone")
		}
	case "vlan":
		if !hasTag {
			return paramErr("tag", "missing vlan tag")
		}
		if n > 4096 {
			return paramErr("tag", "vlan tag max value is 4096")
		}
		for _, other := range others {
			o := vnets[other]
			if other != id && o["zone"] == v["zone"] && o["tag"] != "" && o["tag"] == tag {
				return paramErr("tag", fmt.Sprintf("tag %s already exist in vnet %s", tag, other))
			}
		}
	case "qinq":
		if n > 4096 {
			return paramErr("tag", "VLAN tag maximal value is 4096")
		}
		for _, other := range others {
			o := vnets[other]
			if other == id || o["zone"] != v["zone"] {
				continue
			}
			if hasTag && o["tag"] == tag {
				return paramErr("tag", fmt.Sprintf("tag %s already exist in zone %s vnet %s", tag, v["zone"], other))
			}
			if _, otherTagged := o["tag"]; !hasTag && !otherTagged {
				return paramErr("tag", fmt.Sprintf("tag-less vnet already exists in zone %s vnet %s", v["zone"], other))
			}
		}
	}
	if v["vlanaware"] == "1" && c.vnetHasSubnets(id) {
		return paramErr("vlanaware", "vlanaware vnet is not compatible with subnets")
	}
	return nil
}

func (c *Cluster) listVnets(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	objs, digest := c.sdn.view(listMode(req), vnetsOf)
	out := []map[string]any{}
	for _, id := range sortedKeys(objs) {
		o := objs[id]
		zone := c.sdn.pending.vnets[id]["zone"]
		if zone == "" {
			zone = c.sdn.running.vnets[id]["zone"]
		}
		if !c.acl.HasAny(req.user, "/sdn/zones/"+zone+"/"+id, sdnRead...) {
			continue
		}
		o["vnet"], o["digest"] = id, digest
		out = append(out, o)
	}
	return out, nil
}

func (c *Cluster) readVnet(req *request) (any, error) {
	id := req.str("vnet")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.vnetAccess(req.user, id, sdnRead...); err != nil {
		return nil, err
	}
	objs, digest := c.sdn.view(listMode(req), vnetsOf)
	o, ok := objs[id]
	if !ok {
		return nil, failf("sdn vnet '%s' does not exist", id)
	}
	o["vnet"], o["digest"] = id, digest
	return o, nil
}

func (c *Cluster) createVnet(req *request) (any, error) {
	id := req.str("vnet")
	values := sectionValues(req, "vnet", "type", "lock-token")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lockedWrite("create sdn vnet object failed", req, func() *apiError {
		if err := checkOptions(vnetOptions, values, true); err != nil {
			return err
		}
		if _, exists := c.sdn.pending.vnets[id]; exists {
			return failf("sdn vnet object ID '%s' already defined", id)
		}
		values["type"] = "vnet"
		next := c.sdn.pending.vnets.clone()
		next[id] = values
		if err := c.vnetHooks(next, id); err != nil {
			return err
		}
		c.sdn.pending.vnets = next
		return nil
	})
}

func (c *Cluster) updateVnet(req *request) (any, error) {
	id := req.str("vnet")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.vnetAccess(req.user, id, "SDN.Allocate"); err != nil {
		return nil, err
	}
	return c.lockedWrite("update sdn vnet object failed", req, func() *apiError {
		if err := checkDigest(req, c.sdn.pending.vnets); err != nil {
			return err
		}
		values := sectionValues(req, "vnet", "digest", "delete", "lock-token")
		if err := checkOptions(vnetOptions, values, false); err != nil {
			return err
		}
		v := c.sdn.pending.vnets[id].clone()
		oldZone := v["zone"]
		if err := applyDelete(v, vnetOptions, values, req.str("delete")); err != nil {
			return err
		}
		for k, val := range values {
			v[k] = val
		}
		if v["zone"] != oldZone && c.vnetHasSubnets(id) {
			return paramErr("zone", "can't change zone if subnets exist")
		}
		next := c.sdn.pending.vnets.clone()
		next[id] = v
		if err := c.vnetHooks(next, id); err != nil {
			return err
		}
		c.sdn.pending.vnets = next
		return nil
	})
}

// deleteVnet refuses while subnets (in the edited config) belong to it.
func (c *Cluster) deleteVnet(req *request) (any, error) {
	id := req.str("vnet")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.vnetAccess(req.user, id, "SDN.Allocate"); err != nil {
		return nil, err
	}
	return c.lockedWrite("delete sdn vnet object failed", req, func() *apiError {
		if c.vnetHasSubnets(id) {
			return paramErr("vnet", "Can't delete vnet if subnets exists")
		}
		delete(c.sdn.pending.vnets, id)
		return nil
	})
}
