package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// haView is what a datacenter's API says of node affinity: its HA rules, HA resources and the
// managed VMs by name.
type haView struct {
	rules []dcrouter.HARule
	ha    []dcrouter.HAResource
	vms   map[string]dcrouter.Resource
}

// rule finds the rule of the VM named owner of one kind; ok is false when there is none.
func (v haView) rule(owner, kind string) (dcrouter.HARule, bool) {
	id := vm.RuleID(v.vms[owner].VMID, kind)
	for _, r := range v.rules {
		if r.ID == id {
			return r, true
		}
	}
	return dcrouter.HARule{}, false
}

// sids are the HA resource ids of the named VMs, sorted as PVE lists them.
func (v haView) sids(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "vm:" + strconv.Itoa(v.vms[n].VMID)
	}
	slices.Sort(out)
	return out
}

func readHA(ctx context.Context, c *dcrouter.Client) (haView, error) {
	var v haView
	var err error
	if v.rules, err = c.HARules(ctx); err != nil {
		return v, err
	}
	if v.ha, err = c.HAResources(ctx); err != nil {
		return v, err
	}
	vms, err := listManagedVMs(ctx, c)
	v.vms = map[string]dcrouter.Resource{}
	for _, r := range vms {
		v.vms[r.Name] = r
	}
	return v, err
}

// expectHA checks dc's node affinity as its API reports it.
func (e *simEnv) expectHA(dc string, want func(haView) error) statecheck.StateCheck {
	return haCheck{env: e, dc: dc, want: want}
}

type haCheck struct {
	env  *simEnv
	dc   string
	want func(haView) error
}

func (c haCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	ctx, cancel := apiContext()
	defer cancel()
	api, err := c.env.api(c.dc)
	if err != nil {
		resp.Error = err
		return
	}
	v, err := readHA(ctx, api)
	if err == nil {
		err = c.want(v)
	}
	if err != nil {
		resp.Error = fmt.Errorf("%s: %w", c.dc, err)
	}
}

func twoNodes() []pvesim.NodeConfig {
	return []pvesim.NodeConfig{{Name: "pve1", Cores: 16, MemoryMB: 65536}, {Name: "pve2", Cores: 16, MemoryMB: 65536}}
}

