package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/failover"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// Failback choices (moxxie_vm.failback).
const (
	failbackMigrate = "migrate"
	failbackDiscard = "discard_fenced"
)

type protectionModel struct {
	Storage         types.String `tfsdk:"storage"`
	Schedule        types.String `tfsdk:"schedule"`
	FailoverStorage types.String `tfsdk:"failover_storage"`
}

type recoveryPointModel struct {
	VolID types.String `tfsdk:"volid"`
	Time  types.String `tfsdk:"time"`
}

type failoverStateModel struct {
	RestoredFrom   types.String `tfsdk:"restored_from"`
	BackupTime     types.String `tfsdk:"backup_time"`
	FailedOverAt   types.String `tfsdk:"failed_over_at"`
	DataLossWindow types.String `tfsdk:"data_loss_window"`
}

var (
	recoveryPointType = map[string]attr.Type{"volid": types.StringType, "time": types.StringType}
	failoverStateType = map[string]attr.Type{"restored_from": types.StringType, "backup_time": types.StringType,
		"failed_over_at": types.StringType, "data_loss_window": types.StringType}
)

func protectionSchemas() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"protection": schema.SingleNestedAttribute{
			MarkdownDescription: "Backs the VM up for a failover: moxxie keeps one PVE backup job (id `moxxie-<id>`, snapshot mode) in the " +
				"VM's current datacenter writing to `storage`, whose backups a PBS sync job mirrors into `failover_datacenter`. " +
				"Needs `failover_datacenter`. The job follows the VM when it moves and goes when the VM is destroyed.",
			Optional: true,
			Attributes: map[string]schema.Attribute{
				"storage": schema.StringAttribute{
					MarkdownDescription: "A Proxmox Backup Server storage (type `pbs`) of the VM's datacenter the backup job writes to.",
					Required:            true,
					Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
				},
				"schedule": schema.StringAttribute{
					MarkdownDescription: "When the job runs, as a PVE calendar event (`21:00`, `mon..fri 02:30`). Defaults to `daily`.",
					Optional:            true,
					Validators:          []validator.String{stringvalidator.LengthBetween(1, 128)},
				},
				"failover_storage": schema.StringAttribute{
					MarkdownDescription: "The storage in `failover_datacenter` that the PBS sync job fills, where a failover restores from. Defaults to `storage`.",
					Optional:            true,
					Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
				},
			},
		},
		"recovery_point": schema.SingleNestedAttribute{
			MarkdownDescription: "The newest backup of this VM restorable in `failover_datacenter` (found by the VM's identity in the backups' notes): " +
				"what a failover would restore. Null without `protection` or while there is none. Refreshed on every read.",
			Computed:      true,
			PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
			Attributes: map[string]schema.Attribute{
				"volid": schema.StringAttribute{Computed: true, MarkdownDescription: "The backup's volume id, e.g. `pbs:backup/vm/100/2026-12-01T21:00:00Z`."},
				"time":  schema.StringAttribute{Computed: true, MarkdownDescription: "When the backup was made (RFC 3339, UTC)."},
			},
		},
		"failover_state": schema.SingleNestedAttribute{
			MarkdownDescription: "Set once the VM failed over (its datacenter was declared `failed`): the backup it was restored from and the " +
				"data it lost. Null otherwise; cleared by `failback = \"migrate\"`.",
			Computed:      true,
			PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
			Attributes: map[string]schema.Attribute{
				"restored_from":    schema.StringAttribute{Computed: true, MarkdownDescription: "Volume id of the backup restored."},
				"backup_time":      schema.StringAttribute{Computed: true, MarkdownDescription: "When that backup was made (RFC 3339, UTC)."},
				"failed_over_at":   schema.StringAttribute{Computed: true, MarkdownDescription: "When the restored VM was started (RFC 3339, UTC)."},
				"data_loss_window": schema.StringAttribute{Computed: true, MarkdownDescription: "`failed_over_at - backup_time` as a Go duration (`26h4m10s`): what was written in between is lost."},
			},
		},
		"failback": schema.StringAttribute{
			MarkdownDescription: "After a failover, once the failed datacenter returns: `migrate` moves the VM home (an offline `remote_migrate`, " +
				"as a `datacenter` change does, after a move's preflight passed the fenced copy is removed and the VM moved); `discard_fenced` removes the fenced copy and leaves the VM where it runs. " +
				"Unset: nothing happens and the fenced copy stays (a warning on each refresh).",
			Optional:   true,
			Validators: []validator.String{stringvalidator.OneOf(failbackMigrate, failbackDiscard)},
		},
		"fenced_copies": schema.ListAttribute{
			MarkdownDescription: "Stale copies of this VM that moxxie fenced (stopped, `onboot=0`, tag `moxxie-fenced`) when their datacenter " +
				"returned after a failover, as `DC/VMID`. moxxie never starts them; `failback` removes them.",
			Computed:      true,
			ElementType:   types.StringType,
			PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
		},
	}
}

