// Package provider is the Terraform glue of moxxie: schemas, models and CRUD that translate
// between Terraform values and the domain packages under internal/.
package provider

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

var (
	_ provider.Provider                   = (*moxxieProvider)(nil)
	_ provider.ProviderWithValidateConfig = (*moxxieProvider)(nil)
)

type moxxieProvider struct {
	version string
	// env is read for credentials; tests replace it.
	env datacenter.Env
	// routerOpts lets tests shorten retries and task polling.
	routerOpts []dcrouter.Option
}

// New returns the provider factory that providerserver and the acceptance tests use.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &moxxieProvider{version: version, env: os.Getenv}
	}
}

func (p *moxxieProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "moxxie"
	resp.Version = p.version
}

func (p *moxxieProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newVMResource,
		newNetworkAllocationResource,
		newMigrationResource,
		newDrillResource,
	}
}

func (p *moxxieProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newVMsDataSource,
		newDatacenterDataSource,
		newDatacentersDataSource,
	}
}

func (p *moxxieProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || cfg.Datacenters.IsUnknown() {
		return
	}
	inputs, diags := cfg.inputs(ctx)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	// Credentials may arrive from the environment at apply time only (Terraform Cloud sets them
	// per run), so a missing credential is reported by Configure, not here.
	_, errs := datacenter.Build(inputs, p.env)
	appendFieldErrors(&resp.Diagnostics, errs, func(e datacenter.FieldError) bool { return e.Summary == "Missing credentials" })
}

func (p *moxxieProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.Datacenters.IsUnknown() {
		// Values computed by other resources: Terraform calls Configure again once they are known.
		return
	}
	inputs, diags := cfg.inputs(ctx)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	for _, in := range inputs {
		if len(in.Unknown) > 0 {
			// Some connection settings come from resources not applied yet: Terraform configures
			// the provider again once they are known; until then plan-time checks are skipped.
			return
		}
	}
	set, errs := datacenter.Build(inputs, p.env)
	appendFieldErrors(&resp.Diagnostics, errs, nil)
	if resp.Diagnostics.HasError() {
		return
	}
	router, err := dcrouter.New(set.RouterConfigs(), p.routerOpts...)
	if err != nil {
		resp.Diagnostics.AddError("Cannot set up datacenter clients", err.Error())
		return
	}
	data := &providerData{dcs: set, router: router, vms: vm.NewManager(), addrs: network.NewAddresses(),
		ledger: placement.NewLedger(), snaps: inventory.NewCache(), inUseWait: 20 * time.Second}
	resp.ResourceData = data
	resp.DataSourceData = data
}
