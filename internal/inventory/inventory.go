// Package inventory reads what a datacenter holds (nodes, VMs, health) with a fixed number of API
// calls per datacenter, whatever its size: one /version, one /cluster/status and one
// /cluster/resources, each served from the client's view of the cluster (read once per provider
// process until the client writes). Data sources and plan-time checks share it.
package inventory

import (
	"context"
	"sync"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// VM is one guest as /cluster/resources lists it.
type VM struct {
	VMID     int
	ID       string // moxxie identity, "" for unmanaged guests
	Name     string
	Node     string
	Running  bool
	Cores    int64
	MemoryMB int64
	Tags     []string
	Lock     string
	Template bool
}

// Snapshot is one datacenter at one moment, as Take or TakeResources build it. Snapshots of one
// listing are shared by the resources of a walk (Cache): they must not be modified.
type Snapshot struct {
	DC         string
	Version    string
	Latency    time.Duration // round trip of GET /version
	Quorate    bool          // false in a TakeResources snapshot, which does not read it
	Nodes      []placement.NodeUsage
	VMs        []VM
	NodesTotal int
	// Live managed VMs by name and by identity (index into VMs, the first in listing order):
	// each resource of a plan asks for its neighbours by name, so a scan per question would
	// make planning n VMs cost n*n.
	byName, byID map[string]int
}

// Take builds a full snapshot from the client's view of the cluster; reads it still needs run
// concurrently.
func Take(ctx context.Context, c *dcrouter.Client) (Snapshot, error) {
	return take(ctx, c, true)
}

// TakeResources builds a snapshot from /cluster/resources alone: the nodes and VMs that placement
// and template checks need, without the health figures (Version, Latency and Quorate stay zero),
// so a plan's checks cost each datacenter one read. NodesTotal counts the node entries, which
// /cluster/resources lists for every cluster member, online or not. The listing is the latest
// this process read (ClusterResourcesOfWalk), which may predate the process's own writes: plan
// checks add what this run creates from their ledger, so they need no fresh read per resource.
func TakeResources(ctx context.Context, c *dcrouter.Client) (Snapshot, error) {
	return take(ctx, c, false)
}

func take(ctx context.Context, c *dcrouter.Client, health bool) (Snapshot, error) {
	var (
		wg                      sync.WaitGroup
		verErr, statErr, resErr error
		version                 dcrouter.Version
		l                       *dcrouter.Listing
		status                  []dcrouter.ClusterStatusItem
	)
	if health {
		wg.Add(2)
		go func() {
			defer wg.Done()
			version, verErr = c.Version(ctx)
		}()
		go func() {
			defer wg.Done()
			status, statErr = c.ClusterStatus(ctx)
		}()
	}
	if health {
		l, resErr = c.Listing(ctx)
	} else {
		l, resErr = c.ListingOfWalk(ctx)
	}
	wg.Wait()
	for _, err := range []error{verErr, statErr, resErr} {
		if err != nil {
			return Snapshot{DC: c.DC()}, err
		}
	}
	s := fromListing(c.DC(), l)
	s.Latency, s.Version = version.RoundTrip, version.Version
	if !health {
		return s, nil
	}
	s.Quorate = true
	nodes := 0
	for _, st := range status {
		switch st.Type {
		case "cluster":
			s.Quorate = st.Quorate
		case "node":
			nodes++
		}
	}
	if nodes > 0 {
		s.NodesTotal = nodes
	}
	return s, nil
}

// fromListing builds the nodes and VMs of a snapshot from one /cluster/resources answer; NodesTotal
// counts its node entries, which it lists for every cluster member, online or not.
func fromListing(dc string, l *dcrouter.Listing) Snapshot {
	s := Snapshot{DC: dc, byName: map[string]int{}, byID: map[string]int{}}
	for _, r := range l.Of("") {
		switch r.Type {
		case "node":
			s.Nodes = append(s.Nodes, vm.NodeUsage(r))
		case "qemu":
			id, tags := vm.SplitTags(r.TagList())
			v := VM{VMID: r.VMID, ID: id, Name: r.Name, Node: r.Node, Running: r.Status == "running",
				Cores: int64(r.MaxCPU), MemoryMB: r.MaxMem >> 20, Tags: tags, Lock: r.Lock, Template: r.Template}
			if v.live() && id != "" {
				if _, dup := s.byName[v.Name]; !dup {
					s.byName[v.Name] = len(s.VMs)
				}
				if _, dup := s.byID[id]; !dup {
					s.byID[id] = len(s.VMs)
				}
			}
			s.VMs = append(s.VMs, v)
		}
	}
	s.NodesTotal = len(s.Nodes)
	return s
}

// NodesOnline counts the nodes that take VMs.
func (s Snapshot) NodesOnline() int {
	n := 0
	for _, node := range s.Nodes {
		if node.Online {
			n++
		}
	}
	return n
}

// Capacity sums the snapshot into placement figures; exclude names a VM (by VMID) whose current
// size must not count, because the plan being checked replaces it.
func (s Snapshot) Capacity(limits placement.Limits, exclude int) placement.Capacity {
	c := placement.Capacity{DC: s.DC, Limits: limits}
	c.Physical.NodesTotal = s.NodesTotal
	for _, n := range s.Nodes {
		if !n.Online {
			continue
		}
		c.Physical.NodesOnline++
		c.Physical.Cores += n.Cores
		c.Physical.MemoryMB += n.MemoryBytes >> 20
	}
	for _, v := range s.VMs {
		if !v.live() || v.VMID == exclude {
			continue
		}
		c.Allocated.VMs++
		c.Allocated.Cores += v.Cores
		c.Allocated.MemoryMB += v.MemoryMB
		if v.Running {
			c.Allocated.VMsRunning++
		}
	}
	return c
}

// NodeLoads is each node with what the VMs that count under p (see placement.Policy.Counts) take
// of it; exclude names a VM (by VMID) whose current size must not count, because the plan being
// checked replaces it.
func (s Snapshot) NodeLoads(p placement.Policy, exclude int) []placement.Node {
	out := make([]placement.Node, len(s.Nodes))
	at := make(map[string]int, len(s.Nodes))
	for i, n := range s.Nodes {
		out[i] = placement.Node{Name: n.Name, Online: n.Online, CPUs: n.Cores, MemoryMB: n.MemoryBytes >> 20}
		at[n.Name] = i
	}
	for _, v := range s.VMs {
		i, ok := at[v.Node]
		if !ok || !v.live() || v.VMID == exclude || !p.Counts(v.Running) {
			continue
		}
		out[i].AllocatedCores += v.Cores
		out[i].AllocatedMemoryMB += v.MemoryMB
	}
	return out
}

// live reports whether the VM takes capacity: templates and the stopped source copies a
// migration leaves behind (lock "migrate") do not run anywhere.
func (v VM) live() bool { return !v.Template && v.Lock != "migrate" }

// Live is the VMs that take capacity (see VM.live).
func (s Snapshot) Live() []VM {
	out := make([]VM, 0, len(s.VMs))
	for _, v := range s.VMs {
		if v.live() {
			out = append(out, v)
		}
	}
	return out
}

// ByID finds a live managed VM by identity.
func (s Snapshot) ByID(id string) (VM, bool) {
	i, ok := s.byID[id]
	if !ok || id == "" {
		return VM{}, false
	}
	return s.VMs[i], true
}

// ByName finds a live managed VM by name.
func (s Snapshot) ByName(name string) (VM, bool) {
	i, ok := s.byName[name]
	if !ok {
		return VM{}, false
	}
	return s.VMs[i], true
}
