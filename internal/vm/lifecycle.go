package vm

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

// maxCreateAttempts bounds the VMID race: each lost race means another writer took the id, so
// the next nextid answer is higher; many rounds mean something else is wrong.
const maxCreateAttempts = 25

// Manager runs VM lifecycles. One Manager serves a whole provider process, so VMIDs handed to
// parallel creates in the same run never collide with each other; collisions with other
// processes (other workspaces) are resolved by retrying, as PVE's nextid is racy by design.
type Manager struct {
	mu       sync.Mutex
	reserved map[string]map[int]bool // dc -> VMIDs being created by this process
}

// NewManager returns a Manager with no reservations.
func NewManager() *Manager { return &Manager{reserved: map[string]map[int]bool{}} }

func (m *Manager) reserve(dc string, from int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reserved[dc]
	if r == nil {
		r = map[int]bool{}
		m.reserved[dc] = r
	}
	id := from
	for r[id] {
		id++
	}
	r[id] = true
	return id
}

func (m *Manager) release(dc string, id int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.reserved[dc], id)
}

// Create makes the VM with identity id and returns it as the datacenter now holds it. A create
// that fails after PVE accepted it is adopted by identity, never repeated, so a retry never makes
// a second VM.
func (m *Manager) Create(ctx context.Context, c *dcrouter.Client, id string, s Spec) (VM, error) {
	node := s.Node
	if node == "" {
		var err error
		if node, err = ChooseNode(ctx, c); err != nil {
			return VM{}, err
		}
	}
	vmid, err := m.createConfig(ctx, c, id, node, s)
	if err != nil {
		return VM{}, err
	}
	if s.Started {
		if err := Start(ctx, c, node, vmid); err != nil {
			return VM{}, fmt.Errorf("VM %d was created on %s but did not start: %w", vmid, node, err)
		}
	}
	return Get(ctx, c, node, vmid)
}

func (m *Manager) createConfig(ctx context.Context, c *dcrouter.Client, id, node string, s Spec) (int, error) {
	var lastErr error
	for attempt := 0; attempt < maxCreateAttempts; attempt++ {
		next, err := c.NextID(ctx)
		if err != nil {
			return 0, err
		}
		vmid := m.reserve(c.DC(), next)
		upid, err := c.CreateVM(ctx, node, createParams(id, vmid, s))
		if err == nil {
			err = c.WaitTask(ctx, upid)
			m.release(c.DC(), vmid)
			if err != nil {
				return vmid, fmt.Errorf("creating VM %d on %s: %w", vmid, node, err)
			}
			return vmid, nil
		}
		m.release(c.DC(), vmid)
		if dcrouter.IsAlreadyExists(err) {
			lastErr = err
			continue
		}
		// The request may have been applied before the connection broke: adopt what exists.
		if loc, found, ferr := Locate(ctx, c, id); ferr == nil && found {
			return loc.VMID, nil
		}
		return 0, err
	}
	return 0, fmt.Errorf("no free VMID after %d attempts in datacenter %s: %w", maxCreateAttempts, c.DC(), lastErr)
}

// ChooseNode picks the online node with the most free memory.
func ChooseNode(ctx context.Context, c *dcrouter.Client) (string, error) {
	res, err := c.ClusterResources(ctx, "node")
	if err != nil {
		return "", err
	}
	nodes := make([]placement.NodeUsage, 0, len(res))
	for _, r := range res {
		if r.Type != "node" {
			continue
		}
		nodes = append(nodes, placement.NodeUsage{Name: r.Node, Online: r.Status == "online", Cores: int64(r.MaxCPU), MemoryBytes: r.MaxMem, UsedBytes: r.Mem})
	}
	node, err := placement.ChooseNode(nodes)
	if errors.Is(err, placement.ErrNoOnlineNode) {
		return "", fmt.Errorf("datacenter %s has no online node to place the VM on", c.DC())
	}
	return node, err
}

