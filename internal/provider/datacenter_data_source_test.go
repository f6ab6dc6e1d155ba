package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

func TestAccDatacenterDataSources_figuresMatchTheCluster(t *testing.T) {
	env := newSimEnv(t,
		simDC{name: "DC1", nodes: []pvesim.NodeConfig{{Name: "pve1", Cores: 16, MemoryMB: 65536}, {Name: "pve2", Cores: 8, MemoryMB: 32768}}},
		simDC{name: "DC2"},
	)
	// A VM made by hand counts against capacity like any other.
	if err := env.cluster("DC1").AddVM("pve2", 500, map[string]string{"name": "legacy", "cores": "4", "memory": "4096"}, false); err != nil {
		t.Fatal(err)
	}
	extra := map[string]string{
		"DC1": "      location = \"Frankfurt\"\n      limits = { max_cores = 20, max_vms = 10 }\n      network = { ip_range = \"10.1.0.0/16\", vlan_range = \"100-199\" }\n",
	}
	config := env.providerBlock(extra) + `
resource "moxxie_network_allocation" "n" {
  datacenter = "DC1"
  client_id  = "acme"
}
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = "DC1"
  cores      = 2
  memory_mb  = 2048
}
data "moxxie_datacenter" "dc1" {
  name       = "DC1"
  depends_on = [moxxie_vm.app, moxxie_network_allocation.n]
}
data "moxxie_datacenters" "all" {
  depends_on = [moxxie_vm.app, moxxie_network_allocation.n]
}
`
	dc1 := "data.moxxie_datacenter.dc1"
	i := func(v int64) knownvalue.Check { return knownvalue.Int64Exact(v) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("healthy"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("location"), knownvalue.StringExact("Frankfurt")),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("pve_version"), knownvalue.StringRegexp(regexp.MustCompile(`^\d+\.\d+`))),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("nodes_total"), i(2)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("nodes_online"), i(2)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("vms_total"), i(2)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("vms_running"), i(1)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("vms_limit"), i(10)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("vms_available"), i(8)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("cores"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"physical": i(24), "allocated": i(6), "limit": i(20), "available": i(14)})),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("memory_mb"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"physical": i(98304), "allocated": i(6144), "limit": knownvalue.Null(), "available": i(92160)})),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("network"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"vlans_total": i(100), "vlans_used": i(1), "vlans_free": i(99),
						"subnets_total": i(256), "subnets_used": i(1), "subnets_free": i(255)})),
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC2").AtMapKey("vms_total"), i(0)),
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC2").AtMapKey("network"), knownvalue.Null()),
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC1").AtMapKey("cores").AtMapKey("allocated"), i(6)),
				},
			},
		},
	})
}

func TestAccDatacentersDataSource_unreachableIsUnhealthyNotAnError(t *testing.T) {
	env := newSimEnv(t)
	_ = env.servers["DC2"].Close()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{{
			Config: env.providerBlock(nil) + `data "moxxie_datacenters" "all" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC1").AtMapKey("healthy"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC1").AtMapKey("error"), knownvalue.Null()),
				statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC2").AtMapKey("healthy"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC2").AtMapKey("error"), knownvalue.StringRegexp(regexp.MustCompile(`connection refused`))),
				statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC2").AtMapKey("cores"), knownvalue.Null()),
			},
		}},
	})
}
