package provider

import (
	"context"
	"errors"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

// dcStatsModel is one datacenter's figures, shared by moxxie_datacenter and moxxie_datacenters.
type dcStatsModel struct {
	Name         types.String         `tfsdk:"name"`
	Location     types.String         `tfsdk:"location"`
	Healthy      types.Bool           `tfsdk:"healthy"`
	Error        types.String         `tfsdk:"error"`
	PVEVersion   types.String         `tfsdk:"pve_version"`
	LatencyMS    types.Int64          `tfsdk:"latency_ms"`
	NodesOnline  types.Int64          `tfsdk:"nodes_online"`
	NodesTotal   types.Int64          `tfsdk:"nodes_total"`
	VMsTotal     types.Int64          `tfsdk:"vms_total"`
	VMsRunning   types.Int64          `tfsdk:"vms_running"`
	VMsLimit     types.Int64          `tfsdk:"vms_limit"`
	VMsAvailable types.Int64          `tfsdk:"vms_available"`
	Cores        *capacityModel       `tfsdk:"cores"`
	MemoryMB     *capacityModel       `tfsdk:"memory_mb"`
	Network      *poolModel           `tfsdk:"network"`
	Placement    *placementStats      `tfsdk:"placement"`
	Nodes        map[string]nodeStats `tfsdk:"nodes"`
	// fits counts the VMs of a size that still fit (moxxie_datacenter's fits_count); nil while
	// the datacenter is unreachable.
	fits func(cores, memoryMB int64) int64
}

// placementStats is the placement policy in force, defaults filled in.
type placementStats struct {
	CPUAllocationRatio    types.Float64 `tfsdk:"cpu_allocation_ratio"`
	MemoryAllocationRatio types.Float64 `tfsdk:"memory_allocation_ratio"`
	ReservedMemoryMB      types.Int64   `tfsdk:"reserved_memory_mb"`
	CountStoppedVMs       types.Bool    `tfsdk:"count_stopped_vms"`
}

// nodeStats is one node's figures under the placement policy.
type nodeStats struct {
	Online            types.Bool  `tfsdk:"online"`
	CPUs              types.Int64 `tfsdk:"cpus"`
	MemoryMB          types.Int64 `tfsdk:"memory_mb"`
	AllocatedCores    types.Int64 `tfsdk:"allocated_cores"`
	AllocatedMemoryMB types.Int64 `tfsdk:"allocated_memory_mb"`
	FreeCores         types.Int64 `tfsdk:"free_cores"`
	FreeMemoryMB      types.Int64 `tfsdk:"free_memory_mb"`
}

type capacityModel struct {
	Physical  types.Int64 `tfsdk:"physical"`
	Allocated types.Int64 `tfsdk:"allocated"`
	Limit     types.Int64 `tfsdk:"limit"`
	Available types.Int64 `tfsdk:"available"`
}

type poolModel struct {
	VLANsTotal   types.Int64 `tfsdk:"vlans_total"`
	VLANsUsed    types.Int64 `tfsdk:"vlans_used"`
	VLANsFree    types.Int64 `tfsdk:"vlans_free"`
	SubnetsTotal types.Int64 `tfsdk:"subnets_total"`
	SubnetsUsed  types.Int64 `tfsdk:"subnets_used"`
	SubnetsFree  types.Int64 `tfsdk:"subnets_free"`
}

func dcStatsAttributes(nameRequired bool) map[string]schema.Attribute {
	i64 := func(desc string) schema.Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	capacity := func(what string) schema.Attribute {
		return schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: what + ": `physical` on online nodes, `allocated` to VMs (every VM, as `limits` count them), the configured `limit` (null: none) and `available`. Null while the datacenter is unreachable.",
			Attributes: map[string]schema.Attribute{
				"physical":  i64("On online nodes."),
				"allocated": i64("Allocated to VMs, stopped ones included."),
				"limit":     i64("The datacenter's limit; null when none is set."),
				"available": i64("What can still be placed: the smaller of the limit's headroom and the online nodes' free figures under `placement` (summed over nodes; one VM must still fit on one node, see `nodes`). Null when nothing bounds it: no limit and, for cores, no `cpu_allocation_ratio`."),
			},
		}
	}
	return map[string]schema.Attribute{
		"name": schema.StringAttribute{
			Required:            nameRequired,
			Computed:            !nameRequired,
			MarkdownDescription: "Datacenter name, as declared in the provider block.",
		},
		"location":      schema.StringAttribute{Computed: true, MarkdownDescription: "The configured location."},
		"healthy":       schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the cluster answered and is quorate."},
		"error":         schema.StringAttribute{Computed: true, MarkdownDescription: "Why the datacenter is unhealthy; null when healthy."},
		"pve_version":   schema.StringAttribute{Computed: true, MarkdownDescription: "Proxmox VE version."},
		"latency_ms":    i64("Round trip of one API call, in milliseconds."),
		"nodes_online":  i64("Nodes online."),
		"nodes_total":   i64("Nodes in the cluster."),
		"vms_total":     i64("VMs (templates excluded)."),
		"vms_running":   i64("VMs running."),
		"vms_limit":     i64("The `max_vms` limit; null when none is set."),
		"vms_available": i64("VMs that can still be placed; null without a limit."),
		"cores":         capacity("vCPU cores"),
		"memory_mb":     capacity("Memory in MiB"),
		"placement": schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: "The datacenter's `placement` settings in force, defaults filled in.",
			Attributes: map[string]schema.Attribute{
				"cpu_allocation_ratio":    schema.Float64Attribute{Computed: true, MarkdownDescription: "vCPUs a node may take per CPU; null: not bounded (only a VM wider than its node is refused)."},
				"memory_allocation_ratio": schema.Float64Attribute{Computed: true, MarkdownDescription: "Memory a node may take per MiB it has."},
				"reserved_memory_mb":      i64("Memory kept free on every node for the host, in MiB."),
				"count_stopped_vms":       schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether stopped VMs take node capacity."},
			},
		},
		"nodes": schema.MapNestedAttribute{
			Computed:            true,
			MarkdownDescription: "Every node of the cluster by name, with what the VMs that count under `placement` take of it and what it can still take. Null while the datacenter is unreachable.",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"online":              schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the node is online; offline nodes take nothing."},
				"cpus":                i64("CPUs of the node: the most vCPUs one VM on it may have."),
				"memory_mb":           i64("Memory of the node, in MiB."),
				"allocated_cores":     i64("vCPUs of the VMs on it that count (running ones, or all with `count_stopped_vms`)."),
				"allocated_memory_mb": i64("Memory of those VMs, in MiB."),
				"free_cores":          i64("vCPUs it can still take under `cpu_allocation_ratio`; null when not bounded."),
				"free_memory_mb":      i64("Memory it can still take: memory × `memory_allocation_ratio` − `reserved_memory_mb` − allocated, in MiB."),
			}},
		},
		"network": schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: "Network pool figures from the cluster's SDN; null when the datacenter declares no `network`.",
			Attributes: map[string]schema.Attribute{
				"vlans_total":   i64("VLANs in `vlan_range`."),
				"vlans_used":    i64("VLANs of the range in use on the datacenter's bridge."),
				"vlans_free":    i64("VLANs still free."),
				"subnets_total": i64("Subnets of `subnet_prefix` size in `ip_range`."),
				"subnets_used":  i64("Of those, overlapping a subnet the cluster holds."),
				"subnets_free":  i64("Subnets still free."),
			},
		},
	}
}

