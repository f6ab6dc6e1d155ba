package provider

import (
	"net"
	"regexp"
	"strings"
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
	env.addVM(t, "DC1", "pve2", 500, map[string]any{"name": "legacy", "cores": 4, "memory": 4096}, false, false)
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
		CheckDestroy:             env.checkDestroy,
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
						"physical": i(98304), "allocated": i(6144), "limit": knownvalue.Null(), "available": i(96256)})), // the stopped VM takes no node memory
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
	// DC2's address is one nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
	config := strings.Replace(env.providerBlock(nil), env.endpoints["DC2"].URL, "https://"+ln.Addr().String(), 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{{
			Config: config + `data "moxxie_datacenters" "all" {}`,
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

// The per-node figures follow the placement settings: ratios, reserved memory and whether stopped
// VMs count; fits_count is how many VMs of a size still go on the nodes, each whole on one.
func TestAccDatacenterDataSource_nodeFigures(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1", nodes: []pvesim.NodeConfig{{Name: "pve1", Cores: 16, MemoryMB: 16384}, {Name: "pve2", Cores: 4, MemoryMB: 65536}}}, simDC{name: "DC2"})
	env.addVM(t, "DC1", "pve1", 500, map[string]any{"name": "hot", "cores": 4, "memory": 4096}, false, true)
	env.addVM(t, "DC1", "pve2", 501, map[string]any{"name": "cold", "cores": 2, "memory": 8192}, false, false)
	config := func(countStopped string) string {
		return env.providerBlock(map[string]string{
			"DC1": "      placement = { cpu_allocation_ratio = 2, memory_allocation_ratio = 1.5, reserved_memory_mb = 1024" + countStopped + " }\n",
		}) + `
data "moxxie_datacenter" "dc1" {
  name    = "DC1"
  vm_size = { cores = 2, memory_mb = 4096 }
}
data "moxxie_datacenter" "plain" {
  name = "DC1"
}
data "moxxie_datacenters" "all" {}
`
	}
	dc1 := "data.moxxie_datacenter.dc1"
	i := func(v int64) knownvalue.Check { return knownvalue.Int64Exact(v) }
	node := func(online bool, cpus, mem, allocCores, allocMem, freeCores, freeMem int64) knownvalue.Check {
		return knownvalue.ObjectExact(map[string]knownvalue.Check{
			"online": knownvalue.Bool(online), "cpus": i(cpus), "memory_mb": i(mem), "allocated_cores": i(allocCores),
			"allocated_memory_mb": i(allocMem), "free_cores": i(freeCores), "free_memory_mb": i(freeMem)})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("placement"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"cpu_allocation_ratio": knownvalue.Float64Exact(2), "memory_allocation_ratio": knownvalue.Float64Exact(1.5),
						"reserved_memory_mb": i(1024), "count_stopped_vms": knownvalue.Bool(false)})),
					// pve1: 16 CPUs × 2 − 4; 16384 × 1.5 − 1024 − 4096. pve2: the stopped VM takes nothing.
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("nodes"), knownvalue.MapExact(map[string]knownvalue.Check{
						"pve1": node(true, 16, 16384, 4, 4096, 28, 19456),
						"pve2": node(true, 4, 65536, 0, 0, 8, 97280),
					})),
					// pve1: 4 by memory; pve2: 4 by vCPUs (8 free, 2 each).
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("fits_count"), i(8)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("cores").AtMapKey("available"), i(36)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("memory_mb").AtMapKey("available"), i(19456+97280)),
					statecheck.ExpectKnownValue("data.moxxie_datacenter.plain", tfjsonpath.New("fits_count"), knownvalue.Null()),
					// Defaults: vCPUs unbounded (null), memory 1:1.
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC2").AtMapKey("placement"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"cpu_allocation_ratio": knownvalue.Null(), "memory_allocation_ratio": knownvalue.Float64Exact(1),
						"reserved_memory_mb": i(0), "count_stopped_vms": knownvalue.Bool(false)})),
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC2").AtMapKey("cores").AtMapKey("available"), knownvalue.Null()),
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC1").AtMapKey("nodes").AtMapKey("pve2").AtMapKey("free_cores"), i(8)),
				},
			},
			{
				Config: config(", count_stopped_vms = true"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("nodes").AtMapKey("pve2"), node(true, 4, 65536, 2, 8192, 6, 89088)),
					statecheck.ExpectKnownValue(dc1, tfjsonpath.New("fits_count"), i(4+3)),
				},
			},
		},
	})
}
