// Package inventory reads what a datacenter holds right now (nodes, VMs, health) with a fixed
// number of API calls per datacenter, whatever its size: one /version, one /cluster/status and
// one /cluster/resources. Data sources and plan-time checks share it.
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

// Snapshot is one datacenter at one moment.
type Snapshot struct {
	DC         string
	Version    string
	Latency    time.Duration // round trip of GET /version
	Quorate    bool
	Nodes      []placement.NodeUsage
	VMs        []VM
	NodesTotal int
}

// Take reads a snapshot; its three calls run concurrently.
func Take(ctx context.Context, c *dcrouter.Client) (Snapshot, error) {
	s := Snapshot{DC: c.DC()}
	var (
		wg                      sync.WaitGroup
		verErr, statErr, resErr error
		res                     []dcrouter.Resource
		status                  []dcrouter.ClusterStatusItem
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		start := time.Now()
		v, err := c.Version(ctx)
		s.Latency, s.Version, verErr = time.Since(start), v.Version, err
	}()
	go func() {
		defer wg.Done()
		status, statErr = c.ClusterStatus(ctx)
	}()
	go func() {
		defer wg.Done()
		res, resErr = c.ClusterResources(ctx, "")
	}()
	wg.Wait()
	for _, err := range []error{verErr, statErr, resErr} {
		if err != nil {
			return s, err
		}
	}
	s.Quorate = true
	for _, st := range status {
		switch st.Type {
		case "cluster":
			s.Quorate = st.Quorate
		case "node":
			s.NodesTotal++
		}
	}
	for _, r := range res {
		switch r.Type {
		case "node":
			s.Nodes = append(s.Nodes, vm.NodeUsage(r))
		case "qemu":
			id, tags := vm.SplitTags(r.TagList())
			s.VMs = append(s.VMs, VM{VMID: r.VMID, ID: id, Name: r.Name, Node: r.Node, Running: r.Status == "running",
				Cores: int64(r.MaxCPU), MemoryMB: r.MaxMem >> 20, Tags: tags, Lock: r.Lock, Template: r.Template})
		}
	}
	if s.NodesTotal == 0 {
		s.NodesTotal = len(s.Nodes)
	}
	return s, nil
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
	for _, v := range s.Live() {
		if v.VMID == exclude {
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

// Live is the VMs that take capacity: templates and the stopped source copies a migration leaves
// behind (lock "migrate") do not run anywhere.
func (s Snapshot) Live() []VM {
	out := make([]VM, 0, len(s.VMs))
	for _, v := range s.VMs {
		if !v.Template && v.Lock != "migrate" {
			out = append(out, v)
		}
	}
	return out
}

// ByID finds a managed VM by identity.
func (s Snapshot) ByID(id string) (VM, bool) {
	for _, v := range s.Live() {
		if id != "" && v.ID == id {
			return v, true
		}
	}
	return VM{}, false
}

// ByName finds managed VMs by name.
func (s Snapshot) ByName(name string) (VM, bool) {
	for _, v := range s.Live() {
		if v.ID != "" && v.Name == name {
			return v, true
		}
	}
	return VM{}, false
}