func (m vmModel) protection(ctx context.Context) (*protectionModel, diag.Diagnostics) {
	if m.Protection.IsNull() || m.Protection.IsUnknown() {
		return nil, nil
	}
	var p protectionModel
	diags := m.Protection.As(ctx, &p, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})
	return &p, diags
}

func (p protectionModel) failoverStorage() string {
	if s := p.FailoverStorage.ValueString(); s != "" {
		return s
	}
	return p.Storage.ValueString()
}

func recoveryPointValue(b dcrouter.Backup, found bool) types.Object {
	if !found {
		return types.ObjectNull(recoveryPointType)
	}
	return types.ObjectValueMust(recoveryPointType, map[string]attr.Value{
		"volid": types.StringValue(b.VolID), "time": types.StringValue(b.CTime.UTC().Format(time.RFC3339))})
}

// recoveryPoint reads recovery_point back into a Backup; ok is false when null or unknown.
func recoveryPoint(ctx context.Context, o types.Object) (dcrouter.Backup, bool) {
	if o.IsNull() || o.IsUnknown() {
		return dcrouter.Backup{}, false
	}
	var rp recoveryPointModel
	if o.As(ctx, &rp, basetypes.ObjectAsOptions{}).HasError() || rp.VolID.ValueString() == "" {
		return dcrouter.Backup{}, false
	}
	t, _ := time.Parse(time.RFC3339, rp.Time.ValueString())
	return dcrouter.Backup{VolID: rp.VolID.ValueString(), CTime: t}, true
}

func (d *providerData) failed(dc string) bool {
	s, ok := d.dcs[dc]
	return ok && s.Conn.Failed
}

func emptyList() types.List { return types.ListValueMust(types.StringType, []attr.Value{}) }

