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

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// drillEnv is DC1 and DC2 sharing one PBS datastore (a sync job between them), each its own
// server, with the protected VM's configuration.
func drillEnv(t *testing.T, dc1Nodes []pvesim.NodeConfig, cores int) (*simEnv, func(drill string) string) {
	pbs := pvesim.NewPBSDatastore()
	env := newSimEnv(t, simDC{name: "DC1", nodes: dc1Nodes, pbs: pbs}, simDC{name: "DC2", pbs: pbs})
	env.requireSim("a PBS datastore both datacenters share")
	return env, func(drill string) string {
		return env.providerBlock(nil) + `
resource "moxxie_vm" "web" {
  name                = "web"
  datacenter          = "DC1"
  failover_datacenter = "DC2"
  cores               = ` + strconv.Itoa(cores) + `
  network_interface   = [{ bridge = "vmbr0", vlan_id = 10 }]
}
` + drill
	}
}

// vmRecord is what the test learns of the protected VM from state, to back it up and compare.
type vmRecord struct{ id, vmid string }

func (r *vmRecord) capture() resource.TestCheckFunc {
	return resource.ComposeTestCheckFunc(
		resource.TestCheckResourceAttrWith("moxxie_vm.web", "id", func(v string) error { r.id = v; return nil }),
		resource.TestCheckResourceAttrWith("moxxie_vm.web", "vmid", func(v string) error { r.vmid = v; return nil }),
	)
}

// backup runs the backup the protection job would: vzdump onto pbs, notes naming the identity.
func (e *simEnv) backup(t *testing.T, r *vmRecord) {
	t.Helper()
	ctx, cancel := apiContext()
	defer cancel()
	c := e.mustAPI(t, "DC1")
	var upid string
	err := c.Post(ctx, "/nodes/pve1/vzdump", map[string]any{"vmid": r.vmid, "storage": "pbs", "mode": "snapshot",
		"notes-template": "{{guestname}} moxxie-" + r.id}, &upid)
	if err := waitTask(ctx, c, upid, err); err != nil {
		t.Fatal(err)
	}
}

// primaryState is the VM in DC1 as the API shows it: VMID, status and config digest.
func (e *simEnv) primaryState(t *testing.T, r *vmRecord) string {
	t.Helper()
	ctx, cancel := apiContext()
	defer cancel()
	c := e.mustAPI(t, "DC1")
	vmid, _ := strconv.Atoi(r.vmid)
	res, found, err := findVM(ctx, c, vmid)
	if err != nil || !found {
		t.Fatalf("primary VM %s: %v %v", r.vmid, found, err)
	}
	v, err := readVM(ctx, c, res)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("VMID %d %s digest %s", v.VMID, v.Status, v.Config["digest"])
}

// guestsIn counts every guest of dc, managed or not.
func (e *simEnv) guestsIn(dc string) (int, error) {
	ctx, cancel := apiContext()
	defer cancel()
	c, err := e.api(dc)
	if err != nil {
		return 0, err
	}
	vms, err := listVMs(ctx, c)
	return len(vms), err
}

func (e *simEnv) expectNoGuestIn(dc string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		n, err := e.guestsIn(dc)
		if err == nil && n != 0 {
			err = fmt.Errorf("%s holds %d guests after the drill, want none", dc, n)
		}
		return err
	}
}

