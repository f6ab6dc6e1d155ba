package dcrouter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A refresh of many VMs shares one /cluster/resources call per datacenter, and any write through
// the client makes the next read fetch again, so moxxie always sees its own changes.
func TestClusterResourcesIsSharedAndDroppedOnWrite(t *testing.T) {
	var gets atomic.Int64
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets.Add(1)
			time.Sleep(20 * time.Millisecond) // long enough for the callers to overlap
			writeData(w, []map[string]any{{"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "status": "running"}})
			return
		}
		writeData(w, nil)
	}))
	c := clientFor(t, tokenConfig("DC1", srv.URL))
	ctx := ctxTimeout(t, 5*time.Second)

	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.ClusterResources(ctx, "vm")
			if err != nil || len(res) != 1 || res[0].VMID != 100 {
				t.Errorf("ClusterResources = %v, %v", res, err)
			}
		}()
	}
	wg.Wait()
	if n := gets.Load(); n != 1 {
		t.Fatalf("50 concurrent reads made %d requests, want 1", n)
	}
	if _, err := c.ClusterResources(ctx, "vm"); err != nil || gets.Load() != 1 {
		t.Fatalf("a fresh answer must be reused: %d requests, %v", gets.Load(), err)
	}
	if err := c.Put(ctx, "/nodes/pve1/qemu/100/config", map[string]any{"name": "x"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClusterResources(ctx, "vm"); err != nil || gets.Load() != 2 {
		t.Fatalf("a write must drop the cached answer: %d requests, %v", gets.Load(), err)
	}
	res, _ := c.ClusterResources(ctx, "vm")
	res[0].Name = "mutated"
	again, _ := c.ClusterResources(ctx, "vm")
	if again[0].Name == "mutated" {
		t.Fatal("callers must get copies, not the cached slice")
	}
}

// The client's view of the cluster is one cache for /cluster/resources, /version and
// /cluster/status: each is read once whatever the time between reads and the types asked for,
// dropped by the client's own writes and by ForgetResources.
func TestClusterViewReadOnceUntilWrite(t *testing.T) {
	var mu sync.Mutex
	gets := map[string]int{}
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeData(w, nil)
			return
		}
		mu.Lock()
		gets[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/api2/json/version":
			writeData(w, map[string]any{"version": "9.1.1"})
		case "/api2/json/cluster/status":
			writeData(w, []map[string]any{{"type": "cluster", "quorate": 1}})
		default:
			writeData(w, []map[string]any{{"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1"}, {"id": "node/pve1", "type": "node", "node": "pve1"}})
		}
	}))
	c := clientFor(t, tokenConfig("DC1", srv.URL))
	ctx := ctxTimeout(t, 5*time.Second)
	readAll := func() {
		t.Helper()
		if v, err := c.Version(ctx); err != nil || v.Version != "9.1.1" {
			t.Fatalf("Version = %v, %v", v, err)
		}
		if st, err := c.ClusterStatus(ctx); err != nil || len(st) != 1 {
			t.Fatalf("ClusterStatus = %v, %v", st, err)
		}
		if vms, err := c.ClusterResources(ctx, "vm"); err != nil || len(vms) != 1 || vms[0].Type != "qemu" {
			t.Fatalf("ClusterResources(vm) = %v, %v", vms, err)
		}
		if nodes, err := c.ClusterResources(ctx, "node"); err != nil || len(nodes) != 1 || nodes[0].Type != "node" {
			t.Fatalf("ClusterResources(node) = %v, %v", nodes, err)
		}
	}
	want := func(n int, when string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, p := range []string{"/api2/json/version", "/api2/json/cluster/status", "/api2/json/cluster/resources"} {
			if gets[p] != n {
				t.Fatalf("%s: %s read %d times, want %d (%v)", when, p, gets[p], n, gets)
			}
		}
	}
	readAll()
	readAll()
	want(1, "two rounds of reads")
	if err := c.Post(ctx, "/nodes/pve1/qemu/100/status/start", nil, nil); err != nil {
		t.Fatal(err)
	}
	readAll()
	want(2, "reads after a write")
	c.ForgetResources()
	readAll()
	readAll()
	want(3, "reads after ForgetResources")
}

// A caller that gives up does not fail the others sharing its read.
func TestClusterViewSharedReadSurvivesCancelledCaller(t *testing.T) {
	release := make(chan struct{})
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		writeData(w, map[string]any{"version": "9.1.1"})
	}))
	c := clientFor(t, tokenConfig("DC1", srv.URL))
	first, cancel := context.WithCancel(ctxTimeout(t, 5*time.Second))
	errc := make(chan error, 1)
	go func() { _, err := c.Version(first); errc <- err }()
	time.Sleep(20 * time.Millisecond) // the first caller starts the read
	second := make(chan error, 1)
	go func() { _, err := c.Version(ctxTimeout(t, 5*time.Second)); second <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v", err)
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatalf("the caller sharing a cancelled caller's read failed: %v", err)
	}
}

