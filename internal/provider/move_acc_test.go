package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// insecureDC2 is the provider block with DC2 reached through tls_insecure and no fingerprint,
// the usual first contact with PVE's self-signed certificate.
func (e *simEnv) insecureDC2(extra map[string]string) string {
	block := e.providerBlock(extra)
	pin := fmt.Sprintf("tls_fingerprint = %q", e.endpoints["DC2"].Fingerprint)
	if !strings.Contains(block, pin) {
		e.t.Fatal("provider block without DC2's fingerprint")
	}
	return strings.Replace(block, pin, "tls_insecure = true", 1)
}

// untouchedIn fails unless the only copy of the VM is in dc, running, unlocked and without a
// move tag, and no other datacenter holds a VM.
func (e *simEnv) untouchedIn(t *testing.T, dc string) {
	t.Helper()
	for name := range e.servers {
		vms := e.cluster(name).VMs()
		if name != dc {
			if len(vms) != 0 {
				t.Fatalf("%s holds %d VMs, want none", name, len(vms))
			}
			continue
		}
		if len(vms) != 1 {
			t.Fatalf("%s holds %d VMs, want 1", name, len(vms))
		}
		v := vms[0]
		if v.Status != "running" || v.Lock != "" || strings.Contains(v.Config["tags"], vm.MovePrefix) {
			t.Fatalf("VM in %s after a refusal: status %s, lock %q, tags %q", dc, v.Status, v.Lock, v.Config["tags"])
		}
	}
}

func migrationWith(body string) string {
	return `
resource "moxxie_dc_migration" "web" {
  vm_id             = moxxie_vm.web.id
  revert_on_destroy = true
  network_mapping   = { (moxxie_network_allocation.dc1.id) = moxxie_network_allocation.dc2.id }
` + body + `
}
`
}

