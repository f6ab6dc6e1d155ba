// Package datacenter turns the provider block's datacenter declarations into validated settings.
// It knows nothing of Terraform: the provider hands it plain values and maps the field errors it
// returns onto attribute paths.
package datacenter

import (
	"net/netip"
	"sort"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

// Defaults applied where the provider block leaves a value out.
const (
	DefaultStorage      = "local-lvm"
	DefaultBridge       = "vmbr0"
	DefaultSubnetPrefix = 24
	// DefaultMemoryAllocationRatio: memory is not overcommitted, as PVE's own figures assume.
	// Without a CPU ratio vCPUs are not bounded per node at all (PVE refuses only a VM wider
	// than its node).
	DefaultMemoryAllocationRatio = 1.0
)

// Settings is one validated datacenter.
type Settings struct {
	Name          string
	Location      string
	Conn          dcrouter.Config
	RouterAddress netip.Addr // zero when not set
	Storage       string
	Network       *Network         // nil when the datacenter declares no network pools
	Limits        placement.Limits // zero fields: no limit
	Placement     placement.Policy // zero: PVE's own rules (see DefaultMemoryAllocationRatio)
}

// Network is a datacenter's network pools; Pool carries the allocation rules.
type Network struct {
	Bridge string
	QinQ   bool
	Pool   ipam.Pool
}

// Set is every configured datacenter by name.
type Set map[string]Settings

// Names returns the datacenter names, sorted, for stable messages.
func (s Set) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RouterConfigs returns the connection settings the dcrouter needs, sorted by name.
func (s Set) RouterConfigs() []dcrouter.Config {
	out := make([]dcrouter.Config, 0, len(s))
	for _, n := range s.Names() {
		out = append(out, s[n].Conn)
	}
	return out
}
