package provider

import (
	"context"
	"math"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = (*datacenterDataSource)(nil)

type datacenterDataSource struct {
	data *providerData
}

func newDatacenterDataSource() datasource.DataSource { return &datacenterDataSource{} }

// datacenterStatsModel is moxxie_datacenter's: the shared figures, and how many VMs of a size
// still fit.
type datacenterStatsModel struct {
	dcStatsModel
	VMSize    *vmSizeModel `tfsdk:"vm_size"`
	FitsCount types.Int64  `tfsdk:"fits_count"`
}

type vmSizeModel struct {
	Cores    types.Int64 `tfsdk:"cores"`
	MemoryMB types.Int64 `tfsdk:"memory_mb"`
}

func (d *datacenterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_datacenter"
}

func (d *datacenterDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs := dcStatsAttributes(true)
	attrs["vm_size"] = schema.SingleNestedAttribute{
		Optional:            true,
		MarkdownDescription: "A VM size to count room for in `fits_count`.",
		Attributes: map[string]schema.Attribute{
			"cores":     schema.Int64Attribute{Required: true, CustomType: wholeNumberFrom(1, 1024), MarkdownDescription: "vCPUs of one VM."},
			"memory_mb": schema.Int64Attribute{Required: true, CustomType: wholeNumberFrom(16, math.MaxInt64), MarkdownDescription: "Memory of one VM, in MiB."},
		},
	}
	attrs["fits_count"] = schema.Int64Attribute{
		Computed: true,
		MarkdownDescription: "How many more running VMs of `vm_size` the datacenter takes now, each whole on one online node under " +
			"`placement` and all within `limits`, as moxxie's plan-time check counts them. Null without `vm_size` or while the datacenter is unreachable.",
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Health, capacity and network pool figures of one datacenter, per node too, read with a fixed handful of API calls.",
		Attributes:          attrs,
	}
}

func (d *datacenterDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *datacenterDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg datacenterStatsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := cfg.Name.ValueString()
	if _, ok := d.data.dcs[name]; !ok {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Unknown datacenter", unknownDCError(name, d.data.dcs.Names()).Error())
		return
	}
	m := datacenterStatsModel{dcStatsModel: d.data.readStats(ctx, name), VMSize: cfg.VMSize, FitsCount: types.Int64Null()}
	if cfg.VMSize != nil && m.fits != nil {
		m.FitsCount = types.Int64Value(m.fits(cfg.VMSize.Cores.ValueInt64(), cfg.VMSize.MemoryMB.ValueInt64()))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
