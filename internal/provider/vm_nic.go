package provider

import (
	"context"
	"fmt"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

type nicModel struct {
	AllocationID types.String `tfsdk:"allocation_id"`
	Bridge       types.String `tfsdk:"bridge"`
	VLANID       types.Int64  `tfsdk:"vlan_id"`
	IP           types.String `tfsdk:"ip"`
	Model        types.String `tfsdk:"model"`
	MAC          types.String `tfsdk:"mac"`
}

func nicSchema() schema.ListNestedAttribute {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	return schema.ListNestedAttribute{
		MarkdownDescription: "Network interfaces, `net0` onwards. Each sits either on a `moxxie_network_allocation` " +
			"(`allocation_id`: the VM joins its vnet, so Q-in-Q is invisible to the VM, and gets an address of its " +
			"subnet through cloud-init) or on a plain `bridge` with an optional `vlan_id`.",
		Optional: true,
		NestedObject: schema.NestedAttributeObject{
			Attributes: map[string]schema.Attribute{
				"allocation_id": schema.StringAttribute{
					MarkdownDescription: "`id` of a `moxxie_network_allocation` in the VM's own datacenter.",
					Optional:            true,
				},
				"bridge": schema.StringAttribute{
					MarkdownDescription: "Bridge to attach to when no `allocation_id` is given; with one, the allocation's vnet.",
					Optional:            true,
					Computed:            true,
					PlanModifiers:       keep,
				},
				"vlan_id": schema.Int64Attribute{
					MarkdownDescription: "VLAN tag on a plain `bridge`.",
					Optional:            true,
					Validators:          []validator.Int64{int64validator.Between(1, 4094)},
				},
				"ip": schema.StringAttribute{
					MarkdownDescription: "IPv4 address in the allocation's subnet; defaults to the next free one. Written as cloud-init `ipconfigN` with the allocation's gateway.",
					Optional:            true,
					Computed:            true,
					PlanModifiers:       keep,
				},
				"model": schema.StringAttribute{
					MarkdownDescription: "NIC model. Defaults to `virtio`.",
					Optional:            true,
					Computed:            true,
					Default:             stringdefault.StaticString("virtio"),
					Validators:          []validator.String{stringvalidator.OneOf(vm.NICModels...)},
				},
				"mac": schema.StringAttribute{
					MarkdownDescription: "MAC address PVE assigned.",
					Computed:            true,
					PlanModifiers:       keep,
				},
			},
		},
	}
}

// validateNICs checks each interface names one attachment, in config alone.
func validateNICs(ctx context.Context, cfg vmModel, resp *resource.ValidateConfigResponse) {
	var nics []nicModel
	if cfg.NICs.IsNull() || cfg.NICs.IsUnknown() {
		return
	}
	resp.Diagnostics.Append(cfg.NICs.ElementsAs(ctx, &nics, false)...)
	for i, n := range nics {
		p := path.Root("network_interface").AtListIndex(i)
		hasAlloc := !n.AllocationID.IsNull()
		hasBridge := !n.Bridge.IsNull()
		switch {
		case hasAlloc && hasBridge:
			resp.Diagnostics.AddAttributeError(p.AtName("bridge"), "Conflicting attachment", "Set either allocation_id or bridge, not both: an allocation brings its own vnet.")
		case !hasAlloc && !hasBridge:
			resp.Diagnostics.AddAttributeError(p, "Missing attachment", "Each network_interface needs allocation_id or bridge.")
		case hasAlloc && !n.VLANID.IsNull():
			resp.Diagnostics.AddAttributeError(p.AtName("vlan_id"), "VLAN with an allocation", "vlan_id goes with bridge; an allocation's vnet carries its VLAN itself.")
		case hasBridge && !n.IP.IsNull():
			resp.Diagnostics.AddAttributeError(p.AtName("ip"), "Address without an allocation", "moxxie manages addresses only on allocations; use allocation_id, or configure the guest's address yourself.")
		}
		if !n.IP.IsNull() && !n.IP.IsUnknown() {
			if a, err := netip.ParseAddr(n.IP.ValueString()); err != nil || !a.Is4() {
				resp.Diagnostics.AddAttributeError(p.AtName("ip"), "Invalid address", fmt.Sprintf("%q is not an IPv4 address (give the address alone; the prefix comes from the allocation).", n.IP.ValueString()))
			}
		}
		if !n.AllocationID.IsNull() && !n.AllocationID.IsUnknown() {
			if _, err := network.ParseID(n.AllocationID.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(p.AtName("allocation_id"), "Invalid allocation ID", err.Error())
			}
		}
	}
}

// planNICs enforces network isolation (an allocation must be of the VM's datacenter) and marks
// what an attachment change will recompute.
func planNICs(ctx context.Context, plan, state *vmModel, diags *diag.Diagnostics) {
	if plan.NICs.IsNull() || plan.NICs.IsUnknown() {
		return
	}
	var nics, old []nicModel
	diags.Append(plan.NICs.ElementsAs(ctx, &nics, false)...)
	if state != nil && !state.NICs.IsNull() {
		diags.Append(state.NICs.ElementsAs(ctx, &old, false)...)
	}
	for i := range nics {
		n := &nics[i]
		if !n.AllocationID.IsNull() && !n.AllocationID.IsUnknown() && !plan.Datacenter.IsUnknown() {
			ref, err := network.ParseID(n.AllocationID.ValueString())
			if err == nil && ref.DC != plan.Datacenter.ValueString() {
				diags.AddAttributeError(path.Root("network_interface").AtListIndex(i).AtName("allocation_id"), "Network from another datacenter",
					fmt.Sprintf("Allocation %s belongs to datacenter %s, but the VM is in %s; datacenters' networks are isolated, so allocate a network in %s.",
						n.AllocationID.ValueString(), ref.DC, plan.Datacenter.ValueString(), plan.Datacenter.ValueString()))
			}
		}
		changed := i >= len(old) || !old[i].AllocationID.Equal(n.AllocationID) || !old[i].Bridge.Equal(n.Bridge) && !n.Bridge.IsUnknown()
		if !changed {
			continue
		}
		if !n.AllocationID.IsNull() {
			n.Bridge = types.StringUnknown()
		}
		if n.IP.IsUnknown() || (i < len(old) && n.IP.Equal(old[i].IP) && !n.AllocationID.IsNull()) {
			n.IP = types.StringUnknown()
		}
		if n.AllocationID.IsNull() {
			n.IP = types.StringNull()
		}
		if i >= len(old) {
			n.MAC = types.StringUnknown()
		}
	}
	list, d := types.ListValueFrom(ctx, plan.NICs.ElementType(ctx), nics)
	diags.Append(d...)
	plan.NICs = list
}

// nicSpecs resolves the configured interfaces into what the VM gets: allocations become their
// vnet and an address. cur is the VM as it is (nil on create).
func (r *vmResource) nicSpecs(ctx context.Context, c *dcrouter.Client, dc string, nics []nicModel, cur *vm.VM) ([]vm.NIC, error) {
	out := make([]vm.NIC, 0, len(nics))
	for i, n := range nics {
		spec := vm.NIC{Model: n.Model.ValueString()}
		if n.AllocationID.IsNull() {
			spec.Bridge = n.Bridge.ValueString()
			spec.VLAN = int(n.VLANID.ValueInt64())
			out = append(out, spec)
			continue
		}
		ref, err := network.ParseID(n.AllocationID.ValueString())
		if err != nil {
			return nil, err
		}
		if ref.DC != dc {
			return nil, fmt.Errorf("network_interface %d: allocation %s belongs to datacenter %s, not %s", i, n.AllocationID.ValueString(), ref.DC, dc)
		}
		netw, err := r.data.networkOf(dc)
		if err != nil {
			return nil, err
		}
		a, found, err := network.Get(ctx, c, netw, ref)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("network_interface %d: allocation %s does not exist in datacenter %s", i, n.AllocationID.ValueString(), dc)
		}
		var want netip.Addr
		if s := n.IP.ValueString(); !n.IP.IsUnknown() && s != "" {
			want, _ = netip.ParseAddr(s)
		}
		exclude := 0
		if cur != nil {
			exclude = cur.VMID
			if !want.IsValid() && i < len(cur.NICs) && cur.NICs[i].Bridge == a.Vnet && cur.NICs[i].IP.IsValid() {
				want = cur.NICs[i].IP.Addr() // keep the address the VM has
			}
		}
		ip, err := r.data.addrs.Assign(ctx, c, a, want, exclude)
		if err != nil {
			return nil, fmt.Errorf("network_interface %d: %w", i, err)
		}
		spec.Bridge, spec.IP, spec.Gateway = a.Vnet, ip, a.Gateway
		out = append(out, spec)
	}
	return out, nil
}

