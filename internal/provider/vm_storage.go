package provider

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
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

	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

type diskModel struct {
	Slot     types.String `tfsdk:"slot"`
	SizeGB   types.Int64  `tfsdk:"size_gb"`
	Storage  types.String `tfsdk:"storage"`
	Discard  types.Bool   `tfsdk:"discard"`
	SSD      types.Bool   `tfsdk:"ssd"`
	IOThread types.Bool   `tfsdk:"iothread"`
	Volume   types.String `tfsdk:"volume"`
}

type cloneModel struct {
	Template types.String `tfsdk:"template"`
	Full     types.Bool   `tfsdk:"full"`
}

type cloudInitModel struct {
	User         types.String `tfsdk:"user"`
	SSHKeys      types.List   `tfsdk:"ssh_keys"`
	DNSServers   types.List   `tfsdk:"dns_servers"`
	SearchDomain types.String `tfsdk:"search_domain"`
	// PasswordWO is write-only: set in configuration only, null in plan and state.
	PasswordWO        types.String `tfsdk:"password_wo"`
	PasswordWOVersion types.Int64  `tfsdk:"password_wo_version"`
}

func diskObjectType() types.ObjectType {
	return types.ObjectType{AttrTypes: map[string]attr.Type{
		// size_gb has the schema's type, so lists built here compare equal to planned ones.
		"slot": types.StringType, "size_gb": wholeNumberFrom(1, math.MaxInt64), "storage": types.StringType,
		"discard": types.BoolType, "ssd": types.BoolType, "iothread": types.BoolType, "volume": types.StringType,
	}}
}

func cloudInitObjectType() types.ObjectType {
	return types.ObjectType{AttrTypes: map[string]attr.Type{
		"user": types.StringType, "ssh_keys": types.ListType{ElemType: types.StringType},
		"dns_servers": types.ListType{ElemType: types.StringType}, "search_domain": types.StringType,
		"password_wo": types.StringType, "password_wo_version": types.Int64Type,
	}}
}

func storageSchemas() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"disk": schema.ListNestedAttribute{
			MarkdownDescription: "Disks. The first is the boot disk. Disks grow in place (PVE cannot shrink them, so a smaller " +
				"`size_gb` is a plan-time error); other disks can be added and removed in place. Left out on a clone, the " +
				"template's disks are kept as they are.",
			Optional:      true,
			Computed:      true,
			PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"slot": schema.StringAttribute{
					MarkdownDescription: "Bus and index, e.g. `scsi0`, `virtio1`, `sata0`.",
					Required:            true,
				},
				"size_gb": schema.Int64Attribute{MarkdownDescription: "Size in GiB.", Required: true, CustomType: wholeNumberFrom(1, math.MaxInt64), Validators: []validator.Int64{int64validator.AtLeast(1)}},
				"storage": schema.StringAttribute{
					MarkdownDescription: "Storage; defaults to the datacenter's `storage`.",
					Optional:            true,
					Computed:            true,
				},
				"discard":  schema.BoolAttribute{MarkdownDescription: "Pass discard/TRIM to the storage.", Optional: true},
				"ssd":      schema.BoolAttribute{MarkdownDescription: "Present the disk as an SSD (not on virtio).", Optional: true},
				"iothread": schema.BoolAttribute{MarkdownDescription: "Give the disk its own I/O thread.", Optional: true},
				"volume":   schema.StringAttribute{MarkdownDescription: "PVE volume id, e.g. `local-lvm:vm-105-disk-0`.", Computed: true},
			}},
		},
		"clone": schema.SingleNestedAttribute{
			MarkdownDescription: "Create the VM from a template. The template is found by name in the VM's own datacenter, " +
				"so the same configuration works in every datacenter that has a template of that name.",
			Optional:      true,
			PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplaceIf(cloneChanged, "A VM is cloned once; another template means a new VM.", "A VM is cloned once; another template means a new VM.")},
			Attributes: map[string]schema.Attribute{
				"template": schema.StringAttribute{MarkdownDescription: "Template name.", Required: true, Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
				"full":     schema.BoolAttribute{MarkdownDescription: "Full clone (default) or linked clone (`false`, same node and storage as the template).", Optional: true},
			},
		},
		"cloud_init": schema.SingleNestedAttribute{
			MarkdownDescription: "Guest configuration through a cloud-init drive on the first disk's storage. Addresses come from `network_interface`.",
			Optional:            true,
			Attributes: map[string]schema.Attribute{
				"user":          schema.StringAttribute{MarkdownDescription: "Default user.", Optional: true},
				"ssh_keys":      schema.ListAttribute{MarkdownDescription: "Public SSH keys for the user.", ElementType: types.StringType, Optional: true},
				"dns_servers":   schema.ListAttribute{MarkdownDescription: "DNS servers.", ElementType: types.StringType, Optional: true},
				"search_domain": schema.StringAttribute{MarkdownDescription: "DNS search domain.", Optional: true},
				"password_wo": schema.StringAttribute{
					MarkdownDescription: "Password for `user` (PVE's `cipassword`, which PVE stores hashed). Write-only: it never " +
						"reaches plan or state (Terraform 1.11 or later). moxxie sends it on create and whenever " +
						"`password_wo_version` changes; SSH keys are the better choice where the guest allows them.",
					Optional:  true,
					Sensitive: true,
					WriteOnly: true,
				},
				"password_wo_version": schema.Int64Attribute{
					MarkdownDescription: "Change it (e.g. increase it) to send `password_wo` again: Terraform keeps no copy of a " +
						"write-only value, so it cannot see the password change by itself.",
					Optional: true,
				},
			},
		},
		"reboot_on_pending": schema.BoolAttribute{
			MarkdownDescription: "Reboot a running VM when PVE can apply a change (e.g. `cores` without CPU hotplug) only at the " +
				"next boot. Without it the change stays pending: the plan keeps showing it, with a warning.",
			Optional: true,
		},
	}
}