// planProtection is ModifyPlan's part for protection and failover: the checks, the computed
// values kept from state, and the failover or failback the plan makes.
func (r *vmResource) planProtection(ctx context.Context, plan *vmModel, prior *vmModel, diags *diag.Diagnostics) {
	prot, d := plan.protection(ctx)
	diags.Append(d...)
	if !plan.Protection.IsNull() && plan.FailoverDC.IsNull() {
		diags.AddAttributeError(path.Root("protection"), "Protection needs a failover datacenter",
			"protection backs the VM up for a failover to failover_datacenter, which is not set: add failover_datacenter (the datacenter the PBS sync job mirrors the backups into).")
		return
	}
	if prior == nil {
		plan.FailoverState = types.ObjectNull(failoverStateType)
		plan.FencedCopies = emptyList()
		if prot == nil {
			plan.RecoveryPoint = types.ObjectNull(recoveryPointType)
		}
	} else {
		plan.RecoveryPoint, plan.FailoverState, plan.FencedCopies = prior.RecoveryPoint, prior.FailoverState, prior.FencedCopies
		switch {
		case prot == nil:
			plan.RecoveryPoint = types.ObjectNull(recoveryPointType)
		case !plan.Protection.Equal(prior.Protection) || !plan.FailoverDC.Equal(prior.FailoverDC):
			plan.RecoveryPoint = types.ObjectUnknown(recoveryPointType)
		}
		if plan.FencedCopies.IsNull() {
			plan.FencedCopies = emptyList()
		}
	}
	if r.data == nil {
		return
	}
	if prot != nil && (prior == nil || !plan.Protection.Equal(prior.Protection) || !plan.FailoverDC.Equal(prior.FailoverDC)) {
		r.checkBackupStorage(ctx, plan.Datacenter.ValueString(), path.Root("protection").AtName("storage"), prot.Storage.ValueString(), diags)
		r.checkBackupStorage(ctx, plan.FailoverDC.ValueString(), path.Root("protection").AtName("failover_storage"), prot.failoverStorage(), diags)
	}
	if prior == nil || diags.HasError() {
		return
	}
	fo := plan.FailoverDC.ValueString()
	name := plan.Name.ValueString()
	cur := prior.CurrentDC.ValueString()
	switch {
	case r.data.failed(cur) && cur != fo:
		if prot == nil || plan.FailoverDC.IsNull() {
			missing := "protection"
			at := path.Root("protection")
			if plan.FailoverDC.IsNull() {
				missing, at = "failover_datacenter and protection", path.Root("failover_datacenter")
			}
			diags.AddAttributeError(at, "Cannot fail over",
				fmt.Sprintf("Datacenter %s, where VM %q runs, is declared failed, but the VM has no %s, so there is nothing to fail over to. Set it, or set failed = false on %s.", cur, name, missing, cur))
			return
		}
		if r.data.failed(fo) {
			diags.AddAttributeError(path.Root("failover_datacenter"), "Cannot fail over",
				fmt.Sprintf("VM %q would fail over from %s to %s, but %s is declared failed too.", name, cur, fo, fo))
			return
		}
		b, ok := recoveryPoint(ctx, prior.RecoveryPoint)
		if !ok {
			diags.AddAttributeError(path.Root("protection"), "Cannot fail over",
				fmt.Sprintf("Datacenter %s, where VM %q runs, is declared failed, but no backup of the VM was found on %s in %s (recovery_point is null): there is nothing to restore.", cur, name, prot.failoverStorage(), fo))
			return
		}
		plan.CurrentDC = types.StringValue(fo)
		plan.VMID = types.Int64Unknown()
		volumesUnknown(ctx, plan, diags)
		plan.Node = types.StringUnknown()
		plan.CurrentNICs = types.ListUnknown(currentNICType)
		plan.FailoverState = plannedFailover(b)
		diags.AddWarning("VM fails over",
			fmt.Sprintf("Datacenter %s is declared failed: VM %q will be restored in %s from backup %s made %s, and started there. Everything the VM wrote after that backup is lost (%s so far).",
				cur, name, fo, b.VolID, b.CTime.UTC().Format(time.RFC3339), failover.DataLossWindow(b, time.Now())))
	case cur == fo && prior.FailoverState.IsNull() && r.data.failed(plan.Datacenter.ValueString()):
		// An earlier failover's apply was cut short after the restore: refresh followed the VM
		// into the failover datacenter; the apply finishes it and records it.
		if b, ok := recoveryPoint(ctx, prior.RecoveryPoint); ok {
			plan.FailoverState = plannedFailover(b)
		} else {
			plan.FailoverState = types.ObjectUnknown(failoverStateType)
		}
	case !prior.FailoverState.IsNull() && plan.Failback.ValueString() == failbackMigrate && cur != plan.Datacenter.ValueString() && !r.data.failed(plan.Datacenter.ValueString()):
		plan.CurrentDC = plan.Datacenter
		plan.VMID = types.Int64Unknown()
		volumesUnknown(ctx, plan, diags)
		plan.Node = types.StringUnknown()
		plan.CurrentNICs = types.ListUnknown(currentNICType)
		plan.FailoverState = types.ObjectNull(failoverStateType)
		plan.FencedCopies = emptyList()
	case plan.Failback.ValueString() != "" && len(prior.FencedCopies.Elements()) > 0:
		plan.FencedCopies = emptyList()
	}
}