// A drill of a protected VM restores its newest backup in DC2, sees it boot and removes it:
// afterwards DC2 holds no extra VM and the primary keeps its VMID, state and config. A changed
// trigger runs it again, and the replaced drill's destroy removes a copy an interrupted run of
// it left (planted here).
func TestAccFailoverDrill_bootsAndLeavesNothing(t *testing.T) {
	env, cfg := drillEnv(t, nil, 2)
	rec := &vmRecord{}
	var before, drillID string
	drill := func(month string) string {
		return cfg(`
resource "moxxie_failover_drill" "web" {
  vm_id           = moxxie_vm.web.id
  isolated_bridge = "vmbr3"
  triggers        = { month = "` + month + `" }
}
`)
	}
	samePrimary := func(*terraform.State) error {
		if now := env.primaryState(t, rec); now != before {
			return fmt.Errorf("primary after the drill: %s, before: %s", now, before)
		}
		return nil
	}
	checks := []statecheck.StateCheck{
		statecheck.ExpectKnownValue("moxxie_failover_drill.web", tfjsonpath.New("booted"), knownvalue.Bool(true)),
		statecheck.ExpectKnownValue("moxxie_failover_drill.web", tfjsonpath.New("datacenter"), knownvalue.StringExact("DC2")),
		statecheck.ExpectKnownValue("moxxie_failover_drill.web", tfjsonpath.New("restored_from"), knownvalue.StringRegexp(regexp.MustCompile(`^pbs:backup/vm/\d+/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))),
		statecheck.ExpectKnownValue("moxxie_failover_drill.web", tfjsonpath.New("backup_time"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))),
		statecheck.ExpectKnownValue("moxxie_failover_drill.web", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{16}$`))),
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: cfg(""), Check: rec.capture()},
			{
				PreConfig: func() {
					env.backup(t, rec)
					before = env.primaryState(t, rec)
				},
				Config: drill("2026-12"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("moxxie_vm.web", plancheck.ResourceActionNoop),
					plancheck.ExpectKnownValue("moxxie_failover_drill.web", tfjsonpath.New("datacenter"), knownvalue.StringExact("DC2")),
				}},
				ConfigStateChecks: checks,
				Check: resource.ComposeTestCheckFunc(env.expectNoGuestIn("DC2"), samePrimary,
					resource.TestCheckResourceAttrWith("moxxie_failover_drill.web", "restored_from", func(v string) error {
						if !regexp.MustCompile(`^pbs:backup/vm/` + rec.vmid + `/`).MatchString(v) {
							return fmt.Errorf("restored_from %s: not a backup of VM %s", v, rec.vmid)
						}
						return nil
					}),
					resource.TestCheckResourceAttrWith("moxxie_failover_drill.web", "id", func(v string) error { drillID = v; return nil }),
					resource.TestCheckResourceAttrWith("moxxie_failover_drill.web", "vmid_used", func(v string) error {
						if n, _ := strconv.Atoi(v); n < 100 {
							return fmt.Errorf("vmid_used %q", v)
						}
						return nil
					})),
			},
			{Config: drill("2026-12"), PlanOnly: true}, // a finished drill stays finished
			{
				PreConfig: func() {
					if err := env.cluster("DC2").AddVM("pve1", 500, map[string]string{"name": "left", "tags": "moxxie-drill-" + drillID}, true); err != nil {
						t.Fatal(err)
					}
				},
				Config: drill("2027-01"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("moxxie_failover_drill.web", plancheck.ResourceActionReplace),
					plancheck.ExpectResourceAction("moxxie_vm.web", plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: checks,
				Check:             resource.ComposeTestCheckFunc(env.expectNoGuestIn("DC2"), samePrimary),
			},
		},
	})
}

// A drill that cannot run says why and leaves nothing: the bridge is missing or has an uplink
// (plan time), DC2's tasks fail, the copy restores but cannot start in DC2 (apply).
func TestAccFailoverDrill_failuresLeaveNothing(t *testing.T) {
	// DC1's node has more cores than DC2's: a VM with 24 cores backs up fine and cannot start in DC2
	env, base := drillEnv(t, []pvesim.NodeConfig{{Name: "pve1", Cores: 32, MemoryMB: 65536}}, 24)
	rec := &vmRecord{}
	drill := func(bridge string) string {
		return base(`
resource "moxxie_failover_drill" "web" {
  vm_id           = moxxie_vm.web.id
  isolated_bridge = "` + bridge + `"
}
`)
	}
	noGuestInDC2 := func() {
		if n, err := env.guestsIn("DC2"); err != nil || n != 0 {
			t.Fatalf("DC2 after the failed drill: %d guests, %v", n, err)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: base(""), Check: rec.capture()},
			{
				PreConfig:   func() { env.backup(t, rec) },
				Config:      drill("vmbr42"),
				PlanOnly:    true,
				ExpectError: wrapped(`bridge vmbr42 does not exist on node pve1 of datacenter DC2`),
			},
			{
				Config:      drill("vmbr0"),
				PlanOnly:    true,
				ExpectError: wrapped(`bridge vmbr0 on node pve1 of datacenter DC2 has ports (eno1): a drill needs a bridge without uplink`),
			},
			{
				PreConfig:   func() { env.cluster("DC2").SetFaults(pvesim.Faults{TaskFailRate: 1}) },
				Config:      drill("vmbr3"),
				ExpectError: wrapped(pvesim.TaskFailureExit),
			},
			{
				PreConfig: func() {
					noGuestInDC2()
					env.cluster("DC2").SetFaults(pvesim.Faults{})
				},
				Config:      drill("vmbr3"),
				ExpectError: wrapped(`MAX 16 vcpus allowed per VM on this node`),
			},
			{
				// nothing was left, so nothing was recorded: the next plan runs the drill again
				PreConfig:          noGuestInDC2,
				Config:             drill("vmbr3"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}
