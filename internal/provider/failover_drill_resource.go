package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/moxxie/terraform-provider-moxxie/internal/failover"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

var (
	_ resource.ResourceWithConfigure  = (*drillResource)(nil)
	_ resource.ResourceWithModifyPlan = (*drillResource)(nil)
)

// defaultDrillTimeout bounds a drill: a restore of the whole VM, its boot and its removal.
const defaultDrillTimeout = time.Hour

type drillResource struct {
	data *providerData
}

func newDrillResource() resource.Resource { return &drillResource{} }

type drillModel struct {
	ID           types.String   `tfsdk:"id"`
	VMID         types.String   `tfsdk:"vm_id"`
	Bridge       types.String   `tfsdk:"isolated_bridge"`
	Datacenter   types.String   `tfsdk:"datacenter"`
	Triggers     types.Map      `tfsdk:"triggers"`
	RestoredFrom types.String   `tfsdk:"restored_from"`
	BackupTime   types.String   `tfsdk:"backup_time"`
	Booted       types.Bool     `tfsdk:"booted"`
	VMIDUsed     types.Int64    `tfsdk:"vmid_used"`
	FinishedAt   types.String   `tfsdk:"finished_at"`
	Timeouts     timeouts.Value `tfsdk:"timeouts"`
}

func (r *drillResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_failover_drill"
}

func (r *drillResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A test failover that does not disturb the VM: it restores the VM's newest backup in its failover " +
			"datacenter as a copy with every NIC on `isolated_bridge` (no VLAN, new MACs), the tag `moxxie-drill-<id>` instead " +
			"of the VM's identity and `onboot = 0`, starts it, waits until it runs, then stops and destroys it. The VM itself " +
			"is only read. A drill that fails or is interrupted removes its copy; what an earlier run left is removed by the " +
			"next apply or destroy. Change `triggers` to run the drill again.",
		Attributes: map[string]schema.Attribute{
			"id":              schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "The drill's id (16 hex characters); its copy carries the tag `moxxie-drill-<id>`."},
			"vm_id":           schema.StringAttribute{Required: true, PlanModifiers: replace, MarkdownDescription: "`id` of the protected `moxxie_vm`."},
			"isolated_bridge": schema.StringAttribute{Required: true, PlanModifiers: replace, MarkdownDescription: "A bridge of the failover datacenter without ports (no uplink), e.g. `vmbr9`: the copy boots with the VM's addresses and must not reach its network. Checked at plan and apply."},
			"datacenter": schema.StringAttribute{
				Optional: true, Computed: true, PlanModifiers: append([]planmodifier.String{stringplanmodifier.UseStateForUnknown()}, replace...),
				MarkdownDescription: "Datacenter to drill in: the VM's `failover_datacenter`. Default: the datacenter, other than the one the VM runs in, that holds the VM's newest backup.",
			},
			"triggers": schema.MapAttribute{
				Optional: true, ElementType: types.StringType, PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				MarkdownDescription: "Any values; changing one runs the drill again (e.g. `{ month = \"2026-12\" }`).",
			},
			"restored_from": schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "Volume id of the backup the drill restored."},
			"backup_time":   schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "RFC 3339 time of that backup."},
			"booted": schema.BoolAttribute{Computed: true, PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Whether the copy ran (status `running` with an uptime); a drill whose copy does not boot fails."},
			"vmid_used": schema.Int64Attribute{Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				MarkdownDescription: "VMID the copy had in the failover datacenter; it is free again."},
			"finished_at": schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "RFC 3339 time the drill ended."},
			"timeouts":    timeouts.Attributes(ctx, timeouts.Opts{Create: true, Delete: true}),
		},
	}
}

