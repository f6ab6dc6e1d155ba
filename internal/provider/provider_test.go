package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Each provider-block rule is unit tested in internal/datacenter; these check that the
// diagnostics reach Terraform on the exact attribute, at plan time, before any cluster is called.
func TestAccProvider_configErrorsPointAtTheAttribute(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	vm := `
resource "moxxie_vm" "x" {
  name       = "x"
  datacenter = "DC1"
}
`
	cases := []struct {
		name  string
		extra string
		want  string
	}{
		{"bad CIDR", `      network = { ip_range = "172.16.0.0/33", vlan_range = "100-200" }` + "\n", `Invalid IP range[\s\S]*datacenters\["DC1"\]\.network\.ip_range`},
		{"reversed VLAN range", `      network = { ip_range = "172.16.0.0/16", vlan_range = "200-100" }` + "\n", `Invalid VLAN range[\s\S]*datacenters\["DC1"\]\.network\.vlan_range`},
		{"qinq without service vlan", `      network = { ip_range = "172.16.0.0/16", vlan_range = "100-200", qinq_enabled = true }` + "\n", `Missing service VLAN[\s\S]*datacenters\["DC1"\]\.network\.service_vlan`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: env.factories(),
				CheckDestroy:             env.checkDestroy,
				Steps: []resource.TestStep{{
					Config:      env.providerBlock(map[string]string{"DC1": tc.extra}) + vm,
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}
