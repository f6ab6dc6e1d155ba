package provider

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

type providerModel struct {
	Datacenters types.Map `tfsdk:"datacenters"`
}

type datacenterModel struct {
	Location              types.String `tfsdk:"location"`
	ProxmoxURL            types.String `tfsdk:"proxmox_url"`
	APIToken              types.String `tfsdk:"api_token"`
	Username              types.String `tfsdk:"username"`
	Password              types.String `tfsdk:"password"`
	TLSInsecure           types.Bool   `tfsdk:"tls_insecure"`
	TLSCAPEM              types.String `tfsdk:"tls_ca_pem"`
	TLSFingerprint        types.String `tfsdk:"tls_fingerprint"`
	RouterAddress         types.String `tfsdk:"router_address"`
	Storage               types.String `tfsdk:"storage"`
	MaxConcurrentRequests types.Int64  `tfsdk:"max_concurrent_requests"`
	ConnectTimeout        types.String `tfsdk:"connect_timeout"`
	Failed                types.Bool   `tfsdk:"failed"`
	Network               types.Object `tfsdk:"network"`
	Limits                types.Object `tfsdk:"limits"`
	Placement             types.Object `tfsdk:"placement"`
}

type networkModel struct {
	Bridge       types.String `tfsdk:"bridge"`
	IPRange      types.String `tfsdk:"ip_range"`
	VLANRange    types.String `tfsdk:"vlan_range"`
	SubnetPrefix types.Int64  `tfsdk:"subnet_prefix"`
	QinQEnabled  types.Bool   `tfsdk:"qinq_enabled"`
	ServiceVLAN  types.Int64  `tfsdk:"service_vlan"`
}

type placementModel struct {
	CPUAllocationRatio    types.Float64 `tfsdk:"cpu_allocation_ratio"`
	MemoryAllocationRatio types.Float64 `tfsdk:"memory_allocation_ratio"`
	ReservedMemoryMB      types.Int64   `tfsdk:"reserved_memory_mb"`
	CountStoppedVMs       types.Bool    `tfsdk:"count_stopped_vms"`
}

type limitsModel struct {
	MaxVMs      types.Int64 `tfsdk:"max_vms"`
	MaxCores    types.Int64 `tfsdk:"max_cores"`
	MaxMemoryMB types.Int64 `tfsdk:"max_memory_mb"`
}

// providerData is what Configure hands to every resource and data source.
type providerData struct {
	dcs    datacenter.Set
	router *dcrouter.Router
	vms    *vm.Manager
	addrs  *network.Addresses
	ledger *placement.Ledger
	// placing serialises Create's node choice with its booking in the ledger, so parallel creates
	// each see the others' choices.
	placing sync.Mutex
	snaps   *inventory.Cache
	// inUseWait is how long destroying a network waits for the VMs on it to go first.
	inUseWait time.Duration
}

