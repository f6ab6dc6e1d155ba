package datacenter

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

// FieldError is a problem with one field of one datacenter. Field is the attribute path below the
// datacenter ("network.ip_range"); empty means the datacenter entry as a whole.
type FieldError struct {
	DC      string
	Field   string
	Summary string
	Detail  string
}

func (e FieldError) Error() string {
	where := fmt.Sprintf("datacenters[%q]", e.DC)
	if e.Field != "" {
		where += "." + e.Field
	}
	return where + ": " + e.Summary + ": " + e.Detail
}

// Bounds of connect_timeout: below 100ms even a healthy handshake over a WAN link fails; above
// 5m a DC that does not answer stalls a walk for longer than anyone waits.
const (
	MinConnectTimeout = 100 * time.Millisecond
	MaxConnectTimeout = 5 * time.Minute
)

// Env looks up an environment variable; tests pass a map-backed one.
type Env func(key string) string

// TokenEnvVar is where a datacenter's API token may come from when the provider block omits it,
// as Terraform Cloud workspaces set credentials.
func TokenEnvVar(dc string) string { return "MOXXIE_" + envName(dc) + "_API_TOKEN" }

// PasswordEnvVar is the environment fallback for password authentication.
func PasswordEnvVar(dc string) string { return "MOXXIE_" + envName(dc) + "_PASSWORD" }

func envName(dc string) string {
	return strings.ToUpper(nonEnvChars.ReplaceAllString(dc, "_"))
}

