package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// Distinct per datacenter, so a leak says whose credential escaped. Only [a-z0-9-], so URL and
// form encoding cannot disguise them.
const (
	dc1TokenSecret = "dc1-token-5e3b9f0a7c41"
	dc2TokenSecret = "dc2-token-8d41c6e2b9f7" // the migration target: it travels inside target-endpoint
	dc3Password    = "dc3-password-k7q2zm9x"
)

var secretValues = []string{dc1TokenSecret, dc2TokenSecret, dc3Password}

// A whole apply at TRACE, with a VM, networks in a plain and a Q-in-Q datacenter, a password
// datacenter and a cross-datacenter migration (whose request carries the target's token): no
// credential may appear in the log, in the state Terraform reads, or in the state files on disk.
func TestAccSecrets_neverInLogsOrState(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	env := &simEnv{t: t, external: externalMode()}
	env.requireSim("its datacenters hold credentials of its own, a password login among them")
	for name, cfg := range map[string]pvesim.Config{
		"DC1": withGuideToken(t, pvesim.Config{}, dc1TokenSecret),
		"DC2": withGuideToken(t, pvesim.Config{}, dc2TokenSecret),
		"DC3": {Users: map[string]string{"root@pam": dc3Password}},
	} {
		cfg.Name, cfg.TaskDuration = name, 5*time.Millisecond
		cfg.Tokens = map[string]string{adminTokenID: adminTokenSecret} // the test's own checks
		srv, err := pvesim.Start(pvesim.New(cfg), "127.0.0.1:0", pvesim.ServerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		secret := ""
		for _, tok := range cfg.PrivsepTokens {
			if tok.ID == testTokenID {
				secret = tok.Secret
			}
		}
		env.addServer(name, srv, testTokenID, secret)
		if secret == "" {
			ep := env.endpoints[name]
			ep.TokenID, ep.TokenSecret, ep.Username, ep.Password = "", "", "root@pam", dc3Password
			env.endpoints[name] = ep
		}
	}

	logPath := filepath.Join(t.TempDir(), "terraform.log")
	workDir := t.TempDir()
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_LOG_PATH", logPath)     // the provider's own log sink
	t.Setenv("TF_ACC_LOG_PATH", logPath) // terraform's log, appended to the same file
	t.Setenv("TF_ACC_TEMP_DIR", workDir) // so the state files can be found
	// DC2's token comes from the environment, as Terraform Cloud sets credentials; it is also
	// the one remote_migrate sends to DC1 inside target-endpoint.
	t.Setenv("MOXXIE_DC2_API_TOKEN", testTokenID+"="+dc2TokenSecret)

	dc := func(name, auth, network string) string {
		s := env.servers[name]
		return fmt.Sprintf("      proxmox_url = %q\n      tls_fingerprint = %q\n%s%s", s.URL, s.Fingerprint, auth, network)
	}
	base := providerHCL(map[string]string{
		"DC1": dc("DC1", fmt.Sprintf("      api_token = %q\n", testTokenID+"="+dc1TokenSecret), networks["DC1"]),
		"DC2": dc("DC2", "", networks["DC2"]),
		"DC3": dc("DC3", fmt.Sprintf("      username = \"root@pam\"\n      password = %q\n", dc3Password), ""),
	}) + migrationNetworks + webVM(true) + `
resource "moxxie_vm" "pw" {
  name       = "pw-1"
  datacenter = "DC3"
}
data "moxxie_datacenter" "dc3" {
  name = "DC3"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"moxxie": providerserver.NewProtocol6WithError(&moxxieProvider{version: "test", env: os.Getenv, routerOpts: []dcrouter.Option{
				dcrouter.WithRetry(3, 10*time.Millisecond, 100*time.Millisecond),
				dcrouter.WithTaskPoll(5*time.Millisecond, 50*time.Millisecond),
			}}),
		},
		CheckDestroy: env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base},
			{
				Config: base + migrationOf("offline", false),
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMIn("moxxie_vm.web", "DC2", nil),
					env.expectVMIn("moxxie_vm.pw", "DC3", nil),
					noSecretsInState{workDir: workDir},
				},
			},
		},
	})

	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := withoutTestConfig(string(raw))
	// The log must be the real thing: the provider's request lines at debug level, the ticket
	// login of DC3 and the migration request that carried DC2's token.
	for _, want := range [][]string{
		{"moxxie.dc.DC3: Proxmox VE request", "path=/access/ticket", "status=200"},
		{"moxxie.dc.DC1: Proxmox VE request", "/remote_migrate", "status=200"},
	} {
		if !logHasLine(log, want...) {
			t.Errorf("the TRACE log has no line with %q: it does not show what this test must check", want)
		}
	}
	if leaked := secretsIn(log); len(leaked) > 0 {
		t.Errorf("the TRACE log contains %v:%s", leaked, leakContext(log, leaked[0]))
	}
}

// noSecretsInState checks the state as Terraform reads it and every state file in the test's
// working directories.
type noSecretsInState struct{ workDir string }

func (c noSecretsInState) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	js, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = err
		return
	}
	if !strings.Contains(string(js), "moxxie_dc_migration") {
		resp.Error = fmt.Errorf("state holds no moxxie_dc_migration: not the state under test")
		return
	}
	if leaked := secretsIn(string(js)); len(leaked) > 0 {
		resp.Error = fmt.Errorf("state contains %v", leaked)
		return
	}
	var files []string
	err = filepath.WalkDir(c.workDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(d.Name(), ".tfstate") {
			return err
		}
		files = append(files, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if leaked := secretsIn(string(b)); len(leaked) > 0 {
			return fmt.Errorf("%s contains %v", p, leaked)
		}
		return nil
	})
	switch {
	case err != nil:
		resp.Error = err
	case len(files) == 0:
		resp.Error = fmt.Errorf("no state file under %s", c.workDir)
	}
}

// withoutTestConfig drops the entries in which the test harness (not the provider, not
// Terraform) logs the configuration it writes, which holds DC1's token and DC3's password as the
// user wrote them. An entry runs from one timestamped line to the next.
func withoutTestConfig(log string) string {
	var b, entry strings.Builder
	flush := func() {
		e := entry.String()
		if !strings.Contains(e, "sdk.helper_resource: ") || !strings.Contains(e, "test_terraform_configuration=") {
			b.WriteString(e)
		}
		entry.Reset()
	}
	for _, line := range strings.SplitAfter(log, "\n") {
		if logEntryStart.MatchString(line) {
			flush()
		}
		entry.WriteString(line)
	}
	flush()
	return b.String()
}

var logEntryStart = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)

// logHasLine reports whether one line of log holds all parts (fields come in any order).
func logHasLine(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func secretsIn(s string) []string {
	var out []string
	for _, secret := range secretValues {
		if strings.Contains(s, secret) {
			out = append(out, secret)
		}
	}
	return out
}

// around shows where a secret leaked.
func leakContext(s, secret string) string {
	i := strings.Index(s, secret)
	lo, hi := max(0, i-300), min(len(s), i+len(secret)+100)
	return "\n..." + s[lo:hi] + "..."
}
