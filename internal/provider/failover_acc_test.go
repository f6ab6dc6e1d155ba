package provider

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
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

// simCopy is one VM carrying an identity, as a simulator holds it.
type simCopy struct {
	DC     string
	VM     pvesim.VM
	Fenced bool
}

func (c simCopy) String() string {
	return fmt.Sprintf("%s/%d %s fenced=%v", c.DC, c.VM.VMID, c.VM.Status, c.Fenced)
}

// copiesOf asks every simulator (also a stopped one) which VMs carry identity id.
func (e *simEnv) copiesOf(id string) []simCopy {
	var out []simCopy
	for _, dc := range e.names() {
		for _, v := range e.servers[dc].Cluster.VMs() {
			tags := vm.ParseTags(v.Config["tags"])
			for _, t := range tags {
				if t == vm.IdentityTag(id) {
					out = append(out, simCopy{DC: dc, VM: v, Fenced: vm.IsFenced(tags)})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// onlyCopyRuns checks that identity id is carried by exactly one VM, unfenced and running in dc.
func (e *simEnv) onlyCopyRuns(id, dc string) ([]simCopy, error) {
	cs := e.copiesOf(id)
	if len(cs) != 1 || cs[0].DC != dc || cs[0].VM.Status != "running" || cs[0].Fenced {
		return cs, fmt.Errorf("copies %v, want one running in %s, unfenced", cs, dc)
	}
	return cs, nil
}

func running(cs []simCopy) []simCopy {
	var out []simCopy
	for _, c := range cs {
		if c.VM.Status == "running" {
			out = append(out, c)
		}
	}
	return out
}

const drNetworks = `
resource "moxxie_network_allocation" "dc1" {
  datacenter = "DC1"
  client_id  = "acme"
}
resource "moxxie_network_allocation" "dc2" {
  datacenter = "DC2"
  client_id  = "acme"
  vlan_id    = 200
}
`

// drConfig is a protected VM on DC1's allocation failing over to DC2; dc1 is extra HCL for DC1's
// provider entry (failed = true), vmExtra extra VM attributes (failback).
func drConfig(env *simEnv, dc1, vmExtra string) string {
	extra := map[string]string{"DC1": networks["DC1"] + dc1, "DC2": networks["DC2"]}
	return env.providerBlock(extra) + drNetworks + `
resource "moxxie_vm" "web" {
  name                = "web-1"
  datacenter          = "DC1"
  failover_datacenter = "DC2"
  memory_mb           = 256
  disk                = [{ slot = "scsi0", size_gb = 4 }]
  network_interface   = [{ allocation_id = moxxie_network_allocation.dc1.id }]
  protection          = { storage = "pbs" }
` + vmExtra + `}
`
}

// failoverSteps take a protected VM through a lost DC1: created and backed up; DC1's server is
// closed and declared failed, and the apply restores the VM in DC2 from the newest backup on
// DC2's allocation, as an update; the plan after is empty; DC1 returns with its old copy still
// running, and refresh fences it (stopped, onboot=0, tagged), the plan staying empty.
func failoverSteps(t *testing.T, env *simEnv, id *string) []resource.TestStep {
	const web = "moxxie_vm.web"
	var volid string
	return []resource.TestStep{
		{
			Config: drConfig(env, "", ""),
			Check: func(s *terraform.State) error {
				*id = vmAttr(s, web, "id")
				return nil
			},
		},
		{
			PreConfig: func() {
				if err := env.runJob("DC1", *id); err != nil {
					t.Fatal(err)
				}
			},
			Config:           drConfig(env, "", ""),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check: func(s *terraform.State) error {
				if volid = vmAttr(s, web, "recovery_point.volid"); volid == "" {
					return fmt.Errorf("no recovery point after the backup")
				}
				return nil
			},
		},
		{
			// DC1 is lost: its server is gone, and the operator says so.
			PreConfig: func() { env.closeServer("DC1") },
			Config:    drConfig(env, "      failed = true\n", ""),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(web, plancheck.ResourceActionUpdate),
				plancheck.ExpectKnownValue(web, tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
				plancheck.ExpectKnownValue(web, tfjsonpath.New("failover_state").AtMapKey("restored_from"), knownvalue.NotNull()),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(web, tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
				statecheck.ExpectKnownValue(web, tfjsonpath.New("primary_dc"), knownvalue.StringExact("DC1")),
				statecheck.ExpectKnownValue(web, tfjsonpath.New("failover_state").AtMapKey("data_loss_window"), knownvalue.StringRegexp(regexp.MustCompile(`^\d+(\.\d+)?[hms]`))),
				statecheck.ExpectKnownValue(web, tfjsonpath.New("current_network_interfaces").AtSliceIndex(0).AtMapKey("bridge"), knownvalue.StringExact("mxv200")),
				env.expectVMIn(web, "DC2", configMatches("net0", `bridge=mxv200$`)),
				env.expectVMIn(web, "DC2", configMatches("ipconfig0", `^ip=172\.17\.0\.\d+/24,gw=172\.17\.0\.1$`)),
				env.expectVMStatus(web, "DC2", "running"),
			},
			Check: func(s *terraform.State) error {
				if got := vmAttr(s, web, "failover_state.restored_from"); got != volid {
					return fmt.Errorf("restored_from %q, the recovery point was %q", got, volid)
				}
				if got := vmAttr(s, web, "failover_state.backup_time"); got != vmAttr(s, web, "recovery_point.time") {
					return fmt.Errorf("backup_time %q, recovery point made %q", got, vmAttr(s, web, "recovery_point.time"))
				}
				cs := env.copiesOf(*id)
				// DC1's copy still "runs" in the stopped simulator: the datacenter is lost, not its VMs
				if len(cs) != 2 || cs[1].DC != "DC2" || cs[1].VM.Status != "running" || cs[0].DC != "DC1" {
					return fmt.Errorf("copies %v, want DC1's old one and one running in DC2", cs)
				}
				return nil
			},
		},
		{
			Config:           drConfig(env, "      failed = true\n", ""),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		{
			// DC1 returns with its old VMs; failed is dropped. Refresh fences the stale copy.
			PreConfig: func() {
				if err := env.restartServer("DC1"); err != nil {
					t.Fatal(err)
				}
			},
			Config:           drConfig(env, "", ""),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(web, tfjsonpath.New("fenced_copies"), knownvalue.ListSizeExact(1)),
				statecheck.ExpectKnownValue(web, tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
			},
			Check: func(s *terraform.State) error {
				cs := env.copiesOf(*id)
				if r := running(cs); len(r) != 1 || r[0].DC != "DC2" {
					return fmt.Errorf("running copies %v, want exactly DC2's", r)
				}
				for _, c := range cs {
					if c.DC == "DC1" && (!c.Fenced || c.VM.Config["onboot"] != "0" || c.VM.Status != "stopped") {
						return fmt.Errorf("DC1's copy is not fenced: %v %v", c, c.VM.Config)
					}
				}
				if got, want := vmAttr(s, web, "fenced_copies.0"), fmt.Sprintf("DC1/%d", cs[0].VM.VMID); got != want {
					return fmt.Errorf("fenced_copies %q, want %q", got, want)
				}
				if _, found, err := env.job("DC1", *id); err != nil || found {
					return fmt.Errorf("DC1 still holds the VM's backup job (found=%v, %v)", found, err)
				}
				if _, found, err := env.job("DC2", *id); err != nil || !found {
					return fmt.Errorf("the backup job did not follow the VM to DC2 (found=%v, %v)", found, err)
				}
				return nil
			},
		},
	}
}

func TestAccFailover_discardFenced(t *testing.T) {
	env := newDREnv(t)
	env.requireSim("stops and restarts a datacenter's server")
	var id string
	steps := append(failoverSteps(t, env, &id), resource.TestStep{
		Config: drConfig(env, "", `  failback = "discard_fenced"`+"\n"),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
			plancheck.ExpectResourceAction("moxxie_vm.web", plancheck.ResourceActionUpdate)}},
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("fenced_copies"), knownvalue.ListSizeExact(0)),
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
		},
		Check: func(*terraform.State) error {
			_, err := env.onlyCopyRuns(id, "DC2")
			return err
		},
	}, resource.TestStep{
		Config:           drConfig(env, "", `  failback = "discard_fenced"`+"\n"),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
	})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), CheckDestroy: env.checkDestroy, Steps: steps})
}

