package provider

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// The tests' own view of the datacenters: plain Proxmox API calls, as an administrator would make
// them, so that each check and each out-of-band change works against a simulator and against a
// real cluster alike.

// identityTag matches the tag moxxie puts on every VM it manages, and on a drill's copy.
var identityTag = regexp.MustCompile(`^moxxie-(drill-)?[0-9a-f]{16}$`) // a VM's identity, or a drill's copy

// testVnet matches the vnets moxxie names after their VLAN in its SDN zone.
var testVnet = regexp.MustCompile(`^mxv[0-9]+$`)

// moxxieZone is the SDN zone moxxie keeps its vnets in.
const moxxieZone = "moxxie"

// apiTimeout bounds each of the tests' own API operations, tasks included.
const apiTimeout = time.Minute

// accClient is a Proxmox client for dc, outside the provider under test.
func accClient(ep accEndpoint, dc string) (*dcrouter.Client, error) {
	r, err := dcrouter.New([]dcrouter.Config{ep.routerConfig(dc)},
		dcrouter.WithRetry(3, 10*time.Millisecond, 200*time.Millisecond), dcrouter.WithTaskPoll(5*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	return r.Client(dc)
}

// api is a client for one datacenter of the environment.
func (e *simEnv) api(dc string) (*dcrouter.Client, error) {
	ep, ok := e.endpoints[dc]
	if !ok {
		return nil, fmt.Errorf("datacenter %s is not part of this test", dc)
	}
	return accClient(ep.admin(), dc)
}

func (e *simEnv) mustAPI(t testing.TB, dc string) *dcrouter.Client {
	t.Helper()
	c, err := e.api(dc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func apiContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), apiTimeout)
}

// listVMs is every guest of a datacenter as GET /cluster/resources?type=vm shows it now.
func listVMs(ctx context.Context, c *dcrouter.Client) ([]dcrouter.Resource, error) {
	c.ForgetResources()
	res, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return nil, err
	}
	out := res[:0]
	for _, r := range res {
		if r.Type == "qemu" {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID < out[j].VMID })
	return out, nil
}

// managed reports whether a VM carries moxxie's identity tag.
func managed(r dcrouter.Resource) bool {
	for _, tag := range r.TagList() {
		if identityTag.MatchString(tag) {
			return true
		}
	}
	return false
}