var (
	nonEnvChars = regexp.MustCompile(`[^A-Za-z0-9]`)
	dcName      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,39}$`)
	// PVE's pve-bridge-id / storage id formats (PVE writes [-_.\w\d]; in Go \w already holds _ and \d).
	bridgeName  = regexp.MustCompile(`^[-.\w]+$`)
	storageName = regexp.MustCompile(`^[a-z][a-z0-9\-_.]*[a-z0-9]$`)
)

// Build validates every datacenter and returns the settings of those that are valid. All problems
// are reported, each on its field, so a user fixes them in one round.
func Build(inputs []Input, env Env) (Set, []FieldError) {
	if env == nil {
		env = func(string) string { return "" }
	}
	set := Set{}
	var errs []FieldError
	seenEnv := map[string]string{}
	for _, in := range inputs {
		s, fe := build(in, env)
		if other, dup := seenEnv[envName(in.Name)]; dup {
			fe = append(fe, FieldError{DC: in.Name, Summary: "Conflicting datacenter names",
				Detail: fmt.Sprintf("%q and %q share the environment variable %s; datacenter names must differ in more than case and punctuation.", other, in.Name, TokenEnvVar(in.Name))})
		}
		seenEnv[envName(in.Name)] = in.Name
		errs = append(errs, fe...)
		if len(fe) == 0 {
			set[in.Name] = s
		}
	}
	errs = append(errs, overlappingRanges(set)...)
	errs = append(errs, sharedURLs(set)...)
	if len(errs) > 0 {
		for _, e := range errs {
			delete(set, e.DC)
		}
	}
	return set, errs
}

func build(in Input, env Env) (Settings, []FieldError) {
	var errs []FieldError
	bad := func(field, summary, format string, args ...any) {
		errs = append(errs, FieldError{DC: in.Name, Field: field, Summary: summary, Detail: fmt.Sprintf(format, args...)})
	}
	if !dcName.MatchString(in.Name) {
		bad("", "Invalid datacenter name", "%q must start with a letter and hold only letters, digits, '-' and '_' (at most 40 characters).", in.Name)
	}
	s := Settings{Name: in.Name, Location: in.Location, Storage: DefaultStorage}
	s.Conn.Name = in.Name
	s.Conn.Failed = in.Failed

	if !in.unknown("proxmox_url") {
		if u, err := dcrouter.NormalizeURL(in.ProxmoxURL); err != nil {
			bad("proxmox_url", "Invalid Proxmox URL", "%s", err)
		} else {
			s.Conn.URL = u
		}
	}

	for _, field := range []string{"api_token", "password"} {
		if in.Empty[field] {
			envVar := TokenEnvVar(in.Name)
			if field == "password" {
				envVar = PasswordEnvVar(in.Name)
			}
			bad(field, "Empty credential", "%s is set to an empty string; set it, or leave %s out to take it from the environment variable %s.", field, field, envVar)
		}
	}
	token := in.APIToken
	if token == "" && !in.unknown("api_token") && !in.Empty["api_token"] {
		token = env(TokenEnvVar(in.Name))
	}
	password := in.Password
	if password == "" && !in.unknown("password") && !in.Empty["password"] {
		password = env(PasswordEnvVar(in.Name))
	}
	switch {
	case in.unknown("api_token") || in.unknown("username") || in.unknown("password") || in.Empty["api_token"] || in.Empty["password"]:
	case token != "":
		id, secret, err := dcrouter.ParseAPIToken(token)
		if err != nil {
			bad("api_token", "Invalid API token", "%s", err)
		}
		s.Conn.TokenID, s.Conn.TokenSecret = id, secret
	case in.Username != "" && password != "":
		s.Conn.Username, s.Conn.Password = in.Username, password
	case in.Username != "":
		bad("password", "Missing password", "username %q is set but no password: set password or %s.", in.Username, PasswordEnvVar(in.Name))
	default:
		bad("api_token", "Missing credentials", "Set api_token (USER@REALM!TOKENID=SECRET), the environment variable %s, or username and password.", TokenEnvVar(in.Name))
	}

	s.Conn.TLSInsecure = in.TLSInsecure
	if in.TLSFingerprint != "" && !in.unknown("tls_fingerprint") {
		fp, err := dcrouter.NormalizeFingerprint(in.TLSFingerprint)
		if err != nil {
			bad("tls_fingerprint", "Invalid TLS fingerprint", "%s", err)
		}
		if in.TLSInsecure {
			bad("tls_insecure", "Conflicting TLS settings", "tls_insecure = true turns verification off, while tls_fingerprint pins a certificate; keep one of them.")
		}
		s.Conn.TLSFingerprint = fp
	}
	if in.TLSCAPEM != "" && !in.unknown("tls_ca_pem") {
		if err := checkPEM(in.TLSCAPEM); err != nil {
			bad("tls_ca_pem", "Invalid CA certificate", "%s", err)
		}
		s.Conn.TLSCAPEM = in.TLSCAPEM
	}
	if in.MaxConcurrent != nil {
		if *in.MaxConcurrent < 1 || *in.MaxConcurrent > 256 {
			bad("max_concurrent_requests", "Invalid concurrency limit", "max_concurrent_requests must be between 1 and 256, got %d.", *in.MaxConcurrent)
		} else {
			s.Conn.MaxConcurrent = int(*in.MaxConcurrent)
		}
	}

	if in.ConnectTimeout != "" && !in.unknown("connect_timeout") {
		d, err := time.ParseDuration(in.ConnectTimeout)
		switch {
		case err != nil:
			bad("connect_timeout", "Invalid connect timeout", "%q is not a duration such as \"10s\" or \"1m\".", in.ConnectTimeout)
		case d < MinConnectTimeout || d > MaxConnectTimeout:
			bad("connect_timeout", "Invalid connect timeout", "connect_timeout must be between %s and %s, got %s.", MinConnectTimeout, MaxConnectTimeout, d)
		default:
			s.Conn.ConnectTimeout = d
		}
	}

	if in.RouterAddress != "" && !in.unknown("router_address") {
		a, err := netip.ParseAddr(in.RouterAddress)
		if err != nil || !a.Is4() {
			bad("router_address", "Invalid router address", "%q is not an IPv4 address.", in.RouterAddress)
		}
		s.RouterAddress = a
	}
	if in.Storage != "" && !in.unknown("storage") {
		if !storageName.MatchString(in.Storage) {
			bad("storage", "Invalid storage", "%q is not a Proxmox storage id (lower-case letters, digits, '-', '_', '.').", in.Storage)
		}
		s.Storage = in.Storage
	}

	if in.Network != nil {
		n, nerrs := buildNetwork(in)
		errs = append(errs, nerrs...)
		s.Network = n
	}
	if in.Limits != nil {
		s.Limits = placement.Limits{MaxVMs: limit(in.Limits.MaxVMs), MaxCores: limit(in.Limits.MaxCores), MaxMemoryMB: limit(in.Limits.MaxMemoryMB)}
		for field, v := range map[string]*int64{"limits.max_vms": in.Limits.MaxVMs, "limits.max_cores": in.Limits.MaxCores, "limits.max_memory_mb": in.Limits.MaxMemoryMB} {
			if v != nil && *v < 1 {
				bad(field, "Invalid limit", "%s must be at least 1 (leave it out for no limit), got %d.", field, *v)
			}
		}
	}
	if in.Placement != nil {
		s.Placement = buildPlacement(in, bad)
	} else {
		s.Placement = placement.Policy{MemoryRatio: DefaultMemoryAllocationRatio}
	}
	return s, errs
}

func buildPlacement(in Input, bad func(field, summary, format string, args ...any)) placement.Policy {
	pin := in.Placement
	p := placement.Policy{MemoryRatio: DefaultMemoryAllocationRatio, CountStopped: pin.CountStoppedVMs}
	for _, r := range []struct {
		field string
		v     *float64
		out   *float64
	}{{"placement.cpu_allocation_ratio", pin.CPUAllocationRatio, &p.CPURatio}, {"placement.memory_allocation_ratio", pin.MemoryAllocationRatio, &p.MemoryRatio}} {
		if r.v == nil {
			continue
		}
		if !(*r.v > 0) || math.IsInf(*r.v, 0) {
			bad(r.field, "Invalid allocation ratio", "%s must be a number above 0 (1 means no overcommit; leave it out for the default), got %v.", r.field, *r.v)
			continue
		}
		*r.out = *r.v
	}
	if v := pin.ReservedMemoryMB; v != nil {
		if *v < 0 {
			bad("placement.reserved_memory_mb", "Invalid reserved memory", "placement.reserved_memory_mb must be 0 or more, got %d.", *v)
		} else {
			p.ReservedMemoryMB = *v
		}
	}
	return p
}

func limit(v *int64) int64 {
	if v == nil {
		return 0
	}
	return *v
}

func buildNetwork(in Input) (*Network, []FieldError) {
	var errs []FieldError
	bad := func(field, summary, format string, args ...any) {
		errs = append(errs, FieldError{DC: in.Name, Field: "network." + field, Summary: summary, Detail: fmt.Sprintf(format, args...)})
	}
	nin := in.Network
	n := &Network{Bridge: DefaultBridge, QinQ: nin.QinQEnabled}
	n.Pool.DC = in.Name
	n.Pool.SubnetPrefix = DefaultSubnetPrefix
	if nin.Bridge != "" {
		if !bridgeName.MatchString(nin.Bridge) {
			bad("bridge", "Invalid bridge", "%q is not a Proxmox bridge name.", nin.Bridge)
		}
		n.Bridge = nin.Bridge
	}
	rangeKnown := !in.unknown("network.ip_range")
	if rangeKnown {
		p, err := ipam.ParseIPRange(nin.IPRange)
		if err != nil {
			bad("ip_range", "Invalid IP range", "%s", err)
			rangeKnown = false
		}
		n.Pool.IPRange = p
	}
	if !in.unknown("network.vlan_range") {
		r, err := ipam.ParseVLANRange(nin.VLANRange)
		if err != nil {
			bad("vlan_range", "Invalid VLAN range", "%s", err)
		}
		n.Pool.VLANs = r
	}
	if nin.SubnetPrefix != nil {
		if !fitsInt32(*nin.SubnetPrefix) { // int is 32 bits on some release targets: never wrap
			bad("subnet_prefix", "Invalid subnet prefix", "subnet_prefix %d is not a prefix length (at most 32).", *nin.SubnetPrefix)
			rangeKnown = false
		}
		n.Pool.SubnetPrefix = int(*nin.SubnetPrefix)
	}
	if rangeKnown && !in.unknown("network.subnet_prefix") {
		if err := ipam.ValidateSubnetPrefix(n.Pool.IPRange, n.Pool.SubnetPrefix); err != nil {
			bad("subnet_prefix", "Invalid subnet prefix", "%s", err)
		}
	}
	switch {
	case in.unknown("network.qinq_enabled") || in.unknown("network.service_vlan"):
	case nin.QinQEnabled && nin.ServiceVLAN == nil:
		bad("service_vlan", "Missing service VLAN", "qinq_enabled = true needs service_vlan, the outer 802.1ad S-tag (1-4094) that the switches carry between sites.")
	case nin.QinQEnabled && !fitsInt32(*nin.ServiceVLAN):
		bad("service_vlan", "Invalid service VLAN", "service_vlan %d is not a VLAN (1-4094).", *nin.ServiceVLAN)
	case nin.QinQEnabled:
		if err := ipam.ValidateServiceVLAN(int(*nin.ServiceVLAN)); err != nil {
			bad("service_vlan", "Invalid service VLAN", "%s", err)
		}
		n.Pool.ServiceVLAN = int(*nin.ServiceVLAN)
	case nin.ServiceVLAN != nil:
		bad("service_vlan", "Service VLAN without Q-in-Q", "service_vlan is only used when qinq_enabled = true; set qinq_enabled or remove service_vlan.")
	}
	return n, errs
}

// overlappingRanges enforces network isolation: no two datacenters may hand out the same
// addresses, since VMs move between them and routes would clash.
func overlappingRanges(set Set) []FieldError {
	var errs []FieldError
	names := set.Names()
	for i, a := range names {
		na := set[a].Network
		if na == nil || !na.Pool.IPRange.IsValid() {
			continue
		}
		for _, b := range names[:i] {
			nb := set[b].Network
			if nb == nil || !nb.Pool.IPRange.IsValid() {
				continue
			}
			if ipam.Overlaps(na.Pool.IPRange, nb.Pool.IPRange) {
				errs = append(errs, FieldError{DC: a, Field: "network.ip_range", Summary: "Overlapping IP ranges",
					Detail: fmt.Sprintf("ip_range %s of %q overlaps ip_range %s of %q; datacenters must use disjoint ranges so their networks stay isolated.", na.Pool.IPRange, a, nb.Pool.IPRange, b)})
			}
		}
	}
	return errs
}

// sharedURLs refuses two datacenters on one endpoint: each entry is its own cluster, and the same
// cluster twice would list every VM twice and count its capacity twice. The error lands on the
// later name, the same one each run.
func sharedURLs(set Set) []FieldError {
	var errs []FieldError
	seen := map[string]string{}
	for _, name := range set.Names() {
		s := set[name]
		if s.Conn.URL == "" {
			continue
		}
		key := strings.ToLower(s.Conn.URL)
		if other, dup := seen[key]; dup {
			errs = append(errs, FieldError{DC: name, Field: "proxmox_url", Summary: "Duplicate Proxmox URL",
				Detail: fmt.Sprintf("%q and %q both use %s; each datacenter must be its own cluster, else moxxie lists every VM twice and counts its capacity twice.", other, name, s.Conn.URL)})
			continue
		}
		seen[key] = name
	}
	return errs
}

func checkPEM(s string) error {
	rest := []byte(s)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("PEM block of type %q where a CERTIFICATE was expected", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d: %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("no PEM certificate found")
	}
	return nil
}

func fitsInt32(v int64) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }
