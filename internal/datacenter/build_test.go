package datacenter

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

func i64(v int64) *int64 { return &v }

// valid returns a datacenter that passes every rule; each case breaks one thing.
func valid(name, ipRange string) Input {
	return Input{
		Name:       name,
		ProxmoxURL: "https://pve." + strings.ToLower(name) + ".example.net:8006",
		APIToken:   "root@pam!moxxie=0b5a1c2e-secret",
		Network:    &NetworkInput{IPRange: ipRange, VLANRange: "100-2000"},
	}
}

func TestBuildValid(t *testing.T) {
	dc2 := valid("DC2", "172.17.0.0/16")
	dc2.Network.QinQEnabled = true
	dc2.Network.ServiceVLAN = i64(3000)
	dc2.Network.SubnetPrefix = i64(26)
	dc2.Limits = &LimitsInput{MaxVMs: i64(10)}
	dc2.ConnectTimeout = "2500ms"
	set, errs := Build([]Input{valid("DC1", "172.16.0.0/16"), dc2}, nil)
	if len(errs) != 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if got := strings.Join(set.Names(), ","); got != "DC1,DC2" {
		t.Fatalf("names = %s", got)
	}
	d1 := set["DC1"]
	if d1.Conn.URL != "https://pve.dc1.example.net:8006/api2/json" || d1.Conn.TokenID != "root@pam!moxxie" || d1.Conn.TokenSecret != "0b5a1c2e-secret" {
		t.Fatalf("DC1 connection = %+v", d1.Conn)
	}
	if d1.Storage != DefaultStorage || d1.Network.Bridge != DefaultBridge || d1.Network.Pool.SubnetPrefix != DefaultSubnetPrefix || d1.Network.Pool.ServiceVLAN != 0 {
		t.Fatalf("DC1 defaults not applied: %+v %+v", d1, d1.Network)
	}
	d2 := set["DC2"]
	if d1.Conn.ConnectTimeout != 0 || d2.Conn.ConnectTimeout != 2500*time.Millisecond {
		t.Fatalf("connect timeouts = %v, %v; want unset (dcrouter's default) and 2.5s", d1.Conn.ConnectTimeout, d2.Conn.ConnectTimeout)
	}
	if !d2.Network.QinQ || d2.Network.Pool.ServiceVLAN != 3000 || d2.Network.Pool.SubnetPrefix != 26 || d2.Limits.MaxVMs != 10 || d2.Limits.MaxCores != 0 {
		t.Fatalf("DC2 = %+v %+v", d2, d2.Network)
	}
}

func f64(v float64) *float64 { return &v }

// The defaults never refuse what PVE runs: vCPUs unbounded per node, memory 1:1, nothing
// reserved, stopped VMs left out; what is set is taken as given.
func TestBuildPlacement(t *testing.T) {
	plain := valid("DC1", "172.16.0.0/16")
	tuned := valid("DC2", "172.17.0.0/16")
	tuned.Placement = &PlacementInput{CPUAllocationRatio: f64(4), MemoryAllocationRatio: f64(1.25), ReservedMemoryMB: i64(2048), CountStoppedVMs: true}
	half := valid("DC3", "172.18.0.0/16")
	half.Placement = &PlacementInput{CPUAllocationRatio: f64(2)}
	set, errs := Build([]Input{plain, tuned, half}, nil)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want := map[string]placement.Policy{
		"DC1": {MemoryRatio: 1},
		"DC2": {CPURatio: 4, MemoryRatio: 1.25, ReservedMemoryMB: 2048, CountStopped: true},
		"DC3": {CPURatio: 2, MemoryRatio: 1},
	}
	for dc, p := range want {
		if got := set[dc].Placement; got != p {
			t.Errorf("%s: placement = %+v, want %+v", dc, got, p)
		}
	}
}

func TestBuildTokenFromEnvironment(t *testing.T) {
	in := valid("dc-east", "10.0.0.0/8")
	in.APIToken = ""
	env := map[string]string{"MOXXIE_DC_EAST_API_TOKEN": "terraform@pve!ci=s3cr3t"}
	set, errs := Build([]Input{in}, func(k string) string { return env[k] })
	if len(errs) != 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if c := set["dc-east"].Conn; c.TokenID != "terraform@pve!ci" || c.TokenSecret != "s3cr3t" {
		t.Fatalf("token from env not used: %+v", c)
	}
}