// managedVMs lists the moxxie-tagged VMs of a datacenter.
func listManagedVMs(ctx context.Context, c *dcrouter.Client) ([]dcrouter.Resource, error) {
	all, err := listVMs(ctx, c)
	if err != nil {
		return nil, err
	}
	var out []dcrouter.Resource
	for _, r := range all {
		if managed(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// findVM is the VM with this VMID in a datacenter.
func findVM(ctx context.Context, c *dcrouter.Client, vmid int) (dcrouter.Resource, bool, error) {
	all, err := listVMs(ctx, c)
	if err != nil {
		return dcrouter.Resource{}, false, err
	}
	for _, r := range all {
		if r.VMID == vmid {
			return r, true, nil
		}
	}
	return dcrouter.Resource{}, false, nil
}

func waitTask(ctx context.Context, c *dcrouter.Client, upid string, err error) error {
	if err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}

// addVM creates a VM by hand (POST /nodes/{node}/qemu with PVE's own parameters, disks as
// STORAGE:SIZE_GB), converts it into a template or starts it, and removes it when the test ends if
// it is still there: a VM moxxie does not manage is the test's to clean up.
func (e *simEnv) addVM(t testing.TB, dc, node string, vmid int, params map[string]any, template, start bool) {
	t.Helper()
	ctx, cancel := apiContext()
	defer cancel()
	c := e.mustAPI(t, dc)
	p := map[string]any{"vmid": vmid}
	for k, v := range params {
		p[k] = v
	}
	upid, err := c.CreateVM(ctx, node, p)
	if err := waitTask(ctx, c, upid, err); err != nil {
		t.Fatalf("creating VM %d in %s: %v", vmid, dc, err)
	}
	t.Cleanup(func() {
		if err := e.removeVM(dc, vmid); err != nil {
			t.Errorf("cleaning up VM %d in %s: %v", vmid, dc, err)
		}
	})
	switch {
	case template:
		var upid string
		err := c.Post(ctx, fmt.Sprintf("/nodes/%s/qemu/%d/template", node, vmid), nil, &upid)
		if err := waitTask(ctx, c, upid, err); err != nil {
			t.Fatalf("making VM %d in %s a template: %v", vmid, dc, err)
		}
	case start:
		upid, err := c.StartVM(ctx, node, vmid)
		if err := waitTask(ctx, c, upid, err); err != nil {
			t.Fatalf("starting VM %d in %s: %v", vmid, dc, err)
		}
	}
}

// removeVM stops and deletes a VM through the API; a VM that is already gone is no error.
func (e *simEnv) removeVM(dc string, vmid int) error {
	ctx, cancel := apiContext()
	defer cancel()
	c, err := e.api(dc)
	if err != nil {
		return err
	}
	return destroyVM(ctx, c, vmid)
}

// destroyVM stops a VM if it runs, then deletes it with its disks.
func destroyVM(ctx context.Context, c *dcrouter.Client, vmid int) error {
	r, ok, err := findVM(ctx, c, vmid)
	if err != nil || !ok {
		return err
	}
	if r.Status == "running" {
		upid, err := c.StopVM(ctx, r.Node, vmid)
		if err := waitTask(ctx, c, upid, err); err != nil {
			return fmt.Errorf("stopping VM %d: %w", vmid, err)
		}
	}
	upid, err := c.DeleteVM(ctx, r.Node, vmid, true)
	if err := waitTask(ctx, c, upid, err); err != nil {
		return fmt.Errorf("deleting VM %d: %w", vmid, err)
	}
	return nil
}

// updateVM changes a VM's config behind Terraform's back (PUT .../config).
func (e *simEnv) updateVM(t testing.TB, dc string, vmid int, params map[string]any) {
	t.Helper()
	ctx, cancel := apiContext()
	defer cancel()
	c := e.mustAPI(t, dc)
	r, ok, err := findVM(ctx, c, vmid)
	if err == nil && !ok {
		err = fmt.Errorf("no such VM")
	}
	if err == nil {
		err = c.UpdateVMConfig(ctx, r.Node, vmid, params)
	}
	if err != nil {
		t.Fatalf("updating VM %d in %s: %v", vmid, dc, err)
	}
}

// stopVM powers a VM off behind Terraform's back.
func (e *simEnv) stopVM(t testing.TB, dc string, vmid int) {
	t.Helper()
	ctx, cancel := apiContext()
	defer cancel()
	c := e.mustAPI(t, dc)
	r, ok, err := findVM(ctx, c, vmid)
	if err == nil && !ok {
		err = fmt.Errorf("no such VM")
	}
	if err == nil {
		upid, serr := c.StopVM(ctx, r.Node, vmid)
		err = waitTask(ctx, c, upid, serr)
	}
	if err != nil {
		t.Fatalf("stopping VM %d in %s: %v", vmid, dc, err)
	}
}

// vmState is one VM as the API shows it: where it runs, its config with pending values applied
// (GET .../config), what is still pending, and its power state.
type vmState struct {
	dcrouter.Resource
	Config  map[string]string
	Pending map[string]string // key -> pending value; deletions as "<delete>"
	Status  string
}

func readVM(ctx context.Context, c *dcrouter.Client, r dcrouter.Resource) (vmState, error) {
	v := vmState{Resource: r, Pending: map[string]string{}}
	cfg, err := c.VMConfig(ctx, r.Node, r.VMID, false)
	if err != nil {
		return v, err
	}
	v.Config = map[string]string(cfg)
	items, err := c.VMPending(ctx, r.Node, r.VMID)
	if err != nil {
		return v, err
	}
	for _, it := range items {
		switch {
		case it.Delete != 0:
			v.Pending[it.Key] = "<delete>"
		case it.Pending != nil:
			v.Pending[it.Key] = *it.Pending
		}
	}
	st, err := c.VMStatus(ctx, r.Node, r.VMID)
	if err != nil {
		return v, err
	}
	v.Status = st.Status
	return v, nil
}

// lockProbes serializes sdnLockHeld within the test process: two probes at once (parallel
// subtests checking the same datacenter) would each see the other's.
var lockProbes sync.Mutex

// sdnLockHeld probes the global SDN lock: taking it succeeds only while it is free (and is
// released again at once). PVE has no call that only reads it.
func sdnLockHeld(ctx context.Context, c *dcrouter.Client) (bool, error) {
	lockProbes.Lock()
	defer lockProbes.Unlock()
	token, err := c.SDNLock(ctx, true)
	if dcrouter.IsSDNLocked(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, c.SDNUnlock(ctx, token)
}

// lockReader says whether a datacenter's global SDN lock is held.
type lockReader func(context.Context, *dcrouter.Client) (bool, error)

// lockHeld is how checks read dc's SDN lock. A simulator is asked directly: a probe over a link
// with injected faults can take the lock itself and lose the answer, and its resent request then
// finds the lock taken (by the probe), so the check would report, and leave held, a lock nothing
// else held. Against a real cluster, whose links the tests do not break, the probe is all there is.
func (e *simEnv) lockHeld(dc string) lockReader {
	if srv, ok := e.servers[dc]; ok {
		return func(context.Context, *dcrouter.Client) (bool, error) { return srv.Cluster.SDN().Locked, nil }
	}
	return sdnLockHeld
}

// sdnView is moxxie's part of a datacenter's SDN: its zone, vnets and subnets in the pending view
// (objects with unapplied changes carry a State), and whether the global lock is held.
type sdnView struct {
	zone    *dcrouter.SDNZone
	vnets   []dcrouter.SDNVnet
	subnets []dcrouter.SDNSubnet
	locked  bool
}

// readSDN reads moxxie's part of the datacenter's SDN and, with held, whether its lock is held.
func readSDN(ctx context.Context, c *dcrouter.Client, held lockReader) (sdnView, error) {
	var v sdnView
	zones, err := c.SDNZones(ctx, true)
	if err != nil {
		return v, err
	}
	for i := range zones {
		if zones[i].Zone == moxxieZone {
			v.zone = &zones[i]
		}
	}
	vnets, err := c.SDNVnets(ctx, true)
	if err != nil {
		return v, err
	}
	for _, vn := range vnets {
		if vn.Zone != moxxieZone {
			continue
		}
		v.vnets = append(v.vnets, vn)
		subs, err := c.SDNSubnets(ctx, vn.Vnet, true)
		if err != nil {
			return v, err
		}
		v.subnets = append(v.subnets, subs...)
	}
	if held != nil {
		v.locked, err = held(ctx, c)
	}
	return v, err
}

// settled fails when the SDN is locked or has unapplied changes in moxxie's zone.
func (v sdnView) settled(dc string) error {
	var pending []string
	if v.zone != nil && v.zone.State != "" {
		pending = append(pending, "zone "+v.zone.Zone+" "+v.zone.State)
	}
	for _, vn := range v.vnets {
		if vn.State != "" {
			pending = append(pending, "vnet "+vn.Vnet+" "+vn.State)
		}
	}
	for _, s := range v.subnets {
		if s.State != "" {
			pending = append(pending, "subnet "+s.CIDR+" "+s.State)
		}
	}
	if v.locked || len(pending) > 0 {
		return fmt.Errorf("%s: SDN left locked=%v, pending: %s", dc, v.locked, strings.Join(pending, ", "))
	}
	return nil
}

func (e *simEnv) sdn(dc string) (sdnView, error) {
	ctx, cancel := apiContext()
	defer cancel()
	c, err := e.api(dc)
	if err != nil {
		return sdnView{}, err
	}
	v, err := readSDN(ctx, c, e.lockHeld(dc))
	if err != nil {
		return v, fmt.Errorf("%s: reading SDN: %w", dc, err)
	}
	return v, nil
}
