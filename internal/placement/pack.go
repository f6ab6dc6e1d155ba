package placement

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Policy is how a datacenter counts its nodes' capacity, in the spirit of OpenStack Placement's
// allocation ratios: a node offers its CPUs and memory times a ratio, less what is reserved for
// the host.
type Policy struct {
	// CPURatio bounds the vCPUs allocated on a node to its CPUs times the ratio. 0 leaves them
	// unbounded, as PVE does: it refuses only a VM with more vCPUs than its node has.
	CPURatio float64
	// MemoryRatio bounds the memory allocated on a node to its memory times the ratio; 0 reads
	// as 1.
	MemoryRatio float64
	// ReservedMemoryMB is kept free on every node for the host itself.
	ReservedMemoryMB int64
	// CountStopped makes stopped VMs take node capacity too. By default only running VMs do, as in
	// PVE's own node figures: a stopped VM takes no memory until it starts.
	CountStopped bool
}

// EffectiveMemoryRatio is the memory ratio in force: MemoryRatio, or 1 when unset.
func (p Policy) EffectiveMemoryRatio() float64 {
	if p.MemoryRatio <= 0 {
		return 1
	}
	return p.MemoryRatio
}

// Counts reports whether a VM in this power state takes node capacity.
func (p Policy) Counts(running bool) bool { return running || p.CountStopped }

// Node is one cluster node and what the VMs that count (see Policy.Counts) take of it.
type Node struct {
	Name              string
	Online            bool
	CPUs              int64
	MemoryMB          int64
	AllocatedCores    int64
	AllocatedMemoryMB int64
}

// scaled is floor(v*ratio), tolerant of the float error that makes 10*0.7 read 7.000000000000001
// or 6.999999999999999.
func scaled(v int64, ratio float64) int64 {
	return int64(math.Floor(float64(v)*ratio + 1e-9))
}

// CoreCapacity is what the vCPUs allocated on n may add up to; Unlimited without a CPU ratio.
func (p Policy) CoreCapacity(n Node) int64 {
	if p.CPURatio <= 0 {
		return Unlimited
	}
	return scaled(n.CPUs, p.CPURatio)
}

// MemoryCapacity is what the memory allocated on n may add up to, in MiB.
func (p Policy) MemoryCapacity(n Node) int64 {
	return max(0, scaled(n.MemoryMB, p.EffectiveMemoryRatio())-p.ReservedMemoryMB)
}

// FreeCores is the vCPUs n can still take; Unlimited without a CPU ratio.
func (p Policy) FreeCores(n Node) int64 {
	c := p.CoreCapacity(n)
	if c == Unlimited {
		return Unlimited
	}
	return max(0, c-n.AllocatedCores)
}

// FreeMemoryMB is the memory n can still take.
func (p Policy) FreeMemoryMB(n Node) int64 {
	return max(0, p.MemoryCapacity(n)-n.AllocatedMemoryMB)
}

// Request is one VM to place.
type Request struct {
	Name     string // unique among the requests of one Pack; messages name the VM by it
	Cores    int64
	MemoryMB int64
	Running  bool   // whether it takes capacity once placed under a policy that leaves stopped VMs out
	Node     string // the node it must go on (set by the user, or where it is bound to); "" lets Pack choose
	// Avoid and Prefer steer Pack's choice (node affinity): away from the nodes in Avoid while a
	// node outside them takes the VM, then onto a node in Prefer when one takes it. Feasibility of
	// the rules is judged at plan time (CheckNodeRules); here they only steer.
	Avoid, Prefer []string
}

// NodeFitError says why a VM fits no node, with the figures of the nodes it was judged against.
type NodeFitError struct {
	DC       string
	VM       string
	Resource string // "cores", "memory" or "node"
	Node     string // the node the VM was bound to; "" when any would do
	Together []string
	msg      string
}

func (e *NodeFitError) Error() string {
	if len(e.Together) == 0 {
		return e.msg
	}
	return e.msg + "; counted together with the VMs planned with it in this run (best fit, largest first): " + strings.Join(e.Together, ", ")
}

