package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// dcMaps is the provider block's datacenters, each as attribute name -> value.
type dcMaps map[string]map[string]any

// goodDatacenters is a valid provider block for the simulators: DC1 plain VLANs, DC2 Q-in-Q (as in
// SPEC.md) and DC3 without network pools. Rows of the bad-input table break one thing in it.
func goodDatacenters(e *simEnv) dcMaps {
	dc := func(name string) map[string]any {
		ep := e.endpoints[name]
		if ep.CAPEM != "" {
			return map[string]any{"proxmox_url": ep.URL, "api_token": ep.apiToken(), "tls_ca_pem": ep.CAPEM}
		}
		return map[string]any{"proxmox_url": ep.URL, "api_token": ep.apiToken(), "tls_fingerprint": ep.Fingerprint}
	}
	dcs := dcMaps{"DC1": dc("DC1"), "DC2": dc("DC2"), "DC3": dc("DC3")}
	dcs["DC1"]["network"] = map[string]any{"bridge": "vmbr0", "ip_range": "172.16.0.0/16", "vlan_range": "100-2000"}
	dcs["DC2"]["network"] = map[string]any{"bridge": "vmbr1", "ip_range": "172.17.0.0/16", "vlan_range": "100-2000", "qinq_enabled": true, "service_vlan": 3000}
	return dcs
}

func (d dcMaps) config() map[string]any {
	m := make(map[string]any, len(d))
	for k, v := range d {
		m[k] = v
	}
	return map[string]any{"datacenters": m}
}

func (d dcMaps) network(dc string) map[string]any { return d[dc]["network"].(map[string]any) }

// badInput is one invalid input and the one error diagnostic it must produce. Exactly one of
// provider, resource (with config or importID) and data is set.
type badInput struct {
	name     string
	provider func(dcMaps)
	resource string
	data     string
	config   map[string]any
	importID string
	importOf string // resource type of an import row

	summary, detail string
	path            *tftypes.AttributePath // nil: the diagnostic names no attribute
}

