package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

const migrationNetworks = `
resource "moxxie_network_allocation" "dc1" {
  datacenter = "DC1"
  client_id  = "acme"
}
resource "moxxie_network_allocation" "dc2" {
  datacenter = "DC2"
  client_id  = "acme"
  vlan_id    = 200 # another vnet name than in DC1 (mxv200, not mxv100)
}
`

func webVM(started bool) string {
	return fmt.Sprintf(`
resource "moxxie_vm" "web" {
  name       = "web-1"
  datacenter = "DC1"
  started    = %t
  disk       = [{ slot = "scsi0", size_gb = 4 }]
  network_interface = [{ allocation_id = moxxie_network_allocation.dc1.id }]
}
`, started)
}

func migrationOf(typ string, revert bool) string {
	return fmt.Sprintf(`
resource "moxxie_dc_migration" "web" {
  vm_id             = moxxie_vm.web.id
  target_datacenter = "DC2"
  migration_type    = %q
  revert_on_destroy = %t
  network_mapping   = { (moxxie_network_allocation.dc1.id) = moxxie_network_allocation.dc2.id }
}
`, typ, revert)
}

// The VM moves from the plain DC1 into Q-in-Q DC2 onto DC2's allocation: it ends in DC2's vnet,
// untagged (the vnet carries the tag), with an address of DC2's subnet, and moxxie_vm follows it.
func TestAccMigration_offlineIntoQinQAndFailback(t *testing.T) {
	env := newSimEnv(t)
	base := env.providerBlock(networks) + migrationNetworks + webVM(true)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base},
			{
				Config: base + migrationOf("offline", true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_dc_migration.web", tfjsonpath.New("source_datacenter"), knownvalue.StringExact("DC1")),
					statecheck.ExpectKnownValue("moxxie_dc_migration.web", tfjsonpath.New("status"), knownvalue.StringExact("completed")),
					env.expectVMIn("moxxie_vm.web", "DC2", configMatches("net0", `^virtio=([0-9A-F]{2}:){5}[0-9A-F]{2},bridge=mxv200$`)),
					env.expectVMIn("moxxie_vm.web", "DC2", configMatches("ipconfig0", `^ip=172\.17\.0\.\d+/24,gw=172\.17\.0\.1$`)),
					env.expectVMStatus("moxxie_vm.web", "DC2", "running"),
				},
			},
			{
				// Refresh follows the VM: current_dc moves, datacenter and primary_dc stay, nothing to do.
				Config: base + migrationOf("offline", true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("primary_dc"), knownvalue.StringExact("DC1")),
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("datacenter"), knownvalue.StringExact("DC1")),
				},
			},
			{
				// Dropping the migration with revert_on_destroy moves the VM back (failback).
				Config: base,
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMIn("moxxie_vm.web", "DC1", configMatches("ipconfig0", `^ip=172\.16\.0\.\d+/24,gw=172\.16\.0\.1$`)),
				},
			},
		},
	})
}

func TestAccMigration_liveAndItsRefusals(t *testing.T) {
	env := newSimEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: env.providerBlock(networks) + migrationNetworks + webVM(false)},
			{
				Config:      env.providerBlock(networks) + migrationNetworks + webVM(false) + migrationOf("live", false),
				PlanOnly:    true,
				ExpectError: wrapped(`is stopped; a live migration needs a running VM`),
			},
			{
				PreConfig: func() { env.snapshot(t, "DC1", "moxxie_vm.web") },
				Config:    env.providerBlock(networks) + migrationNetworks + webVM(true),
				// Starting it is fine; migrating it is not while it has a snapshot.
			},
			{
				Config:      env.providerBlock(networks) + migrationNetworks + webVM(true) + migrationOf("live", false),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`has snapshots \(before-upgrade\)`),
			},
		},
	})
}

func TestAccMigration_liveMoveOfARunningVM(t *testing.T) {
	env := newSimEnv(t)
	cfg := env.providerBlock(networks) + migrationNetworks + webVM(true)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				Config: cfg + migrationOf("live", false),
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMIn("moxxie_vm.web", "DC2", nil),
					env.expectVMStatus("moxxie_vm.web", "DC2", "running"),
				},
			},
		},
	})
}

// Changing datacenter on the VM itself moves it in place: the plan says update, never replace.
func TestAccVM_datacenterChangeIsAnInPlaceMove(t *testing.T) {
	env := newSimEnv(t)
	vmIn := func(dc, alloc string) string {
		return fmt.Sprintf(`
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = %q
  disk       = [{ slot = "scsi0", size_gb = 4 }]
  network_interface = [{ allocation_id = moxxie_network_allocation.%s.id }]
}
`, dc, alloc)
	}
	// A replaced VM would have a new id: the same id proves the move was in place.
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config:            env.providerBlock(networks) + migrationNetworks + vmIn("DC1", "dc1"),
				ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue("moxxie_vm.app", tfjsonpath.New("id"))},
			},
			{
				Config: env.providerBlock(networks) + migrationNetworks + vmIn("DC2", "dc2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("moxxie_vm.app", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
					sameID.AddStateValue("moxxie_vm.app", tfjsonpath.New("id")),
					env.expectVMIn("moxxie_vm.app", "DC2", configMatches("net0", `bridge=mxv200$`)),
				},
			},
		},
	})
}

// snapshot takes a PVE snapshot of a VM behind Terraform's back.
func (e *simEnv) snapshot(t *testing.T, dc, addr string) {
	t.Helper()
	ctx, cancel := apiContext()
	defer cancel()
	c := e.mustAPI(t, dc)
	vms, err := listManagedVMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(vms) != 1 {
		t.Fatalf("want one VM in %s, have %d", dc, len(vms))
	}
	upid, err := c.CreateSnapshot(ctx, vms[0].Node, vms[0].VMID, "before-upgrade")
	if err := waitTask(ctx, c, upid, err); err != nil {
		t.Fatal(err)
	}
}
