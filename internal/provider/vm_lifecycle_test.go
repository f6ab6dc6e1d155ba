package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccVM_disksGrowAddAndRemoveInPlace(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	cfg := func(disks string) string {
		return env.providerBlock(nil) + `
resource "moxxie_vm" "db" {
  name       = "db-1"
  datacenter = "DC1"
  started    = false
  disk       = [` + disks + `]
}
`
	}
	noUnused := func(c map[string]string) error {
		for k := range c {
			if strings.HasPrefix(k, "unused") {
				return fmt.Errorf("detached volume left behind as %s", k)
			}
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: cfg(`{ slot = "scsi0", size_gb = 8 }, { slot = "scsi1", size_gb = 4, discard = true }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.db", tfjsonpath.New("disk").AtSliceIndex(0).AtMapKey("volume"), knownvalue.StringRegexp(regexp.MustCompile(`^local-lvm:vm-\d+-disk-0$`))),
					statecheck.ExpectKnownValue("moxxie_vm.db", tfjsonpath.New("disk").AtSliceIndex(0).AtMapKey("storage"), knownvalue.StringExact("local-lvm")),
					env.expectVMIn("moxxie_vm.db", "DC1", configMatches("scsi0", `size=8G`)),
					env.expectVMIn("moxxie_vm.db", "DC1", configMatches("scsi1", `discard=on.*size=4G|size=4G.*discard=on`)),
				},
			},
			{
				Config: cfg(`{ slot = "scsi0", size_gb = 12 }, { slot = "virtio1", size_gb = 2 }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("moxxie_vm.db", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMIn("moxxie_vm.db", "DC1", configMatches("scsi0", `size=12G`)),
					env.expectVMIn("moxxie_vm.db", "DC1", configMatches("virtio1", `size=2G`)),
					env.expectVMIn("moxxie_vm.db", "DC1", configHas("scsi1", "")),
					env.expectVMIn("moxxie_vm.db", "DC1", noUnused),
				},
			},
			{
				Config:      cfg(`{ slot = "scsi0", size_gb = 10 }, { slot = "virtio1", size_gb = 2 }`),
				PlanOnly:    true,
				ExpectError: wrapped(`Disk scsi0 is 12 GiB; PVE can only grow disks, so 10 GiB is not possible.`),
			},
			{
				Config:      cfg(`{ slot = "virtio1", size_gb = 2 }`),
				PlanOnly:    true,
				ExpectError: wrapped(`Disk scsi0 is the boot disk`),
			},
		},
	})
}

func TestAccVM_clonesTheTemplateOfItsOwnDatacenter(t *testing.T) {
	env := newSimEnv(t)
	// Same template name, different VMIDs per datacenter, as real sites have.
	for dc, vmid := range map[string]int{"DC1": 9000, "DC2": 9100} {
		env.addVM(t, dc, "pve1", vmid, map[string]any{"name": "debian-12", "cores": 1, "memory": 1024,
			"scsi0": "local-lvm:4", "ide2": "local-lvm:cloudinit", "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0"}, true, false)
	}
	vm := func(name, dc, template string, full bool) string {
		return fmt.Sprintf(`
resource "moxxie_vm" %q {
  name       = %q
  datacenter = %q
  cores      = 2
  memory_mb  = 2048
  clone      = { template = %q, full = %t }
  disk       = [{ slot = "scsi0", size_gb = 10 }]
  cloud_init = {
    user     = "debian"
    ssh_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDxmox ops@example"]
  }
}
`, name, name, dc, template, full)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config:      env.providerBlock(nil) + vm("web-1", "DC1", "ubuntu-24", true),
				PlanOnly:    true,
				ExpectError: wrapped(`datacenter DC1 has no template named "ubuntu-24" (its templates are: debian-12)`),
			},
			{
				Config: env.providerBlock(nil) + vm("web-1", "DC1", "debian-12", false) + vm("web-2", "DC2", "debian-12", false),
				ConfigStateChecks: []statecheck.StateCheck{
					// Linked clones name their base volume, which shows which template each came from.
					env.expectVMIn("moxxie_vm.web-1", "DC1", configMatches("scsi0", `^local-lvm:base-9000-disk-0/vm-\d+-disk-0,.*size=10G`)),
					env.expectVMIn("moxxie_vm.web-2", "DC2", configMatches("scsi0", `^local-lvm:base-9100-disk-0/vm-\d+-disk-0,.*size=10G`)),
					env.expectVMIn("moxxie_vm.web-1", "DC1", configHas("cores", "2", "memory", "2048", "ciuser", "debian")),
					env.expectVMIn("moxxie_vm.web-2", "DC2", configMatches("sshkeys", `^ssh-ed25519%20AAAA`)),
					statecheck.ExpectKnownValue("moxxie_vm.web-1", tfjsonpath.New("status"), knownvalue.StringExact("running")),
				},
			},
		},
	})
}

