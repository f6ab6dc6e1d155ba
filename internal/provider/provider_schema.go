package provider

import (
	"context"
	"math"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
)

func (p *moxxieProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Makes Proxmox VE datacenter-aware: one provider block declares every datacenter " +
			"(each its own Proxmox VE cluster), and resources name the datacenter they live in.",
		Attributes: map[string]schema.Attribute{
			"datacenters": schema.MapNestedAttribute{
				MarkdownDescription: "Every datacenter moxxie manages, keyed by name (e.g. `DC1`). Each is its own Proxmox VE cluster.",
				Required:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: datacenterAttributes(),
				},
			},
		},
	}
}

func datacenterAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"location": schema.StringAttribute{
			MarkdownDescription: "Where the datacenter is, for people reading plans and data sources (e.g. `Frankfurt`).",
			Optional:            true,
		},
		"proxmox_url": schema.StringAttribute{
			MarkdownDescription: "The cluster's API endpoint, e.g. `https://pve.dc1.example.net:8006`; the `/api2/json` suffix is optional.",
			Required:            true,
		},
		"api_token": schema.StringAttribute{
			MarkdownDescription: "API token as `USER@REALM!TOKENID=SECRET`. When left out, it comes from the environment variable " +
				"`MOXXIE_<DC>_API_TOKEN` (datacenter name upper-cased, other characters as `_`); an empty string is an error.",
			Optional:  true,
			Sensitive: true,
		},
		"username": schema.StringAttribute{
			MarkdownDescription: "User for ticket authentication (`root@pam`), used when no API token is given.",
			Optional:            true,
		},
		"password": schema.StringAttribute{
			MarkdownDescription: "Password for `username`. Falls back to `MOXXIE_<DC>_PASSWORD`.",
			Optional:            true,
			Sensitive:           true,
		},
		"tls_insecure": schema.BoolAttribute{
			MarkdownDescription: "Skip TLS certificate verification. Defaults to `false`; prefer `tls_fingerprint` or `tls_ca_pem`.",
			Optional:            true,
		},
		"tls_ca_pem": schema.StringAttribute{
			MarkdownDescription: "PEM certificates of the CA that signed the cluster's certificate, trusted in addition to the system roots.",
			Optional:            true,
		},
		"tls_fingerprint": schema.StringAttribute{
			MarkdownDescription: "SHA-256 fingerprint of the cluster's certificate as `pvenode cert info` shows it " +
				"(`AA:BB:...`). When set, exactly that certificate is accepted; it is also the fingerprint PVE checks when a VM migrates into this datacenter.",
			Optional: true,
		},
		"router_address": schema.StringAttribute{
			MarkdownDescription: "Address of the datacenter's router.",
			Optional:            true,
		},
		"storage": schema.StringAttribute{
			MarkdownDescription: "Default disk storage in this datacenter, also where a migration into it puts disks not listed in `storage_mapping`. Defaults to `local-lvm`.",
			Optional:            true,
		},
		"max_concurrent_requests": schema.Int64Attribute{
			MarkdownDescription: "How many API requests moxxie sends to this datacenter at once. Defaults to 8.",
			Optional:            true,
			CustomType:          wholeNumberFrom(1, 256),
		},
		"connect_timeout": schema.StringAttribute{
			MarkdownDescription: "How long moxxie waits for this datacenter to accept a connection and complete the TLS handshake, " +
				"as a Go duration (`\"10s\"`, `\"1m\"`; 100ms to 5m). Defaults to `10s`: a healthy cluster answers within a few round trips, " +
				"and a datacenter that does not answer in time is treated as unreachable for the rest of that Terraform run, so it costs " +
				"this wait once per provider process, not once per resource or retry. It does not limit how long a request or a task may take once connected.",
			Optional: true,
		},
		"failed": schema.BoolAttribute{
			MarkdownDescription: "Declares the datacenter lost: moxxie sends it no request (no timeouts are paid), data sources report it unhealthy " +
				"(`declared failed`), and each protected `moxxie_vm` that runs here plans a failover to its `failover_datacenter` from its newest backup. " +
				"Defaults to `false`. A datacenter that merely does not answer is never failed over automatically; set this when it is really gone, " +
				"and set it back (or remove it) when it returns: moxxie then fences the stale copies there.",
			Optional: true,
		},
		"network": schema.SingleNestedAttribute{
			MarkdownDescription: "Network pools that `moxxie_network_allocation` hands out in this datacenter.",
			Optional:            true,
			Attributes: map[string]schema.Attribute{
				"bridge": schema.StringAttribute{
					MarkdownDescription: "Bridge the datacenter's VLANs ride on. Defaults to `vmbr0`.",
					Optional:            true,
				},
				"ip_range": schema.StringAttribute{
					MarkdownDescription: "IPv4 range subnets are allocated from, e.g. `172.16.0.0/16`. Must not overlap another datacenter's range.",
					Required:            true,
				},
				"vlan_range": schema.StringAttribute{
					MarkdownDescription: "Customer VLANs to allocate from, as `A-B` within 1-4094.",
					Required:            true,
				},
				"subnet_prefix": schema.Int64Attribute{
					MarkdownDescription: "Prefix length of one allocation. Defaults to 24.",
					Optional:            true,
					CustomType:          wholeNumberFrom(1, 32),
				},
				"qinq_enabled": schema.BoolAttribute{
					MarkdownDescription: "Carry customer VLANs inside an 802.1ad service VLAN (Q-in-Q). Needs `service_vlan`.",
					Optional:            true,
				},
				"service_vlan": schema.Int64Attribute{
					MarkdownDescription: "The outer S-tag (1-4094) when `qinq_enabled` is true.",
					Optional:            true,
					CustomType:          wholeNumberFrom(1, 4094),
				},
			},
		},
		"limits": schema.SingleNestedAttribute{
			MarkdownDescription: "Caps on what moxxie places in this datacenter, checked at plan time.",
			Optional:            true,
			Attributes: map[string]schema.Attribute{
				"max_vms":       schema.Int64Attribute{Optional: true, CustomType: wholeNumberFrom(1, math.MaxInt64), MarkdownDescription: "Most VMs in the datacenter."},
				"max_cores":     schema.Int64Attribute{Optional: true, CustomType: wholeNumberFrom(1, math.MaxInt64), MarkdownDescription: "Most vCPU cores allocated to VMs."},
				"max_memory_mb": schema.Int64Attribute{Optional: true, CustomType: wholeNumberFrom(1, math.MaxInt64), MarkdownDescription: "Most memory allocated to VMs, in MiB."},
			},
		},
		"placement": schema.SingleNestedAttribute{
			MarkdownDescription: "How much of each node moxxie hands out, checked at plan time for every VM on one node (allocation " +
				"ratios in the spirit of OpenStack Placement). The defaults never refuse what PVE itself would run; see the " +
				"*Placement and capacity* guide. `limits` stay hard quotas on top.",
			Optional: true,
			Attributes: map[string]schema.Attribute{
				"cpu_allocation_ratio": schema.Float64Attribute{
					Optional: true,
					MarkdownDescription: "vCPUs a node may take per CPU it has, above 0 (e.g. `4`). Left out, vCPUs are not bounded per node " +
						"(overcommit as PVE allows it); a VM never gets more vCPUs than its node has CPUs either way, as PVE refuses that.",
				},
				"memory_allocation_ratio": schema.Float64Attribute{
					Optional:            true,
					MarkdownDescription: "Memory a node may take per MiB it has, above 0. Defaults to `1` (no memory overcommit).",
				},
				"reserved_memory_mb": schema.Int64Attribute{
					Optional:            true,
					CustomType:          wholeNumberFrom(0, math.MaxInt64),
					MarkdownDescription: "Memory kept free on every node for the host, in MiB. Defaults to `0`.",
				},
				"count_stopped_vms": schema.BoolAttribute{
					Optional: true,
					MarkdownDescription: "Whether stopped VMs take node capacity. Defaults to `false`: like PVE's own node figures, only " +
						"running VMs count (a stopped VM takes no memory until it starts). `limits` count every VM either way.",
				},
			},
		},
	}
}
