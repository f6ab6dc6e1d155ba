package vm

import (
	"context"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// A DELETE whose answer was lost leaves PVE destroying the VM (lock "destroyed"); the resent
// delete must wait for that destroy, not fail on the lock it holds.
func TestDeleteWaitsOutADestroyUnderWay(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	c := simClient(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := NewManager().Create(ctx, c, NewID(), Spec{Name: "gone", Node: "pve1", Cores: 1, MemoryMB: 256})
	if err != nil {
		t.Fatal(err)
	}
	cluster.SetFaults(pvesim.Faults{TaskExtra: 500 * time.Millisecond})
	if _, err := c.DeleteVM(ctx, v.Node, v.VMID, true); err != nil { // the first attempt, its answer "lost"
		t.Fatal(err)
	}
	if vms := cluster.VMs(); len(vms) != 1 || vms[0].Lock != "destroyed" {
		t.Fatalf("the cluster holds %+v, want the VM being destroyed", vms)
	}
	if err := Delete(ctx, c, v.Node, v.VMID); err != nil {
		t.Fatalf("the second delete: %v", err)
	}
	if vms := cluster.VMs(); len(vms) != 0 {
		t.Fatalf("the cluster still holds %+v", vms)
	}
}