// readStats gathers one datacenter's figures. An unreachable datacenter is reported as unhealthy
// with its error, never as a failure: the figures are there to decide where to go.
func (d *providerData) readStats(ctx context.Context, dc string) dcStatsModel {
	s := d.dcs[dc]
	if s.Conn.Failed {
		return d.unhealthy(dc, errors.New("declared failed (failed = true in the provider block): not asked"))
	}
	c, err := d.router.Client(dc)
	if err != nil {
		return d.unhealthy(dc, err)
	}
	m := d.unhealthy(dc, nil)
	var (
		wg       sync.WaitGroup
		snap     inventory.Snapshot
		snapErr  error
		stats    ipam.Stats
		statsErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		snap, snapErr = inventory.Take(ctx, c)
	}()
	if s.Network != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats, statsErr = network.Usage(ctx, c, *s.Network)
		}()
	}
	wg.Wait()
	if err := snapErr; err != nil || statsErr != nil {
		if err == nil {
			err = statsErr
		}
		return d.unhealthy(dc, err)
	}
	m.Healthy = types.BoolValue(snap.Quorate && snap.NodesOnline() > 0)
	m.Error = types.StringNull()
	if !snap.Quorate {
		m.Error = types.StringValue("cluster is not quorate")
	}
	m.PVEVersion = types.StringValue(snap.Version)
	m.LatencyMS = types.Int64Value(snap.Latency.Milliseconds())
	m.NodesOnline = types.Int64Value(int64(snap.NodesOnline()))
	m.NodesTotal = types.Int64Value(int64(snap.NodesTotal))
	capa := snap.Capacity(s.Limits, 0)
	nodes := snap.NodeLoads(s.Placement, 0)
	avail := capa.Available().Within(placement.NodesFree(nodes, s.Placement))
	m.VMsTotal = types.Int64Value(capa.Allocated.VMs)
	m.VMsRunning = types.Int64Value(capa.Allocated.VMsRunning)
	m.VMsAvailable = bounded(avail.VMs)
	m.Cores = &capacityModel{Physical: types.Int64Value(capa.Physical.Cores), Allocated: types.Int64Value(capa.Allocated.Cores),
		Limit: optLimit(s.Limits.MaxCores), Available: bounded(avail.Cores)}
	m.MemoryMB = &capacityModel{Physical: types.Int64Value(capa.Physical.MemoryMB), Allocated: types.Int64Value(capa.Allocated.MemoryMB),
		Limit: optLimit(s.Limits.MaxMemoryMB), Available: bounded(avail.MemoryMB)}
	m.Nodes = make(map[string]nodeStats, len(nodes))
	for _, n := range nodes {
		free := nodeStats{Online: types.BoolValue(n.Online), CPUs: types.Int64Value(n.CPUs), MemoryMB: types.Int64Value(n.MemoryMB),
			AllocatedCores: types.Int64Value(n.AllocatedCores), AllocatedMemoryMB: types.Int64Value(n.AllocatedMemoryMB),
			FreeCores: bounded(s.Placement.FreeCores(n)), FreeMemoryMB: types.Int64Value(s.Placement.FreeMemoryMB(n))}
		if !n.Online {
			free.FreeCores, free.FreeMemoryMB = types.Int64Value(0), types.Int64Value(0)
		}
		m.Nodes[n.Name] = free
	}
	m.fits = func(cores, memoryMB int64) int64 {
		return placement.FitsCount(capa, nodes, s.Placement, cores, memoryMB)
	}
	if s.Network != nil {
		m.Network = &poolModel{
			VLANsTotal: types.Int64Value(int64(stats.VLANsTotal)), VLANsUsed: types.Int64Value(int64(stats.VLANsUsed)), VLANsFree: types.Int64Value(int64(stats.VLANsFree)),
			SubnetsTotal: types.Int64Value(int64(stats.SubnetsTotal)), SubnetsUsed: types.Int64Value(int64(stats.SubnetsUsed)), SubnetsFree: types.Int64Value(int64(stats.SubnetsFree)),
		}
	}
	return m
}

