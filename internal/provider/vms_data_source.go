package provider

import (
	"context"
	"fmt"
	"regexp"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

var _ datasource.DataSourceWithConfigure = (*vmsDataSource)(nil)

type vmsDataSource struct {
	data *providerData
}

func newVMsDataSource() datasource.DataSource { return &vmsDataSource{} }

type vmsModel struct {
	Datacenter types.String   `tfsdk:"datacenter"`
	NameRegex  types.String   `tfsdk:"name_regex"`
	Tags       types.Set      `tfsdk:"tags"`
	VMs        []vmsItemModel `tfsdk:"vms"`
}

type vmsItemModel struct {
	ID         types.String `tfsdk:"id"`
	Name       types.String `tfsdk:"name"`
	VMID       types.Int64  `tfsdk:"vmid"`
	Datacenter types.String `tfsdk:"datacenter"`
	Node       types.String `tfsdk:"node"`
	Status     types.String `tfsdk:"status"`
	Tags       types.Set    `tfsdk:"tags"`
	Duplicate  types.Bool   `tfsdk:"duplicate"`
}

func (d *vmsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vms"
}

func (d *vmsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The moxxie-managed VMs of every datacenter (or one), with where each runs now. " +
			"One `/cluster/resources` call per datacenter, queried concurrently. The read fails when a datacenter it asks cannot be reached; set `datacenter` to ask one only.",
		Attributes: map[string]schema.Attribute{
			"datacenter": schema.StringAttribute{
				MarkdownDescription: "Only VMs running in this datacenter.",
				Optional:            true,
			},
			"name_regex": schema.StringAttribute{
				MarkdownDescription: "Only VMs whose name matches this regular expression (Go RE2 syntax).",
				Optional:            true,
				Validators:          []validator.String{validRegexp()},
			},
			"tags": schema.SetAttribute{
				MarkdownDescription: "Only VMs that carry all of these tags.",
				ElementType:         types.StringType,
				Optional:            true,
			},
			"vms": schema.ListNestedAttribute{
				MarkdownDescription: "Matching VMs, ordered by datacenter, then name, then VMID.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"id":         schema.StringAttribute{Computed: true, MarkdownDescription: "moxxie identity."},
						"name":       schema.StringAttribute{Computed: true, MarkdownDescription: "VM name."},
						"vmid":       schema.Int64Attribute{Computed: true, MarkdownDescription: "VMID in its datacenter."},
						"datacenter": schema.StringAttribute{Computed: true, MarkdownDescription: "Datacenter it runs in."},
						"node":       schema.StringAttribute{Computed: true, MarkdownDescription: "Node it runs on."},
						"status":     schema.StringAttribute{Computed: true, MarkdownDescription: "`running` or `stopped`."},
						"tags":       schema.SetAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The user's tags."},
						"duplicate": schema.BoolAttribute{Computed: true, MarkdownDescription: "Another listed VM carries the same identity " +
							"(a restored copy, a source whose delete failed): one `moxxie_vm` in two places. Keep one and delete the other; " +
							"destroying the `moxxie_vm` removes every stopped copy."},
					},
				},
			},
		},
	}
}

func (d *vmsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *vmsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg vmsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var re *regexp.Regexp
	if s := cfg.NameRegex.ValueString(); s != "" {
		var err error
		if re, err = regexp.Compile(s); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("name_regex"), "Invalid regular expression", err.Error())
			return
		}
	}
	var wantTags []string
	if !cfg.Tags.IsNull() {
		resp.Diagnostics.Append(cfg.Tags.ElementsAs(ctx, &wantTags, false)...)
	}
	dcs := d.data.dcs.Names()
	if dc := cfg.Datacenter.ValueString(); dc != "" {
		if _, ok := d.data.dcs[dc]; !ok {
			resp.Diagnostics.AddAttributeError(path.Root("datacenter"), "Unknown datacenter", unknownDCError(dc, dcs).Error())
			return
		}
		dcs = []string{dc}
	}
	results := dcrouter.FanOut(ctx, d.data.router, dcs, func(ctx context.Context, c *dcrouter.Client) ([]dcrouter.Resource, error) {
		return c.ClusterResources(ctx, "vm")
	})
	cfg.VMs = []vmsItemModel{}
	for _, res := range results {
		if res.Err != nil {
			resp.Diagnostics.AddError("Cannot list VMs", fmt.Sprintf("Datacenter %s: %s", res.DC, res.Err))
			continue
		}
		items := managedVMs(res.DC, res.Value, re, wantTags)
		for _, it := range items {
			tags, diags := types.SetValueFrom(ctx, types.StringType, it.tags)
			resp.Diagnostics.Append(diags...)
			cfg.VMs = append(cfg.VMs, vmsItemModel{
				ID: types.StringValue(it.id), Name: types.StringValue(it.name), VMID: types.Int64Value(int64(it.vmid)),
				Datacenter: types.StringValue(res.DC), Node: types.StringValue(it.node), Status: types.StringValue(it.status), Tags: tags,
			})
		}
	}
	seen := map[string]int{}
	for _, it := range cfg.VMs {
		seen[it.ID.ValueString()]++
	}
	for i := range cfg.VMs {
		cfg.VMs[i].Duplicate = types.BoolValue(seen[cfg.VMs[i].ID.ValueString()] > 1)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &cfg)...)
}

type listedVM struct {
	id, name, node, status string
	vmid                   int
	tags                   []string
}

// managedVMs filters one datacenter's guests down to moxxie-managed VMs that match.
func managedVMs(dc string, res []dcrouter.Resource, re *regexp.Regexp, wantTags []string) []listedVM {
	var out []listedVM
	for _, r := range res {
		if r.Type != "qemu" || r.Template || r.Lock == "migrate" {
			continue // a stopped source copy left by a migration is not where the VM runs
		}
		id, tags := vm.SplitTags(r.TagList())
		if tags == nil {
			tags = []string{}
		}
		if id == "" || (re != nil && !re.MatchString(r.Name)) || !hasAll(tags, wantTags) {
			continue
		}
		out = append(out, listedVM{id: id, name: r.Name, node: r.Node, status: r.Status, vmid: r.VMID, tags: tags})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return out[i].vmid < out[j].vmid
	})
	return out
}

func hasAll(have, want []string) bool {
	set := map[string]bool{}
	for _, t := range have {
		set[t] = true
	}
	for _, t := range want {
		if !set[t] {
			return false
		}
	}
	return true
}
