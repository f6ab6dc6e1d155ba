package vm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// A fenced copy is found by no identity search, its tag is not the user's, and moxxie refuses to
// start it: the VM runs elsewhere.
func TestFencedCopyIsNeitherFoundNorStarted(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}, TaskDuration: time.Millisecond})
	id := "0123456789abcdef"
	if err := cluster.AddVM("pve1", 100, map[string]string{"name": "web", "tags": IdentityTag(id) + ";" + FencedTag + ";prod"}, false); err != nil {
		t.Fatal(err)
	}
	c := simClient(t, cluster)
	ctx := context.Background()
	if _, found, err := Locate(ctx, c, id); err != nil || found {
		t.Fatalf("Locate found the fenced copy (found=%v, err=%v)", found, err)
	}
	res, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		t.Fatal(err)
	}
	if got := FencedCarriers(res, id); len(got) != 1 || got[0].VMID != 100 {
		t.Fatalf("FencedCarriers = %v, want VMID 100", got)
	}
	cur, _, err := Observe(ctx, c, "pve1", 100, "stopped")
	if err != nil {
		t.Fatal(err)
	}
	if !cur.Fenced || cur.ID != id || strings.Join(cur.Tags, ",") != "prod" {
		t.Fatalf("observed fenced=%v id=%q user tags=%v", cur.Fenced, cur.ID, cur.Tags)
	}
	err = Update(ctx, c, id, cur, Spec{Name: "web", Cores: 1, MemoryMB: 512, Started: true, Tags: []string{"prod"}})
	if err == nil || !strings.Contains(err.Error(), "fenced copy") {
		t.Fatalf("Update with started = true: %v, want a refusal naming the fenced copy", err)
	}
	if v, _ := cluster.VM(100); v.Status != "stopped" {
		t.Errorf("the fenced copy is %s", v.Status)
	}
	if n := requestsTo(cluster, "POST", "/nodes/{node}/qemu/{vmid}/status/start"); n != 0 {
		t.Errorf("%d start requests for the fenced copy", n)
	}
}
