package provider

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// The suite's credential is the one the datacenter-setup guide creates: a privilege-separated
// token of moxxie@pve holding exactly the guide's Moxxie role on /, as the token and as its user.
// It is the one place to change it; in external mode each datacenter's token comes from the
// environment.
const (
	testTokenID     = "moxxie@pve!terraform"
	testTokenSecret = "acc-secret-0f3c9a"
	guideRole       = "Moxxie"
	// adminTokenID is root's token, for tests that change a datacenter behind moxxie's back as
	// an administrator would.
	adminTokenID     = "root@pam!admin"
	adminTokenSecret = "acc-admin-5d21e7"
	guidePath        = "../../templates/guides/datacenter-setup.md.tmpl"
)

var (
	guideRoleRe = regexp.MustCompile(`pveum role add ` + guideRole + ` --privs "([^"]*)"`)
	// the guide's user, token and ACL commands that the provisioning below mirrors
	guideSetup = []string{
		"pveum user add moxxie@pve",
		"pveum acl modify / --users moxxie@pve --roles " + guideRole,
		"pveum user token add moxxie@pve terraform --privsep 1",
		"pveum acl modify / --tokens 'moxxie@pve!terraform' --roles " + guideRole,
	}
)

// guidePrivileges reads the Moxxie role's privileges from the datacenter-setup guide, so that
// what the suite proves sufficient is what the guide tells users to create.
func guidePrivileges(t testing.TB) []string {
	t.Helper()
	text, err := os.ReadFile(guidePath)
	if err != nil {
		t.Fatalf("datacenter-setup guide: %v", err)
	}
	m := guideRoleRe.FindSubmatch(text)
	if m == nil {
		t.Fatalf("%s has no `pveum role add %s --privs \"...\"`", guidePath, guideRole)
	}
	for _, cmd := range guideSetup {
		if !strings.Contains(string(text), cmd) {
			t.Fatalf("%s no longer says %q; the suite provisions its token that way", guidePath, cmd)
		}
	}
	privs := strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " "))
	if len(privs) == 0 {
		t.Fatalf("%s: the %s role has no privileges", guidePath, guideRole)
	}
	return privs
}

// withGuideToken gives cfg the guide's role and its privilege-separated token with secret.
func withGuideToken(t testing.TB, cfg pvesim.Config, secret string) pvesim.Config {
	t.Helper()
	cfg.Roles = map[string][]string{guideRole: guidePrivileges(t)}
	cfg.PrivsepTokens = []pvesim.PrivsepToken{{ID: testTokenID, Secret: secret, Role: guideRole}}
	return cfg
}

// simEnv is the datacenters an acceptance test runs against, one HTTPS server each, that the
// provider under test talks to exactly as it would to real clusters (token auth, pinned
// certificate fingerprints). They are in-process simulators (servers), or, with
// MOXXIE_ACC_DATACENTERS set, existing clusters named by the environment (see externalEnv). Tests
// inspect and set up state through the Proxmox API (acc_api_test.go) so that they run in both
// modes; only tests that call requireSim reach into the simulators.
type simEnv struct {
	t         testing.TB
	servers   map[string]*pvesim.Server // in-process mode only
	endpoints map[string]accEndpoint    // every datacenter, both modes
	external  bool
	down      map[string]bool // servers a test stopped (closeServer), which checks leave out
}

// accEndpoint is how the tests reach one datacenter.
type accEndpoint struct {
	URL         string
	Fingerprint string // pinned leaf certificate, or
	CAPEM       string // a CA that signs it
	TokenID     string // the provider's credential
	TokenSecret string
	// AdminTokenID and AdminTokenSecret are the tests' own credential for setup and checks
	// behind moxxie's back, as an administrator would make them (the guide's role cannot, e.g.,
	// take snapshots); empty: the provider's.
	AdminTokenID     string
	AdminTokenSecret string
	Username         string // a ticket login instead of a token (secrets_test.go only)
	Password         string
}

func (ep accEndpoint) apiToken() string { return ep.TokenID + "=" + ep.TokenSecret }

// admin is the endpoint with the tests' own credential.
func (ep accEndpoint) admin() accEndpoint {
	if ep.AdminTokenID != "" {
		ep.TokenID, ep.TokenSecret, ep.Username, ep.Password = ep.AdminTokenID, ep.AdminTokenSecret, "", ""
	}
	return ep
}

type simDC struct {
	name    string
	nodes   []pvesim.NodeConfig
	pbs     *pvesim.PBSDatastore // give DCs the same one to model a PBS sync job between them
	version string               // the PVE version the simulator plays; "" its default
}

