package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// providerHCL wraps datacenter entries (HCL bodies keyed by name) into a provider block.
func providerHCL(dcs map[string]string) string {
	var b strings.Builder
	b.WriteString("terraform {\n  required_providers {\n    moxxie = { source = \"moxxie/moxxie\" }\n  }\n}\n\n")
	b.WriteString("provider \"moxxie\" {\n  datacenters = {\n")
	for _, name := range sortedDCNames(dcs) {
		fmt.Fprintf(&b, "    %s = {\n%s    }\n", name, dcs[name])
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

func sortedDCNames(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The simulator serves HTTPS with a self-signed certificate, as a fresh PVE node does. Trust is
// what the provider block says: a pinned fingerprint, a CA, or tls_insecure; nothing else. A
// refused certificate never lets a request through to the API.
func TestAccTLS_trustSettings(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("counts the requests that got through and needs the server's certificate")
	srv := env.servers["DC1"]
	otherSum := sha256.Sum256([]byte("a certificate the simulator does not have"))
	wrong := hex.EncodeToString(otherSum[:]) // lower case without colons: still a valid pin
	wrongPVE := strings.ToUpper(strings.Join(regexp.MustCompile(`..`).FindAllString(wrong, -1), ":"))
	right := strings.ToLower(strings.ReplaceAll(srv.Fingerprint, ":", ""))

	cases := []struct {
		name    string
		tls     string // HCL inside the datacenter
		wantErr *regexp.Regexp
	}{
		{"wrong fingerprint names expected and presented", fmt.Sprintf("      tls_fingerprint = %q\n", wrong),
			wrapped("TLS certificate fingerprint mismatch: expected " + wrongPVE + ", got " + srv.Fingerprint)},
		{"right fingerprint in any notation", fmt.Sprintf("      tls_fingerprint = %q\n", right), nil},
		{"default verification refuses a self-signed certificate", "", wrapped("x509: certificate signed by unknown authority")},
		{"the simulator's certificate as CA", fmt.Sprintf("      tls_ca_pem = %q\n", srv.CertPEM), nil},
		{"tls_insecure", "      tls_insecure = true\n", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.Cluster.ResetRequests()
			dc := fmt.Sprintf("      proxmox_url = %q\n      api_token = %q\n%s", srv.URL, env.endpoints["DC1"].apiToken(), tc.tls)
			config := providerHCL(map[string]string{"DC1": dc}) + "data \"moxxie_vms\" \"all\" {}\n"
			step := resource.TestStep{Config: config, ExpectError: tc.wantErr}
			if tc.wantErr == nil {
				step.Check = func(*terraform.State) error {
					if srv.Cluster.RequestTotal() == 0 {
						return fmt.Errorf("the data source read nothing from the cluster")
					}
					return nil
				}
			}
			resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), CheckDestroy: env.checkDestroy, Steps: []resource.TestStep{step}})
			if n := srv.Cluster.RequestTotal(); tc.wantErr != nil && n != 0 {
				t.Fatalf("%d requests reached the API through a refused certificate", n)
			}
		})
	}
}
