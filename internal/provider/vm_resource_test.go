package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccVM_lifecycleAcrossDatacenters(t *testing.T) {
	env := newSimEnv(t)
	cfg := func(webCores, webMem int, webTags, webDesc string) string {
		return env.providerBlock(nil) + fmt.Sprintf(`
resource "moxxie_vm" "web" {
  name        = "web-1"
  datacenter  = "DC1"
  reboot_on_pending = true
  cores       = %d
  memory_mb   = %d
  tags        = [%s]
  description = %q
}

resource "moxxie_vm" "db" {
  name       = "db-1"
  datacenter = "DC2"
  started    = false
  network_interface = [{ bridge = "vmbr1", vlan_id = 42, model = "e1000" }]
}
`, webCores, webMem, webTags, webDesc)
	}
	web := "moxxie_vm.web"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: cfg(2, 2048, `"web", "prod"`, "frontend"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(web, tfjsonpath.New("datacenter"), knownvalue.StringExact("DC1")),
					statecheck.ExpectKnownValue(web, tfjsonpath.New("primary_dc"), knownvalue.StringExact("DC1")),
					statecheck.ExpectKnownValue(web, tfjsonpath.New("current_dc"), knownvalue.StringExact("DC1")),
					statecheck.ExpectKnownValue(web, tfjsonpath.New("status"), knownvalue.StringExact("running")),
					statecheck.ExpectKnownValue(web, tfjsonpath.New("node"), knownvalue.StringExact("pve1")),
					statecheck.ExpectKnownValue(web, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{16}$`))),
					statecheck.ExpectKnownValue(web, tfjsonpath.New("tags"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("prod"), knownvalue.StringExact("web")})),
					statecheck.ExpectKnownValue("moxxie_vm.db", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
					statecheck.ExpectKnownValue("moxxie_vm.db", tfjsonpath.New("status"), knownvalue.StringExact("stopped")),
					env.expectVMIn(web, "DC1", configHas("name", "web-1", "cores", "2", "memory", "2048", "description", "frontend")),
					env.expectVMIn("moxxie_vm.db", "DC2", configHas("name", "db-1")),
					env.expectVMIn("moxxie_vm.db", "DC2", configMatches("net0", `^e1000=([0-9A-F]{2}:){5}[0-9A-F]{2},bridge=vmbr1,tag=42$`)),
					statecheck.ExpectKnownValue("moxxie_vm.db", tfjsonpath.New("network_interface").AtSliceIndex(0).AtMapKey("ip"), knownvalue.Null()),
				},
			},
			{
				// cores and memory of a running VM go to pending in PVE; reboot_on_pending applies them.
				Config: cfg(4, 4096, `"web"`, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(web, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(web, tfjsonpath.New("cores"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(web, tfjsonpath.New("memory_mb"), knownvalue.Int64Exact(4096)),
					env.expectVMIn(web, "DC1", tagsAre("web")),
				},
			},
			{
				ResourceName:            web,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"reboot_on_pending"}, // configuration only
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					rs := s.RootModule().Resources[web]
					return rs.Primary.Attributes["datacenter"] + "/" + rs.Primary.Attributes["vmid"], nil
				},
			},
		},
	})
}

func TestAccVM_driftAndOutOfBandDeletion(t *testing.T) {
	env := newSimEnv(t)
	config := env.providerBlock(nil) + `
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = "DC1"
  cores      = 2
  reboot_on_pending = true
}
`
	var vmid int
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					var err error
					vmid, err = strconv.Atoi(s.RootModule().Resources["moxxie_vm.app"].Primary.Attributes["vmid"])
					return err
				},
			},
			{
				// Someone changes cores and stops the VM behind Terraform's back: plan restores both.
				PreConfig: func() {
					env.stopVM(t, "DC1", vmid)
					env.updateVM(t, "DC1", vmid, map[string]any{"cores": 8})
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("moxxie_vm.app", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMIn("moxxie_vm.app", "DC1", configHas("cores", "2")),
				},
			},
			{
				// Deleted outside Terraform: removed from state on refresh, planned for re-creation.
				PreConfig: func() {
					if err := env.removeVM("DC1", vmid); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("moxxie_vm.app", plancheck.ResourceActionCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMIn("moxxie_vm.app", "DC1", nil),
				},
			},
		},
	})
}

// With one datacenter down, plans go on: its resources keep their last state (with a warning),
// nothing is removed, and the plan is empty once it is back.
func TestAccVM_datacenterOutageKeepsState(t *testing.T) {
	env := newSimEnv(t)
	env.requireSim("stops and restarts a datacenter's server")
	config := env.providerBlock(networks) + `
resource "moxxie_network_allocation" "a" {
  datacenter = "DC1"
  client_id  = "acme"
}
resource "moxxie_vm" "a" {
  name       = "a-1"
  datacenter = "DC1"
  network_interface = [{ allocation_id = moxxie_network_allocation.a.id }]
}
resource "moxxie_vm" "b" {
  name       = "b-1"
  datacenter = "DC2"
}
`
	withMore := config + `
resource "moxxie_vm" "c" {
  name       = "c-1"
  datacenter = "DC2"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: config},
			{
				// DC1 is down: DC2 work is planned and applied, DC1's resources stay as they were.
				PreConfig: func() { env.closeServer("DC1") },
				Config:    withMore,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("moxxie_vm.c", plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction("moxxie_vm.a", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction("moxxie_network_allocation.a", plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{env.expectVMIn("moxxie_vm.c", "DC2", nil)},
			},
			{
				PreConfig: func() {
					if err := env.restartServer("DC1"); err != nil {
						t.Fatal(err)
					}
				},
				Config: withMore,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{env.expectVMIn("moxxie_vm.a", "DC1", nil)},
			},
		},
	})
}

func TestAccVM_parallelCreatesGetDistinctVMIDs(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	config := env.providerBlock(nil) + `
resource "moxxie_vm" "fleet" {
  count      = 10
  name       = "fleet-${count.index}"
  datacenter = "DC1"
  memory_mb  = 256
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					seen := map[string]string{}
					for i := 0; i < 10; i++ {
						addr := fmt.Sprintf("moxxie_vm.fleet.%d", i)
						vmid := s.RootModule().Resources[addr].Primary.Attributes["vmid"]
						if other, dup := seen[vmid]; dup {
							return fmt.Errorf("%s and %s share VMID %s", other, addr, vmid)
						}
						seen[vmid] = addr
					}
					return env.expectManagedVMs("DC1", 10)(s)
				},
			},
		},
	})
}

func TestAccVM_planTimeErrors(t *testing.T) {
	env := newSimEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: env.providerBlock(nil) + `
resource "moxxie_vm" "x" {
  name       = "x"
  datacenter = "DC9"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`datacenter "DC9" is not declared in the provider block\s+\(configured: DC1, DC2\)`),
			},
			{
				Config: env.providerBlock(nil) + `
resource "moxxie_vm" "x" {
  name       = "not a dns name"
  datacenter = "DC1"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`must be a DNS name`),
			},
		},
	})
}

func TestAccVM_importErrors(t *testing.T) {
	env := newSimEnv(t)
	config := env.providerBlock(nil) + `
resource "moxxie_vm" "x" {
  name       = "x"
  datacenter = "DC1"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: config, ResourceName: "moxxie_vm.x", ImportState: true, ImportStateId: "DC1-105", ExpectError: regexp.MustCompile(`must be DATACENTER/VMID`)},
			{Config: config, ResourceName: "moxxie_vm.x", ImportState: true, ImportStateId: "DC1/abc", ExpectError: regexp.MustCompile(`must be a number from 100`)},
			{Config: config, ResourceName: "moxxie_vm.x", ImportState: true, ImportStateId: "DC7/105", ExpectError: regexp.MustCompile(`datacenter "DC7" is not declared`)},
			{Config: config, ResourceName: "moxxie_vm.x", ImportState: true, ImportStateId: "DC1/4242", ExpectError: regexp.MustCompile(`Cannot import non-existent remote object`)},
		},
	})
}
