package vm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// A create whose answer is lost while the datacenter stops answering (it went down mid-apply)
// reports the VMID it was sent with: PVE is making that VM, and the next apply can find it only
// by that VMID until the create ends and writes its tags. Seed 785 at these rates passes the two
// reads before the create, loses the create's answer after PVE took it, and answers the check
// that follows with 503; without resends, nothing hides either fault.
func TestCreateWithALostAnswerKeepsItsVMID(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	c := simClient(t, cluster, dcrouter.WithRetry(0, time.Millisecond, time.Millisecond))
	var log []string // the fault each request drew, to show where the faults hit
	cluster.SetLogger(func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) })
	cluster.SetFaults(pvesim.Faults{Error503Rate: 0.3, DropAfterRate: 0.3, TaskExtra: 2 * time.Second, Seed: 785})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := NewManager().Create(ctx, c, NewID(), Spec{Name: "lost", Node: "pve1", Cores: 1, MemoryMB: 256})
	cluster.SetFaults(pvesim.Faults{})
	want := []string{"GET /api2/json/cluster/nextid", "GET /api2/json/cluster/resources",
		"POST /api2/json/nodes/pve1/qemu [fault: drop-after]", "GET /api2/json/cluster/resources [fault: 503]"}
	if fmt.Sprint(log) != fmt.Sprint(want) {
		t.Fatalf("requests %q, want %q: the seed no longer puts the faults where this test needs them", log, want)
	}
	if err == nil {
		t.Fatal("the create succeeded")
	}
	made := cluster.VMs()
	if len(made) != 1 || made[0].Lock != "create" {
		t.Fatalf("the cluster holds %+v, want one VM still being created", made)
	}
	if v.VMID != made[0].VMID || v.Node != made[0].Node {
		t.Fatalf("the failed create reports VMID %d on %q; PVE is making VM %d on %s (%v)", v.VMID, v.Node, made[0].VMID, made[0].Node, err)
	}
}