func TestAccFailover_failbackMigrate(t *testing.T) {
	env := newDREnv(t)
	env.requireSim("stops and restarts a datacenter's server")
	var id string
	steps := append(failoverSteps(t, env, &id), resource.TestStep{
		Config: drConfig(env, "", `  failback = "migrate"`+"\n"),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
			plancheck.ExpectResourceAction("moxxie_vm.web", plancheck.ResourceActionUpdate),
			plancheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC1"))}},
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC1")),
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("failover_state"), knownvalue.Null()),
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("fenced_copies"), knownvalue.ListSizeExact(0)),
			env.expectVMIn("moxxie_vm.web", "DC1", configMatches("net0", `bridge=mxv100$`)),
			env.expectVMStatus("moxxie_vm.web", "DC1", "running"),
		},
		Check: func(s *terraform.State) error {
			cs, err := env.onlyCopyRuns(id, "DC1")
			if err != nil {
				return err
			}
			ip := strings.TrimPrefix(strings.Split(cs[0].VM.Config["ipconfig0"], ",")[0], "ip=")
			if p, err := netip.ParsePrefix(ip); err != nil || !netip.MustParsePrefix("172.16.0.0/16").Contains(p.Addr()) {
				return fmt.Errorf("home address %q is not DC1's", ip)
			}
			if _, found, _ := env.job("DC1", id); !found {
				return fmt.Errorf("the backup job did not follow the VM home")
			}
			if _, found, _ := env.job("DC2", id); found {
				return fmt.Errorf("DC2 still holds the backup job")
			}
			return nil
		},
	}, resource.TestStep{
		Config:           drConfig(env, "", `  failback = "migrate"`+"\n"),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
	})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), CheckDestroy: env.checkDestroy, Steps: steps})
}

