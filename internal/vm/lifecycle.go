package vm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

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
	var vmid int
	var err error
	if s.Clone != nil {
		// PVE clones to another node only from shared storage; cloning where the template is
		// works everywhere.
		node = s.Clone.TemplateNode
		vmid, err = m.clone(ctx, c, id, s)
	} else {
		vmid, err = m.createConfig(ctx, c, id, node, s)
	}
	if err != nil {
		return VM{DC: c.DC(), Node: node, VMID: vmid}, err
	}
	if s.Clone != nil {
		// The clone has the template's settings; bring it to the spec (disks grow, NICs,
		// cloud-init, identity tag).
		_, cur, err := Observe(ctx, c, node, vmid, "stopped")
		if err != nil {
			return VM{}, err
		}
		if err := Update(ctx, c, id, cur, Spec{Name: s.Name, Cores: s.Cores, MemoryMB: s.MemoryMB, Tags: s.Tags, Description: s.Description,
			NICs: s.NICs, Disks: s.Disks, CloudInit: s.CloudInit}); err != nil {
			return VM{DC: c.DC(), Node: node, VMID: vmid}, fmt.Errorf("VM %d was cloned on %s but could not be configured: %w", vmid, node, err)
		}
	}
	if s.Started {
		if err := Start(ctx, c, node, vmid); err != nil {
			return VM{DC: c.DC(), Node: node, VMID: vmid}, fmt.Errorf("VM %d was created on %s but did not start: %w", vmid, node, err)
		}
	}
	_, eff, err := Observe(ctx, c, node, vmid, "")
	return eff, err
}

// ours reports whether the VM at vmid, once its creation has finished, carries identity id.
func (m *Manager) ours(ctx context.Context, c *dcrouter.Client, id string, vmid int) (bool, error) {
	c.ForgetResources()
	loc, found, err := LocateVMID(ctx, c, vmid)
	if err != nil || !found {
		return false, err
	}
	if err := waitUnlocked(ctx, c, loc); err != nil {
		return false, err
	}
	c.ForgetResources()
	mine, found, err := Locate(ctx, c, id)
	return found && mine.VMID == vmid, err
}

// clone copies the template into a new VM on the template's node.
func (m *Manager) clone(ctx context.Context, c *dcrouter.Client, id string, s Spec) (int, error) {
	return m.claimVMID(ctx, c, id, func(vmid int) (string, error) {
		p := map[string]any{"newid": vmid, "name": s.Name, "full": s.Clone.Full}
		if s.Clone.Full && len(s.Disks) > 0 {
			p["storage"] = s.Disks[0].Storage
		}
		return c.CloneVM(ctx, s.Clone.TemplateNode, s.Clone.TemplateVMID, p)
	}, func(vmid int) string {
		return fmt.Sprintf("cloning template %d into VM %d", s.Clone.TemplateVMID, vmid)
	})
}

// createConfig makes a new, empty VM with the spec's settings.
func (m *Manager) createConfig(ctx context.Context, c *dcrouter.Client, id, node string, s Spec) (int, error) {
	return m.claimVMID(ctx, c, id, func(vmid int) (string, error) {
		return c.CreateVM(ctx, node, createParams(id, vmid, s))
	}, func(vmid int) string { return fmt.Sprintf("creating VM %d on %s", vmid, node) })
}

