package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

var (
	_ resource.ResourceWithConfigure      = (*vmResource)(nil)
	_ resource.ResourceWithImportState    = (*vmResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*vmResource)(nil)
	_ resource.ResourceWithValidateConfig = (*vmResource)(nil)
)

// PVE's dns-name format, which the VM name must follow.
var dnsName = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$`)

// PVE's tag characters (pve-tag-list), lower-case as PVE stores them.
var pveTag = regexp.MustCompile(`^[a-z0-9_+.-]+$`)

type vmResource struct {
	data *providerData
}

func newVMResource() resource.Resource { return &vmResource{} }

func (r *vmResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vm"
}

func (r *vmResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := vmAttributes()
	attrs["timeouts"] = timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true})
	resp.Schema = schema.Schema{
		Attributes: attrs,
		MarkdownDescription: "A QEMU virtual machine in one of the provider's datacenters. Its identity is stored in " +
			"Proxmox as a tag, so moxxie finds the VM wherever it runs.",
	}
}

func vmAttributes() map[string]schema.Attribute {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			MarkdownDescription: "moxxie's identity of the VM, stable across migrations (also a PVE tag `moxxie-<id>`).",
			Computed:            true,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"name": schema.StringAttribute{
			MarkdownDescription: "VM name (a DNS name, as PVE requires).",
			Required:            true,
			Validators:          []validator.String{stringvalidator.RegexMatches(dnsName, "must be a DNS name (letters, digits, '-' and '.')")},
		},
		"datacenter": schema.StringAttribute{
			MarkdownDescription: "The datacenter (a key of the provider's `datacenters`) the VM lives in. Changing it moves the VM there in place (an offline `remote_migrate`); it is never destroyed and re-created.",
			Required:            true,
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"node": schema.StringAttribute{
			MarkdownDescription: "Cluster node to run on. Defaults to the online node with the most free memory.",
			Optional:            true,
			Computed:            true,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"cores": schema.Int64Attribute{
			MarkdownDescription: "vCPU cores. Defaults to 1.",
			Optional:            true,
			Computed:            true,
			Default:             int64default.StaticInt64(1),
			Validators:          []validator.Int64{int64validator.Between(1, 1024)},
		},
		"memory_mb": schema.Int64Attribute{
			MarkdownDescription: "Memory in MiB. Defaults to 512.",
			Optional:            true,
			Computed:            true,
			Default:             int64default.StaticInt64(512),
			Validators:          []validator.Int64{int64validator.AtLeast(16)},
		},
		"started": schema.BoolAttribute{
			MarkdownDescription: "Whether the VM runs. Defaults to `true`.",
			Optional:            true,
			Computed:            true,
			Default:             booldefault.StaticBool(true),
		},
		"tags": schema.SetAttribute{
			MarkdownDescription: "PVE tags (lower-case letters, digits, `_+.-`). moxxie adds its identity tag on its own.",
			ElementType:         types.StringType,
			Optional:            true,
			Computed:            true,
			Default:             setdefault.StaticValue(types.SetValueMust(types.StringType, nil)),
			Validators: []validator.Set{setvalidator.ValueStringsAre(
				stringvalidator.RegexMatches(pveTag, "must hold only lower-case letters, digits and _+.-"),
				notMatching(regexp.MustCompile(`^moxxie-[0-9a-f]{16}$`), "is the form of moxxie's own identity tag, which moxxie sets itself"),
			)},
		},
		"description": schema.StringAttribute{
			MarkdownDescription: "Free text shown in the VM's summary in PVE.",
			Optional:            true,
			Computed:            true,
			Default:             stringdefault.StaticString(""),
			Validators:          []validator.String{stringvalidator.LengthAtMost(8192)},
		},
		"vmid": schema.Int64Attribute{
			MarkdownDescription: "The VM's id in its current datacenter.",
			Computed:            true,
			PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
		},
		"status": schema.StringAttribute{
			MarkdownDescription: "Power state as PVE reports it: `running` or `stopped`.",
			Computed:            true,
		},
		"primary_dc": schema.StringAttribute{
			MarkdownDescription: "The datacenter the VM was created in.",
			Computed:            true,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"network_interface": nicSchema(),
		"identity_tag": schema.StringAttribute{
			MarkdownDescription: "The PVE tag that carries `id`. An imported VM gets it at the next apply, the only change such a plan shows.",
			Computed:            true,
		},
		"affinity": affinitySchema(),
		"failover_datacenter": schema.StringAttribute{
			MarkdownDescription: "Another configured datacenter the VM may be moved to by a failover. moxxie does not move it by itself; refresh looks for the VM there right after its current and primary datacenters.",
			Optional:            true,
		},
		"current_dc": schema.StringAttribute{
			MarkdownDescription: "The datacenter the VM runs in now.",
			Computed:            true,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
	}
	for k, v := range storageSchemas() {
		attrs[k] = v
	}
	return attrs
}

func (r *vmResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *vmResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg vmModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateNICs(ctx, cfg, resp)
	validateDisks(ctx, cfg, &resp.Diagnostics)
}

func (r *vmResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan vmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.data != nil && !plan.Datacenter.IsUnknown() {
		if _, ok := r.data.dcs[plan.Datacenter.ValueString()]; !ok {
			resp.Diagnostics.AddAttributeError(path.Root("datacenter"), "Unknown datacenter", unknownDCError(plan.Datacenter.ValueString(), r.data.dcs.Names()).Error())
			return
		}
	}
	// The power state after apply follows from started, so the plan can say it.
	switch {
	case plan.Started.IsUnknown():
		plan.Status = types.StringUnknown()
	case plan.Started.ValueBool():
		plan.Status = types.StringValue("running")
	default:
		plan.Status = types.StringValue("stopped")
	}
	var prior *vmModel
	if !req.State.Raw.IsNull() {
		var state vmModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		prior = &state
		if !plan.Datacenter.IsUnknown() && plan.Datacenter.ValueString() != state.Datacenter.ValueString() {
			// A move, in place: the VM keeps its identity and disks.
			plan.CurrentDC = plan.Datacenter
			plan.PrimaryDC = plan.Datacenter
			plan.VMID = types.Int64Unknown()
			if plan.Node.Equal(state.Node) {
				plan.Node = types.StringUnknown()
			}
		}
		if !plan.Node.IsUnknown() && !plan.Node.IsNull() && plan.Node.ValueString() != state.Node.ValueString() && plan.Datacenter.Equal(state.Datacenter) {
			resp.Diagnostics.AddAttributeError(path.Root("node"), "Moving a VM between nodes is not supported",
				fmt.Sprintf("The VM runs on node %q. moxxie does not migrate VMs between nodes of a cluster; set node = %q or leave node out.", state.Node.ValueString(), state.Node.ValueString()))
		}
	}
	planNICs(ctx, &plan, prior, &resp.Diagnostics)
	planDisks(ctx, &plan, prior, &resp.Diagnostics)
	plan.IdentityTag = types.StringUnknown()
	if prior != nil && prior.ID.ValueString() != "" {
		plan.IdentityTag = types.StringValue(vm.IdentityTag(prior.ID.ValueString()))
	}
	if prior != nil && !plan.Reboot.ValueBool() {
		if keys, _ := req.Private.GetKey(ctx, privatePending); len(keys) > 0 && string(keys) != "[]" {
			resp.Diagnostics.AddWarning("Changes wait for a reboot",
				fmt.Sprintf("VM %q runs with settings that PVE applies only at its next reboot (%s), so the plan keeps showing them. Reboot the VM, or set reboot_on_pending = true to let moxxie do it.", plan.Name.ValueString(), string(keys)))
		}
	}
	if r.data != nil && !plan.Datacenter.IsUnknown() && !resp.Diagnostics.HasError() {
		r.checkTemplate(ctx, plan, prior, &resp.Diagnostics)
		r.checkPlacement(ctx, plan, prior, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *vmResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan vmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, plan.Timeouts.Create, defaultVMTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	dc := plan.Datacenter.ValueString()
	c, err := r.data.client(dc)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("datacenter"), "Unknown datacenter", err.Error())
		return
	}
	spec, diags := plan.spec(ctx, r.data.dcs[dc].Storage)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if spec.Clone, err = r.resolveClone(ctx, plan, c); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("clone").AtName("template"), "Template not found", err.Error())
		return
	}
	nics, diags := plan.nics(ctx)
	resp.Diagnostics.Append(diags...)
	if spec.NICs, err = r.nicSpecs(ctx, c, dc, nics, nil); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("network_interface"), "Cannot attach network", err.Error())
		return
	}
	id := vm.NewID()
	v, err := r.data.vms.Create(ctx, c, id, spec)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create VM", fmt.Sprintf("Creating VM %q in datacenter %s: %s", spec.Name, dc, err))
		// The VM may exist by now (the create went through, a later step failed). Record it by
		// identity so Terraform keeps it as tainted and replaces it: nothing is left behind
		// outside Terraform, and nothing is made twice.
		resp.Diagnostics.Append(partialState(ctx, req.Plan.Raw, &resp.State, map[string]string{
			"id": id, "identity_tag": vm.IdentityTag(id), "current_dc": dc, "primary_dc": dc,
		})...)
		if v.VMID > 0 {
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("vmid"), int64(v.VMID))...)
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("node"), v.Node)...)
		}
		return
	}
	r.data.snaps.Forget(dc)
	plan.ID = types.StringValue(id)
	plan.PrimaryDC = types.StringValue(dc)
	resp.Diagnostics.Append(plan.setObserved(ctx, v, false)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *vmResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state vmModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	v, _, found, err := r.locate(ctx, state)
	var down *unreachableError
	if errors.As(err, &down) {
		resp.Diagnostics.AddWarning("Datacenter unreachable",
			fmt.Sprintf("VM %q keeps its last known state: %s. Plans for other datacenters go on; an apply that must change this VM fails until the datacenter is back.", state.Name.ValueString(), err))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read VM", err.Error())
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	importing := state.ID.ValueString() == ""
	pending, _ := json.Marshal(v.Pending)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privatePending, pending)...)
	if importing {
		// Imported: adopt the identity the VM already carries, else give it one, which the next
		// apply writes as a tag.
		id := v.ID
		if id == "" {
			id = vm.NewID()
		}
		state.ID = types.StringValue(id)
	}
	if state.PrimaryDC.ValueString() == "" {
		state.PrimaryDC = types.StringValue(v.DC)
	}
	if state.Datacenter.ValueString() == "" {
		state.Datacenter = types.StringValue(v.DC)
	}
	resp.Diagnostics.Append(state.setObserved(ctx, v, importing)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// locate finds the VM by identity in its current datacenter, or by VMID right after an import.
// cur holds the running values, eff those with pending changes applied.
func (r *vmResource) locate(ctx context.Context, state vmModel) (cur, eff vm.VM, found bool, err error) {
	dc := state.CurrentDC.ValueString()
	if dc == "" {
		dc = state.Datacenter.ValueString()
	}
	c, err := r.data.client(dc)
	if err != nil {
		return cur, eff, false, err
	}
	var loc vm.Location
	if id := state.ID.ValueString(); id != "" && !state.IdentityTag.IsNull() {
		// Follow the VM wherever a migration or failover took it.
		dc, loc, found, err = r.data.findVM(ctx, id, r.data.searchOrder(dc, state.PrimaryDC.ValueString(), state.FailoverDC.ValueString()))
		if err == nil && found {
			c, err = r.data.client(dc)
		}
	} else {
		// Imported and not tagged yet: the VMID is all there is.
		loc, found, err = vm.LocateVMID(ctx, c, int(state.VMID.ValueInt64()))
	}
	if err == nil && !found && state.VMID.ValueInt64() > 0 {
		// PVE shows a VM's tags only once its create task ends: a create cut short by a timeout
		// leaves a VM still being made, known only by its VMID.
		loc, found, err = vm.LocateVMID(ctx, c, int(state.VMID.ValueInt64()))
		found = found && (loc.Lock == "create" || loc.Lock == "clone")
	}
	if err != nil || !found {
		return cur, eff, false, err
	}
	cur, eff, err = vm.Observe(ctx, c, loc.Node, loc.VMID, loc.Status)
	if dcrouter.IsNotFound(err) {
		return cur, eff, false, nil
	}
	return cur, eff, err == nil, err
}

func (r *vmResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state vmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, plan.Timeouts.Update, defaultVMTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	if to := plan.Datacenter.ValueString(); to != state.Datacenter.ValueString() {
		if err := r.moveTo(ctx, state.ID.ValueString(), to, plan); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("datacenter"), "Cannot move VM", fmt.Sprintf("Moving VM %q to %s: %s", plan.Name.ValueString(), to, err))
			return
		}
		state.CurrentDC = types.StringValue(to)
		state.PrimaryDC = types.StringValue(to)
	}
	_, cur, found, err := r.locate(ctx, state)
	if err != nil {
		resp.Diagnostics.AddError("Cannot update VM", err.Error())
		return
	}
	if !found {
		resp.Diagnostics.AddError("Cannot update VM", fmt.Sprintf("VM %s (%q) no longer exists in datacenter %s; run terraform apply again to re-create it.", state.ID.ValueString(), state.Name.ValueString(), state.CurrentDC.ValueString()))
		return
	}
	spec, diags := plan.spec(ctx, r.data.dcs[cur.DC].Storage)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := r.data.client(cur.DC)
	if err != nil {
		resp.Diagnostics.AddError("Cannot update VM", err.Error())
		return
	}
	nics, diags := plan.nics(ctx)
	resp.Diagnostics.Append(diags...)
	if cur.DC != plan.Datacenter.ValueString() {
		spec.NICs = cur.NICs // moved by a moxxie_dc_migration: its network_mapping owns the NICs
	} else if spec.NICs, err = r.nicSpecs(ctx, c, cur.DC, nics, &cur); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("network_interface"), "Cannot attach network", err.Error())
		return
	}
	if err := vm.Update(ctx, c, state.ID.ValueString(), cur, spec); err != nil {
		resp.Diagnostics.AddError("Cannot update VM", fmt.Sprintf("Updating VM %d in datacenter %s: %s", cur.VMID, cur.DC, err))
		return
	}
	_, v, err := vm.Observe(ctx, c, cur.Node, cur.VMID, "")
	if err != nil {
		resp.Diagnostics.AddError("Cannot read VM after update", err.Error())
		return
	}
	r.data.snaps.Forget(cur.DC)
	plan.ID = state.ID
	plan.PrimaryDC = state.PrimaryDC
	resp.Diagnostics.Append(plan.setObserved(ctx, v, false)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *vmResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state vmModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, state.Timeouts.Delete, defaultVMTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	cur, _, found, err := r.locate(ctx, state)
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete VM", err.Error())
		return
	}
	if !found {
		return
	}
	c, err := r.data.client(cur.DC)
	if err == nil {
		err = vm.Delete(ctx, c, cur.Node, cur.VMID)
		r.data.snaps.Forget(cur.DC)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete VM", fmt.Sprintf("Deleting VM %d in datacenter %s: %s", cur.VMID, cur.DC, err))
	}
}

// ImportState takes "DC/VMID", e.g. "DC1/105".
func (r *vmResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	dc, vmid, err := parseVMImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID", err.Error())
		return
	}
	if r.data != nil {
		if _, ok := r.data.dcs[dc]; !ok {
			resp.Diagnostics.AddError("Invalid import ID", unknownDCError(dc, r.data.dcs.Names()).Error())
			return
		}
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("datacenter"), dc)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("current_dc"), dc)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("vmid"), int64(vmid))...)
}

func parseVMImportID(id string) (string, int, error) {
	dc, num, ok := strings.Cut(id, "/")
	if !ok || dc == "" || num == "" {
		return "", 0, fmt.Errorf("import ID %q must be DATACENTER/VMID, e.g. DC1/105", id)
	}
	vmid, err := strconv.Atoi(num)
	if err != nil || num[0] < '1' || num[0] > '9' || vmid < 100 || vmid > 999999999 {
		return "", 0, fmt.Errorf("import ID %q: VMID %q must be a number from 100 to 999999999", id, num)
	}
	return dc, vmid, nil
}

// privatePending holds, between refresh and plan, the config keys PVE keeps pending until a reboot.
const privatePending = "pending_keys"

// checkTemplate makes a clone's template a plan-time question: each datacenter has its own.
func (r *vmResource) checkTemplate(ctx context.Context, plan vmModel, prior *vmModel, diags *diag.Diagnostics) {
	if prior != nil {
		return // cloned already
	}
	cm, d := plan.cloneSpec(ctx)
	diags.Append(d...)
	if cm == nil || cm.Template.IsUnknown() {
		return
	}
	c, err := r.data.client(plan.Datacenter.ValueString())
	if err != nil {
		return
	}
	snap, err := r.data.snaps.Get(ctx, c)
	if err != nil {
		return // the capacity check warns about an unreachable datacenter
	}
	if _, err := findTemplate(snap, cm.Template.ValueString()); err != nil {
		diags.AddAttributeError(path.Root("clone").AtName("template"), "Template not found", err.Error())
	}
}

// resolveClone finds the template for a create; nil without clone.
func (r *vmResource) resolveClone(ctx context.Context, plan vmModel, c *dcrouter.Client) (*vm.Clone, error) {
	cm, _ := plan.cloneSpec(ctx)
	if cm == nil {
		return nil, nil
	}
	snap, err := inventory.Take(ctx, c)
	if err != nil {
		return nil, err
	}
	t, err := findTemplate(snap, cm.Template.ValueString())
	if err != nil {
		return nil, err
	}
	return &vm.Clone{TemplateVMID: t.VMID, TemplateNode: t.Node, Full: cm.Full.IsNull() || cm.Full.ValueBool()}, nil
}

// moveTo is a change of datacenter: an offline migration whose NICs go where the new
// configuration puts them, never a destroy and re-create.
func (r *vmResource) moveTo(ctx context.Context, id, target string, plan vmModel) error {
	nics, diags := plan.nics(ctx)
	if diags.HasError() {
		return fmt.Errorf("reading network_interface")
	}
	_, _, err := r.data.move(ctx, id, target, moveOptions{nics: func(ctx context.Context, _, dst *dcrouter.Client, _ vm.VM) ([]migration.NICTarget, error) {
		specs, err := r.nicSpecs(ctx, dst, target, nics, nil)
		if err != nil {
			return nil, err
		}
		out := make([]migration.NICTarget, len(specs))
		for i, n := range specs {
			out[i] = migration.NICTarget{Bridge: n.Bridge, VLAN: n.VLAN, IP: n.IP, Gateway: n.Gateway}
		}
		return out, nil
	}})
	return err
}