func TestAccMove_insecureTargetWithoutFingerprint(t *testing.T) {
	env := newSimEnv(t)
	base := env.insecureDC2(networks) + migrationNetworks + webVM(true)
	// The provider's log (INFO and up) shows the phases with the datacenters' names and the
	// warning diagnostic, which Terraform's test harness does not expose otherwise.
	logs := t.TempDir()
	t.Setenv("TF_LOG_PATH_MASK", logs+"/%s.log")
	t.Setenv("TF_LOG", "INFO")
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		b, err := os.ReadFile(filepath.Join(logs, t.Name()+".log"))
		if err != nil {
			t.Fatal(err)
		}
		log := string(b)
		for _, want := range []string{
			"Migration target not verified",
			"has no tls_fingerprint and tls_insecure = true",
			env.endpoints["DC2"].Fingerprint,
			"checking the move of VM web-1 from DC1 to DC2",
			"shutting VM web-1 down in DC1 for an offline move to DC2",
			"migrating VM web-1 from DC1 to DC2",
			"putting the network interfaces of VM web-1 on the networks of DC2",
			"starting VM web-1 in DC2",
			"removing the move record of VM web-1 in DC2",
			"VM web-1 moved from DC1 (VMID 100) to DC2",
		} {
			if !strings.Contains(log, want) {
				t.Errorf("the provider log does not show %q", want)
			}
		}
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base},
			{
				Config: base + migrationWith(`  target_datacenter = "DC2"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_dc_migration.web", tfjsonpath.New("status"), knownvalue.StringExact("completed")),
					env.expectVMIn("moxxie_vm.web", "DC2", configMatches("ipconfig0", `^ip=172\.17\.0\.\d+/24,gw=172\.17\.0\.1$`)),
					env.expectVMStatus("moxxie_vm.web", "DC2", "running"),
				},
			},
		},
	})
}

// Each refusal is a plan-time error on its attribute; the VM keeps running, untouched.
func TestAccMove_preflightRefusalsAtPlan(t *testing.T) {
	env := newSimEnv(t)
	base := env.providerBlock(networks) + migrationNetworks + webVM(true)
	check := func() { env.untouchedIn(t, "DC1") }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base},
			{
				Config:      base + migrationWith(`  target_datacenter = "DC2"`+"\n"+`  storage_mapping = { "local-lvm" = "ceph" }`),
				ExpectError: wrapped(`target storage "ceph" (for local-lvm:vm-100-cloudinit, local-lvm:vm-100-disk-0)`),
			},
			{
				PreConfig:   check,
				Config:      base + migrationWith(`  target_datacenter = "DC2"`+"\n"+`  storage_mapping = { "local-lvm" = "local" }`),
				ExpectError: wrapped(`target storage "local" of DC2 does not hold disk images`),
			},
			{
				PreConfig:   check,
				Config:      base + strings.Replace(migrationWith(`  target_datacenter = "DC2"`), "moxxie_network_allocation.dc2.id", `"vmbr42"`, 1),
				ExpectError: wrapped(`target bridge "vmbr42" exists neither as a bridge of node pve1 nor as an applied SDN vnet of DC2`),
			},
			{
				PreConfig:   check,
				Config:      base + migrationWith(`  target_datacenter = "DC1"`),
				ExpectError: wrapped(`is already in datacenter DC1; a migration needs another target datacenter`),
			},
			{
				PreConfig:   check,
				Config:      base + migrationWith(`  target_datacenter = "DC2"`+"\n"+`  target_node = "nope"`),
				ExpectError: wrapped(`has no node "nope"`),
			},
			{
				PreConfig: check,
				Config:    base,
			},
		},
	})
}

// A refusal found only at apply (the VM is created in the same run, so plan cannot check it)
// leaves the VM running and untouched, and records nothing.
func TestAccMove_preflightRefusalAtApply(t *testing.T) {
	env := newSimEnv(t)
	base := env.providerBlock(networks) + migrationNetworks + webVM(true)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config:      base + migrationWith(`  target_datacenter = "DC2"`+"\n"+`  storage_mapping = { "local-lvm" = "ceph" }`),
				ExpectError: wrapped(`the VM keeps running where it is): target storage "ceph"`),
			},
			{
				PreConfig: func() { env.untouchedIn(t, "DC1") },
				Config:    base,
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMStatus("moxxie_vm.web", "DC1", "running"),
				},
			},
		},
	})
}

// A create timeout cuts the move while PVE copies (lock "migrate" on the source); the next
// apply finishes it: the VM is in DC2 on DC2's allocation with DC2's address, the record names
// DC1 as the source, the plan after is empty, and destroying the record brings the VM home.
func TestAccMove_interruptedMigrationIsFinishedByTheNextApply(t *testing.T) {
	env := newSimEnv(t)
	env.requireSim("slows the copy with task faults")
	base := env.providerBlock(networks) + migrationNetworks + webVM(true)
	mig := func(timeout string) string {
		return migrationWith(`  target_datacenter = "DC2"` + "\n" + `  timeouts = { create = "` + timeout + `" }`)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base},
			{
				// Shutdown and copy take 3 s each in DC1: a 4.5 s timeout lands in the copy with room on both sides.
				PreConfig:   func() { env.cluster("DC1").SetFaults(pvesim.Faults{TaskExtra: 3 * time.Second}) },
				Config:      base + mig("4500ms"),
				ExpectError: regexp.MustCompile(`interrupted\s+during\s+transfer`),
			},
			{
				PreConfig: func() { env.cluster("DC1").SetFaults(pvesim.Faults{}) },
				Config:    base + mig("5m"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_dc_migration.web", tfjsonpath.New("status"), knownvalue.StringExact("completed")),
					statecheck.ExpectKnownValue("moxxie_dc_migration.web", tfjsonpath.New("source_datacenter"), knownvalue.StringExact("DC1")),
					env.expectVMIn("moxxie_vm.web", "DC2", configMatches("net0", `bridge=mxv200$`)),
					env.expectVMIn("moxxie_vm.web", "DC2", configMatches("ipconfig0", `^ip=172\.17\.0\.\d+/24,gw=172\.17\.0\.1$`)),
					env.expectVMIn("moxxie_vm.web", "DC2", func(cfg map[string]string) error {
						if strings.Contains(cfg["tags"], vm.MovePrefix) {
							return fmt.Errorf("move tag left: %s", cfg["tags"])
						}
						return nil
					}),
					env.expectVMStatus("moxxie_vm.web", "DC2", "running"),
				},
			},
			{
				Config:           base + mig("5m"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
					// network_interface keeps the configured home network; the current ones show DC2's.
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("network_interface").AtSliceIndex(0).AtMapKey("bridge"), knownvalue.StringExact("mxv100")),
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_network_interfaces").AtSliceIndex(0).AtMapKey("bridge"), knownvalue.StringExact("mxv200")),
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_network_interfaces").AtSliceIndex(0).AtMapKey("ip"), knownvalue.StringRegexp(regexp.MustCompile(`^172\.17\.0\.\d+/24$`))),
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_network_interfaces").AtSliceIndex(0).AtMapKey("vlan_id"), knownvalue.Null()),
				},
			},
			{
				// One qmigrate for the move (the interrupted one, resumed), none started twice.
				PreConfig: func() {
					if n := env.remoteMigrates("DC1"); n != 1 {
						t.Fatalf("DC1 saw %d remote_migrate calls, want 1", n)
					}
					// Replacing the tainted record did not fail the VM back.
					if n := env.remoteMigrates("DC2"); n != 0 {
						t.Fatalf("DC2 saw %d remote_migrate calls before the failback, want none", n)
					}
				},
				Config: base,
			},
			{
				// The failback brought it home; refreshed, moxxie_vm says so and plans clean.
				Config:           base,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC1")),
					env.expectVMIn("moxxie_vm.web", "DC1", configMatches("ipconfig0", `^ip=172\.16\.0\.\d+/24,gw=172\.16\.0\.1$`)),
					env.expectVMStatus("moxxie_vm.web", "DC1", "running"),
				},
			},
		},
	})
}

// remoteMigrates counts the remote_migrate requests a datacenter received.
func (e *simEnv) remoteMigrates(dc string) int64 {
	var n int64
	for _, r := range e.cluster(dc).Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/remote_migrate") {
			n += r.Count
		}
	}
	return n
}

// A datacenter change cut short by the update timeout is finished by the next apply with the
// target's network and address, never a second migration, then plans clean.
func TestAccMove_interruptedDatacenterChangeIsFinishedByTheNextApply(t *testing.T) {
	env := newSimEnv(t)
	env.requireSim("slows the copy with task faults")
	vmIn := func(dc, alloc, timeout string) string {
		return fmt.Sprintf(`
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = %q
  disk       = [{ slot = "scsi0", size_gb = 4 }]
  network_interface = [{ allocation_id = moxxie_network_allocation.%s.id }]
  timeouts = { update = %q }
}
`, dc, alloc, timeout)
	}
	base := env.providerBlock(networks) + migrationNetworks
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base + vmIn("DC1", "dc1", "5m")},
			{
				PreConfig:   func() { env.cluster("DC1").SetFaults(pvesim.Faults{TaskExtra: 3 * time.Second}) },
				Config:      base + vmIn("DC2", "dc2", "4500ms"),
				ExpectError: regexp.MustCompile(`interrupted\s+during\s+transfer`),
			},
			{
				PreConfig: func() { env.cluster("DC1").SetFaults(pvesim.Faults{}) },
				Config:    base + vmIn("DC2", "dc2", "5m"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("network_interface").AtSliceIndex(0).AtMapKey("bridge"), knownvalue.StringExact("mxv200")),
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("network_interface").AtSliceIndex(0).AtMapKey("ip"), knownvalue.StringRegexp(regexp.MustCompile(`^172\.17\.0\.\d+$`))),
					env.expectVMIn("moxxie_vm.app", "DC2", configMatches("ipconfig0", `^ip=172\.17\.0\.\d+/24,gw=172\.17\.0\.1$`)),
					env.expectVMStatus("moxxie_vm.app", "DC2", "running"),
				},
			},
			{
				Config:           base + vmIn("DC2", "dc2", "5m"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// One identity in two datacenters: moxxie_vms marks both, a second running copy is an error
// naming both, a destroy then refuses and leaves both, and destroying the VM removes the stopped
// leftover too.
func TestAccMove_splitIdentity(t *testing.T) {
	env := newSimEnv(t)
	env.requireSim("plants a second copy in the simulator")
	base := env.providerBlock(networks) + migrationNetworks + webVM(true)
	list := base + `
