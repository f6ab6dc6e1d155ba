package placement

import (
	"fmt"
	"strings"
)

// Limits caps a datacenter; zero means no limit.
type Limits struct {
	MaxVMs      int64
	MaxCores    int64
	MaxMemoryMB int64
}

// Physical is what a datacenter's online nodes have.
type Physical struct {
	NodesOnline int
	NodesTotal  int
	Cores       int64
	MemoryMB    int64
}

// Allocated is what the datacenter's VMs take (templates excluded).
type Allocated struct {
	VMs        int64
	VMsRunning int64
	Cores      int64
	MemoryMB   int64
}

// Demand is what one planned VM asks for.
type Demand struct {
	Key      string // identifies the VM within a run, e.g. its name
	Cores    int64
	MemoryMB int64
}

// Capacity is one datacenter's figures.
type Capacity struct {
	DC        string
	Physical  Physical
	Allocated Allocated
	Limits    Limits
}

// Unlimited marks an available figure that no limit bounds.
const Unlimited int64 = -1

// Available is what the datacenter's limits still allow; VMs, cores or memory without a limit
// are Unlimited. The limits are quotas: what the hardware takes is judged per node (Pack).
type Available struct {
	VMs      int64
	Cores    int64
	MemoryMB int64
}

// Available computes the limits' headroom; negative headroom (already over) is reported as 0.
func (c Capacity) Available() Available {
	return Available{
		VMs:      headroom(c.Limits.MaxVMs, c.Allocated.VMs),
		Cores:    headroom(c.Limits.MaxCores, c.Allocated.Cores),
		MemoryMB: headroom(c.Limits.MaxMemoryMB, c.Allocated.MemoryMB),
	}
}

// Within bounds the headroom by what the nodes can still take (NodesFree), the smaller of each.
func (a Available) Within(cores, memoryMB int64) Available {
	return Available{VMs: a.VMs, Cores: smaller(a.Cores, cores), MemoryMB: smaller(a.MemoryMB, memoryMB)}
}

func smaller(a, b int64) int64 {
	switch {
	case a == Unlimited:
		return b
	case b == Unlimited:
		return a
	}
	return min(a, b)
}

func headroom(limit, used int64) int64 {
	if limit <= 0 {
		return Unlimited
	}
	if used >= limit {
		return 0
	}
	return limit - used
}

// CapacityError says which resource ran out and by how much, with every figure that went into
// the decision, so a user can tell whether to raise a limit or add hardware.
type CapacityError struct {
	DC       string
	Resource string // "VMs", "cores", "memory"
	Need     int64  // what the planned VMs ask for together
	Free     int64
	Used     int64
	Limit    int64 // 0: none
	Physical int64 // Unlimited for VMs
	Planned  []string
}

func (e *CapacityError) Error() string {
	unit := ""
	if e.Resource == "memory" {
		unit = " MiB"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "datacenter %s has not enough %s: the planned VMs need %d%s, %d%s are free (%d%s in use", e.DC, e.Resource, e.Need, unit, e.Free, unit, e.Used, unit)
	if e.Limit > 0 {
		fmt.Fprintf(&b, ", limit %d%s", e.Limit, unit)
	}
	if e.Physical != Unlimited {
		fmt.Fprintf(&b, ", %d%s on online nodes", e.Physical, unit)
	}
	b.WriteString(")")
	if len(e.Planned) > 1 {
		fmt.Fprintf(&b, "; counted together in this plan: %s", strings.Join(e.Planned, ", "))
	}
	return b.String()
}

// Fit checks that the planned VMs fit together within the datacenter's limits.
func Fit(c Capacity, planned []Demand) error {
	var need Allocated
	keys := make([]string, 0, len(planned))
	for _, d := range planned {
		need.VMs++
		need.Cores += d.Cores
		need.MemoryMB += d.MemoryMB
		keys = append(keys, d.Key)
	}
	avail := c.Available()
	check := func(resource string, want, free, used, limit, physical int64) error {
		if free == Unlimited || want <= free {
			return nil
		}
		return &CapacityError{DC: c.DC, Resource: resource, Need: want, Free: free, Used: used, Limit: limit, Physical: physical, Planned: keys}
	}
	if err := check("VMs", need.VMs, avail.VMs, c.Allocated.VMs, c.Limits.MaxVMs, Unlimited); err != nil {
		return err
	}
	if err := check("cores", need.Cores, avail.Cores, c.Allocated.Cores, c.Limits.MaxCores, c.Physical.Cores); err != nil {
		return err
	}
	return check("memory", need.MemoryMB, avail.MemoryMB, c.Allocated.MemoryMB, c.Limits.MaxMemoryMB, c.Physical.MemoryMB)
}