// inputs converts the provider block into the datacenter package's plain inputs, recording which
// values are still unknown so validation can skip them.
func (m providerModel) inputs(ctx context.Context) ([]datacenter.Input, diag.Diagnostics) {
	var diags diag.Diagnostics
	if m.Datacenters.IsNull() {
		diags.AddAttributeError(path.Root("datacenters"), "Missing datacenters", "Declare at least one datacenter.")
		return nil, diags
	}
	var dcs map[string]datacenterModel
	diags.Append(m.Datacenters.ElementsAs(ctx, &dcs, false)...)
	if diags.HasError() {
		return nil, diags
	}
	if len(dcs) == 0 {
		diags.AddAttributeError(path.Root("datacenters"), "Missing datacenters", "Declare at least one datacenter.")
		return nil, diags
	}
	inputs := make([]datacenter.Input, 0, len(dcs))
	for name, d := range dcs {
		in := datacenter.Input{Name: name, Unknown: map[string]bool{}, Empty: map[string]bool{}}
		str := func(field string, v types.String) string {
			if v.IsUnknown() {
				in.Unknown[field] = true
			}
			return v.ValueString()
		}
		in.Location = str("location", d.Location)
		in.ProxmoxURL = str("proxmox_url", d.ProxmoxURL)
		in.APIToken = str("api_token", d.APIToken)
		in.Empty["api_token"] = isEmptyString(d.APIToken)
		in.Empty["password"] = isEmptyString(d.Password)
		in.Username = str("username", d.Username)
		in.Password = str("password", d.Password)
		in.TLSCAPEM = str("tls_ca_pem", d.TLSCAPEM)
		in.TLSFingerprint = str("tls_fingerprint", d.TLSFingerprint)
		in.RouterAddress = str("router_address", d.RouterAddress)
		in.Storage = str("storage", d.Storage)
		in.ConnectTimeout = str("connect_timeout", d.ConnectTimeout)
		in.TLSInsecure = d.TLSInsecure.ValueBool()
		in.Failed = d.Failed.ValueBool()
		in.MaxConcurrent = int64Ptr(d.MaxConcurrentRequests, "max_concurrent_requests", in.Unknown)
		if d.TLSInsecure.IsUnknown() {
			in.Unknown["tls_insecure"] = true
		}
		if d.Network.IsUnknown() {
			for _, f := range []string{"network.ip_range", "network.vlan_range", "network.subnet_prefix", "network.qinq_enabled", "network.service_vlan"} {
				in.Unknown[f] = true
			}
		} else if !d.Network.IsNull() {
			var n networkModel
			diags.Append(d.Network.As(ctx, &n, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
			in.Network = &datacenter.NetworkInput{
				Bridge:       str("network.bridge", n.Bridge),
				IPRange:      str("network.ip_range", n.IPRange),
				VLANRange:    str("network.vlan_range", n.VLANRange),
				SubnetPrefix: int64Ptr(n.SubnetPrefix, "network.subnet_prefix", in.Unknown),
				QinQEnabled:  n.QinQEnabled.ValueBool(),
				ServiceVLAN:  int64Ptr(n.ServiceVLAN, "network.service_vlan", in.Unknown),
			}
			if n.QinQEnabled.IsUnknown() {
				in.Unknown["network.qinq_enabled"] = true
			}
		}
		if !d.Limits.IsNull() && !d.Limits.IsUnknown() {
			var l limitsModel
			diags.Append(d.Limits.As(ctx, &l, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
			in.Limits = &datacenter.LimitsInput{
				MaxVMs:      int64Ptr(l.MaxVMs, "limits.max_vms", in.Unknown),
				MaxCores:    int64Ptr(l.MaxCores, "limits.max_cores", in.Unknown),
				MaxMemoryMB: int64Ptr(l.MaxMemoryMB, "limits.max_memory_mb", in.Unknown),
			}
		}
		if d.Placement.IsUnknown() {
			for _, f := range []string{"placement.cpu_allocation_ratio", "placement.memory_allocation_ratio", "placement.reserved_memory_mb", "placement.count_stopped_vms"} {
				in.Unknown[f] = true
			}
		} else if !d.Placement.IsNull() {
			var pm placementModel
			diags.Append(d.Placement.As(ctx, &pm, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
			in.Placement = &datacenter.PlacementInput{
				CPUAllocationRatio:    float64Ptr(pm.CPUAllocationRatio, "placement.cpu_allocation_ratio", in.Unknown),
				MemoryAllocationRatio: float64Ptr(pm.MemoryAllocationRatio, "placement.memory_allocation_ratio", in.Unknown),
				ReservedMemoryMB:      int64Ptr(pm.ReservedMemoryMB, "placement.reserved_memory_mb", in.Unknown),
				CountStoppedVMs:       pm.CountStoppedVMs.ValueBool(),
			}
			if pm.CountStoppedVMs.IsUnknown() {
				in.Unknown["placement.count_stopped_vms"] = true
			}
		}
		inputs = append(inputs, in)
	}
	// Map order is random; errors that compare datacenters must land on the same one each run.
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Name < inputs[j].Name })
	return inputs, diags
}

// isEmptyString tells a value set to "" from one left out (null), which falls back to the
// environment.
func isEmptyString(v types.String) bool {
	return !v.IsNull() && !v.IsUnknown() && v.ValueString() == ""
}

func int64Ptr(v types.Int64, field string, unknown map[string]bool) *int64 {
	if v.IsUnknown() {
		unknown[field] = true
		return nil
	}
	if v.IsNull() {
		return nil
	}
	x := v.ValueInt64()
	return &x
}

func float64Ptr(v types.Float64, field string, unknown map[string]bool) *float64 {
	if v.IsUnknown() {
		unknown[field] = true
		return nil
	}
	if v.IsNull() {
		return nil
	}
	x := v.ValueFloat64()
	return &x
}

// appendFieldErrors reports datacenter problems on their exact attribute path; skip filters out
// errors that are not yet decidable.
func appendFieldErrors(diags *diag.Diagnostics, errs []datacenter.FieldError, skip func(datacenter.FieldError) bool) {
	for _, e := range errs {
		if skip != nil && skip(e) {
			continue
		}
		// Terraform underlines a datacenter's entry at most, never an attribute inside it, so the
		// detail names the attribute.
		p := fieldPath(e.DC, e.Field)
		diags.AddAttributeError(shownPath(p), e.Summary, p.String()+": "+e.Detail)
	}
}

func fieldPath(dc, field string) path.Path {
	p := path.Root("datacenters").AtMapKey(dc)
	if field == "" {
		return p
	}
	for _, part := range strings.Split(field, ".") {
		p = p.AtName(part)
	}
	return p
}