data "moxxie_vms" "all" {
  depends_on = [moxxie_vm.web]
}
`
	var id string
	copyIn := func(running bool) func() {
		return func() {
			env.cluster("DC2").RemoveVM(300)
			if err := env.cluster("DC2").AddVM("pve1", 300, map[string]string{"name": "web-1", "tags": vm.IdentityTag(id)}, running); err != nil {
				t.Fatal(err)
			}
		}
	}
	dup := func(dc string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{"datacenter": knownvalue.StringExact(dc), "duplicate": knownvalue.Bool(true)})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy: func(*terraform.State) error {
			for dc := range env.servers {
				if vms := env.cluster(dc).VMs(); len(vms) != 0 {
					return fmt.Errorf("%s still holds %d VMs after destroy", dc, len(vms))
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: base,
				Check: func(s *terraform.State) error {
					id = s.RootModule().Resources["moxxie_vm.web"].Primary.ID
					return nil
				},
			},
			{
				PreConfig: copyIn(false),
				Config:    list,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.moxxie_vms.all", tfjsonpath.New("vms"), knownvalue.ListExact([]knownvalue.Check{dup("DC1"), dup("DC2")})),
				},
			},
			{
				PreConfig:   copyIn(true),
				Config:      list,
				PlanOnly:    true,
				ExpectError: wrapped(`is carried by 2 VMs: DC1 node pve1 VMID 100 (running); DC2 node pve1 VMID 300 (running)`),
			},
			{
				// With both running, a destroy cannot tell which is the VM: it refuses and
				// touches neither.
				Config:      list,
				Destroy:     true,
				ExpectError: wrapped(`is carried by 2 VMs`),
			},
			{
				PreConfig: func() {
					for dc, vmid := range map[string]int{"DC1": 100, "DC2": 300} {
						v, ok := env.cluster(dc).VM(vmid)
						if !ok || v.Status != "running" {
							t.Fatalf("after the refused destroy %s VMID %d is %+v (found %v), want it still running", dc, vmid, v, ok)
						}
					}
					copyIn(false)()
				},
				Config: list,
			},
		},
	})
}

// A datacenter change runs the same preflight at plan time: refusals land on datacenter or
// network_interface and the VM stays running where it is.
func TestAccMove_datacenterChangeRefusedAtPlan(t *testing.T) {
	env := newSimEnv(t)
	vmIn := func(dc, nic string) string {
		return fmt.Sprintf(`
