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

const (
	testTokenID     = "root@pam!moxxie"
	testTokenSecret = "acc-secret-0f3c9a"
)

// simEnv is a set of simulated datacenters, one HTTPS server each, that the provider under test
// talks to exactly as it would to real clusters (token auth, pinned certificate fingerprints).
type simEnv struct {
	t       testing.TB
	servers map[string]*pvesim.Server
}

type simDC struct {
	name  string
	nodes []pvesim.NodeConfig
}

// newSimEnv starts DC1 and DC2 (or the given datacenters) and stops them when the test ends.
func newSimEnv(t testing.TB, dcs ...simDC) *simEnv {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	if len(dcs) == 0 {
		dcs = []simDC{{name: "DC1"}, {name: "DC2"}}
	}
	e := &simEnv{t: t, servers: map[string]*pvesim.Server{}}
	for _, dc := range dcs {
		cluster := pvesim.New(pvesim.Config{
			Name:         dc.name,
			Nodes:        dc.nodes,
			Tokens:       map[string]string{testTokenID: testTokenSecret},
			TaskDuration: 5 * time.Millisecond,
		})
		srv, err := pvesim.Start(cluster, "127.0.0.1:0", pvesim.ServerOptions{})
		if err != nil {
			t.Fatalf("starting simulator for %s: %v", dc.name, err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		e.servers[dc.name] = srv
	}
	return e
}

func (e *simEnv) cluster(dc string) *pvesim.Cluster { return e.servers[dc].Cluster }

// providerBlock declares every simulated datacenter; extra is HCL added inside each datacenter
// (keyed by name), e.g. network pools.
func (e *simEnv) providerBlock(extra map[string]string) string {
	names := make([]string, 0, len(e.servers))
	for n := range e.servers {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("terraform {\n  required_providers {\n    moxxie = { source = \"moxxie/moxxie\" }\n  }\n}\n\n")
	b.WriteString("provider \"moxxie\" {\n  datacenters = {\n")
	for _, n := range names {
		s := e.servers[n]
		fmt.Fprintf(&b, "    %s = {\n      proxmox_url = %q\n      api_token = %q\n      tls_fingerprint = %q\n%s    }\n",
			n, s.URL, testTokenID+"="+testTokenSecret, s.Fingerprint, extra[n])
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

// providerData configures the provider's domain objects directly against the simulators, for
// tests of plan-time checks whose warnings Terraform's test harness does not expose.
func (e *simEnv) providerData(t testing.TB) *providerData {
	t.Helper()
	var inputs []datacenter.Input
	for name, s := range e.servers {
		inputs = append(inputs, datacenter.Input{Name: name, ProxmoxURL: s.URL, APIToken: testTokenID + "=" + testTokenSecret, TLSFingerprint: s.Fingerprint})
	}
	set, errs := datacenter.Build(inputs, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	router, err := dcrouter.New(set.RouterConfigs(), dcrouter.WithRetry(1, 10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return &providerData{dcs: set, router: router, vms: vm.NewManager(), addrs: network.NewAddresses(), ledger: placement.NewLedger(), snaps: inventory.NewCache(snapshotTTL)}
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
