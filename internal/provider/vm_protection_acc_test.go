package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/failover"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// newDREnv is DC1 and DC2 sharing one PBS datastore, as a PBS sync job between the sites makes it.
func newDREnv(t *testing.T) *simEnv {
	t.Helper()
	shared := pvesim.NewPBSDatastore()
	return newSimEnv(t, simDC{name: "DC1", pbs: shared}, simDC{name: "DC2", pbs: shared})
}

// vmAttr reads one attribute of a resource from state.
func vmAttr(s *terraform.State, addr, key string) string {
	return s.RootModule().Resources[addr].Primary.Attributes[key]
}

// job reads the VM's backup job in dc through the API, as an administrator sees it.
func (e *simEnv) job(dc, id string) (map[string]any, bool, error) {
	ctx, cancel := apiContext()
	defer cancel()
	c, err := e.api(dc)
	if err != nil {
		return nil, false, err
	}
	var job map[string]any
	err = c.Get(ctx, "/cluster/backup/"+failover.JobID("moxxie-"+id), nil, &job)
	if dcrouter.IsNotFound(err) {
		return nil, false, nil
	}
	return job, err == nil, err
}

// runJob does what the scheduler does when the VM's backup job is due: vzdump with its
// settings, as root.
func (e *simEnv) runJob(dc, id string) error {
	job, found, err := e.job(dc, id)
	if err != nil || !found {
		return fmt.Errorf("backup job of %s in %s: found=%v %v", id, dc, found, err)
	}
	ctx, cancel := apiContext()
	defer cancel()
	c, err := e.api(dc)
	if err != nil {
		return err
	}
	var upid string
	err = c.Post(ctx, "/nodes/pve1/vzdump", map[string]any{"vmid": job["vmid"], "storage": job["storage"], "mode": job["mode"],
		"notes-template": job["notes-template"]}, &upid)
	return waitTask(ctx, c, upid, err)
}

// backupsOf lists the backups DC2 sees of VMID vmid.
func (e *simEnv) backupsOf(dc string, vmid int) ([]dcrouter.Backup, error) {
	ctx, cancel := apiContext()
	defer cancel()
	c, err := e.api(dc)
	if err != nil {
		return nil, err
	}
	return c.Backups(ctx, "pve1", "pbs", vmid)
}

func protectedVMConfig(env *simEnv, extra map[string]string, schedule, vmExtra string) string {
	return env.providerBlock(extra) + fmt.Sprintf(`
resource "moxxie_vm" "app" {
  name                = "app-1"
  datacenter          = "DC1"
  failover_datacenter = "DC2"
  memory_mb           = 256
  network_interface = [{ bridge = "vmbr0", vlan_id = 20 }]
  protection = {
    storage  = "pbs"
    %s
  }
%s}
`, schedule, vmExtra)
}

// A protected VM gets its backup job in its datacenter; a backup the job makes shows as the
// recovery point on the next refresh, exactly as the failover datacenter lists it; a new schedule
// updates the job; dropping protection removes it.
func TestAccVMProtection_jobAndRecoveryPoint(t *testing.T) {
	env := newDREnv(t)
	const vm = "moxxie_vm.app"
	var id string
	var vmid int
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: protectedVMConfig(env, nil, `schedule = "21:00"`, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vm, tfjsonpath.New("recovery_point"), knownvalue.Null()),
					statecheck.ExpectKnownValue(vm, tfjsonpath.New("failover_state"), knownvalue.Null()),
					statecheck.ExpectKnownValue(vm, tfjsonpath.New("fenced_copies"), knownvalue.ListExact(nil)),
				},
				Check: func(s *terraform.State) error {
					id = vmAttr(s, vm, "id")
					vmid, _ = strconv.Atoi(vmAttr(s, vm, "vmid"))
					job, found, err := env.job("DC1", id)
					if err != nil || !found {
						return fmt.Errorf("no backup job in DC1: %v", err)
					}
					if job["vmid"] != strconv.Itoa(vmid) || job["storage"] != "pbs" || job["schedule"] != "21:00" || job["mode"] != "snapshot" ||
						job["notes-template"] != "{{guestname}} moxxie-"+id || job["enabled"] != float64(1) {
						return fmt.Errorf("job %v", job)
					}
					if _, found, _ := env.job("DC2", id); found {
						return fmt.Errorf("a backup job in DC2, where the VM does not run")
					}
					return nil
				},
			},
			{
				// the job runs; the next refresh shows its backup as the recovery point
				PreConfig: func() {
					if err := env.runJob("DC1", id); err != nil {
						t.Fatal(err)
					}
				},
				Config:            protectedVMConfig(env, nil, `schedule = "21:00"`, ""),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(vm, tfjsonpath.New("recovery_point").AtMapKey("volid"), knownvalue.StringRegexp(regexp.MustCompile(`^pbs:backup/vm/\d+/`)))},
				Check: func(s *terraform.State) error {
					list, err := env.backupsOf("DC2", vmid)
					if err != nil || len(list) != 1 {
						return fmt.Errorf("DC2 lists %d backups of %d: %v", len(list), vmid, err)
					}
					if got, want := vmAttr(s, vm, "recovery_point.volid"), list[0].VolID; got != want {
						return fmt.Errorf("recovery_point.volid %q, DC2 lists %q", got, want)
					}
					if got, want := vmAttr(s, vm, "recovery_point.time"), list[0].CTime.UTC().Format(time.RFC3339); got != want {
						return fmt.Errorf("recovery_point.time %q, backup made %q", got, want)
					}
					return nil
				},
			},
			{
				Config: protectedVMConfig(env, nil, "", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vm, plancheck.ResourceActionUpdate)}},
				Check: func(*terraform.State) error {
					job, _, err := env.job("DC1", id)
					if err != nil || job["schedule"] != failover.DefaultSchedule {
						return fmt.Errorf("job after dropping the schedule: %v %v", job, err)
					}
					return nil
				},
			},
			{
				Config: env.providerBlock(nil) + `
resource "moxxie_vm" "app" {
  name                = "app-1"
  datacenter          = "DC1"
  failover_datacenter = "DC2"
  memory_mb           = 256
  network_interface = [{ bridge = "vmbr0", vlan_id = 20 }]
}
`,
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(vm, tfjsonpath.New("recovery_point"), knownvalue.Null())},
				Check: func(*terraform.State) error {
					if _, found, err := env.job("DC1", id); err != nil || found {
						return fmt.Errorf("backup job after protection was removed: found=%v %v", found, err)
					}
					return nil
				},
			},
		},
	})
}

// protection without failover_datacenter, and a storage that is not a PBS storage, are plan-time
// errors on the attribute; nothing is created.
func TestAccVMProtection_planErrors(t *testing.T) {
	env := newDREnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: env.providerBlock(nil) + `
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = "DC1"
  protection = { storage = "pbs" }
}
`,
				ExpectError: wrapped("protection backs the VM up for a failover to failover_datacenter, which is not set"),
			},
			{
				Config: env.providerBlock(nil) + `
resource "moxxie_vm" "app" {
  name                = "app-1"
  datacenter          = "DC1"
  failover_datacenter = "DC2"
  protection          = { storage = "local-lvm" }
}
`,
				ExpectError: wrapped(`Storage "local-lvm" of datacenter DC1 is of type`),
			},
		},
	})
}
