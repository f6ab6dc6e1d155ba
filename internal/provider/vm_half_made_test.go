package provider

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// A failed create that state knows only by identity and VMID (its answer was lost while the
// datacenter went down) is found by that VMID while PVE is still making it: once the create ends
// the VM carries the identity and is adopted, so the next apply replaces it instead of making a
// second VM beside it. A VMID that another writer's create holds is not adopted.
func TestLocateWaitsForAHalfMadeVM(t *testing.T) {
	t.Setenv("TF_ACC", "1")
	env := newSimEnv(t)
	env.requireSim("plants a half-made VM in the simulator")
	r := &vmResource{data: env.providerData(t)}
	c := env.mustAPI(t, "DC2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ours, theirs := vm.NewID(), vm.NewID()
	env.cluster("DC2").SetFaults(pvesim.Faults{TaskExtra: 500 * time.Millisecond})
	for vmid, id := range map[int]string{150: ours, 151: theirs} {
		if _, err := c.CreateVM(ctx, "pve1", map[string]any{"vmid": vmid, "name": "half", "memory": "256", "tags": vm.IdentityTag(id)}); err != nil {
			t.Fatal(err)
		}
	}
	env.cluster("DC2").SetFaults(pvesim.Faults{})
	state := func(id string, vmid int64) vmModel {
		return vmModel{ID: types.StringValue(id), IdentityTag: types.StringValue(vm.IdentityTag(id)), Name: types.StringValue("half"),
			Datacenter: types.StringValue("DC2"), CurrentDC: types.StringValue("DC2"), PrimaryDC: types.StringValue("DC2"), VMID: types.Int64Value(vmid)}
	}
	for _, vmid := range []int{150, 151} {
		if v, ok := env.cluster("DC2").VM(vmid); !ok || v.Lock != "create" {
			t.Fatalf("VM %d = %+v: want it still being created, or the test shows nothing", vmid, v)
		}
	}
	cur, _, found, err := r.locate(ctx, state(ours, 150))
	if err != nil || !found || cur.VMID != 150 || cur.ID != ours {
		t.Fatalf("locate(150) = VMID %d, identity %q, found %v, err %v; want our VM 150", cur.VMID, cur.ID, found, err)
	}
	// 151 is another writer's, made under the VMID a create of ours was sent with that never
	// reached PVE.
	if cur, _, found, err := r.locate(ctx, state(vm.NewID(), 151)); err != nil || found {
		t.Fatalf("locate(151) = VMID %d, identity %q, found %v, err %v; want not found", cur.VMID, cur.ID, found, err)
	}
}