// require_different_node and prefer_same_node end up as PVE HA rules in the VM's datacenter,
// follow changes, and leave nothing behind; what cannot be met fails the plan.
func TestAccAffinity_nodeRules(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1", nodes: twoNodes()}, simDC{name: "DC2"})
	vmBlock := func(res, name, extra string) string {
		return `
resource "moxxie_vm" "` + res + `" {
  name       = "` + name + `"
  datacenter = "DC1"
` + extra + `}
`
	}
	a := vmBlock("a", "db-a", "")
	apart := env.providerBlock(nil) + a + vmBlock("b", "db-b", "  affinity = { require_different_node = [moxxie_vm.a.name] }\n")
	together := env.providerBlock(nil) + a + vmBlock("b", "db-b", "  affinity = { prefer_same_node = [moxxie_vm.a.name] }\n")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: apart,
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectHA("DC1", func(v haView) error {
						r, ok := v.rule("db-b", "apart")
						switch {
						case !ok:
							return fmt.Errorf("no apart rule of db-b in %+v", v.rules)
						case r.Affinity != "negative" || !slices.Equal(r.Resources, v.sids("db-a", "db-b")) || len(r.Errors) > 0:
							return fmt.Errorf("apart rule %+v", r)
						case v.vms["db-a"].Node == v.vms["db-b"].Node:
							return fmt.Errorf("db-a and db-b were both created on %s", v.vms["db-a"].Node)
						case len(v.ha) != 2:
							return fmt.Errorf("HA resources %+v, want db-a and db-b", v.ha)
						}
						return nil
					}),
				},
			},
			{
				// A third VM to keep apart needs a third node.
				Config: apart + vmBlock("c", "db-c", "") + `
resource "moxxie_vm" "d" {
  name       = "db-d"
  datacenter = "DC1"
  affinity   = { require_different_node = [moxxie_vm.a.name, moxxie_vm.b.name, moxxie_vm.c.name] }
}
`,
				PlanOnly:    true,
				ExpectError: wrapped(`VM "db-d" must run on a node apart from 3 other VMs (require_different_node), which needs 4 nodes, but DC1 has 2 online`),
			},
			{
				Config: apart + `
resource "moxxie_vm" "c" {
  name       = "db-c"
  datacenter = "DC1"
  node       = moxxie_vm.a.node
  affinity   = { require_different_node = [moxxie_vm.a.name] }
}
`,
				PlanOnly:    true,
				ExpectError: wrapped(`VM "db-c" must not share a node with "db-a" (require_different_node), but node is set to`),
			},
			{
				// Apart by one VM's rule, together by the other's: PVE would refuse the second rule.
				Config: env.providerBlock(nil) + vmBlock("a", "db-a", "  affinity = { prefer_same_node = [\"db-b\"] }\n") +
					vmBlock("b", "db-b", "  affinity = { require_different_node = [moxxie_vm.a.name] }\n"),
				PlanOnly:    true,
				ExpectError: wrapped(`VMs "db-a" and "db-b" are to be kept apart (require_different_node) and together (prefer_same_node) by their rules`),
			},
			{
				Config: together,
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectHA("DC1", func(v haView) error {
						if r, ok := v.rule("db-b", "apart"); ok {
							return fmt.Errorf("apart rule left: %+v", r)
						}
						r, ok := v.rule("db-b", "together")
						if !ok || r.Affinity != "positive" || !slices.Equal(r.Resources, v.sids("db-a", "db-b")) {
							return fmt.Errorf("together rule %+v (found %v) in %+v", r, ok, v.rules)
						}
						return nil
					}),
				},
			},
			{
				// db-b is an HA resource now: PVE hands its shutdown to the HA stack, which acts
				// after the API's task has ended (here a second later, as HA's loop may); the apply
				// waits for it rather than record a VM that still runs.
				PreConfig: func() {
					env.requireSim("delays the HA stack with a task hook")
					env.cluster("DC1").OnTask(func(typ, _ string) {
						if typ == "qmshutdown" {
							time.Sleep(time.Second)
						}
					})
				},
				Config: strings.Replace(together, `  affinity = { prefer_same_node`, "  started  = false\n  affinity = { prefer_same_node", 1),
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMStatus("moxxie_vm.b", "DC1", "stopped"),
					env.expectHA("DC1", func(v haView) error {
						for _, h := range v.ha {
							if h.SID == v.sids("db-b")[0] && h.State != "stopped" {
								return fmt.Errorf("db-b's HA state is %s", h.State)
							}
						}
						return nil
					}),
				},
			},
			{
				// Without node rules, the rule and the HA resources moxxie added go.
				PreConfig: func() { env.cluster("DC1").OnTask(nil) },
				Config:    env.providerBlock(nil) + a + vmBlock("b", "db-b", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectHA("DC1", func(v haView) error {
						if len(v.rules) != 0 || len(v.ha) != 0 {
							return fmt.Errorf("left: rules %+v, HA resources %+v", v.rules, v.ha)
						}
						return nil
					}),
				},
			},
			{Config: together},
		},
	})
}

