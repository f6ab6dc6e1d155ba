package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
)

var (
	_ resource.ResourceWithConfigure  = (*migrationResource)(nil)
	_ resource.ResourceWithModifyPlan = (*migrationResource)(nil)
)

type migrationResource struct {
	data *providerData
}

func newMigrationResource() resource.Resource { return &migrationResource{} }

type migrationModel struct {
	ID               types.String   `tfsdk:"id"`
	VMID             types.String   `tfsdk:"vm_id"`
	TargetDC         types.String   `tfsdk:"target_datacenter"`
	Type             types.String   `tfsdk:"migration_type"`
	NetworkMapping   types.Map      `tfsdk:"network_mapping"`
	StorageMapping   types.Map      `tfsdk:"storage_mapping"`
	TargetNode       types.String   `tfsdk:"target_node"`
	BandwidthKiB     types.Int64    `tfsdk:"bandwidth_limit_kib"`
	RevertOnDestroy  types.Bool     `tfsdk:"revert_on_destroy"`
	SourceDC         types.String   `tfsdk:"source_datacenter"`
	SourceVMID       types.Int64    `tfsdk:"source_vmid"`
	TargetVMIDResult types.Int64    `tfsdk:"target_vmid"`
	Status           types.String   `tfsdk:"status"`
	StartedAt        types.String   `tfsdk:"started_at"`
	CompletedAt      types.String   `tfsdk:"completed_at"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
}

func (r *migrationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dc_migration"
}

func (r *migrationResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	keepInt := []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Moves a `moxxie_vm` to another datacenter with Proxmox VE's `remote_migrate`. The target endpoint " +
			"(host, port, API token, certificate fingerprint) comes from the target datacenter's provider configuration; " +
			"without a `tls_fingerprint` moxxie passes the fingerprint of the certificate its own connection to the target " +
			"was shown (verified through `tls_ca_pem`, or only accepted through `tls_insecure`, which a warning then says). " +
			"Everything Proxmox VE would refuse is checked before the VM is touched; afterwards every NIC is put on its " +
			"mapped network of the target datacenter (a vnet of a Q-in-Q zone included) with an address of the target's " +
			"allocation. A failure after the shutdown starts the VM again where it was; an interrupted move is finished by " +
			"the next apply. The `moxxie_vm` follows the VM and reports it in `current_dc` and `current_network_interfaces`.",
		Attributes: map[string]schema.Attribute{
			"id":                schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "`<vm_id>-><target_datacenter>`."},
			"vm_id":             schema.StringAttribute{Required: true, PlanModifiers: replace, MarkdownDescription: "`id` of the `moxxie_vm` to move."},
			"target_datacenter": schema.StringAttribute{Required: true, PlanModifiers: replace, MarkdownDescription: "Datacenter to move the VM to."},
			"migration_type": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("offline"), PlanModifiers: replace,
				Validators:          []validator.String{stringvalidator.OneOf("offline", "live")},
				MarkdownDescription: "`offline` (default: stop, move, start again if it ran) or `live` (`online=1`; the VM must run).",
			},
			"network_mapping": schema.MapAttribute{
				Required: true, ElementType: types.StringType, PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				MarkdownDescription: "Source network to target network for every NIC. Keys and values are `vlan<N>`, allocation ids " +
					"(`DC1/acme/default`) or bridge names, e.g. `{ \"DC1/acme/default\" = moxxie_network_allocation.acme_dc2.id }`.",
			},
			"storage_mapping": schema.MapAttribute{
				Optional: true, ElementType: types.StringType, PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				MarkdownDescription: "Source storage to target storage; storages not listed go to the target datacenter's `storage`.",
			},
			"target_node":         schema.StringAttribute{Optional: true, PlanModifiers: replace, MarkdownDescription: "Node of the target datacenter to move to, reached at its own address and pinned to its own certificate (as the target datacenter reports them); default: the node behind its `proxmox_url`."},
			"bandwidth_limit_kib": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.AtLeast(1)}, MarkdownDescription: "Bandwidth limit in KiB/s."},
			"revert_on_destroy": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "On destroy, move the VM back to `source_datacenter` (failback). Otherwise destroy only forgets this record.",
			},
			"source_datacenter": schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "Where the VM came from."},
			"source_vmid":       schema.Int64Attribute{Computed: true, PlanModifiers: keepInt, MarkdownDescription: "VMID in the source datacenter."},
			"target_vmid":       schema.Int64Attribute{Computed: true, PlanModifiers: keepInt, MarkdownDescription: "VMID in the target datacenter."},
			"status":            schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "`completed` once the move is done; `interrupted during <phase>` or `failed during <phase>` (phases: `preflight`, `shutdown`, `transfer`, `remap`, `start`, `cleanup`) for a move cut short, which Terraform keeps as tainted and the next apply finishes."},
			"started_at":        schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "RFC 3339 time the move began."},
			"completed_at":      schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "RFC 3339 time the move ended."},
			"timeouts":          timeouts.Attributes(ctx, timeouts.Opts{Create: true, Delete: true}),
		},
	}
}