func TestAccVM_pendingChangesNeedAReboot(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	cfg := func(cores int, reboot, started bool) string {
		return env.providerBlock(nil) + fmt.Sprintf(`
resource "moxxie_vm" "app" {
  name              = "app-1"
  datacenter        = "DC1"
  cores             = %d
  reboot_on_pending = %t
  started           = %t
}
`, cores, reboot, started)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: cfg(1, false, true)},
			{
				// cores cannot be hot-plugged: PVE keeps the change pending and the plan keeps showing it.
				Config:             cfg(2, false, true),
				ExpectNonEmptyPlan: true,
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMPending("moxxie_vm.app", "DC1", "cores", "2"),
				},
			},
			{
				Config: cfg(2, true, true),
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMPending("moxxie_vm.app", "DC1", "", ""),
					env.expectVMIn("moxxie_vm.app", "DC1", configHas("cores", "2")),
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("status"), knownvalue.StringExact("running")),
				},
			},
			{
				Config: cfg(2, true, false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("status"), knownvalue.StringExact("stopped")),
					env.expectVMStatus("moxxie_vm.app", "DC1", "stopped"),
				},
			},
			{
				Config: cfg(2, true, true),
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMStatus("moxxie_vm.app", "DC1", "running"),
				},
			},
		},
	})
}

func TestAccVM_importOfAHandMadeVMOnlyAddsTheIdentityTag(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.addVM(t, "DC1", "pve1", 150, map[string]any{
		"name": "legacy", "cores": 2, "memory": 1024, "tags": "ops", "description": "made by hand",
		"scsi0": "local-lvm:16", "ide2": "local-lvm:cloudinit", "ciuser": "admin",
		"net0": "virtio=BC:24:11:12:34:56,bridge=vmbr0,tag=5",
	}, false, true)
	config := env.providerBlock(nil) + `
resource "moxxie_vm" "legacy" {
  name        = "legacy"
  datacenter  = "DC1"
  node        = "pve1"
  cores       = 2
  memory_mb   = 1024
  tags        = ["ops"]
  description = "made by hand"
  disk        = [{ slot = "scsi0", size_gb = 16 }]
  cloud_init  = { user = "admin" }
  network_interface = [{ bridge = "vmbr0", vlan_id = 5 }]
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config:             config,
				ResourceName:       "moxxie_vm.legacy",
				ImportState:        true,
				ImportStateId:      "DC1/150",
				ImportStatePersist: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("moxxie_vm.legacy", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("moxxie_vm.legacy", tfjsonpath.New("identity_tag"), knownvalue.StringRegexp(regexp.MustCompile(`^moxxie-[0-9a-f]{16}$`))),
						expectOnlyChanged("moxxie_vm.legacy", "identity_tag"),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMIn("moxxie_vm.legacy", "DC1", configMatches("net0", `^virtio=BC:24:11:12:34:56,bridge=vmbr0,tag=5$`)),
					env.expectVMIn("moxxie_vm.legacy", "DC1", tagsAre("ops")),
				},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// terraform plan -generate-config-out writes a configuration for a hand-made VM that plans clean
// but for the identity tag moxxie adds.
func TestAccVM_generatedConfigPlansClean(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.addVM(t, "DC1", "pve1", 160, map[string]any{
		"name": "generated", "cores": 2, "memory": 2048, "tags": "ops;db",
		"scsi0": "local-lvm:8,discard=on", "ide2": "local-lvm:cloudinit", "ciuser": "admin",
		"nameserver": "1.1.1.1", "net0": "virtio=BC:24:11:AB:CD:EF,bridge=vmbr0,tag=7",
	}, false, true)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{{
			Config:             env.providerBlock(nil),
			ResourceName:       "moxxie_vm.generated",
			ImportState:        true,
			ImportStateKind:    resource.ImportBlockWithID,
			ImportStateId:      "DC1/160",
			GenerateConfig:     true,
			ExpectNonEmptyPlan: true,
			ImportPlanChecks: resource.ImportPlanChecks{
				PreApply: []plancheck.PlanCheck{expectOnlyChanged("moxxie_vm.generated", "identity_tag")},
			},
		}},
	})
}
