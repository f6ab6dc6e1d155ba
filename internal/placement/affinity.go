package placement

import (
	"fmt"
	"sort"
	"strings"
)

// Placed is a VM and where it is or is planned to be.
type Placed struct {
	Name string
	DC   string
	Node string // "" while not chosen (moxxie picks it at create)
	Tags []string
}

// Affinity is a VM's rules about other VMs, plus the VM's own pinned node and tags, which the
// rules of the other VMs planned in the same run are judged against.
//
// Datacenter rules name VMs of any datacenter, by name or by tag (a tag group also reaches VMs
// another workspace manages). Node rules name VMs of the VM's own datacenter: PVE enforces
// them there as HA resource-affinity rules.
type Affinity struct {
	PreferSameDC           []string
	RequireDifferentDC     []string
	PreferSameDCTags       []string
	RequireDifferentDCTags []string
	PreferSameNode         []string
	RequireDifferentNode   []string

	Node string // the node the configuration pins the VM to; "" when moxxie chooses
	Tags []string
}

// HasNodeRules reports whether PVE must be told about the VM (HA rules).
func (a Affinity) HasNodeRules() bool { return len(a.PreferSameNode)+len(a.RequireDifferentNode) > 0 }

// HasRules reports whether the VM has any rule.
func (a Affinity) HasRules() bool {
	return a.HasNodeRules() || len(a.PreferSameDC)+len(a.RequireDifferentDC)+len(a.PreferSameDCTags)+len(a.RequireDifferentDCTags) > 0
}

// Verdict is what the rules say of a placement: violations of hard rules are errors, of soft
// rules warnings. Unmatched are the rules' names and tags that match no VM: such a rule holds
// trivially, most likely by a typo, so it is worth a warning where every datacenter was read.
type Verdict struct {
	Errors    []string
	Warnings  []string
	Unmatched []string
}

// CheckAffinity evaluates me's rules against the other VMs, existing and planned (a name may
// appear in several datacenters). A VM's Node is where it runs, or for a VM planned in this run
// the node its configuration sets ("" when moxxie chooses). online is the number of online
// nodes of me's datacenter.
func CheckAffinity(me Placed, rules Affinity, others []Placed, online int) Verdict {
	var v Verdict
	byName := map[string][]Placed{}
	var all []Placed
	for _, o := range others {
		if o.Name == me.Name && o.DC == me.DC {
			continue // me itself, as the cluster or the plan knows it
		}
		byName[o.Name] = append(byName[o.Name], o)
		all = append(all, o)
	}
	for _, name := range sortedUnique(rules.RequireDifferentDC) {
		if len(byName[name]) == 0 {
			v.Unmatched = append(v.Unmatched, fmt.Sprintf("require_different_dc names %q, which no datacenter holds", name))
		}
		for _, o := range byName[name] {
			if o.DC == me.DC {
				v.Errors = append(v.Errors, fmt.Sprintf("VM %q must not share a datacenter with %q (require_different_dc), but %q is in %s too", me.Name, name, name, me.DC))
				break
			}
		}
	}
	for _, name := range sortedUnique(rules.PreferSameDC) {
		list := byName[name]
		if len(list) == 0 {
			v.Unmatched = append(v.Unmatched, fmt.Sprintf("prefer_same_dc names %q, which no datacenter holds", name))
			continue
		}
		if dcs := dcsOf(list); !contains(dcs, me.DC) {
			v.Warnings = append(v.Warnings, fmt.Sprintf("VM %q prefers the datacenter of %q (prefer_same_dc), but %q is in %s and %q is planned into %s", me.Name, name, name, strings.Join(dcs, ", "), me.Name, me.DC))
		}
	}
	for _, tag := range sortedUnique(rules.RequireDifferentDCTags) {
		group := tagged(all, tag)
		if len(group) == 0 {
			v.Unmatched = append(v.Unmatched, fmt.Sprintf("require_different_dc_tags names tag %q, which no other VM carries", tag))
		}
		if here := namesIn(group, me.DC); len(here) > 0 {
			v.Errors = append(v.Errors, fmt.Sprintf("VM %q must not share a datacenter with VMs tagged %q (require_different_dc_tags), but %s %s in %s", me.Name, tag, quoted(here), isAre(here), me.DC))
		}
	}
	for _, tag := range sortedUnique(rules.PreferSameDCTags) {
		group := tagged(all, tag)
		if len(group) == 0 {
			v.Unmatched = append(v.Unmatched, fmt.Sprintf("prefer_same_dc_tags names tag %q, which no other VM carries", tag))
			continue
		}
		if dcs := dcsOf(group); !contains(dcs, me.DC) {
			v.Warnings = append(v.Warnings, fmt.Sprintf("VM %q prefers the datacenter of VMs tagged %q (prefer_same_dc_tags), but they are in %s and %q is planned into %s", me.Name, tag, strings.Join(dcs, ", "), me.Name, me.DC))
		}
	}
	checkNodeRules(me, rules, byName, online, &v)
	return v
}

