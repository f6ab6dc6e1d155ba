package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccVMsDataSource_filters(t *testing.T) {
	env := newSimEnv(t)
	// An unmanaged VM (no identity tag) in DC1 must never be listed.
	env.addVM(t, "DC1", "pve1", 900, map[string]any{"name": "web-legacy", "tags": "web"}, false, false)
	config := env.providerBlock(nil) + `
resource "moxxie_vm" "web1" {
  name       = "web-1"
  datacenter = "DC1"
  tags       = ["web"]
}
resource "moxxie_vm" "web2" {
  name       = "web-2"
  datacenter = "DC2"
  tags       = ["web"]
}
resource "moxxie_vm" "db" {
  name       = "db-1"
  datacenter = "DC1"
  tags       = ["db"]
}

data "moxxie_vms" "dc1" {
  datacenter = "DC1"
  depends_on = [moxxie_vm.web1, moxxie_vm.web2, moxxie_vm.db]
}
data "moxxie_vms" "web" {
  name_regex = "^web-"
  depends_on = [moxxie_vm.web1, moxxie_vm.web2, moxxie_vm.db]
}
data "moxxie_vms" "db_tag" {
  tags       = ["db"]
  depends_on = [moxxie_vm.web1, moxxie_vm.web2, moxxie_vm.db]
}
`
	named := func(name, dc string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"name":       knownvalue.StringExact(name),
			"datacenter": knownvalue.StringExact(dc),
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.moxxie_vms.dc1", tfjsonpath.New("vms"), knownvalue.ListExact([]knownvalue.Check{named("db-1", "DC1"), named("web-1", "DC1")})),
					statecheck.ExpectKnownValue("data.moxxie_vms.web", tfjsonpath.New("vms"), knownvalue.ListExact([]knownvalue.Check{named("web-1", "DC1"), named("web-2", "DC2")})),
					statecheck.ExpectKnownValue("data.moxxie_vms.db_tag", tfjsonpath.New("vms"), knownvalue.ListExact([]knownvalue.Check{named("db-1", "DC1")})),
				},
			},
		},
	})
}