resource "moxxie_vm" "web" {
  name       = "web-1"
  datacenter = %q
  disk       = [{ slot = "scsi0", size_gb = 4 }]
  network_interface = [%s]
}
`, dc, nic)
	}
	base := env.providerBlock(networks) + migrationNetworks
	home := vmIn("DC1", "{ allocation_id = moxxie_network_allocation.dc1.id }")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base + home},
			{
				Config:      base + vmIn("DC2", `{ bridge = "vmbr77" }`),
				PlanOnly:    true,
				ExpectError: wrapped(`net0's target bridge "vmbr77" exists neither as a bridge of node pve1 nor as an applied SDN vnet of DC2`),
			},
			{
				PreConfig:   func() { env.untouchedIn(t, "DC1"); env.snapshot(t, "DC1", "moxxie_vm.web") },
				Config:      base + vmIn("DC2", "{ allocation_id = moxxie_network_allocation.dc2.id }"),
				PlanOnly:    true,
				ExpectError: wrapped(`it has snapshots (before-upgrade)`),
			},
			{
				PreConfig: func() { env.untouchedIn(t, "DC1") },
				Config:    base + home,
			},
		},
	})
}

// Through the protocol, as Terraform calls it: each refusal the plan can know is one error on
// its attribute, and nothing is written to either cluster.
func TestAccMove_planRefusalsOnTheirAttribute(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"}, simDC{name: "DC2"}, simDC{name: "DC3"})
	env.requireSim("plants VMs and counts writes in the simulator")
	const id = "0123456789abcdef"
	if err := env.cluster("DC1").AddVM("pve1", 100, map[string]string{
		"name": "web-1", "tags": vm.IdentityTag(id), "scsi0": "local-lvm:vm-100-disk-0,size=4G",
		"net0": "virtio=BC:24:11:00:00:10,bridge=vmbr0,tag=100",
	}, true); err != nil {
		t.Fatal(err)
	}
	ok := map[string]any{"vm_id": id, "target_datacenter": "DC2", "network_mapping": map[string]any{"vlan100": "vlan200"}}
	rows := []struct {
		name, attr, detail string
		cfg                map[string]any
	}{
		{"missing storage", "storage_mapping", `target storage "ceph" (for local-lvm:vm-100-disk-0) does not exist on node pve1 of DC2`, withAttrs(ok, "storage_mapping", map[string]any{"local-lvm": "ceph"})},
		{"missing bridge", "network_mapping", `net0's target bridge "vmbr77" exists neither`, withAttrs(ok, "network_mapping", map[string]any{"vlan100": "vmbr77"})},
		{"unmapped NIC", "network_mapping", `has no entry in network_mapping; map one of: "vlan100", "vmbr0"`, withAttrs(ok, "network_mapping", map[string]any{})},
		{"own datacenter", "target_datacenter", "VM web-1 is already in datacenter DC1", withAttrs(ok, "target_datacenter", "DC1")},
		{"unknown node", "target_node", `datacenter DC2 has no node "nope"`, withAttrs(ok, "target_node", "nope")},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			h := newProtoHarness(t, env)
			h.mustConfigure(goodDatacenters(env).config())
			resetSimRequests(env)
			diags, _ := h.planCreate("moxxie_dc_migration", row.cfg)
			errs := protoErrors(diags)
			if len(errs) != 1 {
				t.Fatalf("want one error, got %d:%s", len(errs), showProtoDiags(diags))
			}
			if !strings.Contains(errs[0].Detail, row.detail) {
				t.Errorf("detail %q does not contain %q", errs[0].Detail, row.detail)
			}
			if errs[0].Attribute == nil || !errs[0].Attribute.Equal(protoPath(row.attr)) {
				t.Errorf("error on %v, want %s", errs[0].Attribute, row.attr)
			}
			if w := simWrites(env); len(w) > 0 {
				t.Errorf("the plan wrote: %v", w)
			}
		})
	}
	h := newProtoHarness(t, env)
	h.mustConfigure(goodDatacenters(env).config())
	if diags, _ := h.planCreate("moxxie_dc_migration", ok); len(protoErrors(diags)) > 0 {
		t.Errorf("a good migration does not plan: %s", showProtoDiags(diags))
	}
}

