package pvesim

import (
	"fmt"
	"net/netip"
	"strings"
)

// subnetOptions are SubnetPlugin's options (vnet required). dhcp-range is
// not declared by the simulator (its array type is not modelled).
var subnetOptions = map[string]bool{"vnet": true, "gateway": false, "snat": false, "dnszoneprefix": false, "dhcp-dns-server": false}

func subnetsOf(c sdnConfig) sdnFile { return c.subnets }

// decorateSubnet adds what sdn_subnets_config derives from the ID.
func decorateSubnet(o map[string]any, id string, digest any) {
	zone, cidr := subnetCIDR(id)
	network, mask, _ := strings.Cut(cidr, "/")
	o["id"], o["subnet"], o["cidr"], o["zone"] = id, id, cidr, zone
	o["network"], o["mask"], o["digest"] = network, mask, digest
	o["dhcp-range"] = []any{}
}

// subnetHook is SubnetPlugin's on_update_hook plus the simulator's overlap
// check (PVE itself leaves overlaps to the IPAM; moxxie relies on a
// rejection). Caller holds mu.
func (c *Cluster) subnetHook(id string, s sdnSection) *apiError {
	zone, cidr := subnetCIDR(id)
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return failf("value does not look like a valid CIDR network")
	}
	vnet, ok := c.sdn.pending.vnets[s["vnet"]]
	if !ok {
		return paramErr("vnet", s["vnet"]+" don't exist")
	}
	if vnet["vlanaware"] == "1" {
		return paramErr("vnet", "you can't add a subnet on a vlanaware vnet")
	}
	if gw := s["gateway"]; gw != "" {
		addr, err := netip.ParseAddr(gw)
		pointToPoint := err == nil && addr.Is4() && prefix.Bits() == 32
		if err != nil || (!prefix.Contains(addr) && !pointToPoint) {
			return paramErr("gateway", fmt.Sprintf("%s is not in subnet %s", gw, cidr))
		}
	}
	for _, other := range sortedKeys(c.sdn.pending.subnets) {
		otherZone, otherCIDR := subnetCIDR(other)
		if other == id || otherZone != zone {
			continue
		}
		if op, err := netip.ParsePrefix(otherCIDR); err == nil && op.Masked().Overlaps(prefix.Masked()) {
			return paramErr("subnet", fmt.Sprintf("%s overlaps with subnet %s in zone %s", cidr, other, zone))
		}
	}
	return nil
}

func (c *Cluster) listSubnets(req *request) (any, error) {
	vnet := req.str("vnet")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.vnetAccess(req.user, vnet, sdnRead...); err != nil {
		return nil, err
	}
	objs, digest := c.sdn.view(listMode(req), subnetsOf)
	out := []map[string]any{}
	for _, id := range sortedKeys(objs) {
		o := objs[id]
		if o["vnet"] != vnet {
			continue
		}
		decorateSubnet(o, id, digest)
		out = append(out, o)
	}
	return out, nil
}

func (c *Cluster) readSubnet(req *request) (any, error) {
	vnet, id := req.str("vnet"), req.str("subnet")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.vnetAccess(req.user, vnet, sdnRead...); err != nil {
		return nil, err
	}
	objs, digest := c.sdn.view(listMode(req), subnetsOf)
	o, ok := objs[id]
	if !ok {
		return nil, failf("sdn subnet '%s' does not exist", id)
	}
	if o["vnet"] != vnet {
		return nil, paramErr("vnet", "wrong vnet")
	}
	decorateSubnet(o, id, digest)
	return o, nil
}

// createSubnet names the subnet "<zone>-<cidr>" after the vnet's zone.
func (c *Cluster) createSubnet(req *request) (any, error) {
	vnet, cidr := req.str("vnet"), req.str("subnet")
	if !strings.Contains(cidr, "/") {
		return nil, paramErr("subnet", "invalid format - value does not look like a valid CIDR network")
	}
	values := sectionValues(req, "subnet", "type", "lock-token")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.vnetAccess(req.user, vnet, "SDN.Allocate"); err != nil {
		return nil, err
	}
	return c.lockedWrite("create sdn subnet object failed", req, func() *apiError {
		id := subnetID(c.sdn.pending.vnets[vnet]["zone"], cidr)
		if err := checkOptions(subnetOptions, values, true); err != nil {
			return err
		}
		if _, exists := c.sdn.pending.subnets[id]; exists {
			return failf("sdn subnet object ID '%s' already defined", id)
		}
		values["type"] = "subnet"
		if err := c.subnetHook(id, values); err != nil {
			return err
		}
		c.sdn.pending.subnets[id] = values
		return nil
	})
}

func (c *Cluster) updateSubnet(req *request) (any, error) {
	vnet, id := req.str("vnet"), req.str("subnet")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.vnetAccess(req.user, vnet, "SDN.Allocate"); err != nil {
		return nil, err
	}
	return c.lockedWrite("update sdn subnet object failed", req, func() *apiError {
		s, ok := c.sdn.pending.subnets[id]
		if !ok {
			return failf("sdn subnet '%s' does not exist", id)
		}
		if err := checkDigest(req, c.sdn.pending.subnets); err != nil {
			return err
		}
		values := sectionValues(req, "subnet", "digest", "delete", "lock-token")
		if err := checkOptions(subnetOptions, values, false); err != nil {
			return err
		}
		next := s.clone()
		if err := applyDelete(next, subnetOptions, values, req.str("delete")); err != nil {
			return err
		}
		for k, v := range values {
			next[k] = v
		}
		if err := c.subnetHook(id, next); err != nil {
			return err
		}
		c.sdn.pending.subnets[id] = next
		return nil
	})
}

// deleteSubnet removes the subnet; like PVE, deleting an unknown subnet
// of an existing vnet is a no-op.
func (c *Cluster) deleteSubnet(req *request) (any, error) {
	vnet, id := req.str("vnet"), req.str("subnet")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.vnetAccess(req.user, vnet, "SDN.Allocate"); err != nil {
		return nil, err
	}
	return c.lockedWrite("delete sdn subnet object failed", req, func() *apiError {
		delete(c.sdn.pending.subnets, id)
		return nil
	})
}
