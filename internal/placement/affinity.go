package placement

import (
	"fmt"
	"sort"
	"strings"
)

// Placed is a VM and the datacenter it is in or is planned into.
type Placed struct {
	Name string
	DC   string
}

// Affinity is a VM's rules about other VMs, by name.
type Affinity struct {
	PreferSameDC       []string
	RequireDifferentDC []string
}

// Verdict is what the rules say of a placement: violations of hard rules are errors, of soft
// rules warnings.
type Verdict struct {
	Errors   []string
	Warnings []string
}

// CheckAffinity evaluates vm's rules for placing it in dc against where the other VMs are (existing
// and planned; a name may appear in several datacenters).
func CheckAffinity(vm, dc string, rules Affinity, others []Placed) Verdict {
	where := map[string][]string{}
	for _, o := range others {
		if o.Name == vm {
			continue
		}
		where[o.Name] = append(where[o.Name], o.DC)
	}
	var v Verdict
	for _, name := range sortedUnique(rules.RequireDifferentDC) {
		for _, odc := range where[name] {
			if odc == dc {
				v.Errors = append(v.Errors, fmt.Sprintf("VM %q must not share a datacenter with %q (require_different_dc), but %q is in %s too", vm, name, name, dc))
				break
			}
		}
	}
	for _, name := range sortedUnique(rules.PreferSameDC) {
		dcs := where[name]
		if len(dcs) == 0 {
			continue
		}
		same := false
		for _, odc := range dcs {
			same = same || odc == dc
		}
		if !same {
			v.Warnings = append(v.Warnings, fmt.Sprintf("VM %q prefers the datacenter of %q (prefer_same_dc), but %q is in %s and %q is planned into %s", vm, name, name, strings.Join(sortedUnique(dcs), ", "), vm, dc))
		}
	}
	return v
}

func sortedUnique(in []string) []string {
	set := map[string]bool{}
	for _, s := range in {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
