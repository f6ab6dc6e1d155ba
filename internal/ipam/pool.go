package ipam

import (
	"errors"
	"net/netip"
	"slices"
)

// Pool is one datacenter's network pool as configured in the provider.
type Pool struct {
	DC           string
	IPRange      netip.Prefix
	VLANs        VLANRange
	SubnetPrefix int // default allocation size; 0 means DefaultSubnetPrefix
	ServiceVLAN  int // 0 = no Q-in-Q
}

// Used is what the datacenter already holds, as read from its SDN. It may
// contain values outside the pool, duplicates, and be in any order.
type Used struct {
	VLANs   []int
	Subnets []netip.Prefix
}

// Request narrows an allocation; the zero Request takes the pool defaults.
type Request struct {
	VLAN      int // 0 = lowest free VLAN
	PrefixLen int // 0 = pool's SubnetPrefix
}

// Allocation is one customer network handed out from a pool.
type Allocation struct {
	VLAN        int
	ServiceVLAN int // the DC's S-tag in Q-in-Q, else 0
	Subnet      netip.Prefix
	Gateway     netip.Addr
}

// Validate reports every problem with the pool's configuration at once.
func (p Pool) Validate() error {
	var errs []error
	if err := rangeError(p.IPRange); err != nil {
		errs = append(errs, dcError(p.DC, "%v", err))
	} else if err := ValidateSubnetPrefix(p.IPRange, p.subnetPrefix()); err != nil {
		errs = append(errs, dcError(p.DC, "subnet_prefix: %v", err))
	}
	if err := p.VLANs.check(); err != nil {
		errs = append(errs, dcError(p.DC, "vlan_range %s: %v", p.VLANs, err))
	}
	if p.ServiceVLAN != 0 {
		if err := ValidateServiceVLAN(p.ServiceVLAN); err != nil {
			errs = append(errs, dcError(p.DC, "%v", err))
		}
	}
	return errors.Join(errs...)
}

// Allocate picks a VLAN and a subnet that nothing in used occupies. A
// requested VLAN must lie in the pool and be free; otherwise the lowest free
// VLAN is taken. The subnet is the lowest free aligned block of the requested
// (or default) size. A full pool yields an *ExhaustedError.
func (p Pool) Allocate(used Used, req Request) (Allocation, error) {
	if err := p.Validate(); err != nil {
		return Allocation{}, err
	}
	vlan, err := p.pickVLAN(used.VLANs, req.VLAN)
	if err != nil {
		return Allocation{}, err
	}
	prefixLen := req.PrefixLen
	if prefixLen == 0 {
		prefixLen = p.subnetPrefix()
	} else if err := ValidateSubnetPrefix(p.IPRange, prefixLen); err != nil {
		return Allocation{}, dcError(p.DC, "requested %v", err)
	}
	subnet, err := p.NextFreeSubnet(used.Subnets, prefixLen)
	if err != nil {
		return Allocation{}, err
	}
	return Allocation{
		VLAN:        vlan,
		ServiceVLAN: p.ServiceVLAN,
		Subnet:      subnet,
		Gateway:     Gateway(subnet),
	}, nil
}

func (p Pool) pickVLAN(used []int, want int) (int, error) {
	if want == 0 {
		return p.NextFreeVLAN(used)
	}
	if err := ValidateVLAN(want); err != nil {
		return 0, dcError(p.DC, "requested %v", err)
	}
	if !p.VLANs.Contains(want) {
		return 0, dcError(p.DC, "requested VLAN %d is outside vlan_range %s", want, p.VLANs)
	}
	if slices.Contains(used, want) {
		return 0, dcError(p.DC, "requested VLAN %d is already in use (vlan_range %s)", want, p.VLANs)
	}
	return want, nil
}