func (r *migrationResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m migrationModel) mappings(ctx context.Context) (nets, storages map[string]string, diags diag.Diagnostics) {
	diags.Append(m.NetworkMapping.ElementsAs(ctx, &nets, false)...)
	if !m.StorageMapping.IsNull() && !m.StorageMapping.IsUnknown() {
		diags.Append(m.StorageMapping.ElementsAs(ctx, &storages, false)...)
	}
	return nets, storages, diags
}

// migrationFields puts the engine's refusals on this resource's attributes.
var migrationFields = map[migration.Field]path.Path{
	migration.FieldVM:      path.Root("vm_id"),
	migration.FieldType:    path.Root("migration_type"),
	migration.FieldTarget:  path.Root("target_datacenter"),
	migration.FieldNode:    path.Root("target_node"),
	migration.FieldStorage: path.Root("storage_mapping"),
	migration.FieldNetwork: path.Root("network_mapping"),
}

// request is the engine's view of this migration.
func (r *migrationResource) request(ctx context.Context, m migrationModel) (migration.Request, diag.Diagnostics) {
	nets, storages, diags := m.mappings(ctx)
	return migration.Request{
		ID: m.VMID.ValueString(), Target: m.TargetDC.ValueString(), Live: m.Type.ValueString() == "live",
		NICs: migration.Mapping{Nets: r.data.nets(), Map: nets}, Storage: storages,
		TargetNode: m.TargetNode.ValueString(), BandwidthKiB: int(m.BandwidthKiB.ValueInt64()), RequireMove: true,
	}, diags
}

// ModifyPlan refuses at plan time what the move's preflight would refuse during apply, where it
// can be known, each on its attribute: an unknown target or the VM's own datacenter, a VM with
// snapshots, under HA, a linked clone or with an ISO attached, a live move of a stopped VM, a
// missing target storage, bridge or vnet, a NIC without a target network.
func (r *migrationResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil || !req.State.Raw.IsNull() {
		return
	}
	var plan migrationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.TargetDC.IsUnknown() {
		return
	}
	if _, err := r.data.client(plan.TargetDC.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("target_datacenter"), "Unknown datacenter", err.Error())
		return
	}
	if plan.VMID.IsUnknown() || plan.NetworkMapping.IsUnknown() || plan.Type.IsUnknown() || plan.StorageMapping.IsUnknown() || plan.TargetNode.IsUnknown() {
		return // the VM or a network is created in this run: apply checks
	}
	for _, m := range []types.Map{plan.StorageMapping, plan.NetworkMapping} {
		for _, v := range m.Elements() {
			if v.IsUnknown() {
				return // a network or storage made in this run: apply checks
			}
		}
	}
	mreq, d := r.request(ctx, plan)
	resp.Diagnostics.Append(d...)
	eng, err := r.data.engine(nil)
	if err != nil {
		resp.Diagnostics.AddWarning("Migration not checked", err.Error())
		return
	}
	_, err = eng.Check(ctx, mreq)
	var there *migration.AlreadyThereError
	switch {
	case err == nil:
	case errors.As(err, &there):
		resp.Diagnostics.AddAttributeError(path.Root("target_datacenter"), "Migration to the VM's own datacenter", err.Error())
	case errors.Is(err, migration.ErrNotFound):
		resp.Diagnostics.AddAttributeError(path.Root("vm_id"), "VM not found", fmt.Sprintf("No datacenter holds a VM with id %s.", mreq.ID))
	case migration.IsPreflight(err):
		preflightDiags(&resp.Diagnostics, "VM cannot be migrated", err, migrationFields)
	case splitDiags(&resp.Diagnostics, err):
	default:
		resp.Diagnostics.AddWarning("Migration not checked", err.Error())
	}
}

// privateMoveTask keeps the UPID of a qmigrate task between an interrupted apply and the next.
const privateMoveTask = "move_task"

// unfinishedTasks carries that UPID, by VM identity, from the Delete of a tainted record to the
// Create replacing it in the same apply (a Create gets no private state). Without it the engine
// still finds the move from the VM's tag and waits for its lock.
var unfinishedTasks sync.Map