// unhealthy is a datacenter's entry with only what the configuration says, and why nothing more
// is known.
func (d *providerData) unhealthy(dc string, err error) dcStatsModel {
	s := d.dcs[dc]
	m := dcStatsModel{Name: types.StringValue(dc), Location: types.StringValue(s.Location), Healthy: types.BoolValue(false), Error: types.StringNull(),
		PVEVersion: types.StringNull(), LatencyMS: types.Int64Null(), NodesOnline: types.Int64Null(), NodesTotal: types.Int64Null(),
		VMsTotal: types.Int64Null(), VMsRunning: types.Int64Null(), VMsLimit: optLimit(s.Limits.MaxVMs), VMsAvailable: types.Int64Null()}
	if s.Location == "" {
		m.Location = types.StringNull()
	}
	m.Placement = &placementStats{CPUAllocationRatio: types.Float64Null(), MemoryAllocationRatio: types.Float64Value(s.Placement.EffectiveMemoryRatio()),
		ReservedMemoryMB: types.Int64Value(s.Placement.ReservedMemoryMB), CountStoppedVMs: types.BoolValue(s.Placement.CountStopped)}
	if s.Placement.CPURatio > 0 {
		m.Placement.CPUAllocationRatio = types.Float64Value(s.Placement.CPURatio)
	}
	if err != nil {
		m.Error = types.StringValue(err.Error())
	}
	return m
}

// bounded is a figure that Unlimited may stand for, as null.
func bounded(v int64) types.Int64 {
	if v == placement.Unlimited {
		return types.Int64Null()
	}
	return types.Int64Value(v)
}

func optLimit(v int64) types.Int64 {
	if v <= 0 {
		return types.Int64Null()
	}
	return types.Int64Value(v)
}
