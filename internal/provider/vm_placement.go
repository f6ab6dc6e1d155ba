package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

type affinityModel struct {
	PreferSameDC       types.Set `tfsdk:"prefer_same_dc"`
	RequireDifferentDC types.Set `tfsdk:"require_different_dc"`
}

func affinitySchema() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		MarkdownDescription: "Placement rules relative to other moxxie VMs, by name, checked at plan time against the VMs " +
			"that exist and those planned in the same run. Reference the other VM's `name` attribute " +
			"(`[moxxie_vm.db.name]`) rather than a literal: the reference makes Terraform plan that VM first, so the " +
			"check sees it whatever the order of the configuration.",
		Optional: true,
		Attributes: map[string]schema.Attribute{
			"prefer_same_dc": schema.SetAttribute{
				MarkdownDescription: "VMs this one should share a datacenter with; a violation is a warning.",
				ElementType:         types.StringType,
				Optional:            true,
			},
			"require_different_dc": schema.SetAttribute{
				MarkdownDescription: "VMs this one must never share a datacenter with; a violation is an error.",
				ElementType:         types.StringType,
				Optional:            true,
			},
		},
	}
}

// affinity reads the rules; known is false when any name is not known yet (the check is skipped
// then, not failed).
func (m vmModel) affinity(ctx context.Context) (placement.Affinity, bool, diag.Diagnostics) {
	var a placement.Affinity
	if m.Affinity.IsNull() {
		return a, true, nil
	}
	if m.Affinity.IsUnknown() {
		return a, false, nil
	}
	var am affinityModel
	diags := m.Affinity.As(ctx, &am, basetypes.ObjectAsOptions{})
	for _, s := range []struct {
		set types.Set
		out *[]string
	}{{am.PreferSameDC, &a.PreferSameDC}, {am.RequireDifferentDC, &a.RequireDifferentDC}} {
		if s.set.IsUnknown() {
			return a, false, diags
		}
		for _, e := range s.set.Elements() {
			if e.IsUnknown() {
				return a, false, diags
			}
		}
		if !s.set.IsNull() {
			diags.Append(s.set.ElementsAs(ctx, s.out, false)...)
		}
	}
	return a, true, diags
}

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
	me := placement.Planned{Name: plan.Name.ValueString(), DC: dc, Cores: plan.Cores.ValueInt64(), MemoryMB: plan.MemoryMB.ValueInt64(), Exists: prior != nil, Affinity: rules}
	r.data.ledger.Record(me)

	c, err := r.data.client(dc)
	if err != nil {
		return // reported on datacenter already
	}
	snap, err := r.data.snaps.Get(ctx, c)
	if err != nil {
		diags.AddAttributeWarning(path.Root("datacenter"), "Capacity not checked",
			fmt.Sprintf("Datacenter %s could not be read, so its capacity and affinity were not checked: %s", dc, err))
		return
	}
	r.checkCapacity(snap, me, prior, diags)
	if rulesKnown {
		r.checkAffinity(ctx, me, diags)
	}
}

func (r *vmResource) checkCapacity(snap inventory.Snapshot, me placement.Planned, prior *vmModel, diags *diag.Diagnostics) {
	exclude := 0
	if prior != nil && prior.CurrentDC.ValueString() == me.DC {
		if v, ok := snap.ByID(prior.ID.ValueString()); ok {
			exclude = v.VMID // its current size is replaced by the planned one
			if me.Cores <= v.Cores && me.MemoryMB <= v.MemoryMB {
				return // shrinking or unchanged never needs room
			}
		}
	}
	demands := []placement.Demand{{Key: me.Name, Cores: me.Cores, MemoryMB: me.MemoryMB}}
	for _, o := range r.data.ledger.Others(me) {
		if o.DC != me.DC || o.Exists {
			continue
		}
		if _, held := snap.ByName(o.Name); held {
			continue // created meanwhile (Terraform plans again during apply): in the cluster's figures
		}
		demands = append(demands, placement.Demand{Key: o.Name, Cores: o.Cores, MemoryMB: o.MemoryMB})
	}
	limits := r.data.dcs[me.DC].Limits
	if err := placement.Fit(snap.Capacity(limits, exclude), demands); err != nil {
		diags.AddAttributeError(path.Root("datacenter"), "Not enough capacity", err.Error())
	}
}

// checkAffinity judges the rules in both directions: this VM's own rules against every other VM,
// and the rules of VMs planned in this run against this VM, so the outcome does not depend on
// which of two VMs Terraform plans first.
func (r *vmResource) checkAffinity(ctx context.Context, me placement.Planned, diags *diag.Diagnostics) {
	planned := r.data.ledger.Others(me)
	where := map[string][]placement.Placed{}
	for _, name := range r.data.dcs.Names() {
		c, err := r.data.client(name)
		if err != nil {
			continue
		}
		snap, err := r.data.snaps.Get(ctx, c)
		if err != nil {
			continue // an unreachable datacenter's VMs cannot be judged; the capacity check warned
		}
		for _, v := range snap.Live() {
			if v.ID != "" {
				where[v.Name] = append(where[v.Name], placement.Placed{Name: v.Name, DC: name})
			}
		}
	}
	plannedAt := map[string][]placement.Placed{}
	for _, p := range planned {
		plannedAt[p.Name] = append(plannedAt[p.Name], placement.Placed{Name: p.Name, DC: p.DC})
	}
	for name, list := range plannedAt {
		where[name] = list // the plan puts them there, wherever they are now
	}
	var others []placement.Placed
	for _, list := range where {
		others = append(others, list...)
	}
	v := placement.CheckAffinity(me.Name, me.DC, me.Affinity, others)
	for _, p := range planned {
		if p.DC != me.DC {
			continue
		}
		for _, n := range p.Affinity.RequireDifferentDC {
			if n == me.Name {
				v.Errors = append(v.Errors, fmt.Sprintf("VM %q must not share a datacenter with %q (require_different_dc), but both are planned into %s", p.Name, me.Name, me.DC))
			}
		}
	}
	for _, e := range v.Errors {
		diags.AddAttributeError(path.Root("affinity"), "Affinity rule violated", e)
	}
	for _, w := range v.Warnings {
		diags.AddAttributeWarning(path.Root("affinity"), "Affinity preference not met", w)
	}
}
