package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
)

var (
	_ resource.ResourceWithConfigure   = (*networkAllocationResource)(nil)
	_ resource.ResourceWithImportState = (*networkAllocationResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*networkAllocationResource)(nil)
)

type networkAllocationResource struct {
	data *providerData
}

func newNetworkAllocationResource() resource.Resource { return &networkAllocationResource{} }

type networkAllocationModel struct {
	ID           types.String   `tfsdk:"id"`
	Datacenter   types.String   `tfsdk:"datacenter"`
	ClientID     types.String   `tfsdk:"client_id"`
	Name         types.String   `tfsdk:"name"`
	PrefixLength types.Int64    `tfsdk:"prefix_length"`
	VLANID       types.Int64    `tfsdk:"vlan_id"`
	ServiceVLAN  types.Int64    `tfsdk:"service_vlan"`
	CIDR         types.String   `tfsdk:"cidr"`
	Gateway      types.String   `tfsdk:"gateway"`
	Vnet         types.String   `tfsdk:"vnet"`
	Zone         types.String   `tfsdk:"zone"`
	Timeouts     timeouts.Value `tfsdk:"timeouts"`
}

func (r *networkAllocationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_network_allocation"
}

func (r *networkAllocationResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	computed := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A customer network in one datacenter: a VLAN from the datacenter's `vlan_range` and a subnet " +
			"from its `ip_range`, created as a vnet and subnet in a moxxie-managed Proxmox SDN zone (a `qinq` zone with " +
			"the datacenter's service VLAN where Q-in-Q is enabled). Free VLANs and subnets are computed from the " +
			"cluster's SDN under its lock, so allocations from different Terraform states never collide.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`DATACENTER/CLIENT_ID/NAME`, e.g. `DC1/acme/default`: known at plan time, so a VM's NIC is checked against its datacenter before anything is created.",
				Computed:            true,
				PlanModifiers:       computed,
			},
			"datacenter": schema.StringAttribute{
				MarkdownDescription: "Datacenter whose pools the network comes from; it must declare a `network` block.",
				Required:            true,
				PlanModifiers:       replace,
			},
			"client_id": schema.StringAttribute{
				MarkdownDescription: "Tenant the network belongs to (letters, digits, `_.-`).",
				Required:            true,
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.RegexMatches(network.LabelPattern, "must be 1-64 letters, digits, '_', '.' or '-'")},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the network within the tenant. Defaults to `default`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("default"),
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.RegexMatches(network.LabelPattern, "must be 1-64 letters, digits, '_', '.' or '-'")},
			},
			"prefix_length": schema.Int64Attribute{
				MarkdownDescription: "Subnet size; defaults to the datacenter's `subnet_prefix`.",
				Optional:            true,
				Computed:            true,
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplaceIfConfigured(), int64planmodifier.UseStateForUnknown()},
				CustomType:          wholeNumberFrom(1, 32),
				Validators:          []validator.Int64{int64validator.Between(1, 32)},
			},
			"vlan_id": schema.Int64Attribute{
				MarkdownDescription: "Customer VLAN (C-tag). Leave out for the next free VLAN of the datacenter's `vlan_range`.",
				Optional:            true,
				Computed:            true,
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplaceIfConfigured(), int64planmodifier.UseStateForUnknown()},
				CustomType:          wholeNumberFrom(1, 4094),
				Validators:          []validator.Int64{int64validator.Between(1, 4094)},
			},
			"service_vlan": schema.Int64Attribute{
				MarkdownDescription: "The datacenter's outer S-tag when it uses Q-in-Q, else null.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"cidr":     schema.StringAttribute{MarkdownDescription: "Allocated subnet.", Computed: true, PlanModifiers: computed},
			"gateway":  schema.StringAttribute{MarkdownDescription: "Gateway address: the subnet's first host.", Computed: true, PlanModifiers: computed},
			"vnet":     schema.StringAttribute{MarkdownDescription: "Proxmox SDN vnet VMs attach to.", Computed: true, PlanModifiers: computed},
			"zone":     schema.StringAttribute{MarkdownDescription: "Proxmox SDN zone of the vnet.", Computed: true, PlanModifiers: computed},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Delete: true}),
		},
	}
}

func (r *networkAllocationResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

// networkOf returns the datacenter's network settings, or an error aimed at the user's config.
func (d *providerData) networkOf(dc string) (datacenter.Network, error) {
	s, ok := d.dcs[dc]
	if !ok {
		return datacenter.Network{}, unknownDCError(dc, d.dcs.Names())
	}
	if s.Network == nil {
		return datacenter.Network{}, fmt.Errorf("datacenter %q declares no network block in the provider configuration, so it has no pools to allocate from", dc)
	}
	return *s.Network, nil
}

func (r *networkAllocationResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan networkAllocationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Datacenter.IsUnknown() {
		return
	}
	n, err := r.data.networkOf(plan.Datacenter.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("datacenter"), "Invalid datacenter", err.Error())
		return
	}
	if !plan.VLANID.IsNull() && !plan.VLANID.IsUnknown() && !n.Pool.VLANs.Contains(int(plan.VLANID.ValueInt64())) {
		resp.Diagnostics.AddAttributeError(path.Root("vlan_id"), "VLAN outside the datacenter's pool",
			fmt.Sprintf("VLAN %d is outside vlan_range %s of datacenter %s.", plan.VLANID.ValueInt64(), n.Pool.VLANs, plan.Datacenter.ValueString()))
	}
	if !plan.PrefixLength.IsNull() && !plan.PrefixLength.IsUnknown() && int(plan.PrefixLength.ValueInt64()) < n.Pool.IPRange.Bits() {
		resp.Diagnostics.AddAttributeError(path.Root("prefix_length"), "Subnet larger than the pool",
			fmt.Sprintf("prefix_length %d is shorter than ip_range %s of datacenter %s.", plan.PrefixLength.ValueInt64(), n.Pool.IPRange, plan.Datacenter.ValueString()))
	}
	if req.State.Raw.IsNull() {
		// What a create will say of Q-in-Q is known now.
		plan.ServiceVLAN = serviceVLANValue(n.Pool.ServiceVLAN)
		plan.Zone = types.StringValue(network.Zone)
		if !plan.ClientID.IsUnknown() && !plan.Name.IsUnknown() {
			plan.ID = types.StringValue(network.ID(plan.Datacenter.ValueString(), plan.ClientID.ValueString(), plan.Name.ValueString()))
		}
		if plan.PrefixLength.IsUnknown() {
			plan.PrefixLength = types.Int64Value(int64(n.Pool.SubnetPrefix))
		}
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}
}