func (r *drillResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

// source finds the backup to drill with: the newest of the VM's identity in dc, or when dc is
// "" in the datacenters other than the one the VM runs in.
func (r *drillResource) source(ctx context.Context, id, dc string) (failover.Source, error) {
	found, split := r.data.copies(ctx, id)
	if split != nil {
		return failover.Source{}, split
	}
	home := map[string]bool{}
	for _, c := range found.Copies {
		home[c.DC] = true
	}
	if len(found.Copies) == 0 && len(found.Down) == 0 {
		return failover.Source{}, fmt.Errorf("no datacenter holds a VM with id %s", id)
	}
	candidates := []string{dc}
	if dc == "" {
		candidates = nil
		for _, n := range r.data.dcs.Names() {
			if !home[n] {
				candidates = append(candidates, n)
			}
		}
	} else if home[dc] {
		return failover.Source{}, fmt.Errorf("the VM runs in %s: a drill restores it in its failover datacenter", dc)
	}
	var best failover.Source
	var problems []string
	for _, n := range candidates {
		c, err := r.data.client(n)
		if err == nil {
			var s failover.Source
			var ok bool
			s, ok, err = failover.NewestBackup(ctx, c, id)
			if ok && (best.DC == "" || s.Backup.CTime.After(best.Backup.CTime)) {
				best = s
			}
		}
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	if best.DC != "" {
		return best, nil
	}
	msg := fmt.Sprintf("no backup of %s (a backup whose notes name it) in %s", vm.IdentityTag(id), strings.Join(candidates, ", "))
	if len(problems) > 0 {
		msg += " (" + strings.Join(problems, "; ") + ")"
	}
	return failover.Source{}, errors.New(msg)
}

// ModifyPlan checks at plan time that the failover datacenter has the isolated bridge (and
// shows which datacenter the drill runs in), where the VM already exists.
func (r *drillResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil || !req.State.Raw.IsNull() {
		return
	}
	var plan drillModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	var cfgDC types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("datacenter"), &cfgDC)...)
	if resp.Diagnostics.HasError() || plan.VMID.IsUnknown() || plan.Bridge.IsUnknown() || cfgDC.IsUnknown() {
		return // made in this run: apply checks
	}
	dc := cfgDC.ValueString()
	if dc != "" {
		if _, err := r.data.client(dc); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("datacenter"), "Unknown datacenter", err.Error())
			return
		}
	}
	src, err := r.source(ctx, plan.VMID.ValueString(), dc)
	if err != nil {
		// the VM or its first backup may come in this run: apply decides
		resp.Diagnostics.AddWarning("Drill not checked", err.Error())
		return
	}
	c, err := r.data.client(src.DC)
	if err != nil {
		return
	}
	node, err := vm.ChooseNode(ctx, c)
	if err == nil {
		err = failover.CheckIsolatedBridge(ctx, c, node, plan.Bridge.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("isolated_bridge"), "No isolated bridge", err.Error())
			return
		}
	}
	if cfgDC.IsNull() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("datacenter"), src.DC)...)
	}
}

func (r *drillResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan drillModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, plan.Timeouts.Create, defaultDrillTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	dc := ""
	if !plan.Datacenter.IsUnknown() {
		dc = plan.Datacenter.ValueString()
	}
	src, err := r.source(ctx, plan.VMID.ValueString(), dc)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("vm_id"), "Drill failed", err.Error())
		return
	}
	c, err := r.data.client(src.DC)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("datacenter"), "Drill failed", err.Error())
		return
	}
	id := vm.NewID()
	res, err := failover.RunDrill(ctx, c, failover.DrillSpec{ID: id, Source: src, Storage: r.data.dcs[src.DC].Storage,
		Bridge: plan.Bridge.ValueString(), VMIDs: r.data.vms})
	r.data.forgetAll(src.DC)
	if err != nil {
		resp.Diagnostics.AddError("Drill failed", err.Error())
		if left, lerr := failover.RemoveDrill(context.WithoutCancel(ctx), c, id); lerr != nil || len(left) > 0 {
			// Something may be left: keep a record (tainted) so destroy or the next apply
			// removes the copy by the drill's tag.
			resp.Diagnostics.Append(partialState(ctx, req.Plan.Raw, &resp.State, map[string]string{"id": id, "datacenter": src.DC})...)
		}
		return
	}
	plan.ID = types.StringValue(id)
	plan.Datacenter = types.StringValue(src.DC)
	plan.RestoredFrom = types.StringValue(src.Backup.VolID)
	plan.BackupTime = types.StringValue(src.Backup.CTime.UTC().Format(time.RFC3339))
	plan.Booted = types.BoolValue(res.Booted)
	plan.VMIDUsed = types.Int64Value(int64(res.VMID))
	plan.FinishedAt = types.StringValue(res.FinishedAt.Format(time.RFC3339))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Read keeps the record: a drill is an event, what it found does not change afterwards.
func (r *drillResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state drillModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update changes only timeouts; everything else replaces the drill.
func (r *drillResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan drillModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete removes whatever carries the drill's tag (a copy an interrupted run left); nothing else.
func (r *drillResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state drillModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.ID.ValueString() == "" {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, state.Timeouts.Delete, defaultVMTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	dcs := r.data.dcs.Names()
	if dc := state.Datacenter.ValueString(); dc != "" {
		dcs = []string{dc}
	}
	resp.Diagnostics.Append(removeDrill(ctx, r.data, state.ID.ValueString(), dcs)...)
}

func removeDrill(ctx context.Context, d *providerData, id string, dcs []string) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, dc := range dcs {
		c, err := d.client(dc)
		if err == nil {
			_, err = failover.RemoveDrill(ctx, c, id)
			d.forgetAll(dc)
		}
		if err != nil {
			diags.AddError("Removing the drill's copy failed", fmt.Sprintf("%s: %s", dc, err))
		}
	}
	return diags
}
