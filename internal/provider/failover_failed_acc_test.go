package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// A datacenter declared failed is reported unhealthy by the data sources, and its cluster, which
// still answers, is asked nothing at all.
func TestAccDatacenterFailed_noRequestAndDeclaredFailed(t *testing.T) {
	env := newSimEnv(t)
	env.requireSim("counts the requests a simulator served")
	config := env.providerBlock(map[string]string{"DC1": "      failed = true\n"}) + `
data "moxxie_datacenters" "all" {}
data "moxxie_datacenter" "dc1" { name = "DC1" }
`
	all := "data.moxxie_datacenters.all"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{{
			PreConfig: func() { resetSimRequests(env) },
			Config:    config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(all, tfjsonpath.New("datacenters").AtMapKey("DC1").AtMapKey("healthy"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(all, tfjsonpath.New("datacenters").AtMapKey("DC1").AtMapKey("error"), knownvalue.StringRegexp(regexp.MustCompile(`declared failed`))),
				statecheck.ExpectKnownValue("data.moxxie_datacenter.dc1", tfjsonpath.New("error"), knownvalue.StringRegexp(regexp.MustCompile(`declared failed`))),
				statecheck.ExpectKnownValue(all, tfjsonpath.New("datacenters").AtMapKey("DC2").AtMapKey("healthy"), knownvalue.Bool(true)),
			},
			Check: func(*terraform.State) error {
				if n := env.cluster("DC1").RequestTotal(); n != 0 {
					return fmt.Errorf("DC1 is declared failed but served %d requests: %v", n, env.cluster("DC1").Requests())
				}
				if n := env.cluster("DC2").RequestTotal(); n == 0 {
					return fmt.Errorf("DC2 served no request; the data sources did not read it")
				}
				return nil
			},
		}},
	})
}
