package migration

import (
	"context"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// A fenced copy (what a failover left in a datacenter that came back) is not the VM: Find lists
// it apart, it makes no split, and a move into its datacenter (a failback) goes past it to a VMID
// of its own and leaves it alone.
func TestAFencedCopyIsNoSplitAndAMoveGoesPastIt(t *testing.T) {
	e := newEnv(t, false, pvesim.Config{})
	e.webVM(nil, true)
	fenced := map[string]string{"name": "web-1", "onboot": "0", "tags": vm.IdentityTag(vmIDTag) + ";" + vm.FencedTag,
		"scsi0": "local-lvm:vm-100-disk-0,size=4G", "net0": "virtio=BC:24:11:00:00:10,bridge=vmbr0,tag=200"}
	if err := e.cluster("DC2").AddVM("pve1", 100, fenced, false); err != nil {
		t.Fatal(err)
	}
	f := e.eng.Find(context.Background(), vmIDTag)
	if len(f.Copies) != 1 || f.Copies[0].DC != "DC1" || len(f.Fenced) != 1 || f.Fenced[0].DC != "DC2" || f.Fenced[0].VMID != 100 {
		t.Fatalf("Find = copies %v, fenced %v; want the DC1 VM as the copy and DC2's VMID 100 as fenced", f.Copies, f.Fenced)
	}
	res, err := e.eng.Move(context.Background(), e.request())
	if err != nil {
		t.Fatal(err)
	}
	if res.TargetVMID == 100 {
		t.Fatalf("the move landed on the fenced copy's VMID 100")
	}
	if n := len(e.cluster("DC1").VMs()); n != 0 {
		t.Errorf("DC1 still holds %d VMs", n)
	}
	moved, ok := e.cluster("DC2").VM(res.TargetVMID)
	if !ok || moved.Status != "running" || vm.IsFenced(vm.ParseTags(moved.Config["tags"])) {
		t.Errorf("moved VM %d in DC2: %+v", res.TargetVMID, moved)
	}
	if v, ok := e.cluster("DC2").VM(100); !ok || v.Status != "stopped" || !vm.IsFenced(vm.ParseTags(v.Config["tags"])) {
		t.Errorf("the fenced copy changed: %+v", v)
	}
}