func TestBuildRules(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*Input)
		field   string
		summary string
		detail  string // substring
	}{
		{"bad name", func(in *Input) { in.Name = "1st dc" }, "", "Invalid datacenter name", "must start with a letter"},
		{"url without scheme", func(in *Input) { in.ProxmoxURL = "pve.example.net:8006" }, "proxmox_url", "Invalid Proxmox URL", ""},
		{"url with ftp scheme", func(in *Input) { in.ProxmoxURL = "ftp://pve.example.net" }, "proxmox_url", "Invalid Proxmox URL", ""},
		{"malformed token", func(in *Input) { in.APIToken = "root@pam-no-id" }, "api_token", "Invalid API token", ""},
		{"no credentials", func(in *Input) { in.APIToken = "" }, "api_token", "Missing credentials", "MOXXIE_DC1_API_TOKEN"},
		{"username without password", func(in *Input) { in.APIToken = ""; in.Username = "root@pam" }, "password", "Missing password", "MOXXIE_DC1_PASSWORD"},
		{"bad fingerprint", func(in *Input) { in.TLSFingerprint = "AB:CD" }, "tls_fingerprint", "Invalid TLS fingerprint", ""},
		{"insecure and pinned", func(in *Input) {
			in.TLSInsecure = true
			in.TLSFingerprint = strings.Repeat("AB:", 31) + "AB"
		}, "tls_insecure", "Conflicting TLS settings", "keep one"},
		{"bad CA PEM", func(in *Input) { in.TLSCAPEM = "not a pem" }, "tls_ca_pem", "Invalid CA certificate", "no PEM certificate"},
		{"bad router address", func(in *Input) { in.RouterAddress = "172.16.0.300" }, "router_address", "Invalid router address", ""},
		{"bad storage", func(in *Input) { in.Storage = "Local LVM" }, "storage", "Invalid storage", ""},
		{"bad concurrency", func(in *Input) { in.MaxConcurrent = i64(0) }, "max_concurrent_requests", "Invalid concurrency limit", ""},
		{"connect timeout not a duration", func(in *Input) { in.ConnectTimeout = "10" }, "connect_timeout", "Invalid connect timeout", `"10" is not a duration`},
		{"connect timeout too short", func(in *Input) { in.ConnectTimeout = "10ms" }, "connect_timeout", "Invalid connect timeout", "between 100ms and 5m0s, got 10ms"},
		{"connect timeout negative", func(in *Input) { in.ConnectTimeout = "-5s" }, "connect_timeout", "Invalid connect timeout", "got -5s"},
		{"connect timeout too long", func(in *Input) { in.ConnectTimeout = "1h" }, "connect_timeout", "Invalid connect timeout", "got 1h0m0s"},
		{"bad bridge", func(in *Input) { in.Network.Bridge = "vm br0" }, "network.bridge", "Invalid bridge", ""},
		{"bad CIDR", func(in *Input) { in.Network.IPRange = "172.16.0.0/33" }, "network.ip_range", "Invalid IP range", ""},
		{"host bits set", func(in *Input) { in.Network.IPRange = "172.16.0.1/16" }, "network.ip_range", "Invalid IP range", "172.16.0.0/16"},
		{"vlan range not A-B", func(in *Input) { in.Network.VLANRange = "100" }, "network.vlan_range", "Invalid VLAN range", ""},
		{"vlan range out of 1..4094", func(in *Input) { in.Network.VLANRange = "0-5000" }, "network.vlan_range", "Invalid VLAN range", ""},
		{"vlan range reversed", func(in *Input) { in.Network.VLANRange = "2000-100" }, "network.vlan_range", "Invalid VLAN range", ""},
		{"subnet prefix shorter than range", func(in *Input) { in.Network.SubnetPrefix = i64(8) }, "network.subnet_prefix", "Invalid subnet prefix", ""},
		{"subnet prefix over 32", func(in *Input) { in.Network.SubnetPrefix = i64(33) }, "network.subnet_prefix", "Invalid subnet prefix", ""},
		{"qinq without service vlan", func(in *Input) { in.Network.QinQEnabled = true }, "network.service_vlan", "Missing service VLAN", "802.1ad"},
		{"qinq with service vlan out of range", func(in *Input) {
			in.Network.QinQEnabled = true
			in.Network.ServiceVLAN = i64(4095)
		}, "network.service_vlan", "Invalid service VLAN", ""},
		{"service vlan without qinq", func(in *Input) { in.Network.ServiceVLAN = i64(3000) }, "network.service_vlan", "Service VLAN without Q-in-Q", ""},
		{"subnet prefix beyond 32-bit int", func(in *Input) { in.Network.SubnetPrefix = i64(4294967320) }, "network.subnet_prefix", "Invalid subnet prefix", "4294967320 is not a prefix length"},
		{"service vlan beyond 32-bit int", func(in *Input) {
			in.Network.QinQEnabled = true
			in.Network.ServiceVLAN = i64(4294970296)
		}, "network.service_vlan", "Invalid service VLAN", "4294970296 is not a VLAN"},
		{"negative limit", func(in *Input) { in.Limits = &LimitsInput{MaxCores: i64(-4)} }, "limits.max_cores", "Invalid limit", "-4"},
		{"zero cpu ratio", func(in *Input) { in.Placement = &PlacementInput{CPUAllocationRatio: f64(0)} }, "placement.cpu_allocation_ratio", "Invalid allocation ratio", "got 0"},
		{"negative memory ratio", func(in *Input) { in.Placement = &PlacementInput{MemoryAllocationRatio: f64(-1.5)} }, "placement.memory_allocation_ratio", "Invalid allocation ratio", "got -1.5"},
		{"infinite memory ratio", func(in *Input) { in.Placement = &PlacementInput{MemoryAllocationRatio: f64(math.Inf(1))} }, "placement.memory_allocation_ratio", "Invalid allocation ratio", "above 0"},
		{"negative reserve", func(in *Input) { in.Placement = &PlacementInput{ReservedMemoryMB: i64(-1)} }, "placement.reserved_memory_mb", "Invalid reserved memory", "got -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := valid("DC1", "172.16.0.0/16")
			tc.mutate(&in)
			set, errs := Build([]Input{in}, nil)
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %d: %v", len(errs), errs)
			}
			e := errs[0]
			if e.DC != "DC1" && tc.field != "" || e.Field != tc.field || e.Summary != tc.summary || !strings.Contains(e.Detail, tc.detail) {
				t.Fatalf("got %+v, want field %q summary %q detail containing %q", e, tc.field, tc.summary, tc.detail)
			}
			if len(set) != 0 {
				t.Fatalf("an invalid datacenter must not be usable: %v", set.Names())
			}
		})
	}
}