// plannedFailover is failover_state as the plan knows it: the backup; the time comes at apply.
func plannedFailover(b dcrouter.Backup) types.Object {
	return types.ObjectValueMust(failoverStateType, map[string]attr.Value{
		"restored_from": types.StringValue(b.VolID), "backup_time": types.StringValue(b.CTime.UTC().Format(time.RFC3339)),
		"failed_over_at": types.StringUnknown(), "data_loss_window": types.StringUnknown()})
}

// checkBackupStorage: storage must be a pbs storage of dc, when dc can be asked.
func (r *vmResource) checkBackupStorage(ctx context.Context, dc string, at path.Path, storage string, diags *diag.Diagnostics) {
	if dc == "" || r.data.failed(dc) {
		return
	}
	c, err := r.data.client(dc)
	if err != nil {
		return
	}
	node, err := vm.ChooseNode(ctx, c)
	if err != nil {
		return // unreachable: the capacity check warns
	}
	list, err := c.NodeStorages(ctx, node)
	if err != nil {
		return
	}
	var pbs []string
	for _, s := range list {
		if s.Type == "pbs" {
			pbs = append(pbs, s.Storage)
		}
		if s.Storage == storage {
			if s.Type != "pbs" {
				diags.AddAttributeError(at, "Not a backup server storage",
					fmt.Sprintf("Storage %q of datacenter %s is of type %s; protection needs a Proxmox Backup Server storage (type pbs), which a PBS sync job mirrors between the datacenters.", storage, dc, s.Type))
			}
			return
		}
	}
	diags.AddAttributeError(at, "Unknown backup storage",
		fmt.Sprintf("Datacenter %s has no storage %q (its pbs storages: %s).", dc, storage, listOrNone(pbs)))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// readProtection is Read's part: fence stale copies after a failover, list the fenced ones, and
// refresh the recovery point. v is the VM as found.
func (r *vmResource) readProtection(ctx context.Context, state *vmModel, v vm.VM, diags *diag.Diagnostics) {
	if state.FencedCopies.IsNull() || state.FencedCopies.IsUnknown() {
		state.FencedCopies = emptyList()
	}
	if state.RecoveryPoint.IsUnknown() {
		state.RecoveryPoint = types.ObjectNull(recoveryPointType)
	}
	if state.FailoverState.IsUnknown() {
		state.FailoverState = types.ObjectNull(failoverStateType)
	}
	if state.ID.ValueString() == "" {
		return
	}
	if !state.FailoverState.IsNull() || len(state.FencedCopies.Elements()) > 0 {
		r.fenceStale(ctx, state, v.DC, diags)
	}
	r.refreshRecoveryPoint(ctx, state, diags)
}

// refreshRecoveryPoint reads the newest backup of the VM in its failover datacenter; a
// datacenter that cannot be asked keeps what state knows.
func (r *vmResource) refreshRecoveryPoint(ctx context.Context, state *vmModel, diags *diag.Diagnostics) {
	prot, d := state.protection(ctx)
	diags.Append(d...)
	if prot == nil {
		state.RecoveryPoint = types.ObjectNull(recoveryPointType)
		return
	}
	fo := state.FailoverDC.ValueString()
	if fo == "" || r.data.failed(fo) {
		return
	}
	c, err := r.data.client(fo)
	if err != nil {
		return
	}
	node, err := vm.ChooseNode(ctx, c)
	if err == nil {
		var b dcrouter.Backup
		var found bool
		b, found, err = failover.RecoveryPoint(ctx, c, node, prot.failoverStorage(), vm.IdentityTag(state.ID.ValueString()))
		if err == nil {
			state.RecoveryPoint = recoveryPointValue(b, found)
			return
		}
	}
	diags.AddWarning("Recovery point not read",
		fmt.Sprintf("VM %q keeps its last known recovery_point: reading the backups on %s in %s failed: %s", state.Name.ValueString(), prot.failoverStorage(), fo, err))
}

// fenceStale fences every copy of the identity outside liveDC (a datacenter that returned after
// the failover) and records the fenced ones.
func (r *vmResource) fenceStale(ctx context.Context, state *vmModel, liveDC string, diags *diag.Diagnostics) {
	id := state.ID.ValueString()
	f, _ := r.data.copies(ctx, id)
	for _, cp := range failover.Stale(f, liveDC) {
		c, err := r.data.client(cp.DC)
		if err == nil {
			err = failover.Fence(ctx, c, cp, vm.IdentityTag(id))
			r.data.snaps.Forget(cp.DC)
		}
		if err != nil {
			diags.AddError("Cannot fence stale copy", fmt.Sprintf("VM %q runs in %s; %s", state.Name.ValueString(), liveDC, err))
			return
		}
		diags.AddWarning("Stale copy fenced",
			fmt.Sprintf("VM %q runs in %s since its failover; the copy its datacenter kept (%s) was stopped, set to onboot=0 and tagged %s. moxxie never starts it; set failback to \"migrate\" (move the VM home) or \"discard_fenced\" (remove the copy).",
				state.Name.ValueString(), liveDC, cp, vm.FencedTag))
		f.Fenced = append(f.Fenced, cp)
	}
	var names []attr.Value
	seen := map[string]bool{}
	for _, cp := range f.Fenced {
		n := fmt.Sprintf("%s/%d", cp.DC, cp.VMID)
		if !seen[n] {
			seen[n] = true
			names = append(names, types.StringValue(n))
		}
	}
	if len(f.Down) > 0 {
		// a datacenter that did not answer may hold fenced copies still: keep what state knows of it
		for _, e := range state.FencedCopies.Elements() {
			s, _ := e.(types.String)
			dc, _, _ := strings.Cut(s.ValueString(), "/")
			if _, down := f.Down[dc]; down && !seen[s.ValueString()] {
				seen[s.ValueString()] = true
				names = append(names, s)
			}
		}
	}
	if names == nil {
		names = []attr.Value{}
	}
	state.FencedCopies = types.ListValueMust(types.StringType, names)
	if len(names) > 0 && state.Failback.IsNull() {
		diags.AddWarning("Fenced copy kept",
			fmt.Sprintf("VM %q runs in %s; its fenced copies %s stay until failback is set (\"migrate\" or \"discard_fenced\").", state.Name.ValueString(), liveDC, listOrNone(listStrings(state.FencedCopies))))
	}
}

func listStrings(l types.List) []string {
	var out []string
	for _, e := range l.Elements() {
		if s, ok := e.(types.String); ok {
			out = append(out, s.ValueString())
		}
	}
	return out
}

// unreachableHint is Read's advice when the VM's datacenter does not answer: a failover needs
// the operator's word, never a network blip.
func unreachableHint(ctx context.Context, state vmModel, dcs func(string) bool, diags *diag.Diagnostics) {
	cur, fo := state.CurrentDC.ValueString(), state.FailoverDC.ValueString()
	if state.Protection.IsNull() || fo == "" || cur == fo || dcs(cur) {
		return
	}
	what := "its newest backup"
	if b, ok := recoveryPoint(ctx, state.RecoveryPoint); ok {
		what = fmt.Sprintf("%s (%s)", b.VolID, b.CTime.UTC().Format(time.RFC3339))
	}
	diags.AddWarning("Failover possible",
		fmt.Sprintf("VM %q cannot be reached in %s; moxxie does not fail over on its own. If %s is lost, set failed = true on %s to fail over to %s from %s.",
			state.Name.ValueString(), cur, cur, cur, fo, what))
}

// failoverPlanned reports whether the plan is a failover the apply must run (or finish).
func failoverPlanned(state, plan vmModel) bool {
	return !plan.FailoverState.IsNull() && state.FailoverState.IsNull() && !plan.FailoverState.Equal(state.FailoverState)
}

// failbackPlanned reports whether the plan moves the failed-over VM home.
func failbackPlanned(state, plan vmModel) bool {
	return !state.FailoverState.IsNull() && plan.FailoverState.IsNull() && plan.Failback.ValueString() == failbackMigrate
}

// runFailover restores the VM in its failover datacenter (or finishes an earlier restore) and
// records it in state (current_dc, failover_state).
func (r *vmResource) runFailover(ctx context.Context, plan vmModel, state *vmModel, diags *diag.Diagnostics) bool {
	fo := plan.FailoverDC.ValueString()
	c, err := r.data.client(fo)
	if err != nil {
		diags.AddError("Cannot fail over", err.Error())
		return false
	}
	b, _ := recoveryPoint(ctx, state.RecoveryPoint)
	var fs failoverStateModel
	if !plan.FailoverState.IsUnknown() && !plan.FailoverState.As(ctx, &fs, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true}).HasError() && fs.RestoredFrom.ValueString() != "" {
		b.VolID = fs.RestoredFrom.ValueString()
		b.CTime, _ = time.Parse(time.RFC3339, fs.BackupTime.ValueString())
	}
	nics, targets, err := r.failoverNICs(ctx, c, *state)
	if err != nil {
		diags.AddAttributeError(path.Root("network_interface"), "Cannot fail over", err.Error())
		return false
	}
	node, err := r.failoverNode(ctx, c, plan, *state)
	if err != nil {
		diags.AddAttributeError(path.Root("failover_datacenter"), "Cannot fail over", err.Error())
		return false
	}
	res, err := failover.Run(ctx, failover.Spec{ID: state.ID.ValueString(), Client: c, Node: node, Storage: r.data.dcs[fo].Storage, Backup: b,
		NICs: nics, Targets: targets, Nets: r.data.nets(), VMIDs: r.data.vms})
	r.data.snaps.Forget(fo)
	if err != nil {
		diags.AddError("Cannot fail over", fmt.Sprintf("Restoring VM %q in %s from %s: %s. Apply again to finish the failover: the restored copy carries the VM's identity and is picked up where it stands.", plan.Name.ValueString(), fo, b.VolID, err))
		return false
	}
	now := time.Now().UTC()
	state.CurrentDC = types.StringValue(fo)
	state.FailoverState = types.ObjectValueMust(failoverStateType, map[string]attr.Value{
		"restored_from": types.StringValue(b.VolID), "backup_time": types.StringValue(b.CTime.UTC().Format(time.RFC3339)),
		"failed_over_at": types.StringValue(now.Format(time.RFC3339)), "data_loss_window": types.StringValue(failover.DataLossWindow(b, now).String())})
	if res.Resumed {
		diags.AddWarning("Failover finished", fmt.Sprintf("VM %q: an earlier failover had restored VM %d in %s; it was finished and started.", plan.Name.ValueString(), res.VMID, fo))
	}
	return true
}

// failoverNode is the node of the failover datacenter the VM's restore goes to, chosen as a
// create's node is (chooseNode: the packing under the datacenter's placement policy, booked before
// the restore begins), so VMs failing over together spread over the nodes that can run them
// instead of all taking the node that had the most free memory when each looked.
func (r *vmResource) failoverNode(ctx context.Context, c *dcrouter.Client, plan, state vmModel) (string, error) {
	in := plan
	in.Datacenter = types.StringValue(c.DC())
	in.Node = types.StringNull()
	in.Clone = types.ObjectNull(in.Clone.AttributeTypes(ctx)) // restored, not cloned: no template's node
	node, err := r.chooseNode(ctx, c, in, state.ID.ValueString(), nil, nil)
	if err != nil {
		return "", fmt.Errorf("placing VM %q in %s: %w", plan.Name.ValueString(), c.DC(), err)
	}
	return node, nil
}

// failoverNICs are the VM's NICs (model and MAC from state) and where each goes in the failover
// datacenter: an allocation to the allocation of the same client and name there, a bridge NIC
// to the same bridge and VLAN.
func (r *vmResource) failoverNICs(ctx context.Context, c *dcrouter.Client, state vmModel) ([]vm.NIC, []migration.NICTarget, error) {
	nics, diags := state.nics(ctx)
	if diags.HasError() {
		return nil, nil, fmt.Errorf("reading network_interface from state")
	}
	var out []vm.NIC
	var targets []migration.NICTarget
	for i, n := range nics {
		out = append(out, vm.NIC{Model: n.Model.ValueString(), MAC: n.MAC.ValueString()})
		if n.AllocationID.IsNull() || n.AllocationID.ValueString() == "" {
			targets = append(targets, migration.NICTarget{Bridge: n.Bridge.ValueString(), VLAN: int(n.VLANID.ValueInt64())})
			continue
		}
		ref, err := network.ParseID(n.AllocationID.ValueString())
		if err != nil || ref.ClientID == "" {
			return nil, nil, fmt.Errorf("network_interface %d: allocation %s names a vnet, not a client's allocation; a failover maps allocations by client_id and name", i, n.AllocationID.ValueString())
		}
		id := fmt.Sprintf("%s/%s/%s", c.DC(), ref.ClientID, ref.Name)
		t, err := r.data.nets().Resolve(ctx, c, id)
		if err != nil {
			return nil, nil, fmt.Errorf("network_interface %d: its failover allocation: %w", i, err)
		}
		targets = append(targets, t)
	}
	return out, targets, nil
}