// cloneChanged replaces a VM only when an existing clone setting changes, not when a clone block
// is written for an imported VM.
func cloneChanged(_ context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace = !req.StateValue.IsNull() && !req.PlanValue.Equal(req.StateValue)
}

func (m vmModel) disks(ctx context.Context, defaultStorage string) ([]vm.Disk, diag.Diagnostics) {
	if m.Disks.IsNull() || m.Disks.IsUnknown() {
		return nil, nil
	}
	var dm []diskModel
	diags := m.Disks.ElementsAs(ctx, &dm, false)
	out := make([]vm.Disk, 0, len(dm))
	for _, d := range dm {
		storage := d.Storage.ValueString()
		if storage == "" {
			storage = defaultStorage
		}
		out = append(out, vm.Disk{Slot: d.Slot.ValueString(), SizeGB: d.SizeGB.ValueInt64(), Storage: storage,
			Discard: d.Discard.ValueBool(), SSD: d.SSD.ValueBool(), IOThread: d.IOThread.ValueBool()})
	}
	return out, diags
}

func (m vmModel) cloudInit(ctx context.Context) (*vm.CloudInit, diag.Diagnostics) {
	if m.CloudInit.IsNull() || m.CloudInit.IsUnknown() {
		return nil, nil
	}
	var cm cloudInitModel
	diags := m.CloudInit.As(ctx, &cm, basetypes.ObjectAsOptions{})
	ci := &vm.CloudInit{User: cm.User.ValueString(), SearchDomain: cm.SearchDomain.ValueString()}
	if !cm.SSHKeys.IsNull() {
		diags.Append(cm.SSHKeys.ElementsAs(ctx, &ci.SSHKeys, false)...)
	}
	if !cm.DNSServers.IsNull() {
		diags.Append(cm.DNSServers.ElementsAs(ctx, &ci.DNSServers, false)...)
	}
	return ci, diags
}

func (m vmModel) cloneSpec(ctx context.Context) (*cloneModel, diag.Diagnostics) {
	if m.Clone.IsNull() || m.Clone.IsUnknown() {
		return nil, nil
	}
	var cm cloneModel
	diags := m.Clone.As(ctx, &cm, basetypes.ObjectAsOptions{})
	return &cm, diags
}

// findTemplate resolves a template name in one datacenter's snapshot.
func findTemplate(snap inventory.Snapshot, name string) (inventory.VM, error) {
	var names []string
	for _, v := range snap.VMs {
		if !v.Template {
			continue
		}
		if v.Name == name {
			return v, nil
		}
		names = append(names, v.Name)
	}
	have := "it has no templates"
	if len(names) > 0 {
		have = "its templates are: " + strings.Join(names, ", ")
	}
	return inventory.VM{}, fmt.Errorf("datacenter %s has no template named %q (%s); each datacenter needs its own copy of the template", snap.DC, name, have)
}

