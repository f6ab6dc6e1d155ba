package inventory

import (
	"context"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

const (
	idA = "moxxie-00000000000000aa"
	idB = "moxxie-00000000000000bb"
)

func simClient(t *testing.T, cluster *pvesim.Cluster) *dcrouter.Client {
	t.Helper()
	srv, err := pvesim.Start(cluster, "127.0.0.1:0", pvesim.ServerOptions{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	r, err := dcrouter.New([]dcrouter.Config{{Name: "DC1", URL: srv.URL, TokenID: "root@pam!tok", TokenSecret: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Client("DC1")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listings(cluster *pvesim.Cluster) int64 {
	for _, rc := range cluster.Requests() {
		if rc.Method == "GET" && rc.Path == "/cluster/resources" {
			return rc.Count
		}
	}
	return 0
}

func addVM(t *testing.T, c *pvesim.Cluster, vmid int, conf map[string]string) {
	t.Helper()
	conf["memory"] = "1024"
	if err := c.AddVM("pve1", vmid, conf, false); err != nil {
		t.Fatal(err)
	}
}

// ByName and ByID answer for live managed VMs only, the first in listing order: a template, the
// stopped source copy a migration leaves (lock migrate) and an unmanaged guest of the same name
// are not the VM a plan check looks for, and count for no capacity.
func TestSnapshotLookupsAndCapacity(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	addVM(t, cluster, 100, map[string]string{"name": "web", "tags": idA, "template": "1"})
	addVM(t, cluster, 101, map[string]string{"name": "web", "tags": idA, "lock": "migrate"})
	addVM(t, cluster, 102, map[string]string{"name": "web"}) // unmanaged
	addVM(t, cluster, 103, map[string]string{"name": "web", "tags": idA + ";prod", "cores": "2"})
	addVM(t, cluster, 104, map[string]string{"name": "web", "tags": idB})
	s, err := TakeResources(context.Background(), simClient(t, cluster))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := s.ByName("web"); !ok || v.VMID != 103 || v.ID != "00000000000000aa" || len(v.Tags) != 1 || v.Tags[0] != "prod" {
		t.Fatalf("ByName(web) = %+v, %v; want VMID 103 with its user tag", v, ok)
	}
	if v, ok := s.ByID("00000000000000bb"); !ok || v.VMID != 104 {
		t.Fatalf("ByID(bb) = %+v, %v", v, ok)
	}
	for _, miss := range []func() (VM, bool){
		func() (VM, bool) { return s.ByName("db") },
		func() (VM, bool) { return s.ByID("") },
		func() (VM, bool) { return s.ByID("00000000000000cc") },
	} {
		if v, ok := miss(); ok {
			t.Fatalf("found %+v where no VM is", v)
		}
	}
	c := s.Capacity(placement.Limits{}, 104)
	// 102 and 103 count (102 is unmanaged but runs somewhere); 100, 101 and the excluded 104 do not.
	if c.Allocated.VMs != 2 || c.Allocated.Cores != 3 || c.Allocated.MemoryMB != 2048 {
		t.Fatalf("allocated = %+v, want 2 VMs, 3 cores, 2048 MiB", c.Allocated)
	}
	if n := len(s.Live()); n != 3 {
		t.Fatalf("Live() = %d VMs, want 3", n)
	}
}

// The resources of one walk share a datacenter's snapshot: one read of the listing, one snapshot
// built from it, until the client's view is dropped (Forget), when the next Get reads again and
// sees what changed.
func TestCacheSharesSnapshotUntilForget(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	addVM(t, cluster, 100, map[string]string{"name": "a", "tags": idA})
	client := simClient(t, cluster)
	cache := NewCache()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := cache.Get(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		s, err := cache.Get(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		if &s.VMs[0] != &first.VMs[0] {
			t.Fatal("a Get of the same listing must hand out the snapshot built from it, not build another")
		}
	}
	if n := listings(cluster); n != 1 {
		t.Fatalf("21 Gets read the listing %d times, want 1", n)
	}
	addVM(t, cluster, 101, map[string]string{"name": "b", "tags": idB})
	if s, _ := cache.Get(ctx, client); len(s.VMs) != 1 {
		t.Fatalf("before Forget the walk's snapshot stays: %d VMs", len(s.VMs))
	}
	cache.Forget("DC1")
	s, err := cache.Get(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.ByName("b"); !ok || listings(cluster) != 2 {
		t.Fatalf("after Forget the next Get must read again and see b (%d reads, %d VMs)", listings(cluster), len(s.VMs))
	}
}

// A datacenter that cannot be read fails Get, and nothing of it is kept: the next Get tries again.
func TestCacheGetFailsWhenUnreadable(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	srv, err := pvesim.Start(cluster, "127.0.0.1:0", pvesim.ServerOptions{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := dcrouter.New([]dcrouter.Config{{Name: "DC1", URL: srv.URL, TokenID: "root@pam!tok", TokenSecret: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	client, _ := r.Client("DC1")
	_ = srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s, err := NewCache().Get(ctx, client); err == nil || s.DC != "DC1" || len(s.VMs) != 0 {
		t.Fatalf("Get of a closed server = %+v, %v; want an error", s, err)
	}
}