// A datacenter that merely does not answer is never failed over: without failed = true the plan
// stays empty and the failover datacenter gets no copy; once it answers again all is as before.
func TestAccFailover_unreachableIsNoFailover(t *testing.T) {
	env := newDREnv(t)
	env.requireSim("stops and restarts a datacenter's server")
	var id string
	steps := failoverSteps(t, env, &id)[:2] // created and backed up
	steps = append(steps, resource.TestStep{
		PreConfig:        func() { env.closeServer("DC1") },
		Config:           drConfig(env, "", ""),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		Check: func(*terraform.State) error {
			for _, c := range env.copiesOf(id) {
				if c.DC != "DC1" {
					return fmt.Errorf("copy %v outside DC1 while DC1 was only unreachable", c)
				}
			}
			return nil
		},
	}, resource.TestStep{
		PreConfig: func() {
			if err := env.restartServer("DC1"); err != nil {
				t.Fatal(err)
			}
		},
		Config:           drConfig(env, "", ""),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC1")),
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("fenced_copies"), knownvalue.ListSizeExact(0)),
		},
		Check: func(*terraform.State) error {
			_, err := env.onlyCopyRuns(id, "DC1")
			return err
		},
	})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), CheckDestroy: env.checkDestroy, Steps: steps})
}

// A failover cut short by the update timeout while the restore runs is finished by the next
// apply: it adopts the restored copy (one restore in all), starts it, and then plans clean.
func TestAccFailover_interruptedIsFinishedByTheNextApply(t *testing.T) {
	env := newDREnv(t)
	env.requireSim("stops a datacenter's server and slows the restore")
	var id string
	restores := func() (n int64) {
		for _, r := range env.cluster("DC2").Requests() {
			if r.Method == "POST" && r.Path == "/nodes/{node}/qemu" {
				n += r.Count
			}
		}
		return n
	}
	failed := "      failed = true\n"
	steps := failoverSteps(t, env, &id)[:2] // created and backed up
	steps = append(steps, resource.TestStep{
		PreConfig: func() {
			env.closeServer("DC1")
			env.cluster("DC2").ResetRequests()
			env.cluster("DC2").SetFaults(pvesim.Faults{TaskExtra: 4 * time.Second})
		},
		Config:      drConfig(env, failed, `  timeouts = { update = "2s" }`+"\n"),
		ExpectError: regexp.MustCompile(`(?i)deadline|timed out|context`),
	}, resource.TestStep{
		PreConfig: func() { env.cluster("DC2").SetFaults(pvesim.Faults{}) },
		Config:    drConfig(env, failed, ""),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("failover_state").AtMapKey("restored_from"), knownvalue.NotNull()),
			env.expectVMStatus("moxxie_vm.web", "DC2", "running"),
		},
		Check: func(*terraform.State) error {
			var inDC2 []simCopy
			for _, c := range env.copiesOf(id) {
				if c.DC == "DC2" {
					inDC2 = append(inDC2, c)
				}
			}
			if len(inDC2) != 1 || inDC2[0].VM.Status != "running" {
				return fmt.Errorf("DC2 holds %v, want one running copy", inDC2)
			}
			if n := restores(); n != 1 {
				return fmt.Errorf("DC2 received %d restores, want 1: the interrupted one, adopted", n)
			}
			return nil
		},
	}, resource.TestStep{
		Config:           drConfig(env, failed, ""),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
	}, resource.TestStep{
		// DC1 back, so the post-test destroy can reach both datacenters.
		PreConfig: func() {
			if err := env.restartServer("DC1"); err != nil {
				t.Fatal(err)
			}
		},
		Config: drConfig(env, "", ""),
	})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), CheckDestroy: env.checkDestroy, Steps: steps})
}