// A timeout during the shutdown: the shutdown task is let finish, the VM is started again in
// DC1 and the error says so; the next apply moves it.
func TestAccMove_interruptedShutdownStartsTheVMAgain(t *testing.T) {
	env := newSimEnv(t)
	env.requireSim("slows the shutdown with task faults")
	base := env.providerBlock(networks) + migrationNetworks + webVM(true)
	mig := func(timeout string) string {
		return migrationWith(`  target_datacenter = "DC2"` + "\n" + `  timeouts = { create = "` + timeout + `" }`)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base},
			{
				PreConfig:   func() { env.cluster("DC1").SetFaults(pvesim.Faults{TaskExtra: 2 * time.Second}) },
				Config:      base + mig("1s"),
				ExpectError: wrapped(`VM web-1 was started again in DC1`),
			},
			{
				PreConfig: func() {
					env.cluster("DC1").SetFaults(pvesim.Faults{})
					env.untouchedIn(t, "DC1")
					if n := env.remoteMigrates("DC1"); n != 0 {
						t.Fatalf("DC1 saw %d remote_migrate calls, want none", n)
					}
				},
				Config: base + mig("5m"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_dc_migration.web", tfjsonpath.New("source_datacenter"), knownvalue.StringExact("DC1")),
					env.expectVMIn("moxxie_vm.web", "DC2", configMatches("ipconfig0", `^ip=172\.17\.0\.\d+/24,gw=172\.17\.0\.1$`)),
					env.expectVMStatus("moxxie_vm.web", "DC2", "running"),
				},
			},
		},
	})
}

// target_node puts the VM on that node of the target datacenter: the migration goes to the
// node's own address, pinned to the node's own certificate (the configured endpoint is pve1,
// whose certificate is another). revert_on_destroy brings it back to DC1.
func TestAccMove_targetNode(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"}, simDC{name: "DC2", nodes: twoNodes()})
	base := env.providerBlock(networks) + migrationNetworks + webVM(true)
	runsIn := func(dc, node string) statecheck.StateCheck {
		return stateFunc(func(statecheck.CheckStateRequest) error {
			ctx, cancel := apiContext()
			defer cancel()
			api, err := env.api(dc)
			if err != nil {
				return err
			}
			vms, err := listManagedVMs(ctx, api)
			if err != nil {
				return err
			}
			if len(vms) != 1 || vms[0].Name != "web-1" || vms[0].Node != node || vms[0].Status != "running" {
				return fmt.Errorf("%s holds %+v, want web-1 running on %s", dc, vms, node)
			}
			return nil
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base},
			{
				Config: base + migrationWith(`  target_datacenter = "DC2"`+"\n"+`  target_node       = "pve2"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_dc_migration.web", tfjsonpath.New("target_node"), knownvalue.StringExact("pve2")),
					runsIn("DC2", "pve2"),
				},
			},
			{
				Config: base,
				ConfigStateChecks: []statecheck.StateCheck{
					runsIn("DC1", "pve1"),
				},
			},
		},
	})
}
