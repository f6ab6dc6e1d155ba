package vm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

// maxCreateAttempts bounds the VMID race: each lost race means another writer took the id, so
// the next choice is higher; many rounds mean something else is wrong.
const maxCreateAttempts = 25

// Manager runs VM lifecycles. One Manager serves a whole provider process, so VMIDs handed to
// parallel creates in the same run never collide with each other; collisions with other
// processes (other workspaces) are resolved by retrying, as PVE reserves no VMID before a create.
type Manager struct {
	mu    sync.Mutex
	pools map[string]*vmidPool // by datacenter
}

// vmidPool is what this process knows of a datacenter's VMIDs: the lowest one PVE would hand out
// when the pool was first needed (/cluster/nextid, which honours the datacenter's next-id range)
// and every VMID known to be taken: listed by /cluster/resources, claimed by this process, or
// lost to another writer. New VMIDs are chosen from it, so a run's creates cost one nextid and
// one listing per datacenter rather than a nextid each.
type vmidPool struct {
	mu     sync.Mutex // held while seeding, so parallel creates share one seeding
	seeded bool
	floor  int
	taken  map[int]bool

	ruleMu sync.Mutex // held while the datacenter's HA rules are written (affinity.go)
}

// NewManager returns a Manager that knows no VMIDs yet.
func NewManager() *Manager { return &Manager{pools: map[string]*vmidPool{}} }

func (m *Manager) pool(dc string) *vmidPool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pools[dc]
	if p == nil {
		p = &vmidPool{taken: map[int]bool{}}
		m.pools[dc] = p
	}
	return p
}

// seed reads the datacenter the first time this process creates in it; the caller holds p.mu.
func (p *vmidPool) seed(ctx context.Context, c *dcrouter.Client) error {
	if p.seeded {
		return nil
	}
	floor, err := c.NextID(ctx)
	if err != nil {
		return err
	}
	p.floor = floor
	if err := p.learn(ctx, c); err != nil {
		return err
	}
	p.seeded = true
	return nil
}

// nextVMID claims the lowest VMID at or above the floor that is not known to be taken. The
// datacenter is read the first time (and after a lost race: lost), not for every create.
func (m *Manager) nextVMID(ctx context.Context, c *dcrouter.Client) (int, error) {
	p := m.pool(c.DC())
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.seed(ctx, c); err != nil {
		return 0, err
	}
	id := p.floor
	for p.taken[id] {
		id++
	}
	p.taken[id] = true
	return id, nil
}

// learn marks every VMID the datacenter lists as taken; the caller holds p.mu.
func (p *vmidPool) learn(ctx context.Context, c *dcrouter.Client) error {
	res, err := c.ClusterResources(ctx, "")
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Type == "qemu" || r.Type == "lxc" {
			p.taken[r.VMID] = true
		}
	}
	return nil
}

// lost records a VMID another writer holds and reads the datacenter again: whoever took it may be
// creating more.
func (m *Manager) lost(ctx context.Context, c *dcrouter.Client, vmid int) error {
	p := m.pool(c.DC())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.taken[vmid] = true
	c.ForgetResources()
	return p.learn(ctx, c)
}