// A lost datacenter is more often frozen than gone: its address takes the TCP handshake and
// answers nothing (a hung pveproxy, a half-dead link). Declared failed, it is not asked at all:
// the failover apply restores the VM in DC2 without one connection to DC1 and without waiting on
// it, the plan after stays empty, and once DC1 answers again its stale copy is fenced.
func TestAccFailover_frozenDatacenter(t *testing.T) {
	env := newDREnv(t)
	env.requireSim("freezes a datacenter's address")
	dc1 := env.servers["DC1"]
	var probe *outageProbe
	var id string
	failed := "      failed = true\n"
	steps := failoverSteps(t, env, &id)[:2] // created and backed up
	steps = append(steps, resource.TestStep{
		PreConfig: func() {
			_ = dc1.Down()
			probe = newOutageProbe(t, strings.TrimPrefix(dc1.URL, "https://"))
		},
		Config: drConfig(env, failed, ""),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
			plancheck.ExpectResourceAction("moxxie_vm.web", plancheck.ResourceActionUpdate),
		}},
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("current_dc"), knownvalue.StringExact("DC2")),
			env.expectVMStatus("moxxie_vm.web", "DC2", "running"),
		},
	}, resource.TestStep{
		Config:           drConfig(env, failed, ""),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		Check: func(*terraform.State) error {
			if n := probe.connections(); n != 0 {
				return fmt.Errorf("DC1, declared failed, saw %d connection attempts; want none", n)
			}
			return nil
		},
	}, resource.TestStep{
		PreConfig: func() {
			probe.close()
			if err := dc1.Up(); err != nil {
				t.Fatal(err)
			}
		},
		Config: drConfig(env, "", ""),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("fenced_copies"), knownvalue.ListSizeExact(1)),
		},
		Check: func(*terraform.State) error {
			if r := running(env.copiesOf(id)); len(r) != 1 || r[0].DC != "DC2" {
				return fmt.Errorf("running copies %v, want exactly DC2's", r)
			}
			return nil
		},
	})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), CheckDestroy: env.checkDestroy, Steps: steps})
}

// VMs failing over together are placed as creates are, each booked before its restore begins:
// two VMs that each fill a node of DC2 land on its two nodes, not both on the node that had the
// most free memory when they looked (the restores are slowed so that both look before either
// VM runs). Their new VMIDs rename their volumes, which the plan leaves unknown.
func TestAccFailover_togetherPackOntoTheNodes(t *testing.T) {
	shared := pvesim.NewPBSDatastore()
	small := []pvesim.NodeConfig{{Name: "pve1", Cores: 8, MemoryMB: 1024}, {Name: "pve2", Cores: 8, MemoryMB: 1024}}
	env := newSimEnv(t, simDC{name: "DC1", pbs: shared}, simDC{name: "DC2", pbs: shared, nodes: small})
	env.requireSim("stops a datacenter's server and slows the restores")
	config := func(dc1 string) string {
		extra := map[string]string{"DC1": networks["DC1"] + dc1, "DC2": networks["DC2"]}
		// other-1 holds DC2's first VMID, so the restores get VMIDs (and volume names) other
		// than the VMs' in DC1; stopped, it takes no room.
		out := env.providerBlock(extra) + drNetworks + `
resource "moxxie_vm" "other" {
  name       = "other-1"
  datacenter = "DC2"
  memory_mb  = 128
  started    = false
}
`
		for _, name := range []string{"web-1", "web-2"} {
			out += fmt.Sprintf(`
resource "moxxie_vm" %q {
  name                = %q
  datacenter          = "DC1"
  failover_datacenter = "DC2"
  memory_mb           = 768
  disk                = [{ slot = "scsi0", size_gb = 4 }]
  network_interface   = [{ allocation_id = moxxie_network_allocation.dc1.id }]
  protection          = { storage = "pbs" }
}
`, name, name)
		}
		return out
	}
	ids := map[string]string{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: config(""),
				Check: func(s *terraform.State) error {
					for _, n := range []string{"web-1", "web-2"} {
						ids[n] = vmAttr(s, "moxxie_vm."+n, "id")
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					for _, id := range ids {
						if err := env.runJob("DC1", id); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: config(""),
			},
			{
				PreConfig: func() {
					env.closeServer("DC1")
					env.cluster("DC2").SetFaults(pvesim.Faults{TaskExtra: time.Second})
				},
				Config: config("      failed = true\n"),
				Check: func(*terraform.State) error {
					nodes := map[string]string{}
					for n, id := range ids {
						var in []simCopy
						for _, c := range env.copiesOf(id) {
							if c.DC == "DC2" {
								in = append(in, c)
							}
						}
						if len(in) != 1 || in[0].VM.Status != "running" {
							return fmt.Errorf("%s in DC2: %v, want one running copy", n, in)
						}
						nodes[n] = in[0].VM.Node
					}
					if nodes["web-1"] == nodes["web-2"] {
						return fmt.Errorf("both VMs (768 MB each) were restored on %s, a node of 1024 MB; DC2 has two", nodes["web-1"])
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					env.cluster("DC2").SetFaults(pvesim.Faults{})
					if err := env.restartServer("DC1"); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(""),
			},
		},
	})
}