// planDisks refuses what PVE cannot do in place: shrinking a disk, moving it to another storage,
// removing the boot disk.
func planDisks(ctx context.Context, plan, prior *vmModel, diags *diag.Diagnostics) {
	if prior == nil || plan.Disks.IsUnknown() || plan.Disks.IsNull() || prior.Disks.IsNull() {
		return
	}
	var want, have []diskModel
	diags.Append(plan.Disks.ElementsAs(ctx, &want, false)...)
	diags.Append(prior.Disks.ElementsAs(ctx, &have, false)...)
	bySlot := map[string]diskModel{}
	for _, d := range have {
		bySlot[d.Slot.ValueString()] = d
	}
	kept := map[string]bool{}
	for i, d := range want {
		p := path.Root("disk").AtListIndex(i)
		old, ok := bySlot[d.Slot.ValueString()]
		if !ok || d.SizeGB.IsUnknown() {
			continue
		}
		kept[d.Slot.ValueString()] = true
		if d.SizeGB.ValueInt64() < old.SizeGB.ValueInt64() {
			diags.AddAttributeError(p.AtName("size_gb"), "Disks cannot shrink",
				fmt.Sprintf("Disk %s is %d GiB; PVE can only grow disks, so %d GiB is not possible. Keep %d GiB or more.", d.Slot.ValueString(), old.SizeGB.ValueInt64(), d.SizeGB.ValueInt64(), old.SizeGB.ValueInt64()))
		}
		if !d.Storage.IsNull() && !d.Storage.IsUnknown() && d.Storage.ValueString() != old.Storage.ValueString() {
			diags.AddAttributeError(p.AtName("storage"), "Disks do not move between storages",
				fmt.Sprintf("Disk %s is on %s; moxxie does not move disks between storages. Set storage = %q.", d.Slot.ValueString(), old.Storage.ValueString(), old.Storage.ValueString()))
		}
	}
	if len(have) > 0 && !kept[have[0].Slot.ValueString()] {
		diags.AddAttributeError(path.Root("disk"), "The boot disk cannot be removed",
			fmt.Sprintf("Disk %s is the boot disk; removing it would destroy the VM's system. Keep it in the list.", have[0].Slot.ValueString()))
	}
}

// volumesUnknown marks the disks' volumes unknown in a plan that gives the VM a new VMID without
// a change of its configuration (a failover or failback: only the provider block changed, so the
// framework kept every computed value from state): PVE names volumes after the VMID.
func volumesUnknown(ctx context.Context, plan *vmModel, diags *diag.Diagnostics) {
	if plan.Disks.IsNull() || plan.Disks.IsUnknown() {
		return
	}
	var ds []diskModel
	diags.Append(plan.Disks.ElementsAs(ctx, &ds, false)...)
	for i := range ds {
		ds[i].Volume = types.StringUnknown()
	}
	list, d := types.ListValueFrom(ctx, diskObjectType(), ds)
	diags.Append(d...)
	plan.Disks = list
}

// disksObserved renders the VM's disks, keeping flags the configuration left null as null.
func disksObserved(ctx context.Context, observed []vm.Disk, prior types.List) (types.List, diag.Diagnostics) {
	var diags diag.Diagnostics
	var old []diskModel
	if !prior.IsNull() && !prior.IsUnknown() {
		diags.Append(prior.ElementsAs(ctx, &old, false)...)
	}
	bySlot := map[string]diskModel{}
	for _, d := range old {
		bySlot[d.Slot.ValueString()] = d
	}
	flag := func(v bool, was types.Bool) types.Bool {
		if !v && (was.IsNull() || was.IsUnknown()) {
			return types.BoolNull()
		}
		return types.BoolValue(v)
	}
	out := make([]diskModel, len(observed))
	for i, d := range observed {
		was := bySlot[d.Slot]
		out[i] = diskModel{Slot: types.StringValue(d.Slot), SizeGB: types.Int64Value(d.SizeGB), Storage: types.StringValue(d.Storage),
			Discard: flag(d.Discard, was.Discard), SSD: flag(d.SSD, was.SSD), IOThread: flag(d.IOThread, was.IOThread), Volume: types.StringValue(d.Volume)}
	}
	list, d := types.ListValueFrom(ctx, diskObjectType(), out)
	diags.Append(d...)
	return list, diags
}