// runFailback moves the failed-over VM home with the move engine. The fenced copies go first,
// once the move's preflight passed: they are stale (never the only copy: the live VM runs in the
// failover datacenter until the move, which keeps it on any failure, is done), and they hold the
// home allocation's address and the VMID the VM may come back to.
func (r *vmResource) runFailback(ctx context.Context, plan vmModel, state *vmModel, diags *diag.Diagnostics) bool {
	home := plan.Datacenter.ValueString()
	if cfg, known := configNICs(ctx, plan); known {
		eng, err := r.data.engine(nil)
		if err == nil {
			_, err = eng.Check(ctx, migration.Request{ID: state.ID.ValueString(), Name: plan.Name.ValueString(), Target: home,
				NICs: migration.Configured{Nets: r.data.nets(), NICs: cfg}})
		}
		if err != nil {
			if !splitDiags(diags, err) || !diags.HasError() {
				preflightDiags(diags, "Cannot fail back", err, vmMoveFields)
			}
			return false
		}
	}
	if !r.discardFenced(ctx, state, diags) {
		return false
	}
	res, err := r.moveTo(ctx, state.ID.ValueString(), plan.Name.ValueString(), home, plan)
	for _, w := range res.Warnings {
		diags.AddWarning("Migration target not verified", w)
	}
	if err != nil {
		if !splitDiags(diags, err) || !diags.HasError() {
			preflightDiags(diags, "Cannot fail back", err, vmMoveFields)
		}
		return false
	}
	state.CurrentDC = types.StringValue(home)
	state.FailoverState = types.ObjectNull(failoverStateType)
	return true
}