func TestBuildRejectsOverlappingRanges(t *testing.T) {
	set, errs := Build([]Input{valid("DC1", "172.16.0.0/16"), valid("DC2", "172.16.128.0/17"), valid("DC3", "10.0.0.0/8")}, nil)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	e := errs[0]
	if e.DC != "DC2" || e.Field != "network.ip_range" || e.Summary != "Overlapping IP ranges" || !strings.Contains(e.Detail, `"DC1"`) {
		t.Fatalf("got %+v", e)
	}
	if _, ok := set["DC3"]; !ok || len(set) != 2 {
		t.Fatalf("only the offending datacenter is dropped, got %v", set.Names())
	}
}

func TestBuildRejectsNamesThatShareAnEnvVar(t *testing.T) {
	_, errs := Build([]Input{valid("dc1", "10.1.0.0/16"), valid("DC1", "10.2.0.0/16")}, nil)
	if len(errs) != 1 || errs[0].Summary != "Conflicting datacenter names" {
		t.Fatalf("got %v", errs)
	}
}

func TestBuildSkipsUnknownValues(t *testing.T) {
	in := valid("DC1", "")
	in.ProxmoxURL = ""
	in.APIToken = ""
	in.Network.VLANRange = ""
	in.ConnectTimeout = ""
	in.Unknown = map[string]bool{"proxmox_url": true, "api_token": true, "network.ip_range": true, "network.vlan_range": true, "connect_timeout": true}
	if _, errs := Build([]Input{in}, nil); len(errs) != 0 {
		t.Fatalf("unknown values must not fail validation: %v", errs)
	}
}

func TestTokenErrorsNeverShowTheSecret(t *testing.T) {
	in := valid("DC1", "10.0.0.0/8")
	in.APIToken = "no-realm!id=topsecretvalue"
	_, errs := Build([]Input{in}, nil)
	for _, e := range errs {
		if strings.Contains(e.Error(), "topsecretvalue") {
			t.Fatalf("secret leaked in %q", e.Error())
		}
	}
	if len(errs) == 0 {
		t.Fatal("a token without a realm must be rejected")
	}
}

// api_token = "" is a mistake, not "use the environment": only an attribute left out falls back.
func TestBuildEmptyCredentialIsAnError(t *testing.T) {
	env := map[string]string{"MOXXIE_DC1_API_TOKEN": "terraform@pve!ci=s3cr3t", "MOXXIE_DC1_PASSWORD": "pw"}
	for _, field := range []string{"api_token", "password"} {
		t.Run(field, func(t *testing.T) {
			in := valid("DC1", "172.16.0.0/16")
			in.APIToken = ""
			if field == "password" {
				in.Username = "root@pam"
			}
			in.Empty = map[string]bool{field: true}
			set, errs := Build([]Input{in}, func(k string) string { return env[k] })
			if len(errs) != 1 || errs[0].Field != field || errs[0].Summary != "Empty credential" || !strings.Contains(errs[0].Detail, "leave "+field+" out") {
				t.Fatalf("got %v (usable: %v)", errs, set.Names())
			}
		})
	}
}

// Two datacenters on one endpoint are one cluster counted twice.
func TestBuildRejectsSharedURL(t *testing.T) {
	dc2 := valid("DC2", "172.17.0.0/16")
	dc2.ProxmoxURL = "https://PVE.dc1.example.net:8006/api2/json" // DC1's, written differently
	set, errs := Build([]Input{dc2, valid("DC1", "172.16.0.0/16"), valid("DC3", "10.0.0.0/8")}, nil)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	if e := errs[0]; e.DC != "DC2" || e.Field != "proxmox_url" || e.Summary != "Duplicate Proxmox URL" || !strings.Contains(e.Detail, `"DC1" and "DC2"`) {
		t.Fatalf("got %+v", e)
	}
	if _, ok := set["DC2"]; ok {
		t.Fatalf("the duplicate must not be usable")
	}
}