// Locate finds the VM carrying identity id in one datacenter with a single /cluster/resources call.
func Locate(ctx context.Context, c *dcrouter.Client, id string) (Location, bool, error) {
	res, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return Location{}, false, err
	}
	return find(res, id)
}

func find(res []dcrouter.Resource, id string) (Location, bool, error) {
	want := IdentityTag(id)
	var hits []Location
	for _, r := range res {
		if r.Type != "qemu" {
			continue
		}
		for _, t := range r.TagList() {
			if t == want {
				hits = append(hits, Location{Node: r.Node, VMID: r.VMID, Lock: r.Lock})
				break
			}
		}
	}
	switch len(hits) {
	case 0:
		return Location{}, false, nil
	case 1:
		return hits[0], true, nil
	default:
		return Location{}, false, fmt.Errorf("identity %s is carried by %d VMs (%d and %d); remove the tag %s from all but one", id, len(hits), hits[0].VMID, hits[1].VMID, want)
	}
}

// Get reads one VM: its config for the settings and its status for the power state.
func Get(ctx context.Context, c *dcrouter.Client, node string, vmid int) (VM, error) {
	cfg, err := c.VMConfig(ctx, node, vmid, false)
	if err != nil {
		return VM{}, err
	}
	v, err := fromConfig(c.DC(), node, vmid, cfg)
	if err != nil {
		return VM{}, err
	}
	st, err := c.VMStatus(ctx, node, vmid)
	if err != nil {
		return VM{}, err
	}
	v.Status = st.Status
	v.Running = st.Status == "running"
	return v, nil
}

// Update brings the VM to s: config first, then the power state.
func Update(ctx context.Context, c *dcrouter.Client, id string, cur VM, s Spec) error {
	if p := updateParams(id, cur, s); p != nil {
		if err := c.UpdateVMConfig(ctx, cur.Node, cur.VMID, p); err != nil {
			return err
		}
	}
	switch {
	case s.Started && !cur.Running:
		return Start(ctx, c, cur.Node, cur.VMID)
	case !s.Started && cur.Running:
		return Shutdown(ctx, c, cur.Node, cur.VMID)
	}
	return nil
}

// Start boots the VM and waits for it.
func Start(ctx context.Context, c *dcrouter.Client, node string, vmid int) error {
	upid, err := c.StartVM(ctx, node, vmid)
	if err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}

// shutdownTimeoutSec is how long the guest gets to power off before PVE pulls the plug.
const shutdownTimeoutSec = 60

// Shutdown asks the guest to power off, forcing a stop after the timeout.
func Shutdown(ctx context.Context, c *dcrouter.Client, node string, vmid int) error {
	upid, err := c.ShutdownVM(ctx, node, vmid, shutdownTimeoutSec, true)
	if err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}

// Delete stops the VM if it runs and destroys it with its disks. A VM that is already gone is
// not an error: that is the state Delete wants.
func Delete(ctx context.Context, c *dcrouter.Client, node string, vmid int) error {
	st, err := c.VMStatus(ctx, node, vmid)
	if dcrouter.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Status == "running" {
		upid, err := c.StopVM(ctx, node, vmid)
		if err != nil {
			return err
		}
		if err := c.WaitTask(ctx, upid); err != nil {
			return err
		}
	}
	upid, err := c.DeleteVM(ctx, node, vmid, true)
	if dcrouter.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}

// LocateVMID finds a VM by its VMID (used right after an import, before moxxie knows its identity).
func LocateVMID(ctx context.Context, c *dcrouter.Client, vmid int) (Location, bool, error) {
	res, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return Location{}, false, err
	}
	for _, r := range res {
		if r.Type == "qemu" && r.VMID == vmid {
			return Location{Node: r.Node, VMID: r.VMID, Lock: r.Lock}, true, nil
		}
	}
	return Location{}, false, nil
}
