package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
)

var _ datasource.DataSourceWithConfigure = (*datacenterDataSource)(nil)

type datacenterDataSource struct {
	data *providerData
}

func newDatacenterDataSource() datasource.DataSource { return &datacenterDataSource{} }

func (d *datacenterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_datacenter"
}

func (d *datacenterDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Health, capacity and network pool figures of one datacenter, read with a fixed handful of API calls.",
		Attributes:          dcStatsAttributes(true),
	}
}

func (d *datacenterDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *datacenterDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg dcStatsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := cfg.Name.ValueString()
	if _, ok := d.data.dcs[name]; !ok {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Unknown datacenter", unknownDCError(name, d.data.dcs.Names()).Error())
		return
	}
	m := d.data.readStats(ctx, name)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
