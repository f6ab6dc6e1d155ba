package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
)

// checkPlacement runs the plan-time checks of one VM: failover datacenter, capacity (counting the
// VMs planned with it) and affinity. Unknown values skip a check; they never fail it.
func (r *vmResource) checkPlacement(ctx context.Context, plan vmModel, prior *vmModel, diags *diag.Diagnostics) {
	dc := plan.Datacenter.ValueString()
	if !plan.FailoverDC.IsNull() && !plan.FailoverDC.IsUnknown() {
		f := plan.FailoverDC.ValueString()
		switch _, ok := r.data.dcs[f]; {
		case !ok:
			diags.AddAttributeError(path.Root("failover_datacenter"), "Unknown datacenter", unknownDCError(f, r.data.dcs.Names()).Error())
		case f == dc:
			diags.AddAttributeError(path.Root("failover_datacenter"), "Failover to the same datacenter",
				fmt.Sprintf("failover_datacenter must differ from datacenter (%s): a failover moves the VM to another cluster.", dc))
		}
	}
	if plan.Name.IsUnknown() || plan.Cores.IsUnknown() || plan.MemoryMB.IsUnknown() {
		return
	}
	rules, rulesKnown, d := plan.affinity(ctx)
	diags.Append(d...)
	me := plannedVM(ctx, plan, prior, nil)
	me.Affinity = rules
	r.data.ledger.Record(me)

	c, err := r.data.client(me.DC)
	if err != nil {
		return // reported on datacenter already
	}
	if r.data.failed(me.DC) {
		return // declared lost: nothing there to check against; the plan fails the VM over or says why not
	}
	snap, err := r.data.snaps.Get(ctx, c)
	if err != nil {
		diags.AddAttributeWarning(path.Root("datacenter"), "Capacity not checked",
			fmt.Sprintf("Datacenter %s could not be read, so its capacity and affinity were not checked: %s", me.DC, err))
		return
	}
	if bound := plannedVM(ctx, plan, prior, &snap); bound.Node != me.Node {
		me.Node = bound.Node // a clone's template node, known from the listing
		r.data.ledger.Record(me)
	}
	r.checkCapacity(snap, me, prior, !plan.Node.IsUnknown() && !plan.Node.IsNull(), diags)
	if rulesKnown {
		r.checkAffinity(ctx, me, diags)
	}
}