// Create makes the VM with identity id and returns it as the datacenter now holds it. A create
// that fails after PVE accepted it is adopted by identity, never repeated, so a retry never makes
// a second VM.
func (m *Manager) Create(ctx context.Context, c *dcrouter.Client, id string, s Spec) (VM, error) {
	node := s.Node
	if node == "" && s.Clone == nil {
		// The caller places VMs (the provider packs a run's VMs onto the nodes); this only makes them.
		return VM{}, errors.New("no node to create the VM on")
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
	// A new VM is stopped until its start task succeeds (PVE's qmstart ends when the VM runs),
	// so Observe need not ask for the power state.
	status := "stopped"
	if s.Clone != nil {
		// The clone has the template's settings; bring it to the spec (disks grow, NICs,
		// cloud-init, identity tag).
		_, cur, err := Observe(ctx, c, node, vmid, status)
		if err != nil {
			return VM{}, err
		}
		if err := Update(ctx, c, id, cur, Spec{Name: s.Name, Cores: s.Cores, MemoryMB: s.MemoryMB, Tags: s.Tags, Description: s.Description,
			Storage: s.Storage, NICs: s.NICs, Disks: s.Disks, CloudInit: s.CloudInit}); err != nil {
			return VM{DC: c.DC(), Node: node, VMID: vmid}, fmt.Errorf("VM %d was cloned on %s but could not be configured: %w", vmid, node, err)
		}
	}
	if s.Started {
		if err := Start(ctx, c, node, vmid); err != nil {
			return VM{DC: c.DC(), Node: node, VMID: vmid}, fmt.Errorf("VM %d was created on %s but did not start: %w", vmid, node, err)
		}
		status = "running"
	}
	_, eff, err := Observe(ctx, c, node, vmid, status)
	return eff, err
}

// owns reports whether the VM at vmid, once its creation has finished, carries tag (an identity
// tag, or the tag of a restore: see Claim).
func (m *Manager) owns(ctx context.Context, c *dcrouter.Client, tag string, vmid int) (bool, error) {
	c.ForgetResources()
	loc, found, err := LocateVMID(ctx, c, vmid)
	if err != nil || !found {
		return false, err
	}
	if err := waitUnlocked(ctx, c, loc); err != nil {
		return false, err
	}
	c.ForgetResources()
	mine, found, err := locateTag(ctx, c, tag)
	return found && mine.VMID == vmid, err
}

// clone copies the template into a new VM on the template's node.
func (m *Manager) clone(ctx context.Context, c *dcrouter.Client, id string, s Spec) (int, error) {
	return m.Claim(ctx, c, IdentityTag(id), func(vmid int) (string, error) {
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
	return m.Claim(ctx, c, IdentityTag(id), func(vmid int) (string, error) {
		return c.CreateVM(ctx, node, createParams(id, vmid, s))
	}, func(vmid int) string { return fmt.Sprintf("creating VM %d on %s", vmid, node) })
}

// Claim runs submit (a create, clone or restore of a guest that will carry tag) with VMIDs this
// process has not handed out and the datacenter did not list until one is not taken, and waits
// for its task; a lost race with another writer ("already exists") is retried with the next free
// id. It is the one way moxxie chooses a VMID for a new guest.
func (m *Manager) Claim(ctx context.Context, c *dcrouter.Client, tag string, submit func(vmid int) (string, error), what func(vmid int) string) (int, error) {
	var lastErr error
	for attempt := 0; attempt < maxCreateAttempts; attempt++ {
		vmid, err := m.nextVMID(ctx, c)
		if err != nil {
			return 0, err
		}
		upid, err := submit(vmid)
		if err == nil {
			if err := c.WaitTask(ctx, upid); err != nil {
				return vmid, fmt.Errorf("%s: %w", what(vmid), err)
			}
			return vmid, nil
		}
		// "already exists" is either another writer's VM (a VMID race) or our own create whose
		// answer was lost and that the client sent again; a broken connection may also hide an
		// applied create. Either way, what carries our identity is ours: adopt it, never make a
		// second one. PVE writes the settings (our identity tag among them) only when the create
		// task ends, so first wait for whatever holds the VMID to finish being created.
		if owned, oerr := m.owns(ctx, c, tag, vmid); oerr != nil {
			// Unknown whether PVE took the create (the datacenter stopped answering, say). Report
			// the VMID it was sent with: until the create ends and writes its tags, that VMID is
			// the only way the next apply can find the VM, which it then judges by its tags.
			return vmid, fmt.Errorf("%s: %w (and checking whether it exists: %v)", what(vmid), err, oerr)
		} else if owned {
			return vmid, nil
		}
		if dcrouter.IsAlreadyExists(err) {
			lastErr = err
			if lerr := m.lost(ctx, c, vmid); lerr != nil {
				return 0, fmt.Errorf("%s: %w (and reading the datacenter's VMIDs: %v)", what(vmid), err, lerr)
			}
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
	return locateTag(ctx, c, IdentityTag(id))
}

// locateTag is the one guest carrying tag; more than one is an error naming them. Fenced copies
// are not the VM and never count.
func locateTag(ctx context.Context, c *dcrouter.Client, tag string) (Location, bool, error) {
	res, err := c.GuestsTagged(ctx, tag)
	if err != nil {
		return Location{}, false, err
	}
	var hits []Location
	for _, r := range withFenced(res, false) {
		hits = append(hits, Location{Node: r.Node, VMID: r.VMID, Lock: r.Lock, Status: r.Status})
	}
	switch len(hits) {
	case 0:
		return Location{}, false, nil
	case 1:
		return hits[0], true, nil
	default:
		return Location{}, false, fmt.Errorf("tag %s is carried by %d VMs (%d and %d); remove it from all but one", tag, len(hits), hits[0].VMID, hits[1].VMID)
	}
}

// TaggedCarriers returns the guests of the datacenter's current /cluster/resources view that
// carry identity id, fenced copies included: the one search for an identity, per datacenter here
// and across datacenters in package migration. The view's tag index answers it, so a walk finding
// each of n VMs does not scan the listing n times.
func TaggedCarriers(ctx context.Context, c *dcrouter.Client, id string) ([]dcrouter.Resource, error) {
	return c.GuestsTagged(ctx, IdentityTag(id))
}

// Carriers returns the guests of a list that carry identity id and are not fenced. Fenced copies
// (FencedTag) are not the VM any more; FencedCarriers lists them.
func Carriers(res []dcrouter.Resource, id string) []dcrouter.Resource {
	return withFenced(CarriersOf(res, IdentityTag(id)), false)
}

// FencedCarriers returns the fenced copies of identity id in a list of guests.
func FencedCarriers(res []dcrouter.Resource, id string) []dcrouter.Resource {
	return withFenced(CarriersOf(res, IdentityTag(id)), true)
}

// withFenced keeps the guests that are fenced (fenced = true) or those that are not.
func withFenced(rs []dcrouter.Resource, fenced bool) []dcrouter.Resource {
	var out []dcrouter.Resource
	for _, r := range rs {
		if IsFenced(r.TagList()) == fenced {
			out = append(out, r)
		}
	}
	return out
}

// CarriersOf returns the qemu guests of a list that carry tag.
func CarriersOf(res []dcrouter.Resource, tag string) []dcrouter.Resource {
	var out []dcrouter.Resource
	for _, r := range res {
		if r.Type == "qemu" && slices.Contains(r.TagList(), tag) {
			out = append(out, r)
		}
	}
	return out
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
	case s.Started && !cur.Running && cur.Fenced:
		return fencedError(c.DC(), cur.VMID)
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

// fencedError refuses to start a fenced copy: another copy of the VM runs elsewhere.
func fencedError(dc string, vmid int) error {
	return fmt.Errorf("VM %d in datacenter %s is a fenced copy (tag %s) of a VM that failed over; moxxie never starts it, since the VM runs elsewhere", vmid, dc, FencedTag)
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
	return waitHA(ctx, c, upid, node, vmid, "running")
}

// waitHA waits for the VM's status after a start or shutdown whose task was the HA stack's
// (hastart, hastop: node affinity makes VMs HA resources), which only requests the state and
// has it acted on a moment later. Any other task ends with the VM in its state: no read.
func waitHA(ctx context.Context, c *dcrouter.Client, upid, node string, vmid int, status string) error {
	if u, err := dcrouter.ParseUPID(upid); err != nil || !strings.HasPrefix(u.Type, "ha") {
		return nil
	}
	return waitStatus(ctx, c, node, vmid, status)
}

// waitStatus waits until the VM is in status.
func waitStatus(ctx context.Context, c *dcrouter.Client, node string, vmid int, status string) error {
	for wait := 20 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		st, err := c.VMStatus(ctx, node, vmid)
		if err != nil {
			return err
		}
		if st.Status == status {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("VM %d on %s is %s, not yet %s: %w", vmid, node, st.Status, status, ctx.Err())
		case <-t.C:
		}
	}
}

// waitUnlocked waits while an adopted VM is still being created (lock "create"), so the caller
// does not configure it half-way.
// WaitCreated waits until no create or clone holds the VM at loc (or the VM is gone): only then
// does PVE show its settings, its identity tag among them.
func WaitCreated(ctx context.Context, c *dcrouter.Client, loc Location) error {
	return waitUnlocked(ctx, c, loc)
}

func waitUnlocked(ctx context.Context, c *dcrouter.Client, loc Location) error {
	return waitLock(ctx, c, loc, "create", "clone")
}

// waitLock waits while the VM at loc holds one of the locks (or until it is gone).
func waitLock(ctx context.Context, c *dcrouter.Client, loc Location, locks ...string) error {
	for wait := 50 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		st, err := c.VMStatus(ctx, loc.Node, loc.VMID)
		if dcrouter.IsNotFound(err) {
			return nil // a failed create removes its config: nothing left to wait for
		}
		if err != nil {
			return err
		}
		if !slices.Contains(locks, st.Lock) {
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
	if err := c.WaitTask(ctx, upid); err != nil {
		return err
	}
	return waitHA(ctx, c, upid, node, vmid, "stopped")
}

// Delete stops the VM if it runs and destroys it with its disks. A VM that is already gone is
// not an error: that is the state Delete wants. A destroy already under way (lock "destroyed":
// an earlier attempt whose answer was lost) is waited out rather than started twice.
func Delete(ctx context.Context, c *dcrouter.Client, node string, vmid int) error {
	loc := Location{Node: node, VMID: vmid}
	// A VM whose create or clone is still running cannot be destroyed yet.
	if err := waitLock(ctx, c, loc, "create", "clone", "destroyed"); err != nil {
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
	if err != nil && strings.Contains(err.Error(), "locked (destroyed)") {
		// Our own resent DELETE found the first one running: wait for it to finish.
		if werr := waitLock(ctx, c, loc, "destroyed"); werr != nil {
			return werr
		}
		if _, serr := c.VMStatus(ctx, node, vmid); dcrouter.IsNotFound(serr) {
			return nil
		}
		return err
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