func serviceVLANValue(v int) types.Int64 {
	if v == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(v))
}

func (r *networkAllocationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan networkAllocationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, plan.Timeouts.Create, defaultNetworkTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	dc := plan.Datacenter.ValueString()
	n, err := r.data.networkOf(dc)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("datacenter"), "Invalid datacenter", err.Error())
		return
	}
	c, err := r.data.router.Client(dc)
	if err != nil {
		resp.Diagnostics.AddError("Cannot allocate network", err.Error())
		return
	}
	a, err := network.Allocate(ctx, c, n, network.Request{
		ClientID:  plan.ClientID.ValueString(),
		Name:      plan.Name.ValueString(),
		VLAN:      int(plan.VLANID.ValueInt64()),
		PrefixLen: int(plan.PrefixLength.ValueInt64()),
	})
	if err != nil {
		resp.Diagnostics.AddError("Cannot allocate network", err.Error())
		if !network.NothingCreated(err) && !plan.ID.IsUnknown() {
			// The vnet may exist by now (created, then the apply failed). Keep the allocation
			// as tainted: refresh finds it by client and name and the next apply replaces it,
			// instead of refusing a name that only this resource holds.
			resp.Diagnostics.Append(partialState(ctx, req.Plan.Raw, &resp.State, map[string]string{"id": plan.ID.ValueString()})...)
		}
		return
	}
	plan.set(a)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (m *networkAllocationModel) set(a network.Allocation) {
	m.Datacenter = types.StringValue(a.DC)
	if a.ClientID != "" {
		m.ID = types.StringValue(a.ID())
		m.ClientID = types.StringValue(a.ClientID)
		m.Name = types.StringValue(a.Name)
	}
	m.VLANID = types.Int64Value(int64(a.VLAN))
	m.ServiceVLAN = serviceVLANValue(a.ServiceVLAN)
	m.Vnet = types.StringValue(a.Vnet)
	m.Zone = types.StringValue(a.Zone)
	if a.CIDR.IsValid() {
		m.CIDR = types.StringValue(a.CIDR.String())
		m.PrefixLength = types.Int64Value(int64(a.CIDR.Bits()))
		m.Gateway = types.StringValue(a.Gateway.String())
	} else {
		m.CIDR, m.Gateway = types.StringNull(), types.StringNull()
	}
}

func (r *networkAllocationResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state networkAllocationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ref, err := network.ParseID(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Invalid allocation ID", err.Error())
		return
	}
	dc := ref.DC
	n, err := r.data.networkOf(dc)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read network allocation", err.Error())
		return
	}
	c, err := r.data.router.Client(dc)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read network allocation", err.Error())
		return
	}
	a, found, err := network.Get(ctx, c, n, ref)
	if isUnreachable(err) {
		resp.Diagnostics.AddWarning("Datacenter unreachable",
			fmt.Sprintf("Network allocation %s keeps its last known state: datacenter %s could not be reached: %s", state.ID.ValueString(), dc, err))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read network allocation", fmt.Sprintf("Datacenter %s: %s", dc, err))
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	state.set(a)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update only ever sees changes that need no API call: every user-set attribute forces a
// replacement.
func (r *networkAllocationResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan networkAllocationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *networkAllocationResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state networkAllocationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, diags := withTimeout(ctx, state.Timeouts.Delete, defaultNetworkTimeout)
	resp.Diagnostics.Append(diags...)
	defer cancel()
	c, err := r.data.router.Client(state.Datacenter.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot release network", err.Error())
		return
	}
	vnet := state.Vnet.ValueString()
	if vnet == "" {
		// Kept from a create that failed before its vnet was known: find it by client and name.
		ref, err := network.ParseID(state.ID.ValueString())
		if err != nil {
			resp.Diagnostics.AddError("Cannot release network", err.Error())
			return
		}
		n, err := r.data.networkOf(state.Datacenter.ValueString())
		if err != nil {
			resp.Diagnostics.AddError("Cannot release network", err.Error())
			return
		}
		a, found, err := network.Get(ctx, c, n, ref)
		if err != nil {
			resp.Diagnostics.AddError("Cannot release network", err.Error())
			return
		}
		if !found {
			return // nothing was made
		}
		vnet = a.Vnet
	}
	if err := network.Release(ctx, c, vnet, r.data.inUseWait); err != nil {
		var inUse *network.InUseError
		if errors.As(err, &inUse) {
			resp.Diagnostics.AddError("Network still in use", err.Error())
			return
		}
		resp.Diagnostics.AddError("Cannot release network", err.Error())
	}
}

func (r *networkAllocationResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ref, err := network.ParseID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID", err.Error())
		return
	}
	dc := ref.DC
	if r.data != nil {
		if _, err := r.data.networkOf(dc); err != nil {
			resp.Diagnostics.AddError("Invalid import ID", err.Error())
			return
		}
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("datacenter"), dc)...)
}
