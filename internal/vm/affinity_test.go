package vm

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

func haOf(ctx context.Context, t *testing.T, c *dcrouter.Client) (rules map[string][]string, ha map[string]string) {
	t.Helper()
	rs, err := c.HARules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := c.HAResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rules, ha = map[string][]string{}, map[string]string{}
	for _, r := range rs {
		rules[r.ID+" "+r.Affinity] = r.Resources
	}
	for _, h := range hs {
		ha[h.SID] = h.State + " " + h.Comment
	}
	return rules, ha
}

// Node rules as the cluster holds them: members become HA resources in the state they are in,
// a shrinking rule releases the members moxxie added, HA resources made by others stay, and
// dropping the VM leaves no rule of it behind.
func TestSyncNodeRules(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}, Nodes: []pvesim.NodeConfig{
		{Name: "pve1", Cores: 8, MemoryMB: 16384}, {Name: "pve2", Cores: 8, MemoryMB: 16384}, {Name: "pve3", Cores: 8, MemoryMB: 16384}}})
	c := simClient(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, id := range []int{100, 101, 102} {
		if err := cluster.AddVM("pve1", id, map[string]string{"name": "vm"}, i == 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddHAResource(ctx, 102, "started", "ops"); err != nil { // someone else's
		t.Fatal(err)
	}
	m := NewManager()
	if err := m.SyncNodeRules(ctx, c, 100, NodeRules{Apart: []int{101, 102, 999}, Together: nil}); err != nil {
		t.Fatal(err)
	}
	rules, ha := haOf(ctx, t, c)
	if want := []string{"vm:100", "vm:101", "vm:102"}; !slices.Equal(rules["moxxie-100-apart negative"], want) || len(rules) != 1 {
		t.Errorf("rules %v, want moxxie-100-apart on %v (the VMID no VM has left out)", rules, want)
	}
	if ha["vm:100"] != "started "+HAComment || ha["vm:101"] != "stopped "+HAComment || ha["vm:102"] != "started ops" {
		t.Errorf("HA resources %v", ha)
	}

	// Unchanged: nothing is written.
	puts, posts := requestsTo(cluster, "PUT", "/cluster/ha/rules/{rule}"), requestsTo(cluster, "POST", "/cluster/ha/rules")
	if err := m.SyncNodeRules(ctx, c, 100, NodeRules{Apart: []int{102, 101}}); err != nil {
		t.Fatal(err)
	}
	if posts == 0 {
		t.Fatal("no POST of a rule counted; the counter's pattern is wrong")
	}
	if requestsTo(cluster, "PUT", "/cluster/ha/rules/{rule}") != puts || requestsTo(cluster, "POST", "/cluster/ha/rules") != posts {
		t.Errorf("an unchanged rule was written again")
	}

	// vm:101 leaves the negative rule and joins a positive one.
	if err := m.SyncNodeRules(ctx, c, 100, NodeRules{Apart: []int{102}, Together: []int{101}}); err != nil {
		t.Fatal(err)
	}
	rules, _ = haOf(ctx, t, c)
	if !slices.Equal(rules["moxxie-100-apart negative"], []string{"vm:100", "vm:102"}) || !slices.Equal(rules["moxxie-100-together positive"], []string{"vm:100", "vm:101"}) {
		t.Errorf("rules after the change %v", rules)
	}
	if err := m.SyncNodeRules(ctx, c, 100, NodeRules{Apart: []int{102}}); err != nil {
		t.Fatal(err)
	}
	if _, ha = haOf(ctx, t, c); ha["vm:101"] != "" {
		t.Errorf("vm:101 is in no rule but stays an HA resource: %v", ha)
	}

	if err := m.DropNodeRules(ctx, c, 100); err != nil {
		t.Fatal(err)
	}
	rules, ha = haOf(ctx, t, c)
	if len(rules) != 0 || len(ha) != 1 || ha["vm:102"] != "started ops" {
		t.Errorf("after drop: rules %v, HA resources %v (only ops' own should stay)", rules, ha)
	}
}

// Start and Shutdown read the VM's status afterwards only when the HA stack ran the task
// (hastart, hastop): a plain VM is in its state when qmstart or qmshutdown ends, and a create
// costs no extra request for it.
func TestStartWaitsForStatusOnlyWhenHAManaged(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	c := simClient(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, vmid := range []int{100, 101} {
		if err := cluster.AddVM("pve1", vmid, map[string]string{"name": "v" + strconv.Itoa(vmid)}, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddHAResource(ctx, 101, "stopped", "test"); err != nil {
		t.Fatal(err)
	}
	const status = "/nodes/{node}/qemu/{vmid}/status/current"
	for _, tc := range []struct {
		vmid  int
		reads bool
	}{{100, false}, {101, true}} {
		before := requestsTo(cluster, "GET", status)
		if err := Start(ctx, c, "pve1", tc.vmid); err != nil {
			t.Fatal(err)
		}
		if v, _ := cluster.VM(tc.vmid); v.Status != "running" {
			t.Errorf("VM %d is %s after Start", tc.vmid, v.Status)
		}
		if err := Shutdown(ctx, c, "pve1", tc.vmid); err != nil {
			t.Fatal(err)
		}
		if v, _ := cluster.VM(tc.vmid); v.Status != "stopped" {
			t.Errorf("VM %d is %s after Shutdown", tc.vmid, v.Status)
		}
		if got := requestsTo(cluster, "GET", status) > before; got != tc.reads {
			t.Errorf("VM %d: status read = %v, want %v", tc.vmid, got, tc.reads)
		}
	}
}

// What SyncNodeRules writes reads back through HeldRules as WantedRules says, so a plan can tell
// a rule lost or changed outside moxxie from one as it should be.
func TestWantedRulesAreWhatSyncHolds(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}, Nodes: []pvesim.NodeConfig{
		{Name: "pve1", Cores: 8, MemoryMB: 16384}, {Name: "pve2", Cores: 8, MemoryMB: 16384}, {Name: "pve3", Cores: 8, MemoryMB: 16384}}})
	c := simClient(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range []int{100, 101, 102, 1000} {
		if err := cluster.AddVM("pve1", id, map[string]string{"name": "vm"}, false); err != nil {
			t.Fatal(err)
		}
	}
	m := NewManager()
	r := NodeRules{Apart: []int{1000, 101}, Together: []int{102, 100}}
	held := func() map[string]string {
		rules, err := c.HARules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return HeldRules(rules, 100)
	}
	want := WantedRules(100, r)
	if exp := map[string]string{"moxxie-100-apart": "vm:100,vm:1000,vm:101", "moxxie-100-together": "vm:100,vm:102"}; !maps.Equal(want, exp) {
		t.Fatalf("WantedRules = %v, want %v", want, exp)
	}
	if got := held(); len(got) != 0 {
		t.Fatalf("rules before any sync: %v", got)
	}
	if err := m.SyncNodeRules(ctx, c, 100, r); err != nil {
		t.Fatal(err)
	}
	if got := held(); !maps.Equal(got, want) {
		t.Errorf("after sync HeldRules = %v, want %v", got, want)
	}

	// Lost by hand, and a peer taken out of HA (purge takes it out of the rule): both differ.
	if err := c.DeleteHARule(ctx, RuleID(100, "together")); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveHAResource(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	if got := held(); maps.Equal(got, want) || got["moxxie-100-apart"] != "vm:100,vm:101" || got["moxxie-100-together"] != "" {
		t.Errorf("after the rule and a member were taken away HeldRules = %v", got)
	}
	if err := m.SyncNodeRules(ctx, c, 100, r); err != nil {
		t.Fatal(err)
	}
	if got := held(); !maps.Equal(got, want) {
		t.Errorf("after a second sync HeldRules = %v, want %v", got, want)
	}
	if got := WantedRules(100, NodeRules{Apart: []int{100}}); len(got) != 0 {
		t.Errorf("a rule naming only the VM itself is not written, WantedRules = %v", got)
	}
}
