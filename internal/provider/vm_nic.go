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
			"subnet through cloud-init; a VM without a `cloud_init` block gets the cloud-init drive all the same, on `ide2` " +
			"next to its first disk or on the datacenter's `storage`) or on a plain `bridge` with an optional `vlan_id`.",
		Optional: true,
		NestedObject: schema.NestedAttributeObject{
			Attributes: map[string]schema.Attribute{
				"allocation_id": schema.StringAttribute{
					MarkdownDescription: "`id` of a `moxxie_network_allocation` in the VM's own datacenter, or `DATACENTER/VNET` " +
						"(e.g. `DC1/mxv301`), the form an import writes for a NIC on a vnet of moxxie's zone, where `bridge` may name that same vnet.",
					Optional: true,
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
					CustomType:          wholeNumberFrom(1, 4094),
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
		case hasAlloc && hasBridge && !sameVnet(n):
			resp.Diagnostics.AddAttributeError(p.AtName("bridge"), "Conflicting attachment", "Set either allocation_id or bridge, not both: an allocation brings its own vnet.")
		case !hasAlloc && !hasBridge:
			resp.Diagnostics.AddAttributeError(p, "Missing attachment", "Each network_interface needs allocation_id or bridge.")
		case hasAlloc && !n.VLANID.IsNull():
			resp.Diagnostics.AddAttributeError(p.AtName("vlan_id"), "VLAN with an allocation", "vlan_id goes with bridge; an allocation's vnet carries its VLAN itself.")
		case hasBridge && !hasAlloc && !n.IP.IsNull():
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

// sameVnet: an import writes an allocation NIC as allocation_id = "DC1/mxv301" with bridge =
// "mxv301", the vnet that id names, which is no conflict.
func sameVnet(n nicModel) bool {
	if n.AllocationID.IsUnknown() || n.Bridge.IsUnknown() {
		return true // decided once known
	}
	ref, err := network.ParseID(n.AllocationID.ValueString())
	return err == nil && ref.Vnet != "" && ref.Vnet == n.Bridge.ValueString()
}

// importedAllocations gives the NICs of an imported VM that sit on a vnet of moxxie's zone their
// allocation, as DATACENTER/VNET, so the configuration generated from the import is the
// allocation form (and its address stays moxxie's to manage) rather than a bridge with an
// address, which validation refuses.
func (r *vmResource) importedAllocations(ctx context.Context, c *dcrouter.Client, dc string, nics types.List) (types.List, diag.Diagnostics) {
	netw, err := r.data.networkOf(dc)
	if err != nil || nics.IsNull() || nics.IsUnknown() {
		return nics, nil // no network pools in this datacenter: no vnet is moxxie's
	}
	var models []nicModel
	diags := nics.ElementsAs(ctx, &models, false)
	changed := false
	for i, n := range models {
		ref, perr := network.ParseID(dc + "/" + n.Bridge.ValueString())
		if perr != nil || !n.AllocationID.IsNull() || ref.Vnet == "" {
			continue
		}
		a, found, gerr := network.Get(ctx, c, netw, ref)
		if gerr != nil {
			diags.AddWarning("Cannot read the datacenter's networks",
				fmt.Sprintf("network_interface %d sits on %s, which may be a moxxie allocation; reading SDN in %s failed (%s), so the import shows it as a plain bridge.", i, n.Bridge.ValueString(), dc, gerr))
			continue
		}
		if !found || a.Zone != network.Zone {
			continue
		}
		models[i].AllocationID = types.StringValue(dc + "/" + a.Vnet)
		changed = true
	}
	if !changed {
		return nics, diags
	}
	list, d := types.ListValueFrom(ctx, nics.ElementType(ctx), models)
	diags.Append(d...)
	return list, diags
}

// planNICs enforces network isolation (an allocation must be of the VM's datacenter) and marks
// what an attachment change will recompute. sameVnet tells whether an allocation id names the
// vnet the NIC already sits on (nil: it never does), so that naming an imported NIC's allocation
// by client and name, where state has DATACENTER/VNET, plans no new address.
func planNICs(ctx context.Context, plan, state *vmModel, onVnet func(allocationID, vnet string) bool, diags *diag.Diagnostics) {
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
		if changed && i < len(old) && onVnet != nil && !old[i].AllocationID.IsNull() && !n.AllocationID.IsNull() && !n.AllocationID.IsUnknown() &&
			(n.Bridge.IsUnknown() || n.Bridge.Equal(old[i].Bridge)) && !old[i].Bridge.IsNull() && onVnet(n.AllocationID.ValueString(), old[i].Bridge.ValueString()) {
			// Another name of the same allocation: the NIC stays where it is, with its address.
			n.Bridge = old[i].Bridge
			if n.IP.IsUnknown() {
				n.IP = old[i].IP
			}
			continue
		}
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
		if c.DC() != dc {
			return nil, fmt.Errorf("network_interface %d: client of %s used for %s", i, c.DC(), dc)
		}
		t, err := r.data.nets().Resolve(ctx, c, n.AllocationID.ValueString())
		if err != nil {
			return nil, fmt.Errorf("network_interface %d: %w", i, err)
		}
		if s := n.IP.ValueString(); !n.IP.IsUnknown() && s != "" {
			t.Want, _ = netip.ParseAddr(s)
		}
		var have netip.Addr
		exclude := 0
		if cur != nil {
			exclude = cur.VMID
			if i < len(cur.NICs) && cur.NICs[i].Bridge == t.Bridge && cur.NICs[i].IP.IsValid() {
				have = cur.NICs[i].IP.Addr() // keep the address the VM has, when it is usable here
			}
		}
		if err := r.data.nets().Address(ctx, c, &t, have, exclude); err != nil {
			return nil, fmt.Errorf("network_interface %d: %w", i, err)
		}
		spec.Bridge, spec.IP, spec.Gateway = t.Bridge, t.IP, t.Gateway
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
		"vlan_id":       wholeNumberFrom(1, 4094), // as in the schema, so lists compare equal
		"ip":            types.StringType,
		"model":         types.StringType,
		"mac":           types.StringType,
	}}
}

var currentNICType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"bridge": types.StringType, "vlan_id": types.Int64Type, "ip": types.StringType,
	"gateway": types.StringType, "mac": types.StringType, "model": types.StringType,
}}

