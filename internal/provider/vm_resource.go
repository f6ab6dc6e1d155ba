package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
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
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
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
			MarkdownDescription: "Cluster node to run on, checked at plan time (it must exist, be online and take the VM under the datacenter's `placement`). " +
				"Left out, moxxie packs the VMs of a run onto the nodes by best fit, largest first (a clone goes on its template's node); see the placement guide.",
			Optional:      true,
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"cores": schema.Int64Attribute{
			MarkdownDescription: "vCPU cores. Defaults to 1.",
			Optional:            true,
			Computed:            true,
			Default:             int64default.StaticInt64(1),
			CustomType:          wholeNumberFrom(1, 1024),
			Validators:          []validator.Int64{int64validator.Between(1, 1024)},
		},
		"memory_mb": schema.Int64Attribute{
			MarkdownDescription: "Memory in MiB. Defaults to 512.",
			Optional:            true,
			Computed:            true,
			Default:             int64default.StaticInt64(512),
			CustomType:          wholeNumberFrom(16, math.MaxInt64),
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
		"current_network_interfaces": schema.ListNestedAttribute{
			MarkdownDescription: "The VM's network interfaces as PVE has them now, wherever the VM is: after a " +
				"`moxxie_dc_migration` they show the target's bridge or vnet, VLAN, address and MAC, while `network_interface` " +
				"keeps describing the configured (home) networks, which the migration's `network_mapping` replaced.",
			Computed: true,
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"bridge":  schema.StringAttribute{Computed: true, MarkdownDescription: "Bridge or vnet."},
				"vlan_id": schema.Int64Attribute{Computed: true, MarkdownDescription: "VLAN tag on the bridge; null on a vnet or untagged."},
				"ip":      schema.StringAttribute{Computed: true, MarkdownDescription: "Cloud-init address with its prefix length (`172.17.0.2/24`); null without one."},
				"gateway": schema.StringAttribute{Computed: true, MarkdownDescription: "Cloud-init gateway; null without one."},
				"mac":     schema.StringAttribute{Computed: true, MarkdownDescription: "MAC address."},
				"model":   schema.StringAttribute{Computed: true, MarkdownDescription: "NIC model."},
			}},
		},
		"identity_tag": schema.StringAttribute{
			MarkdownDescription: "The PVE tag that carries `id`. An imported VM gets it at the next apply, the only change such a plan shows.",
			Computed:            true,
		},
		"affinity": affinitySchema(),
		"ha_rules": schema.MapAttribute{
			MarkdownDescription: "The PVE HA rules that hold this VM's node rules in its datacenter, as PVE has them: rule id " +
				"(`moxxie-<vmid>-apart`, `moxxie-<vmid>-together`) to its resources (`vm:100,vm:101`). Read at refresh; a rule " +
				"lost or changed outside the VM's applies (deleted by hand, a peer taken out of HA, dropped by a move that failed) " +
				"shows as a change, and the apply writes it again. Empty for a VM without node rules.",
			Computed:    true,
			ElementType: types.StringType,
		},
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
	for k, v := range protectionSchemas() {
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
	planNICs(ctx, &plan, prior, r.onVnet(ctx, plan.Datacenter.ValueString()), &resp.Diagnostics)
	if prior != nil && plan.Datacenter.Equal(prior.Datacenter) && sameNICsButNames(ctx, plan, *prior) {
		// Only an allocation's name changed (e.g. after an import): the NICs stay as they are.
		plan.CurrentNICs = prior.CurrentNICs
	}
	planDisks(ctx, &plan, prior, &resp.Diagnostics)
	plan.IdentityTag = types.StringUnknown()
	if prior != nil && prior.ID.ValueString() != "" {
		plan.IdentityTag = types.StringValue(vm.IdentityTag(prior.ID.ValueString()))
	}
	if prior != nil && !plan.Reboot.ValueBool() {
		raw, _ := req.Private.GetKey(ctx, privatePending)
		if keys := pendingKeys(raw); len(keys) > 0 {
			resp.Diagnostics.AddWarning("Changes wait for a reboot",
				fmt.Sprintf("VM %q runs with settings that PVE applies only at its next reboot (%s), so the plan keeps showing them. Reboot the VM, or set reboot_on_pending = true to let moxxie do it.", plan.Name.ValueString(), strings.Join(keys, ", ")))
		}
	}
	if !plan.Datacenter.IsUnknown() && !resp.Diagnostics.HasError() {
		r.planProtection(ctx, &plan, prior, &resp.Diagnostics)
	}
	if r.data != nil && prior != nil && !plan.Datacenter.IsUnknown() && plan.Datacenter.ValueString() != prior.Datacenter.ValueString() && !resp.Diagnostics.HasError() {
		r.checkMove(ctx, plan, *prior, &resp.Diagnostics)
	}
	if r.data != nil && !plan.Datacenter.IsUnknown() && !resp.Diagnostics.HasError() {
		r.checkTemplate(ctx, plan, prior, &resp.Diagnostics)
		r.checkPlacement(ctx, plan, prior, &resp.Diagnostics)
	}
	keptRules := r.planHARules(ctx, &plan, prior)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	if keptRules && !resp.Plan.Raw.Equal(req.State.Raw) {
		// Something else changes, so the apply writes the rules and may find more peers by then
		// (one created earlier in the same apply): what it records is not known yet.
		plan.HARules = types.MapUnknown(types.StringType)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}
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
	resp.Diagnostics.Append(withPassword(ctx, req.Config, spec.CloudInit)...)
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
	avoid, prefer, err := r.steerNode(ctx, c, plan)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("affinity"), "Cannot place VM", err.Error())
		return
	}
	id := vm.NewID()
	if spec.Node, err = r.chooseNode(ctx, c, plan, id, avoid, prefer); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("node"), "Cannot place VM", err.Error())
		return
	}
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
	// No snaps.Forget here: the plan checks still to run in this walk count the new VM from their
	// ledger, so the listing they share need not be read again after every create. Updates and
	// deletes change what the listing says about a VM the ledger holds as existing: they forget.
	plan.ID = types.StringValue(id)
	plan.PrimaryDC = types.StringValue(dc)
	resp.Diagnostics.Append(plan.setObserved(ctx, v, false)...)
	r.syncNodeRules(ctx, c, plan, false, v.VMID, &resp.Diagnostics)
	r.recordHARules(ctx, c, &plan, v.VMID, &resp.Diagnostics)
	if !plan.Protection.IsNull() {
		r.syncJob(ctx, plan, "", dc, v.VMID, &resp.Diagnostics)
	}
	r.finishProtection(ctx, &plan, &resp.Diagnostics)
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
		unreachableHint(ctx, state, r.data.failed, &resp.Diagnostics)
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
	if v.Lock == "migrate" || v.Move != "" {
		// Half-way through a cross-datacenter move (its task runs, or an interrupted move waits
		// for the next apply): the VM is neither here nor there yet, so keep what state knows
		// rather than plan changes against a VM that the move is about to change.
		resp.Diagnostics.AddWarning("VM is being moved",
			fmt.Sprintf("VM %q (%s, VMID %d) is in the middle of a move between datacenters; its state is kept as it was until the move is finished (by its running task, or by the next apply of the migration or datacenter change).", state.Name.ValueString(), v.DC, v.VMID))
		return
	}
	r.readProtection(ctx, &state, v, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if id := state.ID.ValueString(); id != "" {
		if _, split := r.data.copies(ctx, id); split != nil {
			splitDiags(&resp.Diagnostics, split)
			if resp.Diagnostics.HasError() {
				return
			}
		}
	}
	importing := state.ID.ValueString() == ""
	if !importing && v.ID == "" && !state.IdentityTag.IsNull() {
		resp.Diagnostics.AddWarning("Identity tag missing",
			fmt.Sprintf("VM %q (VMID %d in datacenter %s) no longer carries its tag %s; moxxie found it by its VMID and name and tags it again at the next apply. Leave moxxie-* tags to moxxie: they are how it finds a VM wherever it runs.",
				state.Name.ValueString(), v.VMID, v.DC, vm.IdentityTag(state.ID.ValueString())))
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privatePending, pendingValue(v.Pending))...)
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
	c, err := r.data.client(v.DC)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read VM", err.Error())
		return
	}
	if importing {
		var d diag.Diagnostics
		state.NICs, d = r.importedAllocations(ctx, c, v.DC, state.NICs)
		resp.Diagnostics.Append(d...)
	}
	r.recordHARules(ctx, c, &state, v.VMID, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
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
	byVMID := false
	if err == nil && !found && state.VMID.ValueInt64() > 0 {
		// PVE shows a VM's tags only once its create task ends: a create cut short by a timeout
		// or a lost answer leaves a VM still being made, known only by its VMID. Wait for the
		// create to end, then judge the VM by what it carries: the VMID may also be another
		// writer's, whose create took it while ours never reached PVE. A VM whose identity tag
		// someone removed by hand is known by its VMID too; it is ours if it still has our name
		// and no other identity (checked once it is read), and the next apply tags it again.
		vmid := int(state.VMID.ValueInt64())
		loc, found, err = vm.LocateVMID(ctx, c, vmid)
		if err == nil && found && (loc.Lock == "create" || loc.Lock == "clone") {
			// Bounded like a create: a create task that died leaves its lock for good.
			wctx, cancel := context.WithTimeout(ctx, defaultVMTimeout)
			err = vm.WaitCreated(wctx, c, loc)
			cancel()
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("VM %d on node %s of datacenter %s, which a failed create of this resource may have made, is still locked by its %s after %s; "+
					"if no %s task runs for it any more, release the lock on that node with `qm unlock %d` and apply again: %w",
					vmid, loc.Node, c.DC(), loc.Lock, defaultVMTimeout, loc.Lock, vmid, err)
			}
			if err == nil {
				c.ForgetResources()
				loc, found, err = vm.LocateVMID(ctx, c, vmid)
			}
		}
		byVMID = found
	}
	if err != nil || !found {
		return cur, eff, false, err
	}
	cur, eff, err = vm.Observe(ctx, c, loc.Node, loc.VMID, loc.Status)
	if dcrouter.IsNotFound(err) {
		return cur, eff, false, nil
	}
	if err == nil && byVMID && cur.ID != state.ID.ValueString() && (cur.ID != "" || cur.Name != state.Name.ValueString()) {
		return cur, eff, false, nil // the VMID now holds another VM
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
	fromDC := state.CurrentDC.ValueString()
	if !r.failoverStep(ctx, plan, &state, &resp.Diagnostics) {
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	if to := plan.Datacenter.ValueString(); to != state.Datacenter.ValueString() {
		res, err := r.moveTo(ctx, state.ID.ValueString(), plan.Name.ValueString(), to, plan)
		for _, w := range res.Warnings {
			resp.Diagnostics.AddWarning("Migration target not verified", w)
		}
		if err != nil {
			if !splitDiags(&resp.Diagnostics, err) || !resp.Diagnostics.HasError() {
				preflightDiags(&resp.Diagnostics, "Cannot move VM", err, vmMoveFields)
			}
			// Keep the prior state: datacenter still names where the move began, so the next plan
			// shows the change again and its apply finishes the move from where the VM is now.
			if res.TargetVMID > 0 && res.CompletedAt.IsZero() {
				state.CurrentDC = types.StringValue(to)
			}
			r.restoreNodeRules(ctx, &state, fromDC, &resp.Diagnostics)
			resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
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
	if !passwordVersion(ctx, plan).Equal(passwordVersion(ctx, state)) || state.CloudInit.IsNull() {
		resp.Diagnostics.Append(withPassword(ctx, req.Config, spec.CloudInit)...)
	}
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
	r.syncNodeRules(ctx, c, plan, state.hasNodeRules(ctx) || fromDC != cur.DC, v.VMID, &resp.Diagnostics)
	r.recordHARules(ctx, c, &plan, v.VMID, &resp.Diagnostics)
	if !plan.Protection.IsNull() || !state.Protection.IsNull() {
		r.syncJob(ctx, plan, fromDC, v.DC, v.VMID, &resp.Diagnostics)
	}
	if partlyUnknown(plan.FailoverState) {
		plan.FailoverState = state.FailoverState
	}
	r.finishProtection(ctx, &plan, &resp.Diagnostics)
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
	targets := []vm.Location{{Node: cur.Node, VMID: cur.VMID}}
	dcs := []string{cur.DC}
	if id := state.ID.ValueString(); id != "" {
		if f, split := r.data.copies(ctx, id); split != nil {
			if split.BothRun() {
				resp.Diagnostics.AddError("Cannot delete VM", split.Error()+". More than one of them runs, so moxxie cannot tell which is the VM to destroy; delete the copies you do not want in PVE (or remove their identity tag), then destroy again.")
				return
			}
			// One identity, several copies (a restored copy, a source whose delete failed):
			// destroying the VM removes every one, so no copy is left behind unmanaged.
			targets, dcs = nil, nil
			for _, c := range f.Copies {
				targets, dcs = append(targets, vm.Location{Node: c.Node, VMID: c.VMID}), append(dcs, c.DC)
			}
		}
	}
	for i, loc := range targets {
		c, err := r.data.client(dcs[i])
		if err == nil {
			err = r.data.vms.DropNodeRules(ctx, c, loc.VMID)
		}
		if err == nil {
			err = vm.Delete(ctx, c, loc.Node, loc.VMID)
			r.data.snaps.Forget(dcs[i])
		}
		if err != nil {
			resp.Diagnostics.AddError("Cannot delete VM", fmt.Sprintf("Deleting VM %d in datacenter %s: %s", loc.VMID, dcs[i], err))
		}
	}
	r.deleteProtection(ctx, state, cur.DC, &resp.Diagnostics)
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

// pendingValue is what refresh stores under privatePending: nil (the key removed) when nothing is
// pending, so a plan never reads an empty list, or JSON null, as something pending.
func pendingValue(keys []string) []byte {
	if len(keys) == 0 {
		return nil
	}
	b, _ := json.Marshal(keys)
	return b
}

// pendingKeys reads privatePending back; anything unreadable counts as nothing pending, since the
// warning is only a hint and the next refresh rewrites the value.
func pendingKeys(raw []byte) []string {
	var keys []string
	if len(raw) == 0 || json.Unmarshal(raw, &keys) != nil {
		return nil
	}
	out := keys[:0]
	for _, k := range keys {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}

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
	snap, err := inventory.TakeResources(ctx, c)
	if err != nil {
		return nil, err
	}
	t, err := findTemplate(snap, cm.Template.ValueString())
	if err != nil {
		return nil, err
	}
	return &vm.Clone{TemplateVMID: t.VMID, TemplateNode: t.Node, Full: cm.Full.IsNull() || cm.Full.ValueBool()}, nil
}

// vmMoveFields puts a datacenter change's refusals on the VM's attributes.
var vmMoveFields = map[migration.Field]path.Path{
	migration.FieldVM:      path.Root("datacenter"),
	migration.FieldTarget:  path.Root("datacenter"),
	migration.FieldStorage: path.Root("datacenter"),
	migration.FieldNetwork: path.Root("network_interface"),
}

// moveTo is a change of datacenter: an offline move by the move engine whose NICs go where the
// new configuration puts them, never a destroy and re-create. An interrupted move is finished by
// the next call, from wherever the VM is.
func (r *vmResource) moveTo(ctx context.Context, id, name, target string, plan vmModel) (migration.Result, error) {
	cfg, known := configNICs(ctx, plan)
	if !known {
		return migration.Result{}, fmt.Errorf("network_interface is not known")
	}
	eng, err := r.data.engine(nil)
	if err != nil {
		return migration.Result{}, err
	}
	res, err := eng.Move(ctx, migration.Request{ID: id, Name: name, Target: target, NICs: migration.Configured{Nets: r.data.nets(), NICs: cfg}})
	r.data.forgetAll(r.data.dcs.Names()...)
	return res, err
}

// configNICs is network_interface as the move engine takes it; known is false while an
// allocation id is still unknown (created in the same run).
func configNICs(ctx context.Context, plan vmModel) ([]migration.ConfigNIC, bool) {
	if plan.NICs.IsUnknown() {
		return nil, false
	}
	nics, diags := plan.nics(ctx)
	if diags.HasError() {
		return nil, false
	}
	cfg := make([]migration.ConfigNIC, len(nics))
	for i, n := range nics {
		if n.AllocationID.IsUnknown() || n.AllocationID.IsNull() && n.Bridge.IsUnknown() {
			return nil, false
		}
		if !n.AllocationID.IsNull() {
			cfg[i].AllocationID = n.AllocationID.ValueString()
		} else {
			cfg[i].Bridge, cfg[i].VLAN = n.Bridge.ValueString(), int(n.VLANID.ValueInt64())
		}
		if s := n.IP.ValueString(); !n.IP.IsUnknown() && s != "" {
			cfg[i].IP, _ = netip.ParseAddr(s)
		}
	}
	return cfg, true
}

// checkMove runs the move's preflight for a datacenter change at plan time, so what PVE would
// refuse is an error on the attribute before anything is touched.
func (r *vmResource) checkMove(ctx context.Context, plan, prior vmModel, diags *diag.Diagnostics) {
	cfg, known := configNICs(ctx, plan)
	if !known || prior.ID.ValueString() == "" {
		return
	}
	eng, err := r.data.engine(nil)
	if err != nil {
		return
	}
	_, err = eng.Check(ctx, migration.Request{ID: prior.ID.ValueString(), Name: plan.Name.ValueString(), Target: plan.Datacenter.ValueString(),
		NICs: migration.Configured{Nets: r.data.nets(), NICs: cfg}})
	switch {
	case err == nil:
	case migration.IsPreflight(err):
		preflightDiags(diags, "VM cannot be moved", err, vmMoveFields)
	case splitDiags(diags, err):
	default:
		diags.AddWarning("Move not checked", err.Error())
	}
}

// withPassword adds the write-only cloud-init password, which only the configuration holds (plan
// and state carry null), to ci.
func withPassword(ctx context.Context, cfg tfsdk.Config, ci *vm.CloudInit) diag.Diagnostics {
	if ci == nil {
		return nil
	}
	var pw types.String
	diags := cfg.GetAttribute(ctx, path.Root("cloud_init").AtName("password_wo"), &pw)
	ci.Password = pw.ValueString()
	return diags
}

// passwordVersion is cloud_init.password_wo_version, or null, of a plan or state.
func passwordVersion(ctx context.Context, m vmModel) types.Int64 {
	if m.CloudInit.IsNull() || m.CloudInit.IsUnknown() {
		return types.Int64Null()
	}
	var cm cloudInitModel
	if m.CloudInit.As(ctx, &cm, basetypes.ObjectAsOptions{}).HasError() {
		return types.Int64Null()
	}
	return cm.PasswordWOVersion
}

// onVnet answers planNICs' question with one read of the datacenter's SDN per question; nil when
// the datacenter has no network pools (or the provider is not configured yet).
func (r *vmResource) onVnet(ctx context.Context, dc string) func(allocationID, vnet string) bool {
	if r.data == nil {
		return nil
	}
	netw, err := r.data.networkOf(dc)
	if err != nil {
		return nil
	}
	return func(allocationID, vnet string) bool {
		ref, err := network.ParseID(allocationID)
		if err != nil || ref.DC != dc {
			return false
		}
		if ref.Vnet != "" {
			return ref.Vnet == vnet
		}
		c, err := r.data.client(dc)
		if err != nil {
			return false
		}
		a, found, err := network.Get(ctx, c, netw, ref)
		return err == nil && found && a.Vnet == vnet
	}
}