func (r *migrationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan migrationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, plan.Timeouts.Create, defaultMigrationTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	mreq, d := r.request(ctx, plan)
	resp.Diagnostics.Append(d...)
	phase := migration.PhasePreflight
	eng, err := r.data.engine(func(p migration.Phase) { phase = p })
	if err != nil {
		resp.Diagnostics.AddError("Migration failed", err.Error())
		return
	}
	if u, ok := unfinishedTasks.LoadAndDelete(mreq.ID); ok {
		mreq.UPID, _ = u.(string) // handed over by the Delete of the tainted record it replaces
	}
	upid := ""
	mreq.OnTask = func(u string) { upid = u }
	res, err := eng.Move(ctx, mreq)
	r.data.forgetAll(r.data.dcs.Names()...)
	for _, w := range res.Warnings {
		resp.Diagnostics.AddWarning("Migration target not verified", w)
	}
	plan.ID = types.StringValue(mreq.ID + "->" + mreq.Target)
	if err != nil {
		if migration.IsPreflight(err) {
			preflightDiags(&resp.Diagnostics, "Migration refused", err, migrationFields)
			return // nothing happened: no state
		}
		var there *migration.AlreadyThereError
		if errors.As(err, &there) || errors.Is(err, migration.ErrNotFound) || splitDiags(&resp.Diagnostics, err) {
			if !resp.Diagnostics.HasError() {
				resp.Diagnostics.AddError("Migration failed", err.Error())
			}
			return
		}
		// The move began: keep a record, which Terraform marks tainted. Destroying it forgets it
		// without a failback (status is not "completed"), and the replacement's Create resumes
		// the move from where the VM is (its move tag), so nothing migrates twice.
		resp.Diagnostics.AddError("Migration failed", err.Error())
		status := "failed during " + string(phase)
		var ie *migration.InterruptedError
		if errors.As(err, &ie) {
			status = "interrupted during " + string(ie.Phase)
		}
		set := map[string]string{"id": plan.ID.ValueString(), "status": status}
		if res.SourceDC != "" {
			set["source_datacenter"] = res.SourceDC
		}
		if res.StartedAt.IsZero() {
			res.StartedAt = time.Now().UTC()
		}
		set["started_at"] = res.StartedAt.Format(time.RFC3339)
		resp.Diagnostics.Append(partialState(ctx, req.Plan.Raw, &resp.State, set)...)
		if res.SourceVMID > 0 {
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("source_vmid"), int64(res.SourceVMID))...)
		}
		if upid != "" {
			b, _ := json.Marshal(upid)
			resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateMoveTask, b)...)
		}
		return
	}
	plan.SourceDC = types.StringValue(res.SourceDC)
	plan.SourceVMID = types.Int64Value(int64(res.SourceVMID))
	plan.TargetVMIDResult = types.Int64Value(int64(res.TargetVMID))
	plan.Status = types.StringValue(string(migration.PhaseCompleted))
	plan.StartedAt = types.StringValue(res.StartedAt.Format(time.RFC3339))
	plan.CompletedAt = types.StringValue(res.CompletedAt.Format(time.RFC3339))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *migrationResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state migrationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update changes only revert_on_destroy and the bandwidth limit, which act on later moves.
func (r *migrationResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan migrationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete fails the VM back to where it came from when revert_on_destroy is set and the move
// completed, mapping its networks the other way; otherwise it only forgets the record. A record
// of a move that did not complete (tainted, being replaced) never moves the VM back: its
// replacement finishes the move instead.
func (r *migrationResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state migrationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.Status.ValueString() != string(migration.PhaseCompleted) {
		if b, _ := req.Private.GetKey(ctx, privateMoveTask); len(b) > 0 {
			var upid string
			if json.Unmarshal(b, &upid) == nil && upid != "" {
				unfinishedTasks.Store(state.VMID.ValueString(), upid)
			}
		}
		tflog.Info(ctx, "forgetting an unfinished migration without failback", map[string]any{"vm_id": state.VMID.ValueString(), "status": state.Status.ValueString()})
		return
	}
	if !state.RevertOnDestroy.ValueBool() {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, state.Timeouts.Delete, defaultMigrationTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	nets, storages, d := state.mappings(ctx)
	resp.Diagnostics.Append(d...)
	back := map[string]string{}
	for k, v := range nets {
		back[v] = k
	}
	backStorage := map[string]string{}
	for k, v := range storages {
		backStorage[v] = k
	}
	home := state.SourceDC.ValueString()
	eng, err := r.data.engine(nil)
	if err != nil {
		resp.Diagnostics.AddError("Failback failed", err.Error())
		return
	}
	res, err := eng.Move(ctx, migration.Request{ID: state.VMID.ValueString(), Target: home, Live: state.Type.ValueString() == "live",
		NICs: migration.Mapping{Nets: r.data.nets(), Map: back}, Storage: backStorage, BandwidthKiB: int(state.BandwidthKiB.ValueInt64())})
	r.data.forgetAll(r.data.dcs.Names()...)
	for _, w := range res.Warnings {
		resp.Diagnostics.AddWarning("Failback target not verified", w)
	}
	if err != nil {
		resp.Diagnostics.AddError("Failback failed", fmt.Sprintf("Moving VM %s back to %s: %s", state.VMID.ValueString(), home, err))
	}
}
