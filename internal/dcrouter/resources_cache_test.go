package dcrouter

import (
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
