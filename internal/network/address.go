package network

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
)

// Addresses hands out host addresses inside allocations. The VMs' cloud-init configs in the
// datacenter are the record of what is used; the in-process reservations cover VMs of the same
// apply that are being created at this moment and so are not in any config yet.
type Addresses struct {
	mu       sync.Mutex
	reserved map[string]map[netip.Addr]bool // dc/vnet -> addresses
}

// NewAddresses returns an empty reservation book.
func NewAddresses() *Addresses { return &Addresses{reserved: map[string]map[netip.Addr]bool{}} }

// Assign returns want if it is free (want valid), else the next free host of the allocation, as
// an address with the subnet's prefix length. excludeVMID is the VM being configured, whose own
// current address does not count as taken.
func (r *Addresses) Assign(ctx context.Context, c *dcrouter.Client, a Allocation, want netip.Addr, excludeVMID int) (netip.Prefix, error) {
	used, err := usedAddresses(ctx, c, a.CIDR, excludeVMID)
	if err != nil {
		return netip.Prefix{}, err
	}
	key := a.DC + "/" + a.Vnet
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.reserved[key]
	if res == nil {
		res = map[netip.Addr]bool{}
		r.reserved[key] = res
	}
	list := []netip.Addr{a.Gateway}
	for ip := range used {
		list = append(list, ip)
	}
	for ip := range res {
		list = append(list, ip)
	}
	if want.IsValid() {
		first, last := ipam.HostRange(a.CIDR)
		if !a.CIDR.Contains(want) || want.Less(first) || last.Less(want) {
			return netip.Prefix{}, fmt.Errorf("address %s is not a usable host address of %s (vnet %s)", want, a.CIDR, a.Vnet)
		}
		if want == a.Gateway {
			return netip.Prefix{}, fmt.Errorf("address %s is the gateway of %s", want, a.CIDR)
		}
		if who, taken := used[want]; taken {
			return netip.Prefix{}, fmt.Errorf("address %s is already used by %s", want, who)
		}
		res[want] = true
		return netip.PrefixFrom(want, a.CIDR.Bits()), nil
	}
	ip, err := ipam.NextFreeHost(a.CIDR, list)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("datacenter %s, vnet %s: %w", a.DC, a.Vnet, err)
	}
	res[ip] = true
	return netip.PrefixFrom(ip, a.CIDR.Bits()), nil
}

// usedAddresses reads every VM's cloud-init addresses inside subnet, naming the VM that holds each.
func usedAddresses(ctx context.Context, c *dcrouter.Client, subnet netip.Prefix, excludeVMID int) (map[netip.Addr]string, error) {
	used := map[netip.Addr]string{}
	err := eachVMConfig(ctx, c, func(r dcrouter.Resource, cfg dcrouter.VMConfig) {
		if r.VMID == excludeVMID {
			return
		}
		for k, v := range cfg {
			if !strings.HasPrefix(k, "ipconfig") {
				continue
			}
			for _, part := range strings.Split(v, ",") {
				if key, val, ok := strings.Cut(part, "="); ok && key == "ip" {
					if p, err := netip.ParsePrefix(val); err == nil && subnet.Contains(p.Addr()) {
						used[p.Addr()] = fmt.Sprintf("VM %d (%s)", r.VMID, r.Name)
					}
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return used, nil
}

// eachVMConfig calls fn with every VM's config in the datacenter; VMs that vanish meanwhile are
// skipped.
func eachVMConfig(ctx context.Context, c *dcrouter.Client, fn func(dcrouter.Resource, dcrouter.VMConfig)) error {
	res, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Type != "qemu" {
			continue
		}
		cfg, err := c.VMConfig(ctx, r.Node, r.VMID, false)
		if dcrouter.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		fn(r, cfg)
	}
	return nil
}