// Pack places the requests on the nodes by best fit decreasing: the VMs bound to a node first,
// then the others largest first (memory, then vCPUs), each on the online node it leaves the least
// memory free on. It returns the node of each request by name, or the error of the first one that
// fits nowhere. The nodes' allocations are not changed.
func Pack(dc string, nodes []Node, p Policy, reqs []Request) (map[string]string, error) {
	work := make([]Node, len(nodes))
	copy(work, nodes)
	sort.Slice(work, func(i, j int) bool { return work[i].Name < work[j].Name })
	order := make([]Request, len(reqs))
	copy(order, reqs)
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if (a.Node != "") != (b.Node != "") {
			return a.Node != ""
		}
		if a.MemoryMB != b.MemoryMB {
			return a.MemoryMB > b.MemoryMB
		}
		if a.Cores != b.Cores {
			return a.Cores > b.Cores
		}
		return a.Name < b.Name
	})
	out := make(map[string]string, len(reqs))
	var placed []string
	for _, r := range order {
		i, err := bestFit(dc, work, p, r)
		if err != nil {
			err.Together = placed
			return nil, err
		}
		out[r.Name] = work[i].Name
		if p.Counts(r.Running) {
			work[i].AllocatedCores += r.Cores
			work[i].AllocatedMemoryMB += r.MemoryMB
		}
		placed = append(placed, r.Name)
	}
	return out, nil
}

// fits reports whether r can go on n: a VM that counts (Policy.Counts) within what n has free, one
// that does not within what n has at all, so that it can start there once there is room.
func fits(n Node, p Policy, r Request) bool {
	if !n.Online || r.Cores > n.CPUs {
		return false
	}
	if !p.Counts(r.Running) {
		n.AllocatedCores, n.AllocatedMemoryMB = 0, 0
	}
	free := p.FreeCores(n)
	return (free == Unlimited || r.Cores <= free) && r.MemoryMB <= p.FreeMemoryMB(n)
}

// bestFit returns the index of the node r goes on; nodes are sorted by name. A VM that counts goes
// where it leaves the least room (best fit); one that does not, where the most memory is free, so
// that it is likeliest to start.
func bestFit(dc string, nodes []Node, p Policy, r Request) (int, *NodeFitError) {
	fail := func(resource, format string, args ...any) (int, *NodeFitError) {
		return -1, &NodeFitError{DC: dc, VM: r.Name, Resource: resource, Node: r.Node, msg: fmt.Sprintf(format, args...)}
	}
	counts := p.Counts(r.Running)
	if r.Node != "" {
		for i, n := range nodes {
			if n.Name != r.Node {
				continue
			}
			switch {
			case !n.Online:
				return fail("node", "VM %s cannot go on node %s of %s: the node is offline", r.Name, n.Name, dc)
			case r.Cores > n.CPUs:
				return fail("cores", "VM %s needs %d vCPUs; node %s of %s has %d CPUs, and PVE allows no VM more vCPUs than its node has", r.Name, r.Cores, n.Name, dc, n.CPUs)
			case fits(n, p, r):
				return i, nil
			case !fits(n, p, Request{Cores: r.Cores, Running: r.Running}):
				return fail("cores", "VM %s needs %d vCPUs; node %s of %s has %s", r.Name, r.Cores, n.Name, dc, coresFree(n, p))
			}
			return fail("memory", "VM %s needs %d MiB of memory; node %s of %s has %s", r.Name, r.MemoryMB, n.Name, dc, memoryFree(n, p))
		}
		names := make([]string, len(nodes))
		for i, n := range nodes {
			names[i] = n.Name
		}
		return fail("node", "VM %s cannot go on node %s: %s has no such node (its nodes: %s)", r.Name, r.Node, dc, strings.Join(names, ", "))
	}
	var online []Node
	for _, n := range nodes {
		if n.Online {
			online = append(online, n)
		}
	}
	if len(online) == 0 {
		return fail("node", "VM %s cannot be placed: %s has no online node", r.Name, dc)
	}
	best := -1
	ok := steer(nodes, p, r)
	for i, n := range nodes {
		if !ok[i] {
			continue
		}
		better := best < 0
		if !better && counts {
			better = leftover(n, p, r) < leftover(nodes[best], p, r)
		} else if !better {
			better = p.FreeMemoryMB(n) > p.FreeMemoryMB(nodes[best])
		}
		if better {
			best = i // ties keep the lowest name: nodes are sorted
		}
	}
	if best >= 0 {
		return best, nil
	}
	most := int64(0)
	for _, n := range online {
		most = max(most, n.CPUs)
	}
	if r.Cores > most {
		return fail("cores", "VM %s needs %d vCPUs; the most any online node of %s has is %d (%s)", r.Name, r.Cores, dc, most,
			list(online, func(n Node) string { return strconv.FormatInt(n.CPUs, 10) }))
	}
	coreRoom := false
	for _, n := range online {
		coreRoom = coreRoom || fits(n, p, Request{Cores: r.Cores, Running: r.Running})
	}
	if !coreRoom {
		return fail("cores", "VM %s needs %d vCPUs; no online node of %s has that many %s (%s)", r.Name, r.Cores, dc, room(counts),
			list(online, func(n Node) string { return coresFree(n, p) }))
	}
	return fail("memory", "VM %s needs %d MiB of memory; no online node of %s with room for its vCPUs has that much %s (%s)", r.Name, r.MemoryMB, dc, room(counts),
		list(online, func(n Node) string { return memoryFree(n, p) }))
}

