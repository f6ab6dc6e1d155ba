package provider

import (
	"fmt"
	"net/netip"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// networks declares DC1 as a plain VLAN datacenter and DC2 with Q-in-Q, as SPEC.md's example.
var networks = map[string]string{
	"DC1": "      network = { bridge = \"vmbr0\", ip_range = \"172.16.0.0/16\", vlan_range = \"100-2000\" }\n",
	"DC2": "      network = { bridge = \"vmbr1\", ip_range = \"172.17.0.0/16\", vlan_range = \"100-2000\", qinq_enabled = true, service_vlan = 3000 }\n",
}

func TestAccNetworkAllocation_plainAndQinQ(t *testing.T) {
	env := newSimEnv(t)
	config := env.providerBlock(networks) + `
resource "moxxie_network_allocation" "dc1" {
  datacenter = "DC1"
  client_id  = "acme"
}
resource "moxxie_network_allocation" "dc2" {
  datacenter = "DC2"
  client_id  = "acme"
}
`
	cidrIn := func(rng string) knownvalue.Check {
		return knownvalue.StringFunc(func(v string) error {
			p, err := netip.ParsePrefix(v)
			if err != nil || !netip.MustParsePrefix(rng).Contains(p.Addr()) || p.Bits() != 24 {
				return fmt.Errorf("cidr %s is not a /24 inside %s", v, rng)
			}
			return nil
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_network_allocation.dc1", tfjsonpath.New("id"), knownvalue.StringExact("DC1/acme/default")),
					statecheck.ExpectKnownValue("moxxie_network_allocation.dc1", tfjsonpath.New("vlan_id"), knownvalue.Int64Exact(100)),
					statecheck.ExpectKnownValue("moxxie_network_allocation.dc1", tfjsonpath.New("service_vlan"), knownvalue.Null()),
					statecheck.ExpectKnownValue("moxxie_network_allocation.dc1", tfjsonpath.New("cidr"), cidrIn("172.16.0.0/16")),
					statecheck.ExpectKnownValue("moxxie_network_allocation.dc1", tfjsonpath.New("gateway"), knownvalue.StringExact("172.16.0.1")),
					statecheck.ExpectKnownValue("moxxie_network_allocation.dc1", tfjsonpath.New("vnet"), knownvalue.StringExact("mxv100")),
					statecheck.ExpectKnownValue("moxxie_network_allocation.dc2", tfjsonpath.New("service_vlan"), knownvalue.Int64Exact(3000)),
					statecheck.ExpectKnownValue("moxxie_network_allocation.dc2", tfjsonpath.New("cidr"), cidrIn("172.17.0.0/16")),
					statecheck.ExpectKnownValue("moxxie_network_allocation.dc2", tfjsonpath.New("zone"), knownvalue.StringExact("moxxie")),
					env.expectZone("DC1", "vlan", "vmbr0", 0, ""),
					env.expectZone("DC2", "qinq", "vmbr1", 3000, "802.1ad"),
					env.expectVnets("DC1", map[string]int{"mxv100": 100}),
					env.expectVnets("DC2", map[string]int{"mxv100": 100}),
				},
			},
			{
				ResourceName:      "moxxie_network_allocation.dc2",
				ImportState:       true,
				ImportStateId:     "DC2/mxv100",
				ImportStateVerify: true,
			},
			{
				// Deleted in Proxmox behind Terraform's back: refresh notices, the plan re-creates it.
				PreConfig: func() { env.deleteVnet(t, "DC1", "mxv100") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("moxxie_network_allocation.dc1", plancheck.ResourceActionCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{env.expectVnets("DC1", map[string]int{"mxv100": 100})},
			},
		},
	})
}

func TestAccNetworkAllocation_vmAttachmentIsolationAndDestroyGuard(t *testing.T) {
	env := newSimEnv(t)
	allocDC1 := `
resource "moxxie_network_allocation" "dc1" {
  datacenter = "DC1"
  client_id  = "acme"
}
`
	withoutDC1 := env.providerBlock(networks) + `
resource "moxxie_network_allocation" "dc2" {
  datacenter = "DC2"
  client_id  = "acme"
}
`
	withVM := func(alloc string) string {
		return withoutDC1 + allocDC1 + fmt.Sprintf(`
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = "DC1"
  network_interface = [{ allocation_id = moxxie_network_allocation.%s.id }]
}
`, alloc)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				// The allocation id is known at plan time, so isolation is checked before anything exists.
				Config:      withVM("dc2"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Allocation DC2/acme/default belongs to datacenter DC2, but\s+the VM is in DC1`),
			},
			{
				Config: withVM("dc1"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("network_interface").AtSliceIndex(0).AtMapKey("bridge"), knownvalue.StringExact("mxv100")),
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("network_interface").AtSliceIndex(0).AtMapKey("ip"), knownvalue.StringExact("172.16.0.2")),
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("network_interface").AtSliceIndex(0).AtMapKey("mac"), knownvalue.StringRegexp(regexp.MustCompile(`^([0-9A-F]{2}:){5}[0-9A-F]{2}$`))),
					env.expectVMIn("moxxie_vm.app", "DC1", configHas("ipconfig0", "ip=172.16.0.2/24,gw=172.16.0.1")),
				},
			},
			{
				// Dropping the allocation while the VM still uses it is refused and loses nothing.
				Config: withoutDC1 + `
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = "DC1"
  network_interface = [{ allocation_id = "DC1/acme/default" }]
}
`,
				ExpectError: regexp.MustCompile(`Network still in use[\s\S]*vnet mxv100 in datacenter DC1 is still used by app-1`),
			},
			{
				// Back to the reference: nothing to change, and the apply records the dependency again
				// so the final destroy removes the VM before its network.
				Config: withVM("dc1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVnets("DC1", map[string]int{"mxv100": 100}),
				},
			},
		},
	})
}

// TestAccNetworkAllocation_twoStatesNeverCollide runs two independent Terraform working directories
// (two states, as two workspaces would) that each allocate 20 networks in the same datacenter at
// the same time.
func TestAccNetworkAllocation_twoStatesNeverCollide(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	config := func(team string) string {
		return env.providerBlock(map[string]string{"DC1": networks["DC1"]}) + fmt.Sprintf(`
resource "moxxie_network_allocation" "net" {
  count      = 20
  datacenter = "DC1"
  client_id  = %q
  name       = "net${count.index}"
}
`, team)
	}
	// Both runs hold their 20 networks at once: each run's check waits for the other's apply,
	// then inspects the cluster, and neither goes on (its refresh and destroy take the SDN lock)
	// until both have looked.
	var applied, checked sync.WaitGroup
	applied.Add(2)
	checked.Add(2)
	checkDestroy := env.checkDestroyTogether(2)
	for _, team := range []string{"team-a", "team-b"} {
		t.Run(team, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: env.factories(),
				CheckDestroy:             checkDestroy,
				Steps: []resource.TestStep{{
					Config: config(team),
					Check: func(*terraform.State) error {
						applied.Done()
						if !waitTimeout(&applied, 5*time.Minute) {
							return fmt.Errorf("the other run did not finish its apply")
						}
						err := env.distinctNetworks("DC1", 40)
						checked.Done()
						if !waitTimeout(&checked, 5*time.Minute) {
							return fmt.Errorf("the other run did not finish its check")
						}
						return err
					},
				}},
			})
		})
	}
}

func TestAccNetworkAllocation_poolExhaustion(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	tiny := map[string]string{"DC1": "      network = { ip_range = \"10.9.0.0/16\", vlan_range = \"100-101\" }\n"}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{{
			Config: env.providerBlock(tiny) + `
resource "moxxie_network_allocation" "n" {
  count      = 3
  datacenter = "DC1"
  client_id  = "acme"
  name       = "n${count.index}"
}
`,
			ExpectError: regexp.MustCompile(`datacenter "DC1": no free VLAN left in vlan_range 100-101`),
		}},
	})
}

// An allocation whose SDN apply fails leaves a pending vnet behind; the resource keeps it as
// tainted, and the next apply replaces it: one network in the end, never a refusal of its own
// name, never two.
func TestAccNetworkAllocation_failedApplyIsReplacedNotOrphaned(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("makes tasks fail through fault injection")
	config := env.providerBlock(map[string]string{"DC1": networks["DC1"]}) + `
resource "moxxie_network_allocation" "n" {
  datacenter = "DC1"
  client_id  = "acme"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				PreConfig:   func() { env.cluster("DC1").SetFaults(pvesim.Faults{TaskFailRate: 1}) },
				Config:      config,
				ExpectError: regexp.MustCompile(`applying SDN changes in datacenter DC1`),
			},
			{
				PreConfig: func() {
					if err := env.expectFaults("DC1", pvesim.FaultCounts{TaskFailed: 1}); err != nil {
						t.Error(err)
					}
					env.cluster("DC1").SetFaults(pvesim.Faults{})
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("moxxie_network_allocation.n", plancheck.ResourceActionDestroyBeforeCreate)},
				},
				Check: func(*terraform.State) error { return env.distinctNetworks("DC1", 1) },
			},
		},
	})
}