// cloudInitObserved renders cloud-init when the configuration manages it (or right after an
// import, so the generated configuration carries it).
func cloudInitObserved(ctx context.Context, ci *vm.CloudInit, prior types.Object, importing bool) (types.Object, diag.Diagnostics) {
	if ci == nil || (prior.IsNull() && !importing) {
		return types.ObjectNull(cloudInitObjectType().AttrTypes), nil
	}
	if prior.IsNull() && ci.User == "" && len(ci.SSHKeys) == 0 && len(ci.DNSServers) == 0 && ci.SearchDomain == "" {
		// An imported drive without settings is the one a NIC's address needs, which moxxie
		// keeps without a cloud_init block: the configuration need not mention it.
		return types.ObjectNull(cloudInitObjectType().AttrTypes), nil
	}
	var diags diag.Diagnostics
	var was cloudInitModel
	if !prior.IsNull() && !prior.IsUnknown() {
		diags.Append(prior.As(ctx, &was, basetypes.ObjectAsOptions{})...)
	}
	str := func(v string, w types.String) types.String {
		if v == "" && (w.IsNull() || w.IsUnknown()) {
			return types.StringNull()
		}
		return types.StringValue(v)
	}
	list := func(v []string, w types.List) types.List {
		if len(v) == 0 && (w.IsNull() || w.IsUnknown()) {
			return types.ListNull(types.StringType)
		}
		l, d := types.ListValueFrom(ctx, types.StringType, v)
		diags.Append(d...)
		return l
	}
	m := cloudInitModel{User: str(ci.User, was.User), SSHKeys: list(ci.SSHKeys, was.SSHKeys), DNSServers: list(ci.DNSServers, was.DNSServers), SearchDomain: str(ci.SearchDomain, was.SearchDomain),
		PasswordWO: types.StringNull(), PasswordWOVersion: was.PasswordWOVersion}
	if m.PasswordWOVersion.IsUnknown() {
		m.PasswordWOVersion = types.Int64Null()
	}
	obj, d := types.ObjectValueFrom(ctx, cloudInitObjectType().AttrTypes, m)
	diags.Append(d...)
	return obj, diags
}

// validateDisks checks the disk list in configuration alone: slots PVE knows, each once, and
// none on the slot the cloud-init drive takes.
func validateDisks(ctx context.Context, cfg vmModel, diags *diag.Diagnostics) {
	if cfg.Disks.IsNull() || cfg.Disks.IsUnknown() {
		return
	}
	var disks []diskModel
	diags.Append(cfg.Disks.ElementsAs(ctx, &disks, false)...)
	seen := map[string]int{}
	for i, d := range disks {
		if d.Slot.IsUnknown() {
			continue
		}
		p := path.Root("disk").AtListIndex(i).AtName("slot")
		slot := d.Slot.ValueString()
		switch first, dup := seen[slot]; {
		case !vm.ValidSlot(slot):
			diags.AddAttributeError(p, "Invalid disk slot", fmt.Sprintf("%q is not a disk slot PVE knows: use scsi0-30, virtio0-15, sata0-5 or ide0-3.", slot))
		case dup:
			diags.AddAttributeError(p, "Duplicate disk slot", fmt.Sprintf("Disks %d and %d both use %s; each slot holds one disk.", first, i, slot))
		case slot == "ide2" && !cfg.CloudInit.IsNull():
			diags.AddAttributeError(p, "Slot taken by cloud-init", "ide2 holds the cloud-init drive when cloud_init is set; put this disk on another slot.")
		case slot == "ide2" && hasAllocationNIC(ctx, cfg):
			diags.AddAttributeError(p, "Slot taken by cloud-init", "ide2 holds the cloud-init drive that gives a network_interface on an allocation its address; put this disk on another slot.")
		}
		seen[slot] = i
	}
}

// hasAllocationNIC: such a NIC's address reaches the guest through the cloud-init drive, which
// moxxie adds on ide2 even without a cloud_init block.
func hasAllocationNIC(ctx context.Context, cfg vmModel) bool {
	nics, _ := cfg.nics(ctx)
	for _, n := range nics {
		if !n.AllocationID.IsNull() {
			return true
		}
	}
	return false
}