// currentNICs renders the NICs as the VM has them, for current_network_interfaces.
func currentNICs(ctx context.Context, nics []vm.NIC) (types.List, diag.Diagnostics) {
	type row struct {
		Bridge  types.String `tfsdk:"bridge"`
		VLAN    types.Int64  `tfsdk:"vlan_id"`
		IP      types.String `tfsdk:"ip"`
		Gateway types.String `tfsdk:"gateway"`
		MAC     types.String `tfsdk:"mac"`
		Model   types.String `tfsdk:"model"`
	}
	out := make([]row, len(nics))
	for i, n := range nics {
		r := row{Bridge: types.StringValue(n.Bridge), VLAN: types.Int64Null(), IP: types.StringNull(), Gateway: types.StringNull(),
			MAC: types.StringValue(n.MAC), Model: types.StringValue(n.Model)}
		if n.VLAN > 0 {
			r.VLAN = types.Int64Value(int64(n.VLAN))
		}
		if n.IP.IsValid() {
			r.IP = types.StringValue(n.IP.String())
		}
		if n.Gateway.IsValid() {
			r.Gateway = types.StringValue(n.Gateway.String())
		}
		out[i] = r
	}
	return types.ListValueFrom(ctx, currentNICType, out)
}

// sameNICsButNames reports whether the planned NICs are the state's in everything but the name
// an allocation is referred to by (allocation_id), so that nothing about them will change.
func sameNICsButNames(ctx context.Context, plan, state vmModel) bool {
	if plan.NICs.IsUnknown() || plan.NICs.IsNull() != state.NICs.IsNull() {
		return false
	}
	var a, b []nicModel
	if plan.NICs.ElementsAs(ctx, &a, false).HasError() || state.NICs.ElementsAs(ctx, &b, false).HasError() || len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Bridge.Equal(b[i].Bridge) || !a[i].VLANID.Equal(b[i].VLANID) || !a[i].IP.Equal(b[i].IP) ||
			!a[i].Model.Equal(b[i].Model) || !a[i].MAC.Equal(b[i].MAC) {
			return false
		}
	}
	return true
}
