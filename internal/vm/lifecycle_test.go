package vm

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// simClient serves cluster over plain HTTP for the test's lifetime and returns a client of it;
// opts come after the test's fast task polling (e.g. WithRetry).
func simClient(t *testing.T, cluster *pvesim.Cluster, opts ...dcrouter.Option) *dcrouter.Client {
	t.Helper()
	srv, err := pvesim.Start(cluster, "127.0.0.1:0", pvesim.ServerOptions{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	r, err := dcrouter.New([]dcrouter.Config{{Name: "DC1", URL: srv.URL, TokenID: "root@pam!tok", TokenSecret: "s"}},
		append([]dcrouter.Option{dcrouter.WithTaskPoll(time.Millisecond, 10*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Client("DC1")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func requestsTo(cluster *pvesim.Cluster, method, path string) int64 {
	for _, rc := range cluster.Requests() {
		if rc.Method == method && rc.Path == path {
			return rc.Count
		}
	}
	return 0
}

// One provider process creating many VMs in a datacenter asks /cluster/nextid once and picks VMIDs
// from the listing and its own claims, on whichever nodes the VMs go; a VM without a node (the
// provider places them) is refused before anything is made.
func TestCreatesChooseVMIDsFromTheListing(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"},
		Nodes: []pvesim.NodeConfig{{Name: "pve1", Cores: 64, MemoryMB: 64 << 10}, {Name: "pve2", Cores: 64, MemoryMB: 64 << 10}}})
	c := simClient(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := NewManager()
	var wg sync.WaitGroup
	const n = 12
	vms := make([]VM, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vms[i], errs[i] = m.Create(ctx, c, NewID(), Spec{Name: "v", Node: "pve" + strconv.Itoa(1+i%2), Cores: 1, MemoryMB: 512})
		}()
	}
	wg.Wait()
	ids, nodes := map[int]bool{}, map[string]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		ids[vms[i].VMID] = true
		nodes[vms[i].Node]++
	}
	if len(ids) != n || len(cluster.VMs()) != n {
		t.Fatalf("%d distinct VMIDs and %d VMs for %d creates", len(ids), len(cluster.VMs()), n)
	}
	if got := requestsTo(cluster, "GET", "/cluster/nextid"); got != 1 {
		t.Fatalf("%d nextid requests for %d creates, want 1", got, n)
	}
	if nodes["pve1"] != n/2 || nodes["pve2"] != n/2 {
		t.Fatalf("VMs by node %v: each must be where its spec says", nodes)
	}
	if _, err := m.Create(ctx, c, NewID(), Spec{Name: "nowhere", Cores: 1, MemoryMB: 512}); err == nil || len(cluster.VMs()) != n {
		t.Fatalf("a VM without a node: err %v, %d VMs", err, len(cluster.VMs()))
	}
}

// Two provider processes (two Managers) that each know the datacenter from an earlier listing
// claim the same VMID: the one that loses reads the datacenter again and takes the next free one.
func TestLostVMIDRaceTakesTheNextFree(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	ca, cb := simClient(t, cluster), simClient(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := NewManager(), NewManager()
	create := func(m *Manager, c *dcrouter.Client) VM {
		t.Helper()
		v, err := m.Create(ctx, c, NewID(), Spec{Name: "v", Node: "pve1", Cores: 1, MemoryMB: 256})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a1 := create(a, ca) // a knows the datacenter with a1 only
	b1 := create(b, cb) // b lists a1 and takes the next VMID
	a2 := create(a, ca) // a still thinks b1's VMID is free: it loses that race
	if a1.VMID == b1.VMID || a2.VMID == b1.VMID || a2.VMID == a1.VMID {
		t.Fatalf("VMIDs %d, %d, %d are not distinct", a1.VMID, b1.VMID, a2.VMID)
	}
	if got := cluster.FaultCounts().VMIDTaken; got != 1 {
		t.Fatalf("%d creates refused for a taken VMID, want exactly the one lost race", got)
	}
	if len(cluster.VMs()) != 3 {
		t.Fatalf("%d VMs, want 3", len(cluster.VMs()))
	}
}