// with returns base plus the given attributes, so rows state only what they break.
func withAttrs(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// dcAttr is where the provider reports a problem with an attribute of a datacenter: on the
// datacenter's entry, the deepest place Terraform underlines in the provider block (deeper paths
// fall back to the block's first line). The attribute, named here for the reader, is in the detail.
func dcAttr(dc string, _ ...string) *tftypes.AttributePath {
	return protoPath("datacenters", pathKey(dc))
}

// dcDetail is how the provider words a datacenter field error: it names the attribute, since
// Terraform cannot underline a position inside the datacenters expression.
func dcDetail(dc, field, detail string) string {
	p := `datacenters["` + dc + `"]`
	if field != "" {
		p += "." + field
	}
	return p + ": " + detail
}

const unknownDC9 = `datacenter "DC9" is not declared in the provider block (configured: DC1, DC2, DC3)`

func badInputs(env *simEnv) []badInput {
	vm := map[string]any{"name": "web-1", "datacenter": "DC1"}
	nic := func(kv ...any) map[string]any {
		return withAttrs(vm, "network_interface", []any{withAttrs(nil, kv...)})
	}
	alloc := map[string]any{"datacenter": "DC1", "client_id": "acme"}
	migration := map[string]any{"vm_id": "0123456789abcdef", "target_datacenter": "DC2", "network_mapping": map[string]any{}}
	nicPath := func(names ...any) *tftypes.AttributePath {
		return protoPath(append([]any{"network_interface", 0}, names...)...)
	}
	allocForm := func(id string) string {
		return `allocation ID "` + id + `" must be DATACENTER/CLIENT_ID/NAME (e.g. DC1/acme/default) or DATACENTER/VNET (e.g. DC1/mxv100)`
	}
	return []badInput{
		// The provider block.
		{name: "provider/url with ftp scheme", provider: func(d dcMaps) { d["DC1"]["proxmox_url"] = "ftp://pve.example.net" },
			summary: "Invalid Proxmox URL", path: dcAttr("DC1", "proxmox_url"),
			detail: dcDetail("DC1", "proxmox_url", `URL "ftp://pve.example.net": scheme must be http or https, not "ftp"`)},
		{name: "provider/url with a path", provider: func(d dcMaps) { d["DC1"]["proxmox_url"] = "https://pve.example.net:8006/ui" },
			summary: "Invalid Proxmox URL", path: dcAttr("DC1", "proxmox_url"),
			detail: dcDetail("DC1", "proxmox_url", `URL "https://pve.example.net:8006/ui": path must be empty or /api2/json, not "/ui"`)},
		{name: "provider/url with credentials, password not echoed", provider: func(d dcMaps) { d["DC1"]["proxmox_url"] = "https://root:hunter2@pve.example.net:8006" },
			summary: "Invalid Proxmox URL", path: dcAttr("DC1", "proxmox_url"),
			detail: dcDetail("DC1", "proxmox_url", `URL "https://root:xxxxx@pve.example.net:8006": must not contain credentials; use the token or username/password settings`)},
		{name: "provider/url port out of range", provider: func(d dcMaps) { d["DC1"]["proxmox_url"] = "https://pve.example.net:70000" },
			summary: "Invalid Proxmox URL", path: dcAttr("DC1", "proxmox_url"),
			detail: dcDetail("DC1", "proxmox_url", `URL "https://pve.example.net:70000": port must be 1-65535`)},
		{name: "provider/api token without secret", provider: func(d dcMaps) { d["DC1"]["api_token"] = "root@pam!moxxie" },
			summary: "Invalid API token", path: dcAttr("DC1", "api_token"),
			detail: dcDetail("DC1", "api_token", `API token must have the form USER@REALM!TOKENID=SECRET (no "=" found)`)},
		{name: "provider/api token without realm", provider: func(d dcMaps) { d["DC1"]["api_token"] = "root!moxxie=s3cr3t-value" },
			summary: "Invalid API token", path: dcAttr("DC1", "api_token"),
			detail: dcDetail("DC1", "api_token", `API token must have the form USER@REALM!TOKENID=SECRET: token id "root!moxxie": user "root" must have the form USER@REALM`)},
		{name: "provider/username without password", provider: func(d dcMaps) { d["DC1"]["api_token"] = nil; d["DC1"]["username"] = "root@pam" },
			summary: "Missing password", path: dcAttr("DC1", "password"),
			detail: dcDetail("DC1", "password", `username "root@pam" is set but no password: set password or MOXXIE_DC1_PASSWORD.`)},
		{name: "provider/no credentials (reported by configure)", provider: func(d dcMaps) { d["DC3"]["api_token"] = nil },
			summary: "Missing credentials", path: dcAttr("DC3", "api_token"),
			detail: dcDetail("DC3", "api_token", `Set api_token (USER@REALM!TOKENID=SECRET), the environment variable MOXXIE_DC3_API_TOKEN, or username and password.`)},
		{name: "provider/empty api token", provider: func(d dcMaps) { d["DC1"]["api_token"] = "" },
			summary: "Empty credential", path: dcAttr("DC1", "api_token"),
			detail: dcDetail("DC1", "api_token", `api_token is set to an empty string; set it, or leave api_token out to take it from the environment variable MOXXIE_DC1_API_TOKEN.`)},
		{name: "provider/two datacenters on one url", provider: func(d dcMaps) { d["DC3"]["proxmox_url"] = d["DC1"]["proxmox_url"] },
			summary: "Duplicate Proxmox URL", path: dcAttr("DC3", "proxmox_url"),
			detail: dcDetail("DC3", "proxmox_url", `"DC1" and "DC3" both use `+strings.TrimSuffix(env.endpoints["DC1"].URL, "/")+`/api2/json; each datacenter must be its own cluster, else moxxie lists every VM twice and counts its capacity twice.`)},
		{name: "provider/fingerprint too short", provider: func(d dcMaps) { d["DC1"]["tls_fingerprint"] = "AB:CD" },
			summary: "Invalid TLS fingerprint", path: dcAttr("DC1", "tls_fingerprint"),
			detail: dcDetail("DC1", "tls_fingerprint", `TLS fingerprint "AB:CD" must be a SHA-256 (32 bytes), got 2 bytes`)},
		{name: "provider/fingerprint not hex", provider: func(d dcMaps) { d["DC1"]["tls_fingerprint"] = "sha256:AB" },
			summary: "Invalid TLS fingerprint", path: dcAttr("DC1", "tls_fingerprint"),
			detail: dcDetail("DC1", "tls_fingerprint", `TLS fingerprint "sha256:AB" must be hex digits, optionally separated by ':'`)},
		{name: "provider/insecure and pinned", provider: func(d dcMaps) { d["DC1"]["tls_insecure"] = true },
			summary: "Conflicting TLS settings", path: dcAttr("DC1", "tls_insecure"),
			detail: dcDetail("DC1", "tls_insecure", `tls_insecure = true turns verification off, while tls_fingerprint pins a certificate; keep one of them.`)},
		{name: "provider/CA that is no PEM", provider: func(d dcMaps) { d["DC1"]["tls_ca_pem"] = "MIIB...not a pem" },
			summary: "Invalid CA certificate", path: dcAttr("DC1", "tls_ca_pem"),
			detail: dcDetail("DC1", "tls_ca_pem", `no PEM certificate found`)},
		{name: "provider/CIDR /33", provider: func(d dcMaps) { d.network("DC1")["ip_range"] = "172.16.0.0/33" },
			summary: "Invalid IP range", path: dcAttr("DC1", "network", "ip_range"),
			detail: dcDetail("DC1", "network.ip_range", `invalid ip_range "172.16.0.0/33": must be an IPv4 CIDR such as 172.16.0.0/16`)},
		{name: "provider/CIDR with host bits", provider: func(d dcMaps) { d.network("DC1")["ip_range"] = "172.16.0.1/16" },
			summary: "Invalid IP range", path: dcAttr("DC1", "network", "ip_range"),
			detail: dcDetail("DC1", "network.ip_range", `invalid ip_range "172.16.0.1/16": host bits are set; did you mean 172.16.0.0/16?`)},
		{name: "provider/IPv6 range", provider: func(d dcMaps) { d.network("DC1")["ip_range"] = "fd00::/64" },
			summary: "Invalid IP range", path: dcAttr("DC1", "network", "ip_range"),
			detail: dcDetail("DC1", "network.ip_range", `invalid ip_range "fd00::/64": IPv4 only: fd00::/64 is an IPv6 prefix`)},
		{name: "provider/overlapping datacenter ranges", provider: func(d dcMaps) { d.network("DC2")["ip_range"] = "172.16.128.0/17" },
			summary: "Overlapping IP ranges", path: dcAttr("DC2", "network", "ip_range"),
			detail: dcDetail("DC2", "network.ip_range", `ip_range 172.16.128.0/17 of "DC2" overlaps ip_range 172.16.0.0/16 of "DC1"; datacenters must use disjoint ranges so their networks stay isolated.`)},
		{name: "provider/vlan range not A-B", provider: func(d dcMaps) { d.network("DC1")["vlan_range"] = "100" },
			summary: "Invalid VLAN range", path: dcAttr("DC1", "network", "vlan_range"),
			detail: dcDetail("DC1", "network.vlan_range", `invalid vlan_range "100": must be A-B (e.g. 100-2000); for a single VLAN write 100-100`)},
		{name: "provider/vlan range with three bounds", provider: func(d dcMaps) { d.network("DC1")["vlan_range"] = "100-200-300" },
			summary: "Invalid VLAN range", path: dcAttr("DC1", "network", "vlan_range"),
			detail: dcDetail("DC1", "network.vlan_range", `invalid vlan_range "100-200-300": must be A-B (e.g. 100-2000)`)},
		{name: "provider/vlan range reversed", provider: func(d dcMaps) { d.network("DC1")["vlan_range"] = "2000-100" },
			summary: "Invalid VLAN range", path: dcAttr("DC1", "network", "vlan_range"),
			detail: dcDetail("DC1", "network.vlan_range", `invalid vlan_range "2000-100": start 2000 is greater than end 100`)},
		{name: "provider/vlan range from 0", provider: func(d dcMaps) { d.network("DC1")["vlan_range"] = "0-100" },
			summary: "Invalid VLAN range", path: dcAttr("DC1", "network", "vlan_range"),
			detail: dcDetail("DC1", "network.vlan_range", `invalid vlan_range "0-100": start 0 is out of 1..4094`)},
		{name: "provider/vlan range past 4094", provider: func(d dcMaps) { d.network("DC1")["vlan_range"] = "100-4095" },
			summary: "Invalid VLAN range", path: dcAttr("DC1", "network", "vlan_range"),
			detail: dcDetail("DC1", "network.vlan_range", `invalid vlan_range "100-4095": end 4095 is out of 1..4094`)},
		{name: "provider/vlan range of words", provider: func(d dcMaps) { d.network("DC1")["vlan_range"] = "a-b" },
			summary: "Invalid VLAN range", path: dcAttr("DC1", "network", "vlan_range"),
			detail: dcDetail("DC1", "network.vlan_range", `invalid vlan_range "a-b": start "a" is not a whole number`)},
		{name: "provider/Q-in-Q without service VLAN", provider: func(d dcMaps) { d.network("DC1")["qinq_enabled"] = true },
			summary: "Missing service VLAN", path: dcAttr("DC1", "network", "service_vlan"),
			detail: dcDetail("DC1", "network.service_vlan", `qinq_enabled = true needs service_vlan, the outer 802.1ad S-tag (1-4094) that the switches carry between sites.`)},
		{name: "provider/service VLAN without Q-in-Q", provider: func(d dcMaps) { d.network("DC1")["service_vlan"] = 3000 },
			summary: "Service VLAN without Q-in-Q", path: dcAttr("DC1", "network", "service_vlan"),
			detail: dcDetail("DC1", "network.service_vlan", `service_vlan is only used when qinq_enabled = true; set qinq_enabled or remove service_vlan.`)},
		{name: "provider/service VLAN 4095", provider: func(d dcMaps) { d.network("DC2")["service_vlan"] = 4095 },
			summary: "Invalid service VLAN", path: dcAttr("DC2", "network", "service_vlan"),
			detail: dcDetail("DC2", "network.service_vlan", `service_vlan 4095 is out of 1..4094`)},
		{name: "provider/subnet prefix shorter than the range", provider: func(d dcMaps) { d.network("DC1")["subnet_prefix"] = 8 },
			summary: "Invalid subnet prefix", path: dcAttr("DC1", "network", "subnet_prefix"),
			detail: dcDetail("DC1", "network.subnet_prefix", `prefix length /8 is shorter than ip_range 172.16.0.0/16: a block must fit inside the range (use /16..32)`)},
		{name: "provider/subnet prefix past /32", provider: func(d dcMaps) { d.network("DC1")["subnet_prefix"] = 33 },
			summary: "Invalid subnet prefix", path: dcAttr("DC1", "network", "subnet_prefix"),
			detail: dcDetail("DC1", "network.subnet_prefix", `prefix length /33 is longer than /32`)},
		{name: "provider/bridge name", provider: func(d dcMaps) { d.network("DC1")["bridge"] = "vm br0" },
			summary: "Invalid bridge", path: dcAttr("DC1", "network", "bridge"),
			detail: dcDetail("DC1", "network.bridge", `"vm br0" is not a Proxmox bridge name.`)},
		{name: "provider/limit of zero VMs", provider: func(d dcMaps) { d["DC1"]["limits"] = map[string]any{"max_vms": 0} },
			summary: "Invalid limit", path: dcAttr("DC1", "limits", "max_vms"),
			detail: dcDetail("DC1", "limits.max_vms", `limits.max_vms must be at least 1 (leave it out for no limit), got 0.`)},
		{name: "provider/negative core limit", provider: func(d dcMaps) { d["DC1"]["limits"] = map[string]any{"max_cores": -4} },
			summary: "Invalid limit", path: dcAttr("DC1", "limits", "max_cores"),
			detail: dcDetail("DC1", "limits.max_cores", `limits.max_cores must be at least 1 (leave it out for no limit), got -4.`)},
		{name: "provider/cpu allocation ratio of zero", provider: func(d dcMaps) { d["DC1"]["placement"] = map[string]any{"cpu_allocation_ratio": 0} },
			summary: "Invalid allocation ratio", path: dcAttr("DC1", "placement", "cpu_allocation_ratio"),
			detail: dcDetail("DC1", "placement.cpu_allocation_ratio", `placement.cpu_allocation_ratio must be a number above 0 (1 means no overcommit; leave it out for the default), got 0.`)},
		{name: "provider/negative memory allocation ratio", provider: func(d dcMaps) { d["DC1"]["placement"] = map[string]any{"memory_allocation_ratio": tfNumber("-0.5")} },
			summary: "Invalid allocation ratio", path: dcAttr("DC1", "placement", "memory_allocation_ratio"),
			detail: dcDetail("DC1", "placement.memory_allocation_ratio", `placement.memory_allocation_ratio must be a number above 0 (1 means no overcommit; leave it out for the default), got -0.5.`)},
		{name: "provider/negative reserved memory", provider: func(d dcMaps) { d["DC1"]["placement"] = map[string]any{"reserved_memory_mb": -1} },
			summary: "Invalid reserved memory", path: dcAttr("DC1", "placement", "reserved_memory_mb"),
			detail: dcDetail("DC1", "placement.reserved_memory_mb", `placement.reserved_memory_mb must be 0 or more, got -1.`)},
		{name: "provider/memory limit past int64", provider: func(d dcMaps) { d["DC1"]["limits"] = map[string]any{"max_memory_mb": tfNumber("99999999999999999999")} },
			summary: "Invalid number", path: dcAttr("DC1", "limits", "max_memory_mb"),
			detail: `datacenters["DC1"].limits.max_memory_mb must be a whole number of at least 1, got 99999999999999999999.`},
		{name: "provider/fractional service VLAN", provider: func(d dcMaps) { d.network("DC2")["service_vlan"] = tfNumber("3000.5") },
			summary: "Invalid number", path: dcAttr("DC2", "network", "service_vlan"),
			detail: `datacenters["DC2"].network.service_vlan must be a whole number from 1 to 4094, got 3000.5.`},
		{name: "provider/concurrency 0", provider: func(d dcMaps) { d["DC1"]["max_concurrent_requests"] = 0 },
			summary: "Invalid concurrency limit", path: dcAttr("DC1", "max_concurrent_requests"),
			detail: dcDetail("DC1", "max_concurrent_requests", `max_concurrent_requests must be between 1 and 256, got 0.`)},
		{name: "provider/connect timeout without unit", provider: func(d dcMaps) { d["DC1"]["connect_timeout"] = "10" },
			summary: "Invalid connect timeout", path: dcAttr("DC1", "connect_timeout"),
			detail: dcDetail("DC1", "connect_timeout", `"10" is not a duration such as "10s" or "1m".`)},
		{name: "provider/connect timeout too short", provider: func(d dcMaps) { d["DC2"]["connect_timeout"] = "1ms" },
			summary: "Invalid connect timeout", path: dcAttr("DC2", "connect_timeout"),
			detail: dcDetail("DC2", "connect_timeout", `connect_timeout must be between 100ms and 5m0s, got 1ms.`)},
		{name: "provider/router address IPv6", provider: func(d dcMaps) { d["DC1"]["router_address"] = "fd00::1" },
			summary: "Invalid router address", path: dcAttr("DC1", "router_address"),
			detail: dcDetail("DC1", "router_address", `"fd00::1" is not an IPv4 address.`)},
		{name: "provider/storage id", provider: func(d dcMaps) { d["DC1"]["storage"] = "Local LVM" },
			summary: "Invalid storage", path: dcAttr("DC1", "storage"),
			detail: dcDetail("DC1", "storage", `"Local LVM" is not a Proxmox storage id (lower-case letters, digits, '-', '_', '.').`)},
		{name: "provider/datacenter name", provider: func(d dcMaps) { d["1st"] = d["DC3"]; delete(d, "DC3") },
			summary: "Invalid datacenter name", path: dcAttr("1st"),
			detail: dcDetail("1st", "", `"1st" must start with a letter and hold only letters, digits, '-' and '_' (at most 40 characters).`)},
		{name: "provider/no datacenters", provider: func(d dcMaps) { clear(d) },
			summary: "Missing datacenters", path: protoPath("datacenters"), detail: "Declare at least one datacenter."},

		// moxxie_vm
		{name: "vm/unknown datacenter", resource: "moxxie_vm", config: withAttrs(vm, "datacenter", "DC9"),
			summary: "Unknown datacenter", path: protoPath("datacenter"), detail: unknownDC9},
		{name: "vm/empty datacenter", resource: "moxxie_vm", config: withAttrs(vm, "datacenter", ""),
			summary: "Invalid Attribute Value Length", path: protoPath("datacenter"), detail: `Attribute datacenter string length must be at least 1, got: 0`},
		{name: "vm/zero cores", resource: "moxxie_vm", config: withAttrs(vm, "cores", 0),
			summary: "Invalid Attribute Value", path: protoPath("cores"), detail: `Attribute cores value must be between 1 and 1024, got: 0`},
		{name: "vm/negative cores", resource: "moxxie_vm", config: withAttrs(vm, "cores", -2),
			summary: "Invalid Attribute Value", path: protoPath("cores"), detail: `Attribute cores value must be between 1 and 1024, got: -2`},
		{name: "vm/fractional cores", resource: "moxxie_vm", config: withAttrs(vm, "cores", tfNumber("1.5")),
			summary: "Invalid number", path: protoPath("cores"), detail: `cores must be a whole number from 1 to 1024, got 1.5.`},
		{name: "vm/memory past int64", resource: "moxxie_vm", config: withAttrs(vm, "memory_mb", tfNumber("99999999999999999999")),
			summary: "Invalid number", path: protoPath("memory_mb"), detail: `memory_mb must be a whole number of at least 16, got 99999999999999999999.`},
		{name: "vm/disk size 1e400", resource: "moxxie_vm", config: withAttrs(vm, "disk", []any{map[string]any{"slot": "scsi0", "size_gb": tfNumber("1e400")}}),
			summary: "Invalid number", path: protoPath("disk", 0, "size_gb"), detail: `disk[0].size_gb must be a whole number of at least 1, got 1e+400.`},
		{name: "vm/nic vlan 1.5", resource: "moxxie_vm", config: withAttrs(vm, "network_interface", []any{map[string]any{"bridge": "vmbr0", "vlan_id": tfNumber("1.5")}}),
			summary: "Invalid number", path: protoPath("network_interface", 0, "vlan_id"), detail: `network_interface[0].vlan_id must be a whole number from 1 to 4094, got 1.5.`},
		{name: "allocation/vlan past int64", resource: "moxxie_network_allocation", config: map[string]any{"datacenter": "DC1", "client_id": "acme", "vlan_id": tfNumber("1e30")},
			summary: "Invalid number", path: protoPath("vlan_id"), detail: `vlan_id must be a whole number from 1 to 4094, got 1000000000000000000000000000000.`},
		{name: "vm/memory below 16 MiB", resource: "moxxie_vm", config: withAttrs(vm, "memory_mb", 8),
			summary: "Invalid Attribute Value", path: protoPath("memory_mb"), detail: `Attribute memory_mb value must be at least 16, got: 8`},
		{name: "vm/name not a DNS name", resource: "moxxie_vm", config: withAttrs(vm, "name", "web_1"),
			summary: "Invalid Attribute Value Match", path: protoPath("name"),
			detail: `Attribute name must be a DNS name (letters, digits, '-' and '.'), got: web_1`},
		{name: "vm/reserved identity tag", resource: "moxxie_vm", config: withAttrs(vm, "tags", tfSet{"moxxie-0123456789abcdef"}),
			summary: "Invalid value", path: protoPath("tags", pathSetElem("moxxie-0123456789abcdef")),
			detail: `"moxxie-0123456789abcdef" is the form of moxxie's own identity tag, which moxxie sets itself.`},
		{name: "vm/upper-case tag", resource: "moxxie_vm", config: withAttrs(vm, "tags", tfSet{"Prod"}),
			summary: "Invalid Attribute Value Match", path: protoPath("tags", pathSetElem("Prod")),
			detail: `Attribute tags[Value("Prod")] must hold only lower-case letters, digits and _+.-, got: Prod`},
		{name: "vm/description too long", resource: "moxxie_vm", config: withAttrs(vm, "description", strings.Repeat("x", 8193)),
			summary: "Invalid Attribute Value Length", path: protoPath("description"),
			detail: `Attribute description string length must be at most 8192, got: 8193`},
		{name: "vm/nic with allocation and bridge", resource: "moxxie_vm", config: nic("allocation_id", "DC1/acme/default", "bridge", "vmbr0"),
			summary: "Conflicting attachment", path: nicPath("bridge"),
			detail: "Set either allocation_id or bridge, not both: an allocation brings its own vnet."},
		{name: "vm/nic with no attachment", resource: "moxxie_vm", config: nic("model", "virtio"),
			summary: "Missing attachment", path: nicPath(), detail: "Each network_interface needs allocation_id or bridge."},
		{name: "vm/nic vlan on an allocation", resource: "moxxie_vm", config: nic("allocation_id", "DC1/acme/default", "vlan_id", 100),
			summary: "VLAN with an allocation", path: nicPath("vlan_id"),
			detail: "vlan_id goes with bridge; an allocation's vnet carries its VLAN itself."},
		{name: "vm/ip on a bridge nic", resource: "moxxie_vm", config: nic("bridge", "vmbr0", "ip", "172.16.0.5"),
			summary: "Address without an allocation", path: nicPath("ip"),
			detail: "moxxie manages addresses only on allocations; use allocation_id, or configure the guest's address yourself."},
		{name: "vm/ip not an address", resource: "moxxie_vm", config: nic("allocation_id", "DC1/acme/default", "ip", "172.16.0.300"),
			summary: "Invalid address", path: nicPath("ip"),
			detail: `"172.16.0.300" is not an IPv4 address (give the address alone; the prefix comes from the allocation).`},
		{name: "vm/ip with prefix", resource: "moxxie_vm", config: nic("allocation_id", "DC1/acme/default", "ip", "172.16.0.5/24"),
			summary: "Invalid address", path: nicPath("ip"),
			detail: `"172.16.0.5/24" is not an IPv4 address (give the address alone; the prefix comes from the allocation).`},
		{name: "vm/malformed allocation id", resource: "moxxie_vm", config: nic("allocation_id", "acme"),
			summary: "Invalid allocation ID", path: nicPath("allocation_id"), detail: allocForm("acme")},
		{name: "vm/nic on another datacenter's allocation", resource: "moxxie_vm", config: nic("allocation_id", "DC2/acme/default"),
			summary: "Network from another datacenter", path: nicPath("allocation_id"),
			detail: "Allocation DC2/acme/default belongs to datacenter DC2, but the VM is in DC1; datacenters' networks are isolated, so allocate a network in DC1."},
		{name: "vm/nic vlan 4095", resource: "moxxie_vm", config: nic("bridge", "vmbr0", "vlan_id", 4095),
			summary: "Invalid Attribute Value", path: nicPath("vlan_id"),
			detail: `Attribute network_interface[0].vlan_id value must be between 1 and 4094, got: 4095`},
		{name: "vm/nic model", resource: "moxxie_vm", config: nic("bridge", "vmbr0", "model", "rtl9999"),
			summary: "Invalid Attribute Value Match", path: nicPath("model"),
			detail: `Attribute network_interface[0].model value must be one of: ["e1000" "e1000-82540em" "e1000-82544gc" "e1000-82545em" "e1000e" "i82551" "i82557b" "i82559er" "ne2k_isa" "ne2k_pci" "pcnet" "rtl8139" "virtio" "vmxnet3"], got: "rtl9999"`},
		{name: "vm/disk slot PVE does not know", resource: "moxxie_vm", config: withAttrs(vm, "disk", []any{map[string]any{"slot": "nvme0", "size_gb": 8}}),
			summary: "Invalid disk slot", path: protoPath("disk", 0, "slot"),
			detail: `"nvme0" is not a disk slot PVE knows: use scsi0-30, virtio0-15, sata0-5 or ide0-3.`},
		{name: "vm/two disks on one slot", resource: "moxxie_vm", config: withAttrs(vm, "disk", []any{map[string]any{"slot": "scsi0", "size_gb": 4}, map[string]any{"slot": "scsi0", "size_gb": 8}}),
			summary: "Duplicate disk slot", path: protoPath("disk", 1, "slot"),
			detail: `Disks 0 and 1 both use scsi0; each slot holds one disk.`},
		{name: "vm/disk on the cloud-init slot", resource: "moxxie_vm", config: withAttrs(withAttrs(vm, "cloud_init", map[string]any{"user": "debian"}), "disk", []any{map[string]any{"slot": "ide2", "size_gb": 8}}),
			summary: "Slot taken by cloud-init", path: protoPath("disk", 0, "slot"),
			detail: `ide2 holds the cloud-init drive when cloud_init is set; put this disk on another slot.`},
		{name: "vm/disk slot missing size", resource: "moxxie_vm", config: withAttrs(vm, "disk", []any{map[string]any{"slot": "scsi0"}}),
			summary: "Missing Configuration for Required Attribute", path: protoPath("disk", 0, "size_gb"),
			detail: "Must set a configuration value for the disk[0].size_gb attribute as the provider has marked it as required.\n\n" +
				"Refer to the provider documentation or contact the provider developers for additional information about configurable attributes that are required."},
		{name: "vm/disk of zero size", resource: "moxxie_vm", config: withAttrs(vm, "disk", []any{map[string]any{"slot": "scsi0", "size_gb": 0}}),
			summary: "Invalid Attribute Value", path: protoPath("disk", 0, "size_gb"), detail: `Attribute disk[0].size_gb value must be at least 1, got: 0`},
		{name: "vm/clone of an unnamed template", resource: "moxxie_vm", config: withAttrs(vm, "clone", map[string]any{"template": ""}),
			summary: "Invalid Attribute Value Length", path: protoPath("clone", "template"), detail: `Attribute clone.template string length must be at least 1, got: 0`},
		{name: "vm/failover to its own datacenter", resource: "moxxie_vm", config: withAttrs(vm, "failover_datacenter", "DC1"),
			summary: "Failover to the same datacenter", path: protoPath("failover_datacenter"),
			detail: "failover_datacenter must differ from datacenter (DC1): a failover moves the VM to another cluster."},
		{name: "vm/failover to an unknown datacenter", resource: "moxxie_vm", config: withAttrs(vm, "failover_datacenter", "DC9"),
			summary: "Unknown datacenter", path: protoPath("failover_datacenter"), detail: unknownDC9},

		// moxxie_network_allocation
		{name: "allocation/client id with a space", resource: "moxxie_network_allocation", config: withAttrs(alloc, "client_id", "ac me"),
			summary: "Invalid Attribute Value Match", path: protoPath("client_id"),
			detail: `Attribute client_id must be 1-64 letters, digits, '_', '.' or '-', got: ac me`},
		{name: "allocation/name with a slash", resource: "moxxie_network_allocation", config: withAttrs(alloc, "name", "web/db"),
			summary: "Invalid Attribute Value Match", path: protoPath("name"),
			detail: `Attribute name must be 1-64 letters, digits, '_', '.' or '-', got: web/db`},
		{name: "allocation/vlan 0", resource: "moxxie_network_allocation", config: withAttrs(alloc, "vlan_id", 0),
			summary: "Invalid Attribute Value", path: protoPath("vlan_id"), detail: `Attribute vlan_id value must be between 1 and 4094, got: 0`},
		{name: "allocation/vlan 5000", resource: "moxxie_network_allocation", config: withAttrs(alloc, "vlan_id", 5000),
			summary: "Invalid Attribute Value", path: protoPath("vlan_id"), detail: `Attribute vlan_id value must be between 1 and 4094, got: 5000`},
		{name: "allocation/vlan outside the datacenter's range", resource: "moxxie_network_allocation", config: withAttrs(alloc, "vlan_id", 50),
			summary: "VLAN outside the datacenter's pool", path: protoPath("vlan_id"), detail: "VLAN 50 is outside vlan_range 100-2000 of datacenter DC1."},
		{name: "allocation/datacenter without network block", resource: "moxxie_network_allocation", config: withAttrs(alloc, "datacenter", "DC3"),
			summary: "Invalid datacenter", path: protoPath("datacenter"),
			detail: `datacenter "DC3" declares no network block in the provider configuration, so it has no pools to allocate from`},
		{name: "allocation/unknown datacenter", resource: "moxxie_network_allocation", config: withAttrs(alloc, "datacenter", "DC9"),
			summary: "Invalid datacenter", path: protoPath("datacenter"), detail: unknownDC9},
		{name: "allocation/prefix larger than the pool", resource: "moxxie_network_allocation", config: withAttrs(alloc, "prefix_length", 8),
			summary: "Subnet larger than the pool", path: protoPath("prefix_length"),
			detail: "prefix_length 8 is shorter than ip_range 172.16.0.0/16 of datacenter DC1."},
		{name: "allocation/prefix past 32", resource: "moxxie_network_allocation", config: withAttrs(alloc, "prefix_length", 33),
			summary: "Invalid Attribute Value", path: protoPath("prefix_length"), detail: `Attribute prefix_length value must be between 1 and 32, got: 33`},

		// moxxie_dc_migration
		{name: "migration/bad type", resource: "moxxie_dc_migration", config: withAttrs(migration, "migration_type", "teleport"),
			summary: "Invalid Attribute Value Match", path: protoPath("migration_type"),
			detail: `Attribute migration_type value must be one of: ["offline" "live"], got: "teleport"`},
		{name: "migration/unknown target datacenter", resource: "moxxie_dc_migration", config: withAttrs(migration, "target_datacenter", "DC9"),
			summary: "Unknown datacenter", path: protoPath("target_datacenter"), detail: unknownDC9},
		{name: "migration/zero bandwidth", resource: "moxxie_dc_migration", config: withAttrs(migration, "bandwidth_limit_kib", 0),
			summary: "Invalid Attribute Value", path: protoPath("bandwidth_limit_kib"), detail: `Attribute bandwidth_limit_kib value must be at least 1, got: 0`},
		{name: "migration/vm that exists nowhere", resource: "moxxie_dc_migration", config: migration,
			summary: "VM not found", path: protoPath("vm_id"), detail: "No datacenter holds a VM with id 0123456789abcdef."},

		// Data sources.
		{name: "data/datacenter unknown", data: "moxxie_datacenter", config: map[string]any{"name": "DC9"},
			summary: "Unknown datacenter", path: protoPath("name"), detail: unknownDC9},
		{name: "data/vms bad name_regex", data: "moxxie_vms", config: map[string]any{"name_regex": "web-("},
			summary: "Invalid regular expression", path: protoPath("name_regex"), detail: "error parsing regexp: missing closing ): `web-(`"},
		{name: "data/vms unknown datacenter", data: "moxxie_vms", config: map[string]any{"datacenter": "DC9"},
			summary: "Unknown datacenter", path: protoPath("datacenter"), detail: unknownDC9},

		// Import ids.
		{name: "import/vm with a dash", importOf: "moxxie_vm", importID: "DC1-105",
			summary: "Invalid import ID", detail: `import ID "DC1-105" must be DATACENTER/VMID, e.g. DC1/105`},
		{name: "import/vm with a word for VMID", importOf: "moxxie_vm", importID: "DC1/abc",
			summary: "Invalid import ID", detail: `import ID "DC1/abc": VMID "abc" must be a number from 100 to 999999999`},
		{name: "import/vm with VMID below 100", importOf: "moxxie_vm", importID: "DC1/99",
			summary: "Invalid import ID", detail: `import ID "DC1/99": VMID "99" must be a number from 100 to 999999999`},
		{name: "import/vm in an unknown datacenter", importOf: "moxxie_vm", importID: "DC9/105",
			summary: "Invalid import ID", detail: unknownDC9},
		{name: "import/allocation without client", importOf: "moxxie_network_allocation", importID: "DC1",
			summary: "Invalid import ID", detail: allocForm("DC1")},
		{name: "import/allocation with a foreign vnet", importOf: "moxxie_network_allocation", importID: "DC1/vnet1",
			summary: "Invalid import ID", detail: allocForm("DC1/vnet1")},
		{name: "import/allocation in a datacenter without network", importOf: "moxxie_network_allocation", importID: "DC3/mxv100",
			summary: "Invalid import ID",
			detail:  `datacenter "DC3" declares no network block in the provider configuration, so it has no pools to allocate from`},
	}
}

// Every invalid input is refused with its own diagnostic on the exact attribute, before anything
// is written to a cluster: provider-block and validation errors before any request at all.
func TestAccBadInputs(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"}, simDC{name: "DC2"}, simDC{name: "DC3"})
	// Requests are counted inside the simulators: against external endpoints only the diagnostics
	// are checked.
	counted := !env.external
	env.checkDestroyAtEnd(t)
	for _, row := range badInputs(env) {
		t.Run(row.name, func(t *testing.T) {
			h := newProtoHarness(t, env)
			resetSimRequests(env)
			var diags []*tfprotov6.Diagnostic
			mayRead := false
			switch {
			case row.provider != nil:
				dcs := goodDatacenters(env)
				row.provider(dcs)
				diags = h.validateProvider(dcs.config())
			case row.importOf != "":
				h.mustConfigure(goodDatacenters(env).config())
				diags = h.importState(row.importOf, row.importID)
			case row.data != "":
				h.mustConfigure(goodDatacenters(env).config())
				diags, mayRead = h.readData(row.data, row.config)
			default:
				h.mustConfigure(goodDatacenters(env).config())
				diags, mayRead = h.planCreate(row.resource, row.config)
			}
			errs := protoErrors(diags)
			if len(errs) != 1 {
				t.Fatalf("want exactly one error %q, got %d:%s", row.summary, len(errs), showProtoDiags(diags))
			}
			got := errs[0]
			if got.Summary != row.summary || got.Detail != row.detail {
				t.Errorf("diagnostic:\n  got  %q / %q\n  want %q / %q", got.Summary, got.Detail, row.summary, row.detail)
			}
			switch {
			case row.path == nil && got.Attribute != nil:
				t.Errorf("diagnostic points at %s; want no attribute", got.Attribute)
			case row.path != nil && (got.Attribute == nil || !got.Attribute.Equal(row.path)):
				t.Errorf("diagnostic points at %v; want %s", got.Attribute, row.path)
			}
			if w := simWrites(env); counted && len(w) > 0 {
				t.Errorf("a refused input wrote to a cluster: %v", w)
			}
			if n := simRequestTotal(env); counted && !mayRead && n > 0 {
				t.Errorf("%d requests reached a cluster before planning began", n)
			}
		})
	}
}

// Values not known until apply skip a check; they never fail it (nor write anything early).
func TestAccUnknownInputsAreNotErrors(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"}, simDC{name: "DC2"}, simDC{name: "DC3"})
	// Requests are counted inside the simulators: against external endpoints only the diagnostics
	// are checked.
	counted := !env.external
	env.checkDestroyAtEnd(t)
	vm := map[string]any{"name": "web-1", "datacenter": "DC1"}
	rows := []struct {
		name     string
		provider func(dcMaps)
		resource string
		config   map[string]any
	}{
		{name: "provider/ip_range", provider: func(d dcMaps) { d.network("DC1")["ip_range"] = tfUnknown{} }},
		{name: "provider/network block", provider: func(d dcMaps) { d["DC1"]["network"] = tfUnknown{} }},
		{name: "provider/service_vlan", provider: func(d dcMaps) { d.network("DC2")["service_vlan"] = tfUnknown{} }},
		{name: "provider/tls_fingerprint", provider: func(d dcMaps) { d["DC2"]["tls_fingerprint"] = tfUnknown{} }},
		{name: "provider/api_token", provider: func(d dcMaps) { d["DC2"]["api_token"] = tfUnknown{} }},
		{name: "provider/proxmox_url", provider: func(d dcMaps) { d["DC2"]["proxmox_url"] = tfUnknown{} }},
		{name: "provider/connect_timeout", provider: func(d dcMaps) { d["DC2"]["connect_timeout"] = tfUnknown{} }},
		{name: "vm/datacenter", resource: "moxxie_vm", config: withAttrs(vm, "datacenter", tfUnknown{})},
		{name: "vm/cores", resource: "moxxie_vm", config: withAttrs(vm, "cores", tfUnknown{})},
		{name: "vm/allocation_id", resource: "moxxie_vm", config: withAttrs(vm, "network_interface", []any{map[string]any{"allocation_id": tfUnknown{}}})},
		{name: "vm/failover_datacenter", resource: "moxxie_vm", config: withAttrs(vm, "failover_datacenter", tfUnknown{})},
		{name: "vm/affinity names", resource: "moxxie_vm", config: withAttrs(vm, "affinity", map[string]any{"require_different_dc": tfSet{tfUnknown{}}})},
		{name: "allocation/datacenter", resource: "moxxie_network_allocation", config: map[string]any{"datacenter": tfUnknown{}, "client_id": "acme"}},
		{name: "allocation/vlan_id", resource: "moxxie_network_allocation", config: map[string]any{"datacenter": "DC1", "client_id": "acme", "vlan_id": tfUnknown{}}},
		{name: "migration/vm_id", resource: "moxxie_dc_migration", config: map[string]any{"vm_id": tfUnknown{}, "target_datacenter": "DC2", "network_mapping": map[string]any{}}},
		{name: "migration/target", resource: "moxxie_dc_migration", config: map[string]any{"vm_id": "0123456789abcdef", "target_datacenter": tfUnknown{}, "network_mapping": map[string]any{}}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			h := newProtoHarness(t, env)
			resetSimRequests(env)
			dcs := goodDatacenters(env)
			var diags []*tfprotov6.Diagnostic
			if row.provider != nil {
				row.provider(dcs)
				diags = h.validateProvider(dcs.config())
			} else {
				h.mustConfigure(dcs.config())
				var planned bool
				if diags, planned = h.planCreate(row.resource, row.config); !planned {
					t.Fatalf("validation refused the configuration:%s", showProtoDiags(diags))
				}
			}
			if errs := protoErrors(diags); len(errs) > 0 {
				t.Fatalf("an unknown value failed a check:%s", showProtoDiags(errs))
			}
			if w := simWrites(env); counted && len(w) > 0 {
				t.Errorf("planning wrote to a cluster: %v", w)
			}
		})
	}
}