// nicsObserved renders the VM's interfaces, keeping the allocation ids of state where the
// interface still sits on the same bridge.
func nicsObserved(ctx context.Context, observed []vm.NIC, prior types.List) (types.List, diag.Diagnostics) {
	var diags diag.Diagnostics
	var old []nicModel
	if !prior.IsNull() && !prior.IsUnknown() {
		diags.Append(prior.ElementsAs(ctx, &old, false)...)
	}
	out := make([]nicModel, len(observed))
	for i, n := range observed {
		m := nicModel{
			AllocationID: types.StringNull(),
			Bridge:       types.StringValue(n.Bridge),
			VLANID:       types.Int64Null(),
			IP:           types.StringNull(),
			Model:        types.StringValue(n.Model),
			MAC:          types.StringValue(n.MAC),
		}
		if n.VLAN > 0 {
			m.VLANID = types.Int64Value(int64(n.VLAN))
		}
		if n.IP.IsValid() {
			m.IP = types.StringValue(n.IP.Addr().String())
		}
		if i < len(old) && (old[i].Bridge.IsUnknown() || old[i].Bridge.ValueString() == n.Bridge) {
			m.AllocationID = old[i].AllocationID
		}
		out[i] = m
	}
	if len(observed) == 0 && prior.IsNull() {
		return types.ListNull(nicObjectType()), diags
	}
	list, d := types.ListValueFrom(ctx, nicObjectType(), out)
	diags.Append(d...)
	return list, diags
}

func nicObjectType() types.ObjectType {
	return types.ObjectType{AttrTypes: map[string]attr.Type{
		"allocation_id": types.StringType,
		"bridge":        types.StringType,
		"vlan_id":       types.Int64Type,
		"ip":            types.StringType,
		"model":         types.StringType,
		"mac":           types.StringType,
	}}
}
