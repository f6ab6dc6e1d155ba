package provider

import (
	"context"
	"fmt"
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

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
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
			"afterwards every NIC is put on its mapped network of the target datacenter (a vnet of a Q-in-Q zone " +
			"included). The `moxxie_vm` follows the VM and reports it in `current_dc`.",
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
			"target_node":         schema.StringAttribute{Optional: true, PlanModifiers: replace, MarkdownDescription: "Node of the target datacenter to move to; default: the node behind its `proxmox_url`."},
			"bandwidth_limit_kib": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.AtLeast(1)}, MarkdownDescription: "Bandwidth limit in KiB/s."},
			"revert_on_destroy": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "On destroy, move the VM back to `source_datacenter` (failback). Otherwise destroy only forgets this record.",
			},
			"source_datacenter": schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "Where the VM came from."},
			"source_vmid":       schema.Int64Attribute{Computed: true, PlanModifiers: keepInt, MarkdownDescription: "VMID in the source datacenter."},
			"target_vmid":       schema.Int64Attribute{Computed: true, PlanModifiers: keepInt, MarkdownDescription: "VMID in the target datacenter."},
			"status":            schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "`completed` once the VM runs from the target."},
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

// ModifyPlan refuses at plan time what PVE would refuse during apply, where it can be known: an
// unknown target, a VM with snapshots or under HA, a live move of a stopped VM, a NIC without a
// target network.
func (r *migrationResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil || !req.State.Raw.IsNull() {
		return
	}
	var plan migrationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.TargetDC.IsUnknown() {
		return
	}
	target := plan.TargetDC.ValueString()
	dst, err := r.data.client(target)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("target_datacenter"), "Unknown datacenter", err.Error())
		return
	}
	if plan.VMID.IsUnknown() || plan.NetworkMapping.IsUnknown() || plan.Type.IsUnknown() {
		return // the VM is created in this run: apply checks
	}
	id := plan.VMID.ValueString()
	dc, _, found, err := r.data.findVM(ctx, id, r.data.dcs.Names())
	if err != nil {
		resp.Diagnostics.AddWarning("Migration not checked", err.Error())
		return
	}
	if !found {
		resp.Diagnostics.AddAttributeError(path.Root("vm_id"), "VM not found", fmt.Sprintf("No datacenter holds a VM with id %s.", id))
		return
	}
	if dc == target {
		return // already there: applying records it
	}
	src, _ := r.data.client(dc)
	_, cur, err := migration.Check(ctx, src, id, plan.Type.ValueString() == "live", -1)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("vm_id"), "VM cannot be migrated", err.Error())
		return
	}
	nets, _, d := plan.mappings(ctx)
	resp.Diagnostics.Append(d...)
	if _, err := r.data.mapNICs(ctx, src, dst, cur.NICs, nets, false); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("network_mapping"), "Incomplete network mapping", err.Error())
	}
}

func (r *migrationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan migrationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, plan.Timeouts.Create, defaultMigrationTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	id, target := plan.VMID.ValueString(), plan.TargetDC.ValueString()
	nets, storages, d := plan.mappings(ctx)
	resp.Diagnostics.Append(d...)
	src, res, err := r.data.move(ctx, id, target, moveOptions{live: plan.Type.ValueString() == "live", nics: r.data.byMapping(nets), storages: storages,
		node: plan.TargetNode.ValueString(), bwlimit: int(plan.BandwidthKiB.ValueInt64())})
	if err != nil {
		resp.Diagnostics.AddError("Migration failed", err.Error())
		return
	}
	plan.ID = types.StringValue(id + "->" + target)
	plan.SourceDC = types.StringValue(src)
	plan.SourceVMID = types.Int64Value(int64(res.SourceVMID))
	plan.TargetVMIDResult = types.Int64Value(int64(res.TargetVMID))
	plan.Status = types.StringValue("completed")
	plan.StartedAt = types.StringValue(res.StartedAt.Format(time.RFC3339))
	plan.CompletedAt = types.StringValue(res.CompletedAt.Format(time.RFC3339))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

type moveOptions struct {
	live     bool
	storages map[string]string
	node     string
	bwlimit  int
	// nics says where each NIC of the VM (as it is in src) goes in dst.
	nics func(ctx context.Context, src, dst *dcrouter.Client, cur vm.VM) ([]migration.NICTarget, error)
}

// byMapping places NICs by a network_mapping.
func (d *providerData) byMapping(nets map[string]string) func(context.Context, *dcrouter.Client, *dcrouter.Client, vm.VM) ([]migration.NICTarget, error) {
	return func(ctx context.Context, src, dst *dcrouter.Client, cur vm.VM) ([]migration.NICTarget, error) {
		return d.mapNICs(ctx, src, dst, cur.NICs, nets, true)
	}
}

// move migrates the VM with identity id to target wherever it is now; a VM already in target is
// left alone. It returns the datacenter the VM came from.
func (d *providerData) move(ctx context.Context, id, target string, o moveOptions) (string, migration.Result, error) {
	dc, loc, found, err := d.findVM(ctx, id, d.dcs.Names())
	if err != nil {
		return "", migration.Result{}, err
	}
	if !found {
		return "", migration.Result{}, fmt.Errorf("no datacenter holds a VM with id %s", id)
	}
	now := time.Now().UTC()
	if dc == target {
		return dc, migration.Result{SourceVMID: loc.VMID, TargetVMID: loc.VMID, TargetNode: loc.Node, StartedAt: now, CompletedAt: now}, nil
	}
	src, err := d.client(dc)
	if err != nil {
		return "", migration.Result{}, err
	}
	dst, err := d.client(target)
	if err != nil {
		return "", migration.Result{}, err
	}
	_, cur, err := vm.Observe(ctx, src, loc.Node, loc.VMID, loc.Status)
	if err != nil {
		return "", migration.Result{}, err
	}
	nics, err := o.nics(ctx, src, dst, cur)
	if err != nil {
		return "", migration.Result{}, err
	}
	cfg, _ := d.router.Config(target)
	res, err := migration.Migrate(ctx, migration.Request{ID: id, Source: src, Target: dst, TargetConfig: cfg, Live: o.live, NICs: nics,
		Storage: o.storages, StorageAll: d.dcs[target].Storage, TargetNode: o.node, BandwidthKiB: o.bwlimit})
	d.snaps.Forget(dc)
	d.snaps.Forget(target)
	return dc, res, err
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

// Delete fails the VM back to where it came from when revert_on_destroy is set, mapping its
// networks the other way; otherwise it only forgets the record.
func (r *migrationResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state migrationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !state.RevertOnDestroy.ValueBool() {
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
	if _, _, err := r.data.move(ctx, state.VMID.ValueString(), state.SourceDC.ValueString(), moveOptions{live: state.Type.ValueString() == "live", nics: r.data.byMapping(back), storages: backStorage, bwlimit: int(state.BandwidthKiB.ValueInt64())}); err != nil {
		resp.Diagnostics.AddError("Failback failed", fmt.Sprintf("Moving VM %s back to %s: %s", state.VMID.ValueString(), state.SourceDC.ValueString(), err))
	}
}
