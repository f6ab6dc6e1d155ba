package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// Each plan-time refusal of a VM that fits no node, on the attribute it is about and naming the
// node figures; and overcommit, which PVE allows, is not refused without limits.
func TestAccPlacement_nodeFit(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1", nodes: []pvesim.NodeConfig{{Name: "pve1", Cores: 32, MemoryMB: 131072}, {Name: "pve2", Cores: 32, MemoryMB: 131072}}})
	env.requireSim("takes a node offline")
	web := func(attrs string) string {
		return env.providerBlock(nil) + `
resource "moxxie_vm" "web" {
  name       = "web"
  datacenter = "DC1"
` + attrs + `}
`
	}
	fleet := func(n int, limits string) string {
		return env.providerBlock(map[string]string{"DC1": limits}) + `
resource "moxxie_vm" "fleet" {
  count      = ` + itoa(n) + `
  name       = "fleet-${count.index}"
  datacenter = "DC1"
  cores      = 25
  memory_mb  = 1024
}
`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				// Total cores would take it (64); no node does, and PVE refuses more vCPUs than the node has.
				Config:      web("  cores = 40\n"),
				PlanOnly:    true,
				ExpectError: onAttr(`cores = 40`, `VM web needs 40 vCPUs; the most any online node of DC1 has is 32 (pve1: 32, pve2: 32)`),
			},
			{
				// The datacenter's 256 GiB would take it, no single node does.
				Config:   web("  memory_mb = 200000\n"),
				PlanOnly: true,
				ExpectError: onAttr(`memory_mb = 200000`, `VM web needs 200000 MiB of memory; no online node of DC1 with room for its vCPUs has that much free `+
					`(pve1: 131072 of 131072 MiB free (131072 MiB × memory_allocation_ratio 1 − reserved_memory_mb 0, 0 MiB allocated), pve2: 131072 of 131072 MiB free`),
			},
			{
				Config:      web("  node = \"pve9\"\n"),
				PlanOnly:    true,
				ExpectError: onAttr(`node = "pve9"`, `VM web cannot go on node pve9: DC1 has no such node (its nodes: pve1, pve2)`),
			},
			{
				Config:      web("  node      = \"pve1\"\n  memory_mb = 140000\n"),
				PlanOnly:    true,
				ExpectError: onAttr(`memory_mb = 140000`, `VM web needs 140000 MiB of memory; node pve1 of DC1 has 131072 of 131072 MiB free`),
			},
			{
				PreConfig: func() {
					if err := env.cluster("DC1").SetNodeOnline("pve2", false); err != nil {
						t.Fatal(err)
					}
				},
				Config:      web("  node = \"pve2\"\n"),
				PlanOnly:    true,
				ExpectError: onAttr(`node = "pve2"`, `VM web cannot go on node pve2 of DC1: the node is offline`),
			},
			{
				PreConfig: func() {
					if err := env.cluster("DC1").SetNodeOnline("pve2", true); err != nil {
						t.Fatal(err)
					}
				},
				// 100 vCPUs on 64 CPUs: overcommit as PVE allows it, without limits.
				Config: fleet(4, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.fleet[3]", tfjsonpath.New("cores"), knownvalue.Int64Exact(25)),
					statecheck.ExpectKnownValue("moxxie_vm.fleet[3]", tfjsonpath.New("status"), knownvalue.StringExact("running")),
				},
			},
			{
				// limits stay hard quotas on top.
				Config:      fleet(5, "      limits = { max_cores = 110 }\n"),
				PlanOnly:    true,
				ExpectError: wrapped(`datacenter DC1 has not enough cores: the planned VMs need 25, 10 are free (100 in use, limit 110, 64 on online nodes)`),
			},
		},
	})
}

// onAttr matches an error Terraform shows on the configuration line src (so on that attribute),
// with the detail text.
func onAttr(src, text string) *regexp.Regexp {
	return regexp.MustCompile(`\d+:\s+` + wrapped(src).String() + `\s+` + wrapped(text).String())
}

// VMs planned together are judged together: two that fit only on different nodes are packed
// onto both, a third that fits alone but not with them is refused at plan time; a stopped VM takes
// no node memory until count_stopped_vms says it does.
func TestAccPlacement_packsThePlanAcrossNodes(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1", nodes: []pvesim.NodeConfig{{Name: "pve1", Cores: 8, MemoryMB: 4096}, {Name: "pve2", Cores: 8, MemoryMB: 4096}}})
	fleet := func(n int, placement string) string {
		return env.providerBlock(map[string]string{"DC1": "      placement = { reserved_memory_mb = 1024" + placement + " }\n"}) + `
resource "moxxie_vm" "fleet" {
  count      = ` + itoa(n) + `
  name       = "fleet-${count.index}"
  datacenter = "DC1"
  memory_mb  = 2560
}
`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				// 7680 of the 6144 MiB the nodes offer would pass a check of the datacenter's total
				// memory (8192 MiB) but not reserved memory per node.
				Config:   fleet(3, ""),
				PlanOnly: true,
				ExpectError: onAttr(`memory_mb = 2560`, `VM fleet-2 needs 2560 MiB of memory; no online node of DC1 with room for its vCPUs has that much free `+
					`(pve1: 512 of 3072 MiB free (4096 MiB × memory_allocation_ratio 1 − reserved_memory_mb 1024, 2560 MiB allocated), pve2: 512 of 3072 MiB free `+
					`(4096 MiB × memory_allocation_ratio 1 − reserved_memory_mb 1024, 2560 MiB allocated)); counted together with the VMs planned with it in this run `+
					`(best fit, largest first): fleet-0, fleet-1`),
			},
			{
				Config: fleet(2, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs("moxxie_vm.fleet[0]", tfjsonpath.New("node"), "moxxie_vm.fleet[1]", tfjsonpath.New("node"), compare.ValuesDiffer()),
				},
			},
			{
				// Stopped, the existing VMs leave their nodes free by default ...
				Config: fleet(2, "") + `
resource "moxxie_vm" "cold" {
  count      = 2
  name       = "cold-${count.index}"
  datacenter = "DC1"
  memory_mb  = 2560
  started    = false
}
`,
			},
			{
				// ... and count once count_stopped_vms says so: the running fleet has no room left
				// for a fourth VM, which fits alone, then, nowhere.
				Config: fleet(3, ", count_stopped_vms = true") + `
resource "moxxie_vm" "cold" {
  count      = 2
  name       = "cold-${count.index}"
  datacenter = "DC1"
  memory_mb  = 2560
  started    = false
}
`,
				PlanOnly:    true,
				ExpectError: onAttr(`memory_mb = 2560`, `VM fleet-2 needs 2560 MiB of memory; no online node of DC1 with room for its vCPUs has that much free (pve1: 0 of 3072 MiB free`),
			},
		},
	})
}