// ClusterResourcesOfWalk answers from the latest listing across the client's own writes, and reads
// again only after ForgetResources (a change the client did not make).
func TestClusterResourcesOfWalkKeepsListingAcrossOwnWrites(t *testing.T) {
	var gets atomic.Int64
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			n := gets.Add(1)
			writeData(w, []map[string]any{{"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "name": fmt.Sprint("v", n)}})
			return
		}
		writeData(w, nil)
	}))
	c := clientFor(t, tokenConfig("DC1", srv.URL))
	ctx := ctxTimeout(t, 5*time.Second)
	name := func(res []Resource, err error) string {
		t.Helper()
		if err != nil || len(res) != 1 {
			t.Fatalf("listing = %v, %v", res, err)
		}
		return res[0].Name
	}
	if got := name(c.ClusterResourcesOfWalk(ctx, "vm")); got != "v1" || gets.Load() != 1 {
		t.Fatalf("first read: %s after %d requests", got, gets.Load())
	}
	if err := c.Post(ctx, "/nodes/pve1/qemu", map[string]any{"vmid": 101}, nil); err != nil {
		t.Fatal(err)
	}
	if got := name(c.ClusterResourcesOfWalk(ctx, "vm")); got != "v1" || gets.Load() != 1 {
		t.Fatalf("after an own write: %s after %d requests, want the kept listing", got, gets.Load())
	}
	if got := name(c.ClusterResources(ctx, "vm")); got != "v2" {
		t.Fatalf("ClusterResources after a write = %s, want a fresh read", got)
	}
	if got := name(c.ClusterResourcesOfWalk(ctx, "vm")); got != "v2" || gets.Load() != 2 {
		t.Fatalf("the kept listing is the latest: %s after %d requests", got, gets.Load())
	}
	c.ForgetResources()
	if got := name(c.ClusterResourcesOfWalk(ctx, "vm")); got != "v3" {
		t.Fatalf("after ForgetResources: %s, want a fresh read", got)
	}
}

// One read builds one Listing, shared until a write: its type filters are PVE's, its tag index
// finds every guest carrying a tag (only guests: a node's tags do not count), and the answers
// handed to callers are copies, so a caller changing one changes nothing another sees.
func TestListingFiltersAndIndexesOneRead(t *testing.T) {
	var gets atomic.Int64
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeData(w, nil)
			return
		}
		gets.Add(1)
		writeData(w, []map[string]any{
			{"id": "node/pve1", "type": "node", "node": "pve1", "status": "online", "tags": "moxxie-a"},
			{"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "tags": "moxxie-a;web"},
			{"id": "lxc/101", "type": "lxc", "vmid": 101, "node": "pve1", "tags": "moxxie-a"},
			{"id": "qemu/102", "type": "qemu", "vmid": 102, "node": "pve1", "tags": "web,moxxie-a"},
			{"id": "qemu/103", "type": "qemu", "vmid": 103, "node": "pve1", "tags": "moxxie-b"},
			{"id": "storage/pve1/local", "type": "storage", "node": "pve1", "storage": "local"},
		})
	}))
	c := clientFor(t, tokenConfig("DC1", srv.URL))
	ctx := ctxTimeout(t, 5*time.Second)
	l, err := c.Listing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(rs []Resource) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.ID)
		}
		return fmt.Sprint(s)
	}
	for typ, want := range map[string]string{
		"":        "[node/pve1 qemu/100 lxc/101 qemu/102 qemu/103 storage/pve1/local]",
		"vm":      "[qemu/100 lxc/101 qemu/102 qemu/103]",
		"node":    "[node/pve1]",
		"storage": "[storage/pve1/local]",
		"sdn":     "[]",
	} {
		if got := ids(l.Of(typ)); got != want {
			t.Errorf("Of(%q) = %s, want %s", typ, got, want)
		}
	}
	if got := ids(l.Tagged("moxxie-a")); got != "[qemu/100 qemu/102]" {
		t.Errorf("Tagged(moxxie-a) = %s, want the two qemu guests carrying it", got)
	}
	if got := l.Tagged("moxxie-c"); len(got) != 0 {
		t.Errorf("Tagged(moxxie-c) = %v, want none", got)
	}
	tagged, err := c.GuestsTagged(ctx, "moxxie-b")
	if err != nil || ids(tagged) != "[qemu/103]" {
		t.Fatalf("GuestsTagged(moxxie-b) = %v, %v", tagged, err)
	}
	tagged[0].Name = "mutated"
	if again, _ := c.GuestsTagged(ctx, "moxxie-b"); again[0].Name == "mutated" {
		t.Fatal("GuestsTagged must hand out copies")
	}
	if l2, _ := c.ListingOfWalk(ctx); l2 != l || gets.Load() != 1 {
		t.Fatalf("the walk's listing must be the one read (%d reads)", gets.Load())
	}
	if err := c.Put(ctx, "/nodes/pve1/qemu/100/config", map[string]any{"name": "x"}, nil); err != nil {
		t.Fatal(err)
	}
	if l2, _ := c.ListingOfWalk(ctx); l2 != l || gets.Load() != 1 {
		t.Fatalf("after a write the walk still answers from the last listing (%d reads)", gets.Load())
	}
	if l2, _ := c.Listing(ctx); l2 == l || gets.Load() != 2 {
		t.Fatalf("after a write Listing must read again and give a new Listing (%d reads)", gets.Load())
	}
}