// discardFenced removes every fenced copy of the VM.
func (r *vmResource) discardFenced(ctx context.Context, state *vmModel, diags *diag.Diagnostics) bool {
	f, _ := r.data.copies(ctx, state.ID.ValueString())
	for _, cp := range f.Fenced {
		c, err := r.data.client(cp.DC)
		if err == nil {
			err = vm.Delete(ctx, c, cp.Node, cp.VMID)
			r.data.snaps.Forget(cp.DC)
		}
		if err != nil {
			diags.AddError("Cannot remove fenced copy", fmt.Sprintf("Deleting the fenced copy %s: %s", cp, err))
			return false
		}
	}
	state.FencedCopies = emptyList()
	return true
}

// syncJob keeps the VM's backup job where the VM is: ensured in dc for vmid when protected,
// removed from the datacenter it left (fromDC) and from dc when protection was dropped.
func (r *vmResource) syncJob(ctx context.Context, plan vmModel, fromDC, dc string, vmid int, diags *diag.Diagnostics) {
	tag := vm.IdentityTag(plan.ID.ValueString())
	prot, d := plan.protection(ctx)
	diags.Append(d...)
	if fromDC != "" && fromDC != dc && !r.data.failed(fromDC) {
		if c, err := r.data.client(fromDC); err == nil {
			if err := failover.RemoveJob(ctx, c, tag); err != nil {
				diags.AddWarning("Backup job left behind", err.Error())
			}
		}
	}
	c, err := r.data.client(dc)
	if err != nil {
		diags.AddError("Cannot set up the backup job", err.Error())
		return
	}
	if prot == nil {
		if err := failover.RemoveJob(ctx, c, tag); err != nil {
			diags.AddError("Cannot remove the backup job", err.Error())
		}
		return
	}
	if err := failover.EnsureJob(ctx, c, tag, failover.Job{VMID: vmid, Storage: prot.Storage.ValueString(), Schedule: prot.Schedule.ValueString()}); err != nil {
		diags.AddAttributeError(path.Root("protection"), "Cannot set up the backup job", err.Error())
	}
}