// Tag groups keep a VM apart from VMs it does not name, also those other workspaces manage.
func TestAccAffinity_tagGroups(t *testing.T) {
	env := newSimEnv(t)
	other := `
resource "moxxie_vm" "other" {
  name       = "their-db"
  datacenter = "DC1"
  tags       = ["team-db"]
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: env.providerBlock(nil) + other},
			{
				Config: env.providerBlock(nil) + other + `
resource "moxxie_vm" "web" {
  name       = "web"
  datacenter = "DC1"
  affinity   = { require_different_dc_tags = ["team-db"] }
}
`,
				PlanOnly:    true,
				ExpectError: wrapped(`VM "web" must not share a datacenter with VMs tagged "team-db" (require_different_dc_tags), but "their-db" is in DC1`),
			},
			{
				// The other direction: planned first, the rule holds against a tagged VM planned later.
				Config: env.providerBlock(nil) + other + `
resource "moxxie_vm" "web" {
  name       = "web"
  datacenter = "DC2"
  affinity   = { require_different_dc_tags = ["team-db"] }
}
resource "moxxie_vm" "db2" {
  name       = "their-db-2"
  datacenter = "DC2"
  tags       = ["team-db"]
  description = moxxie_vm.web.name
}
`,
				PlanOnly:    true,
				ExpectError: wrapped(`VM "web" must not share a datacenter with VMs tagged "team-db" (require_different_dc_tags), but "their-db-2" carries it and both are planned into DC2`),
			},
		},
	})
}

// Terraform's test harness shows errors but not warnings, so rules that name nothing are checked
// on the resource's own plan-time check: a node rule resolves in the VM's datacenter only.
func TestPlacement_nodeRulesNamingNothingWarn(t *testing.T) {
	t.Setenv("TF_ACC", "1")
	env := newSimEnv(t)
	env.requireSim("plants a VM in the simulator")
	env.checkDestroyAtEnd(t)
	env.addVM(t, "DC2", "pve1", 300, map[string]any{"name": "db-1", "tags": "moxxie-00000000000000aa;team-db"}, false, true)
	r := &vmResource{data: env.providerData(t)}
	me := placement.Planned{Name: "web-1", DC: "DC1", Affinity: placement.Affinity{
		RequireDifferentNode: []string{"db-1"}, PreferSameDCTags: []string{"team-db"}, RequireDifferentDCTags: []string{"team-nobody"}}}
	var diags diag.Diagnostics
	r.checkAffinity(context.Background(), me, &diags)
	if diags.HasError() {
		t.Fatalf("errors: %v", diags)
	}
	var got []string
	for _, w := range diags.Warnings() {
		got = append(got, w.Summary()+": "+w.Detail())
	}
	for _, want := range []string{
		`Affinity rule names nothing: require_different_node names "db-1", which DC1 does not hold`,
		`Affinity rule names nothing: require_different_dc_tags names tag "team-nobody", which no other VM carries`,
		`Affinity preference not met: VM "web-1" prefers the datacenter of VMs tagged "team-db" (prefer_same_dc_tags), but they are in DC2`,
	} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, want) }) {
			t.Errorf("no warning %q in %q", want, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("warnings %q, want 3", got)
	}
}

// A VM with node rules moves to another datacenter: moxxie takes it out of HA first (remote
// migration refuses HA resources), and its rules are written again where it lands, against the
// VMs of that name there.
func TestAccAffinity_nodeRulesFollowAMove(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1", nodes: twoNodes()}, simDC{name: "DC2", nodes: twoNodes()})
	app := func(dc, alloc string) string {
		return fmt.Sprintf(`
resource "moxxie_vm" "db1" {
  name       = "db-a"
  datacenter = "DC1"
}
resource "moxxie_vm" "db2" {
  name       = "db-a"
  datacenter = "DC2"
}
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = %q
  disk       = [{ slot = "scsi0", size_gb = 4 }]
  network_interface = [{ allocation_id = moxxie_network_allocation.%s.id }]
  affinity   = { require_different_node = [moxxie_vm.db1.name, moxxie_vm.db2.name] }
}
`, dc, alloc)
	}
	base := env.providerBlock(networks) + migrationNetworks
	ruled := func(want bool) func(haView) error {
		return func(v haView) error {
			r, ok := v.rule("app-1", "apart")
			switch {
			case !want && (len(v.rules) != 0 || len(v.ha) != 0):
				return fmt.Errorf("left: rules %+v, HA resources %+v", v.rules, v.ha)
			case want && (!ok || !slices.Equal(r.Resources, v.sids("app-1", "db-a"))):
				return fmt.Errorf("apart rule of app-1 %+v (found %v) in %+v", r, ok, v.rules)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config:            base + app("DC1", "dc1"),
				ConfigStateChecks: []statecheck.StateCheck{env.expectHA("DC1", ruled(true)), env.expectHA("DC2", ruled(false))},
			},
			{
				Config:            base + app("DC2", "dc2"),
				ConfigStateChecks: []statecheck.StateCheck{env.expectHA("DC1", ruled(false)), env.expectHA("DC2", ruled(true))},
			},
		},
	})
}

// A node rule lost outside moxxie (deleted by hand) shows in the next plan as a change of
// ha_rules, and its apply writes it again; a move that fails after taking the VM out of its rules
// (remote migration refuses HA resources) puts them back in the same apply, so reverting the
// datacenter plans nothing.
func TestAccAffinity_lostNodeRulesAreWrittenAgain(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1", nodes: twoNodes()}, simDC{name: "DC2", nodes: twoNodes()})
	app := func(dc, alloc string) string {
		return fmt.Sprintf(`