// claimVMID runs submit (a create or a clone) with VMIDs from nextid until one is not taken. VMIDs
// handed to this process's other creates are skipped; a lost race with another writer ("already
// exists") is retried with the next id.
func (m *Manager) claimVMID(ctx context.Context, c *dcrouter.Client, id string, submit func(vmid int) (string, error), what func(vmid int) string) (int, error) {
	var lastErr error
	for attempt := 0; attempt < maxCreateAttempts; attempt++ {
		next, err := c.NextID(ctx)
		if err != nil {
			return 0, err
		}
		vmid := m.reserve(c.DC(), next)
		upid, err := submit(vmid)
		if err == nil {
			err = c.WaitTask(ctx, upid)
			m.release(c.DC(), vmid)
			if err != nil {
				return vmid, fmt.Errorf("%s: %w", what(vmid), err)
			}
			return vmid, nil
		}
		m.release(c.DC(), vmid)
		// "already exists" is either another writer's VM (a VMID race) or our own create whose
		// answer was lost and that the client sent again; a broken connection may also hide an
		// applied create. Either way, what carries our identity is ours: adopt it, never make a
		// second one. PVE writes the settings (our identity tag among them) only when the create
		// task ends, so first wait for whatever holds the VMID to finish being created.
		if owned, oerr := m.ours(ctx, c, id, vmid); oerr != nil {
			return 0, fmt.Errorf("%s: %w (and checking whether it exists: %v)", what(vmid), err, oerr)
		} else if owned {
			return vmid, nil
		}
		if dcrouter.IsAlreadyExists(err) {
			lastErr = err
			continue
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
	var nodes []placement.NodeUsage
	for _, r := range res {
		if r.Type == "node" {
			nodes = append(nodes, NodeUsage(r))
		}
	}
	node, err := placement.ChooseNode(nodes)
	if errors.Is(err, placement.ErrNoOnlineNode) {
		return "", fmt.Errorf("datacenter %s has no online node to place the VM on", c.DC())
	}
	return node, err
}

// NodeUsage reads a node entry of /cluster/resources into placement's figures.
func NodeUsage(r dcrouter.Resource) placement.NodeUsage {
	return placement.NodeUsage{Name: r.Node, Online: r.Status == "online", Cores: int64(r.MaxCPU), MemoryBytes: r.MaxMem, UsedBytes: r.Mem}
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
				hits = append(hits, Location{Node: r.Node, VMID: r.VMID, Lock: r.Lock, Status: r.Status})
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

// Observe reads one VM with a single call: PVE's pending view lists every config key with its
// running value and the value it will have after the next reboot. cur holds the running values
// (and the keys still pending), eff the values with pending changes applied. status "" asks PVE
// for the power state; callers that know it (from /cluster/resources) pass it in.
func Observe(ctx context.Context, c *dcrouter.Client, node string, vmid int, status string) (cur, eff VM, err error) {
	items, err := c.VMPending(ctx, node, vmid)
	if err != nil {
		return VM{}, VM{}, err
	}
	current, effective := map[string]string{}, map[string]string{}
	var pending []string
	for _, it := range items {
		if it.Value != nil {
			current[it.Key] = *it.Value
			effective[it.Key] = *it.Value
		}
		if it.Pending != nil {
			effective[it.Key] = *it.Pending
			pending = append(pending, it.Key)
		}
		if it.Delete > 0 {
			delete(effective, it.Key)
			pending = append(pending, it.Key)
		}
	}
	if cur, err = fromConfig(c.DC(), node, vmid, current); err != nil {
		return VM{}, VM{}, err
	}
	if eff, err = fromConfig(c.DC(), node, vmid, effective); err != nil {
		return VM{}, VM{}, err
	}
	if status == "" {
		st, err := c.VMStatus(ctx, node, vmid)
		if err != nil {
			return VM{}, VM{}, err
		}
		status = st.Status
	}
	for _, v := range []*VM{&cur, &eff} {
		v.Status, v.Running = status, status == "running"
	}
	sort.Strings(pending)
	cur.Pending = pending
	return cur, eff, nil
}

// Update brings the VM to s: config (including new and detached disks), removal of detached
// volumes, disk growth, the power state, and a reboot when PVE holds changes pending and the spec
// allows it. Disks are left alone when the spec names none (a clone keeps its template's).
func Update(ctx context.Context, c *dcrouter.Client, id string, cur VM, s Spec) error {
	p := updateParams(id, cur, s)
	var detached []Disk
	var grow []Disk
	if s.Disks != nil {
		if p == nil {
			p = map[string]any{}
		}
		var del []string
		detached, grow, del = diskUpdates(p, cur.Disks, s.Disks)
		if len(del) > 0 {
			if d, _ := p["delete"].(string); d != "" {
				del = append([]string{d}, del...)
			}
			p["delete"] = strings.Join(del, ",")
		}
		if len(p) == 0 {
			p = nil
		}
	}
	if p != nil {
		if err := c.UpdateVMConfig(ctx, cur.Node, cur.VMID, p); err != nil {
			return err
		}
	}
	if err := destroyUnused(ctx, c, cur.Node, cur.VMID, detached); err != nil {
		return err
	}
	for _, d := range grow {
		upid, err := c.ResizeDisk(ctx, cur.Node, cur.VMID, d.Slot, strconv.FormatInt(d.SizeGB, 10)+"G")
		if err != nil {
			return fmt.Errorf("growing %s to %d GiB: %w", d.Slot, d.SizeGB, err)
		}
		if upid != "" {
			if err := c.WaitTask(ctx, upid); err != nil {
				return fmt.Errorf("growing %s to %d GiB: %w", d.Slot, d.SizeGB, err)
			}
		}
	}
	switch {
	case s.Started && !cur.Running:
		return Start(ctx, c, cur.Node, cur.VMID) // a fresh start runs the new config
	case !s.Started && cur.Running:
		return Shutdown(ctx, c, cur.Node, cur.VMID)
	case cur.Running && s.RebootOnPending:
		return rebootIfPending(ctx, c, cur.Node, cur.VMID)
	}
	return nil
}

func rebootIfPending(ctx context.Context, c *dcrouter.Client, node string, vmid int) error {
	items, err := c.VMPending(ctx, node, vmid)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Pending != nil || it.Delete > 0 {
			upid, err := c.RebootVM(ctx, node, vmid)
			if err != nil {
				return err
			}
			return c.WaitTask(ctx, upid)
		}
	}
	return nil
}

// diskUpdates writes new disks and changed options into p and says which disks to detach (by
// slot, in del) and which to grow afterwards.
func diskUpdates(p map[string]any, cur, want []Disk) (detached, grow []Disk, del []string) {
	have := map[string]Disk{}
	for _, d := range cur {
		have[d.Slot] = d
	}
	keep := map[string]bool{}
	for _, d := range want {
		keep[d.Slot] = true
		old, ok := have[d.Slot]
		switch {
		case !ok:
			p[d.Slot] = d.createValue()
		default:
			if d.optionsChanged(old) {
				p[d.Slot] = old.Volume + d.options() + ",size=" + strconv.FormatInt(old.SizeGB, 10) + "G"
			}
			if d.SizeGB > old.SizeGB {
				grow = append(grow, d)
			}
		}
	}
	for _, d := range cur {
		if !keep[d.Slot] {
			detached = append(detached, d)
			del = append(del, d.Slot)
		}
	}
	return detached, grow, del
}

// destroyUnused removes the volumes PVE kept as unusedN after their disks were detached: a disk
// removed from the configuration is gone, as users expect from Terraform.
func destroyUnused(ctx context.Context, c *dcrouter.Client, node string, vmid int, detached []Disk) error {
	if len(detached) == 0 {
		return nil
	}
	cfg, err := c.VMConfig(ctx, node, vmid, false)
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, d := range detached {
		gone[d.Volume] = true
	}
	var del []string
	for k, v := range cfg {
		if strings.HasPrefix(k, "unused") && gone[strings.Split(v, ",")[0]] {
			del = append(del, k)
		}
	}
	if len(del) == 0 {
		return nil
	}
	sort.Strings(del)
	return c.UpdateVMConfig(ctx, node, vmid, map[string]any{"delete": strings.Join(del, ",")})
}

// Start boots the VM and waits for it. A start whose answer was lost and that was sent again
// fails with "already running": that is the state asked for.
func Start(ctx context.Context, c *dcrouter.Client, node string, vmid int) error {
	upid, err := c.StartVM(ctx, node, vmid)
	if err != nil {
		return err
	}
	if err := c.WaitTask(ctx, upid); err != nil {
		if strings.Contains(err.Error(), "already running") {
			return nil
		}
		return err
	}
	return nil
}

// waitUnlocked waits while an adopted VM is still being created (lock "create"), so the caller
// does not configure it half-way.
func waitUnlocked(ctx context.Context, c *dcrouter.Client, loc Location) error {
	for wait := 50 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		st, err := c.VMStatus(ctx, loc.Node, loc.VMID)
		if dcrouter.IsNotFound(err) {
			return nil // a failed create removes its config: nothing left to wait for
		}
		if err != nil {
			return err
		}
		if st.Lock != "create" && st.Lock != "clone" {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
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
	// A VM whose create or clone is still running cannot be destroyed yet.
	if err := waitUnlocked(ctx, c, Location{Node: node, VMID: vmid}); err != nil {
		return err
	}
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
			return Location{Node: r.Node, VMID: r.VMID, Lock: r.Lock, Status: r.Status}, true, nil
		}
	}
	return Location{}, false, nil
}