// finishProtection fills the computed protection values a create or update left unknown; the
// known ones are what the plan promised.
func (r *vmResource) finishProtection(ctx context.Context, m *vmModel, diags *diag.Diagnostics) {
	if m.FailoverState.IsUnknown() {
		m.FailoverState = types.ObjectNull(failoverStateType)
	}
	if m.FencedCopies.IsUnknown() || m.FencedCopies.IsNull() {
		m.FencedCopies = emptyList()
	}
	if m.RecoveryPoint.IsUnknown() {
		m.RecoveryPoint = types.ObjectNull(recoveryPointType)
		r.refreshRecoveryPoint(ctx, m, diags)
	}
}

// deleteProtection is Delete's part: the fenced copies and the backup job go with the VM.
func (r *vmResource) deleteProtection(ctx context.Context, state vmModel, dc string, diags *diag.Diagnostics) {
	if state.ID.ValueString() == "" {
		return
	}
	if len(state.FencedCopies.Elements()) > 0 || !state.FailoverState.IsNull() {
		r.discardFenced(ctx, &state, diags)
	}
	if state.Protection.IsNull() {
		return
	}
	// The job is where the VM was last applied; an apply cut short may have left it in the
	// datacenter the VM came from, so every datacenter that answers is cleared.
	for _, name := range r.data.dcs.Names() {
		if r.data.failed(name) {
			continue
		}
		c, err := r.data.client(name)
		if err == nil {
			err = failover.RemoveJob(ctx, c, vm.IdentityTag(state.ID.ValueString()))
		}
		if err != nil && (name == dc || !isUnreachable(err)) {
			diags.AddError("Cannot remove the backup job", err.Error())
		}
	}
}

// failoverStep runs what the plan asks of a failover before the usual update: the failover
// itself (or its finish), a failback home, or the removal of fenced copies. false: it failed,
// the diagnostics say why and state holds what is true now.
func (r *vmResource) failoverStep(ctx context.Context, plan vmModel, state *vmModel, diags *diag.Diagnostics) bool {
	switch {
	case failoverPlanned(*state, plan):
		return r.runFailover(ctx, plan, state, diags)
	case failbackPlanned(*state, plan):
		return r.runFailback(ctx, plan, state, diags)
	case !plan.FencedCopies.IsUnknown() && len(plan.FencedCopies.Elements()) == 0 && len(state.FencedCopies.Elements()) > 0:
		return r.discardFenced(ctx, state, diags)
	}
	return true
}

// partlyUnknown reports whether o, or one of its attributes, is unknown.
func partlyUnknown(o types.Object) bool {
	if o.IsUnknown() {
		return true
	}
	for _, v := range o.Attributes() {
		if v.IsUnknown() {
			return true
		}
	}
	return false
}