// checkNodeRules judges the node rules, whose names resolve in me's datacenter only.
func checkNodeRules(me Placed, rules Affinity, byName map[string][]Placed, online int, v *Verdict) {
	peer := func(name string) (Placed, bool) {
		for _, o := range byName[name] {
			if o.DC == me.DC {
				return o, true
			}
		}
		return Placed{}, false
	}
	apart, together := sortedUnique(rules.RequireDifferentNode), sortedUnique(rules.PreferSameNode)
	for _, name := range apart {
		if contains(together, name) {
			v.Errors = append(v.Errors, fmt.Sprintf("VM %q names %q in both require_different_node and prefer_same_node; PVE refuses rules that keep VMs together and apart", me.Name, name))
		}
	}
	found := 0
	for _, name := range apart {
		o, ok := peer(name)
		if !ok {
			v.Unmatched = append(v.Unmatched, fmt.Sprintf("require_different_node names %q, which %s does not hold", name, me.DC))
			continue
		}
		found++
		if rules.Node != "" && o.Node == rules.Node {
			v.Errors = append(v.Errors, fmt.Sprintf("VM %q must not share a node with %q (require_different_node), but node is set to %s, where %q is or is set to be; set another node or leave node out", me.Name, name, rules.Node, name))
		}
	}
	if found > 0 && found+1 > online {
		v.Errors = append(v.Errors, fmt.Sprintf("VM %q must run on a node apart from %d other VMs (require_different_node), which needs %d nodes, but %s has %d online", me.Name, found, found+1, me.DC, online))
	}
	for _, name := range together {
		o, ok := peer(name)
		switch {
		case !ok:
			v.Unmatched = append(v.Unmatched, fmt.Sprintf("prefer_same_node names %q, which %s does not hold", name, me.DC))
		case rules.Node != "" && o.Node != "" && o.Node != rules.Node:
			v.Warnings = append(v.Warnings, fmt.Sprintf("VM %q prefers the node of %q (prefer_same_node), but node is set to %s and %q is on %s; PVE's HA manager will move one of them", me.Name, name, rules.Node, name, o.Node))
		}
	}
}

// CheckRulesOn judges the rules of VMs planned in this run against me (the other direction of
// CheckAffinity, so the outcome does not depend on which VM Terraform plans first): planned
// are those of me's datacenter, with their rules; rules are me's own (its pinned node among
// them), since one VM keeping two apart while the other keeps them together is refused by PVE.
func CheckRulesOn(me Placed, rules Affinity, planned []Planned) Verdict {
	pinnedNode := rules.Node
	var v Verdict
	for _, p := range planned {
		if p.DC != me.DC || p.Name == me.Name {
			continue
		}
		if contains(p.Affinity.RequireDifferentDC, me.Name) {
			v.Errors = append(v.Errors, fmt.Sprintf("VM %q must not share a datacenter with %q (require_different_dc), but both are planned into %s", p.Name, me.Name, me.DC))
		}
		for _, tag := range sortedUnique(p.Affinity.RequireDifferentDCTags) {
			if contains(me.Tags, tag) {
				v.Errors = append(v.Errors, fmt.Sprintf("VM %q must not share a datacenter with VMs tagged %q (require_different_dc_tags), but %q carries it and both are planned into %s", p.Name, tag, me.Name, me.DC))
			}
		}
		apart := contains(p.Affinity.RequireDifferentNode, me.Name) || contains(rules.RequireDifferentNode, p.Name)
		together := contains(p.Affinity.PreferSameNode, me.Name) || contains(rules.PreferSameNode, p.Name)
		if apart && together {
			v.Errors = append(v.Errors, fmt.Sprintf("VMs %q and %q are to be kept apart (require_different_node) and together (prefer_same_node) by their rules; PVE refuses such HA rules", p.Name, me.Name))
		}
		if contains(p.Affinity.RequireDifferentNode, me.Name) && pinnedNode != "" && p.Affinity.Node == pinnedNode {
			v.Errors = append(v.Errors, fmt.Sprintf("VM %q must not share a node with %q (require_different_node), but both are set to node %s of %s", p.Name, me.Name, pinnedNode, me.DC))
		}
	}
	return v
}

func tagged(vms []Placed, tag string) []Placed {
	var out []Placed
	for _, o := range vms {
		if contains(o.Tags, tag) {
			out = append(out, o)
		}
	}
	return out
}

func dcsOf(vms []Placed) []string {
	dcs := make([]string, len(vms))
	for i, o := range vms {
		dcs[i] = o.DC
	}
	return sortedUnique(dcs)
}

func namesIn(vms []Placed, dc string) []string {
	var out []string
	for _, o := range vms {
		if o.DC == dc {
			out = append(out, o.Name)
		}
	}
	return sortedUnique(out)
}

func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func isAre(names []string) string {
	if len(names) == 1 {
		return "is"
	}
	return "are"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
