package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// A VM's identity (id and identity tag) is what finds it wherever it runs; these tests pin it
// across the operations that must keep it: import, a move to another datacenter and the failback.

// sameIdentity returns a function that records the id and identity_tag of a moxxie_vm in the
// step it is used in; the test fails unless every such step saw the values of the first.
func sameIdentity() func(addr string) []statecheck.StateCheck {
	id := statecheck.CompareValue(compare.ValuesSame())
	tag := statecheck.CompareValue(compare.ValuesSame())
	return func(addr string) []statecheck.StateCheck {
		return []statecheck.StateCheck{
			id.AddStateValue(addr, tfjsonpath.New("id")),
			tag.AddStateValue(addr, tfjsonpath.New("identity_tag")),
		}
	}
}

// Forgetting a moxxie-made VM and importing it again by DATACENTER/VMID gives back the same
// identity, read from its tag: the import neither invents a new one nor retags the VM.
func TestAccVM_importKeepsIdentity(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	config := env.providerBlock(nil) + `
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = "DC1"
  started    = false
}
`
	forget := env.providerBlock(nil) + `
removed {
  from = moxxie_vm.app
  lifecycle { destroy = false }
}
`
	same := sameIdentity()
	var importID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config:            config,
				ConfigStateChecks: same("moxxie_vm.app"),
				Check: func(s *terraform.State) error {
					importID = "DC1/" + s.RootModule().Resources["moxxie_vm.app"].Primary.Attributes["vmid"]
					return nil
				},
			},
			{
				// Out of state, still in the datacenter.
				Config: forget,
				Check:  env.expectManagedVMs("DC1", 1),
			},
			{
				Config:             config,
				ResourceName:       "moxxie_vm.app",
				ImportState:        true,
				ImportStateIdFunc:  func(*terraform.State) (string, error) { return importID, nil },
				ImportStatePersist: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: same("moxxie_vm.app"),
			},
		},
	})
}

// Moving a VM to another datacenter with moxxie_dc_migration and failing it back by dropping the
// migration keeps its identity: moxxie_vm follows the same VM, never a replacement.
func TestAccMigration_moveAndFailbackKeepIdentity(t *testing.T) {
	env := newSimEnv(t)
	base := env.providerBlock(networks) + migrationNetworks + `
resource "moxxie_vm" "web" {
  name       = "web-1"
  datacenter = "DC1"
  started    = false
  network_interface = [{ allocation_id = moxxie_network_allocation.dc1.id }]
}
`
	moved := base + `
resource "moxxie_dc_migration" "web" {
  vm_id             = moxxie_vm.web.id
  target_datacenter = "DC2"
  migration_type    = "offline"
  revert_on_destroy = true
  network_mapping   = { (moxxie_network_allocation.dc1.id) = moxxie_network_allocation.dc2.id }
}
`
	same := sameIdentity()
	// State checks see the state an apply leaves; moxxie_vm learns where its VM went on the
	// refresh of the next step, so each move is followed by a step that applies nothing.
	settled := func(config, dc string) resource.TestStep {
		return resource.TestStep{
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: append(same("moxxie_vm.web"),
				statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact(dc))),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base, ConfigStateChecks: same("moxxie_vm.web")},
			{Config: moved},
			settled(moved, "DC2"),
			{Config: base}, // failback
			settled(base, "DC1"),
		},
	})
}
