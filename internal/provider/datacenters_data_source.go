package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

var _ datasource.DataSourceWithConfigure = (*datacentersDataSource)(nil)

type datacentersDataSource struct {
	data *providerData
}

func newDatacentersDataSource() datasource.DataSource { return &datacentersDataSource{} }

type datacentersModel struct {
	Datacenters map[string]dcStatsModel `tfsdk:"datacenters"`
}

func (d *datacentersDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_datacenters"
}

func (d *datacentersDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The figures of `moxxie_datacenter` for every configured datacenter, queried concurrently. " +
			"An unreachable datacenter appears with `healthy = false` and its `error`; it does not fail the read.",
		Attributes: map[string]schema.Attribute{
			"datacenters": schema.MapNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Every datacenter by name.",
				NestedObject:        schema.NestedAttributeObject{Attributes: dcStatsAttributes(false)},
			},
		},
	}
}

func (d *datacentersDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *datacentersDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	m := datacentersModel{Datacenters: d.data.readAllStats(ctx)}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// readAllStats reads every datacenter through the router's fan-out, so the wall time is that of
// the slowest datacenter, not the sum.
func (d *providerData) readAllStats(ctx context.Context) map[string]dcStatsModel {
	results := dcrouter.FanOut(ctx, d.router, d.dcs.Names(), func(ctx context.Context, c *dcrouter.Client) (dcStatsModel, error) {
		return d.readStats(ctx, c.DC()), nil
	})
	byName := make(map[string]dcStatsModel, len(results))
	for _, r := range results {
		m := r.Value
		if r.Err != nil {
			m = d.unhealthy(r.DC, r.Err)
		}
		byName[r.DC] = m
	}
	return byName
}
