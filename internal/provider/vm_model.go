package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

type vmModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Datacenter  types.String `tfsdk:"datacenter"`
	Node        types.String `tfsdk:"node"`
	Cores       types.Int64  `tfsdk:"cores"`
	MemoryMB    types.Int64  `tfsdk:"memory_mb"`
	Started     types.Bool   `tfsdk:"started"`
	Tags        types.Set    `tfsdk:"tags"`
	Description types.String `tfsdk:"description"`
	VMID        types.Int64  `tfsdk:"vmid"`
	Status      types.String `tfsdk:"status"`
	PrimaryDC   types.String `tfsdk:"primary_dc"`
	CurrentDC   types.String `tfsdk:"current_dc"`
	NICs        types.List   `tfsdk:"network_interface"`
	CurrentNICs types.List   `tfsdk:"current_network_interfaces"`
	FailoverDC  types.String `tfsdk:"failover_datacenter"`
	Affinity    types.Object `tfsdk:"affinity"`
	HARules     types.Map    `tfsdk:"ha_rules"`
	Disks       types.List   `tfsdk:"disk"`
	Clone       types.Object `tfsdk:"clone"`
	CloudInit   types.Object `tfsdk:"cloud_init"`
	Reboot      types.Bool   `tfsdk:"reboot_on_pending"`
	IdentityTag types.String `tfsdk:"identity_tag"`
	// protection and failover (vm_protection.go)
	Protection    types.Object   `tfsdk:"protection"`
	RecoveryPoint types.Object   `tfsdk:"recovery_point"`
	FailoverState types.Object   `tfsdk:"failover_state"`
	Failback      types.String   `tfsdk:"failback"`
	FencedCopies  types.List     `tfsdk:"fenced_copies"`
	Timeouts      timeouts.Value `tfsdk:"timeouts"`
}

// spec is what the configuration asks of the VM; defaultStorage is the datacenter's storage.
func (m vmModel) spec(ctx context.Context, defaultStorage string) (vm.Spec, diag.Diagnostics) {
	s := vm.Spec{
		RebootOnPending: m.Reboot.ValueBool(),
		Name:            m.Name.ValueString(),
		Node:            m.Node.ValueString(),
		Cores:           m.Cores.ValueInt64(),
		MemoryMB:        m.MemoryMB.ValueInt64(),
		Started:         m.Started.ValueBool(),
		Description:     m.Description.ValueString(),
		Storage:         defaultStorage,
	}
	var diags diag.Diagnostics
	if !m.Tags.IsNull() && !m.Tags.IsUnknown() {
		diags.Append(m.Tags.ElementsAs(ctx, &s.Tags, false)...)
	}
	var d diag.Diagnostics
	s.Disks, d = m.disks(ctx, defaultStorage)
	diags.Append(d...)
	s.CloudInit, d = m.cloudInit(ctx)
	diags.Append(d...)
	return s, diags
}

func (m vmModel) nics(ctx context.Context) ([]nicModel, diag.Diagnostics) {
	var nics []nicModel
	if m.NICs.IsNull() || m.NICs.IsUnknown() {
		return nil, nil
	}
	diags := m.NICs.ElementsAs(ctx, &nics, false)
	return nics, diags
}

// setObserved copies what the datacenter holds into the model; importing surfaces settings
// (cloud-init) that a configuration would otherwise have to ask for.
func (m *vmModel) setObserved(ctx context.Context, v vm.VM, importing bool) diag.Diagnostics {
	m.Name = types.StringValue(v.Name)
	m.Node = types.StringValue(v.Node)
	m.Cores = types.Int64Value(v.Cores)
	m.MemoryMB = types.Int64Value(v.MemoryMB)
	m.Started = types.BoolValue(v.Running)
	m.Description = types.StringValue(v.Description)
	m.VMID = types.Int64Value(int64(v.VMID))
	m.Status = types.StringValue(v.Status)
	m.CurrentDC = types.StringValue(v.DC)
	tags := v.Tags
	if tags == nil {
		tags = []string{}
	}
	set, diags := types.SetValueFrom(ctx, types.StringType, tags)
	m.Tags = set
	// A VM that a moxxie_dc_migration moved away sits on the networks its network_mapping chose;
	// its configuration still describes its home, so the NICs as configured stay in state and the
	// plan does not fight the migration.
	if m.Datacenter.IsNull() || m.Datacenter.ValueString() == v.DC {
		nics, d := nicsObserved(ctx, v.NICs, m.NICs)
		diags.Append(d...)
		m.NICs = nics
	}
	cur, d := currentNICs(ctx, v.NICs)
	diags.Append(d...)
	m.CurrentNICs = cur
	disks, d := disksObserved(ctx, v.Disks, m.Disks)
	diags.Append(d...)
	m.Disks = disks
	ci, d := cloudInitObserved(ctx, v.CloudInit, m.CloudInit, importing)
	diags.Append(d...)
	m.CloudInit = ci
	m.IdentityTag = types.StringNull()
	if v.ID != "" {
		m.IdentityTag = types.StringValue(vm.IdentityTag(v.ID))
	}
	return diags
}