resource "moxxie_vm" "db" {
  name       = "db-a"
  datacenter = "DC1"
}
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = %q
  disk       = [{ slot = "scsi0", size_gb = 4 }]
  network_interface = [{ allocation_id = moxxie_network_allocation.%s.id }]
  affinity   = { require_different_node = [moxxie_vm.db.name] }
}
`, dc, alloc)
	}
	base := env.providerBlock(networks) + migrationNetworks
	var appVMID int
	ruled := func(v haView) error {
		r, ok := v.rule("app-1", "apart")
		if !ok || !slices.Equal(r.Resources, v.sids("app-1", "db-a")) {
			return fmt.Errorf("apart rule of app-1 %+v (found %v) in %+v", r, ok, v.rules)
		}
		appVMID = v.vms["app-1"].VMID
		return nil
	}
	inDC1 := func(t *testing.T) {
		ctx, cancel := apiContext()
		defer cancel()
		api, err := env.api("DC1")
		if err != nil {
			t.Fatal(err)
		}
		v, err := readHA(ctx, api)
		if err == nil {
			err = ruled(v)
		}
		if err != nil {
			t.Fatalf("DC1: %v", err)
		}
	}
	heldRules := func() statecheck.StateCheck {
		return lazyCheck(func() statecheck.StateCheck { // appVMID is known once a step has run
			return statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("ha_rules"), knownvalue.MapExact(map[string]knownvalue.Check{
				vm.RuleID(appVMID, "apart"): knownvalue.StringRegexp(regexp.MustCompile(`^vm:\d+,vm:\d+$`)),
			}))
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: base + app("DC1", "dc1"),
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectHA("DC1", ruled),
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("ha_rules"), knownvalue.MapSizeExact(1)),
					statecheck.ExpectKnownValue("moxxie_vm.db", tfjsonpath.New("ha_rules"), knownvalue.MapSizeExact(0)),
				},
			},
			{
				PreConfig: func() {
					ctx, cancel := apiContext()
					defer cancel()
					api, err := env.api("DC1")
					if err == nil {
						err = api.DeleteHARule(ctx, vm.RuleID(appVMID, "apart"))
					}
					if err != nil {
						t.Fatal(err)
					}
				},
				Config: base + app("DC1", "dc1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("moxxie_vm.app", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("moxxie_vm.app", tfjsonpath.New("ha_rules")),
					plancheck.ExpectResourceAction("moxxie_vm.db", plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{env.expectHA("DC1", ruled), heldRules()},
			},
			{
				// The migration task fails after moxxie shut app-1 down and took it out of HA: the
				// shutdown's task arms the failure for the next task, which the migration's disarms.
				PreConfig: func() {
					env.requireSim("fails the migration task with a task hook")
					c := env.cluster("DC1")
					c.OnTask(func(typ, _ string) {
						switch typ {
						case "qmshutdown":
							c.SetFaults(pvesim.Faults{TaskFailRate: 1})
						case "qmigrate":
							c.SetFaults(pvesim.Faults{})
						}
					})
				},
				Config:      base + app("DC2", "dc2"),
				ExpectError: wrapped(`app-1 was started again in DC1`),
			},
			{
				PreConfig: func() {
					env.cluster("DC1").OnTask(nil)
					env.cluster("DC1").SetFaults(pvesim.Faults{})
					inDC1(t) // put back by the failed apply itself
				},
				Config:           base + app("DC1", "dc1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMStatus("moxxie_vm.app", "DC1", "running"), heldRules(),
				},
			},
		},
	})
}

// lazyCheck builds its check when it runs, from values earlier steps found.
type lazyCheck func() statecheck.StateCheck

func (f lazyCheck) CheckState(ctx context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	f().CheckState(ctx, req, resp)
}

// A node rule naming a VM the datacenter does not hold yet (created later in the same apply,
// without a reference) is written without it, with a warning; the harness does not show
// warnings, so the resource's step is called directly.
func TestPlacement_nodeRuleWithoutItsPeerWarns(t *testing.T) {
	t.Setenv("TF_ACC", "1")
	env := newSimEnv(t, simDC{name: "DC1", nodes: twoNodes()})
	env.requireSim("plants VMs in the simulator")
	env.checkDestroyAtEnd(t)
	env.addVM(t, "DC1", "pve1", 300, map[string]any{"name": "web-1"}, false, false)
	env.addVM(t, "DC1", "pve2", 301, map[string]any{"name": "db-1", "tags": "moxxie-00000000000000aa"}, false, false)
	r := &vmResource{data: env.providerData(t)}
	ctx := context.Background()
	at := affinitySchema().GetType().(types.ObjectType).AttrTypes
	names := func(n ...string) types.Set { s, _ := types.SetValueFrom(ctx, types.StringType, n); return s }
	none := types.SetNull(types.StringType)
	aff, d := types.ObjectValueFrom(ctx, at, affinityModel{PreferSameDC: none, RequireDifferentDC: none, PreferSameDCTags: none,
		RequireDifferentDCTags: none, PreferSameNode: none, RequireDifferentNode: names("db-1", "db-later")})
	if d.HasError() {
		t.Fatal(d)
	}
	plan := vmModel{Name: types.StringValue("web-1"), Node: types.StringNull(), Tags: types.SetNull(types.StringType), Affinity: aff}
	c, err := r.data.client("DC1")
	if err != nil {
		t.Fatal(err)
	}
	var diags diag.Diagnostics
	r.syncNodeRules(ctx, c, plan, false, 300, &diags)
	if diags.HasError() || diags.WarningsCount() != 1 {
		t.Fatalf("want one warning, got %v", diags)
	}
	if w := diags.Warnings()[0]; w.Summary() != "Node rule incomplete" || !strings.Contains(w.Detail(), `no moxxie VM named "db-later" yet`) {
		t.Errorf("warning %q: %q", w.Summary(), w.Detail())
	}
	v, err := readHA(ctx, env.mustAPI(t, "DC1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.rules) != 1 || v.rules[0].ID != vm.RuleID(300, "apart") || !slices.Equal(v.rules[0].Resources, []string{"vm:300", "vm:301"}) {
		t.Errorf("rules %+v", v.rules)
	}
	// addVM's cleanup destroys the VMs; the rule and HA resources are the test's to remove.
	if err := r.data.vms.DropNodeRules(ctx, c, 300); err != nil {
		t.Fatal(err)
	}
}

// Node rules are HA rules, which Proxmox VE has from version 9: an older datacenter refuses them
// at plan, while datacenter rules, deletes and moves work there as before.
func TestAccAffinity_nodeRulesNeedPVE9(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1", nodes: twoNodes(), version: "8.4.1"})
	a := `
resource "moxxie_vm" "a" {
  name       = "db-a"
  datacenter = "DC1"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: env.providerBlock(nil) + a},
			{
				Config: env.providerBlock(nil) + a + `
resource "moxxie_vm" "b" {
  name       = "db-b"
  datacenter = "DC1"
  affinity   = { require_different_node = [moxxie_vm.a.name] }
}
`,
				PlanOnly:    true,
				ExpectError: wrapped(`require_different_node and prefer_same_node are written as HA rules, which Proxmox VE has from version 9; DC1 runs 8.4.1`),
			},
		},
	})
}