// steer marks the nodes r may go on: those it fits on, narrowed away from r.Avoid and then onto
// r.Prefer as long as a node is left.
func steer(nodes []Node, p Policy, r Request) []bool {
	ok := make([]bool, len(nodes))
	for i, n := range nodes {
		ok[i] = fits(n, p, r)
	}
	narrow := func(keep func(name string) bool) {
		next := make([]bool, len(ok))
		left := false
		for i, n := range nodes {
			next[i] = ok[i] && keep(n.Name)
			left = left || next[i]
		}
		if left {
			ok = next
		}
	}
	narrow(func(name string) bool { return !slices.Contains(r.Avoid, name) })
	narrow(func(name string) bool { return slices.Contains(r.Prefer, name) })
	return ok
}

// room is what a VM is judged against: what nodes have free, or, for a VM that takes nothing
// while stopped, what they have at all.
func room(counts bool) string {
	if counts {
		return "free"
	}
	return "in all (it is stopped, but must fit when it starts)"
}

// leftover orders the candidate nodes of best fit: the memory left free after placing r, then
// the vCPUs.
func leftover(n Node, p Policy, r Request) float64 {
	mem := float64(p.FreeMemoryMB(n) - r.MemoryMB)
	cores := p.FreeCores(n)
	if cores == Unlimited {
		return mem + 0.5 // unbounded vCPUs: after any node with a bound and the same memory left
	}
	return mem + float64(cores-r.Cores)/float64(cores+1)/2
}

func list(nodes []Node, figure func(Node) string) string {
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = n.Name + ": " + figure(n)
	}
	return strings.Join(parts, ", ")
}

func coresFree(n Node, p Policy) string {
	return fmt.Sprintf("%d of %d vCPUs free (%d CPUs × cpu_allocation_ratio %s, %d allocated)",
		p.FreeCores(n), p.CoreCapacity(n), n.CPUs, ratio(p.CPURatio), n.AllocatedCores)
}

func memoryFree(n Node, p Policy) string {
	return fmt.Sprintf("%d of %d MiB free (%d MiB × memory_allocation_ratio %s − reserved_memory_mb %d, %d MiB allocated)",
		p.FreeMemoryMB(n), p.MemoryCapacity(n), n.MemoryMB, ratio(p.EffectiveMemoryRatio()), p.ReservedMemoryMB, n.AllocatedMemoryMB)
}

func ratio(r float64) string { return strconv.FormatFloat(r, 'g', -1, 64) }

// FitsCount is how many more running VMs of the given size the online nodes take, each whole on
// one node, within the datacenter's limits.
func FitsCount(c Capacity, nodes []Node, p Policy, cores, memoryMB int64) int64 {
	if cores <= 0 || memoryMB <= 0 {
		return 0
	}
	var n int64
	for _, node := range nodes {
		if !node.Online || cores > node.CPUs {
			continue
		}
		k := p.FreeMemoryMB(node) / memoryMB
		if free := p.FreeCores(node); free != Unlimited {
			k = min(k, free/cores)
		}
		n += k
	}
	a := c.Available()
	for _, bound := range []struct{ free, each int64 }{{a.VMs, 1}, {a.Cores, cores}, {a.MemoryMB, memoryMB}} {
		if bound.free != Unlimited {
			n = min(n, bound.free/bound.each)
		}
	}
	return n
}

// NodesFree sums what the online nodes can still take: vCPUs (Unlimited without a CPU ratio) and
// memory.
func NodesFree(nodes []Node, p Policy) (cores, memoryMB int64) {
	for _, n := range nodes {
		if !n.Online {
			continue
		}
		if f := p.FreeCores(n); f == Unlimited || cores == Unlimited {
			cores = Unlimited
		} else {
			cores += f
		}
		memoryMB += p.FreeMemoryMB(n)
	}
	return cores, memoryMB
}
