package network

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
)

// Get reads the allocation ref names; found is false when its vnet is gone.
func Get(ctx context.Context, c *dcrouter.Client, n datacenter.Network, ref Ref) (Allocation, bool, error) {
	vnets, err := c.SDNVnets(ctx, true)
	if err != nil {
		return Allocation{}, false, err
	}
	v := findVnet(vnets, ref)
	if v == nil {
		return Allocation{}, false, nil
	}
	a := Allocation{DC: c.DC(), Zone: v.Zone, Vnet: v.Vnet, VLAN: v.Tag}
	a.ClientID, a.Name, _ = parseAlias(v.Alias)
	if n.QinQ && v.Zone == Zone {
		a.ServiceVLAN = n.Pool.ServiceVLAN
	}
	subs, err := c.SDNSubnets(ctx, v.Vnet, true)
	if err != nil && !dcrouter.IsNotFound(err) {
		return Allocation{}, false, err
	}
	for _, s := range subs {
		if s.State == "deleted" {
			continue
		}
		p, perr := netip.ParsePrefix(s.CIDR)
		if perr != nil {
			continue
		}
		a.CIDR = p
		a.Gateway, _ = netip.ParseAddr(s.Gateway)
		break
	}
	return a, true, nil
}

func findVnet(vnets []dcrouter.SDNVnet, ref Ref) *dcrouter.SDNVnet {
	for i, v := range vnets {
		if v.State == "deleted" {
			continue
		}
		if ref.Vnet != "" && v.Vnet == ref.Vnet {
			return &vnets[i]
		}
		if ref.Vnet == "" && v.Alias == alias(ref.ClientID, ref.Name) {
			return &vnets[i]
		}
	}
	return nil
}

// Usage counts the datacenter's pool figures from its SDN.
func Usage(ctx context.Context, c *dcrouter.Client, n datacenter.Network) (ipam.Stats, error) {
	view, err := readSDN(ctx, c)
	if err != nil {
		return ipam.Stats{}, err
	}
	return n.Pool.Stats(view.used(n)), nil
}

// AttachedVM is a VM NIC that uses a vnet.
type AttachedVM struct {
	VMID int
	Name string
	NIC  string
}

func (a AttachedVM) String() string { return fmt.Sprintf("%s (VMID %d, %s)", a.Name, a.VMID, a.NIC) }

// AttachedVMs lists every NIC in the datacenter whose bridge is the vnet.
func AttachedVMs(ctx context.Context, c *dcrouter.Client, vnet string) ([]AttachedVM, error) {
	var out []AttachedVM
	err := eachVMConfig(ctx, c, func(r dcrouter.Resource, cfg dcrouter.VMConfig) {
		for key, val := range cfg {
			if !strings.HasPrefix(key, "net") {
				continue
			}
			if _, err := strconv.Atoi(key[3:]); err != nil {
				continue
			}
			if bridgeOf(val) == vnet {
				out = append(out, AttachedVM{VMID: r.VMID, Name: r.Name, NIC: key})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].VMID != out[j].VMID {
			return out[i].VMID < out[j].VMID
		}
		return out[i].NIC < out[j].NIC
	})
	return out, nil
}

func bridgeOf(netSpec string) string {
	for _, part := range strings.Split(netSpec, ",") {
		if k, v, ok := strings.Cut(part, "="); ok && k == "bridge" {
			return v
		}
	}
	return ""
}

// InUseError refuses to remove a network that VMs still use.
type InUseError struct {
	DC   string
	Vnet string
	VMs  []AttachedVM
}

func (e *InUseError) Error() string {
	names := make([]string, len(e.VMs))
	for i, v := range e.VMs {
		names[i] = v.String()
	}
	return fmt.Sprintf("vnet %s in datacenter %s is still used by %s; detach or destroy those VMs first", e.Vnet, e.DC, strings.Join(names, ", "))
}

// Release removes the allocation's subnet and vnet. It refuses while any VM NIC uses the vnet, and
// a vnet that is already gone is not an error.
//
// In one Terraform run the VMs on a network may be destroyed at the same moment as the network
// (a VM migrated onto it does not depend on it in the graph), so an attached network is checked
// again for up to inUseWait before the refusal.
func Release(ctx context.Context, c *dcrouter.Client, vnet string, inUseWait time.Duration) error {
	deadline := time.Now().Add(inUseWait)
	for {
		attached, err := AttachedVMs(ctx, c, vnet)
		if err != nil {
			return err
		}
		if len(attached) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return &InUseError{DC: c.DC(), Vnet: vnet, VMs: attached}
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		c.ForgetResources()
	}
	token, err := lock(ctx, c)
	if err != nil {
		return err
	}
	released := false
	defer func() {
		if !released {
			_ = c.SDNUnlock(context.WithoutCancel(ctx), token)
		}
	}()
	subs, err := c.SDNSubnets(ctx, vnet, true)
	if dcrouter.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.State == "deleted" {
			continue
		}
		if err := c.DeleteSDNSubnet(ctx, vnet, s.ID, token); err != nil && !dcrouter.IsNotFound(err) {
			return fmt.Errorf("deleting subnet %s of vnet %s in datacenter %s: %w", s.CIDR, vnet, c.DC(), err)
		}
	}
	if err := c.DeleteSDNVnet(ctx, vnet, token); err != nil && !dcrouter.IsNotFound(err) {
		return fmt.Errorf("deleting vnet %s in datacenter %s: %w", vnet, c.DC(), err)
	}
	if err := apply(ctx, c, token, func(ctx context.Context) (bool, error) { return vnetState(ctx, c, vnet, "gone") }); err != nil {
		return err
	}
	released = true
	return nil
}