// newSimEnv starts DC1 and DC2 (or the given datacenters) and stops them when the test ends; in
// external mode it uses the clusters of that name from the environment instead, and skips the test
// when one is not declared there or a custom node layout is asked for.
func newSimEnv(t testing.TB, dcs ...simDC) *simEnv {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	if len(dcs) == 0 {
		dcs = []simDC{{name: "DC1"}, {name: "DC2"}}
	}
	if externalMode() {
		return externalEnv(t, dcs)
	}
	e := &simEnv{t: t, servers: map[string]*pvesim.Server{}, endpoints: map[string]accEndpoint{}}
	for _, dc := range dcs {
		cluster := pvesim.New(withGuideToken(t, pvesim.Config{
			Name:         dc.name,
			Nodes:        dc.nodes,
			Version:      dc.version,
			PBS:          dc.pbs,
			Tokens:       map[string]string{adminTokenID: adminTokenSecret},
			TaskDuration: 5 * time.Millisecond,
		}, testTokenSecret))
		srv, err := pvesim.Start(cluster, "127.0.0.1:0", pvesim.ServerOptions{})
		if err != nil {
			t.Fatalf("starting simulator for %s: %v", dc.name, err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		e.addServer(dc.name, srv, testTokenID, testTokenSecret)
	}
	return e
}

// addServer registers an in-process simulator under its datacenter name.
func (e *simEnv) addServer(dc string, srv *pvesim.Server, tokenID, tokenSecret string) {
	if e.servers == nil {
		e.servers = map[string]*pvesim.Server{}
	}
	if e.endpoints == nil {
		e.endpoints = map[string]accEndpoint{}
	}
	e.servers[dc] = srv
	e.endpoints[dc] = accEndpoint{URL: srv.URL, Fingerprint: srv.Fingerprint, TokenID: tokenID, TokenSecret: tokenSecret,
		AdminTokenID: adminTokenID, AdminTokenSecret: adminTokenSecret}
}

// requireSim skips the test in external mode: it needs what only an in-process simulator offers
// (fault injection, request counts, stopping a server, a node layout of its own).
func (e *simEnv) requireSim(why string) {
	e.t.Helper()
	if e.external {
		e.t.Skip("needs the in-process simulator (" + why + "); skipped against external endpoints")
	}
}

// closeServer stops dc's simulator until restartServer; checks leave it out meanwhile.
func (e *simEnv) closeServer(dc string) {
	if e.down == nil {
		e.down = map[string]bool{}
	}
	e.down[dc] = true
	_ = e.servers[dc].Close()
}

func (e *simEnv) restartServer(dc string) error {
	delete(e.down, dc)
	return e.servers[dc].Restart()
}

// cluster is the in-process simulator of dc; only for tests that called requireSim.
func (e *simEnv) cluster(dc string) *pvesim.Cluster {
	e.t.Helper()
	if e.external {
		e.t.Fatalf("the test reaches into the simulator of %s in external mode; it must call requireSim", dc)
	}
	return e.servers[dc].Cluster
}

// names are the datacenters, sorted.
func (e *simEnv) names() []string {
	names := make([]string, 0, len(e.endpoints))
	for n := range e.endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// trust is the HCL that makes the provider trust dc's certificate.
func (ep accEndpoint) trust() string {
	if ep.Fingerprint != "" {
		return fmt.Sprintf("      tls_fingerprint = %q\n", ep.Fingerprint)
	}
	return fmt.Sprintf("      tls_ca_pem = %q\n", ep.CAPEM)
}

// providerBlock declares every datacenter; extra is HCL added inside each datacenter (keyed by
// name), e.g. network pools.
func (e *simEnv) providerBlock(extra map[string]string) string {
	var b strings.Builder
	b.WriteString("terraform {\n  required_providers {\n    moxxie = { source = \"moxxie/moxxie\" }\n  }\n}\n\n")
	b.WriteString("provider \"moxxie\" {\n  datacenters = {\n")
	for _, n := range e.names() {
		ep := e.endpoints[n]
		fmt.Fprintf(&b, "    %s = {\n      proxmox_url = %q\n      api_token = %q\n%s%s    }\n",
			n, ep.URL, ep.apiToken(), ep.trust(), extra[n])
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// factories serves the provider in-process with retries and task polling shortened for tests.
func (e *simEnv) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return e.factoriesWith(dcrouter.WithRetry(3, 10*time.Millisecond, 100*time.Millisecond))
}

// factoriesWith is factories with other router options (e.g. more retries for fault tests).
func (e *simEnv) factoriesWith(opts ...dcrouter.Option) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"moxxie": providerserver.NewProtocol6WithError(&moxxieProvider{
			version:    "test",
			env:        func(string) string { return "" },
			routerOpts: append([]dcrouter.Option{dcrouter.WithTaskPoll(5*time.Millisecond, 50*time.Millisecond)}, opts...),
		}),
	}
}

// routerConfig is dcrouter's settings for the endpoint, for the tests' own API calls.
func (ep accEndpoint) routerConfig(dc string) dcrouter.Config {
	return dcrouter.Config{Name: dc, URL: ep.URL, TokenID: ep.TokenID, TokenSecret: ep.TokenSecret, Username: ep.Username, Password: ep.Password,
		TLSFingerprint: ep.Fingerprint, TLSCAPEM: ep.CAPEM}
}

// providerData configures the provider's domain objects directly against the datacenters, for
// tests of plan-time checks whose warnings Terraform's test harness does not expose.
func (e *simEnv) providerData(t testing.TB) *providerData {
	t.Helper()
	var inputs []datacenter.Input
	for _, name := range e.names() {
		ep := e.endpoints[name]
		inputs = append(inputs, datacenter.Input{Name: name, ProxmoxURL: ep.URL, APIToken: ep.apiToken(), TLSFingerprint: ep.Fingerprint, TLSCAPEM: ep.CAPEM})
	}
	set, errs := datacenter.Build(inputs, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	router, err := dcrouter.New(set.RouterConfigs(), dcrouter.WithRetry(1, 10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return &providerData{dcs: set, router: router, vms: vm.NewManager(), addrs: network.NewAddresses(), ledger: placement.NewLedger(), snaps: inventory.NewCache()}
}

func itoa(n int) string { return strconv.Itoa(n) }

// wrapped matches text as Terraform prints it in a diagnostic, where any space may have become a
// line break.
func wrapped(text string) *regexp.Regexp {
	parts := strings.Fields(text)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(strings.Join(parts, `\s+`))
}
