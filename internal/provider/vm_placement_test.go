package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

func TestAccPlacement_capacityCountsThePlan(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	limits := map[string]string{"DC1": "      limits = { max_vms = 4, max_memory_mb = 4096 }\n"}
	fleet := func(n int) string {
		return env.providerBlock(limits) + `
resource "moxxie_vm" "fleet" {
  count      = ` + itoa(n) + `
  name       = "fleet-${count.index}"
  datacenter = "DC1"
  memory_mb  = 512
}
`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				Config: env.providerBlock(limits) + `
resource "moxxie_vm" "big" {
  name       = "big"
  datacenter = "DC1"
  memory_mb  = 8192
}
`,
				PlanOnly:    true,
				ExpectError: wrapped(`datacenter DC1 has not enough memory: the planned VMs need 8192 MiB, 4096 MiB are free (0 MiB in use, limit 4096 MiB, 65536 MiB on online nodes)`),
			},
			{
				Config:      fleet(5),
				PlanOnly:    true,
				ExpectError: wrapped(`not enough VMs: the planned VMs need 5, 4 are free (0 in use, limit 4); counted together in this plan: fleet-`),
			},
			{
				// Exactly at the limit: fits, and the plans Terraform makes again during apply must not
				// count the VMs created meanwhile twice.
				Config: fleet(4),
			},
			{
				Config: fleet(4),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config:      fleet(5),
				PlanOnly:    true,
				ExpectError: wrapped(`not enough VMs: the planned VMs need 1, 0 are free (4 in use, limit 4)`),
			},
		},
	})
}

func TestAccPlacement_antiAffinity(t *testing.T) {
	env := newSimEnv(t)
	db := `
resource "moxxie_vm" "db" {
  name       = "db-1"
  datacenter = "DC1"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: env.providerBlock(nil) + db},
			{
				// Against a VM that exists.
				Config: env.providerBlock(nil) + db + `
resource "moxxie_vm" "replica" {
  name       = "db-2"
  datacenter = "DC1"
  affinity   = { require_different_dc = ["db-1"] }
}
`,
				PlanOnly:    true,
				ExpectError: wrapped(`VM "db-2" must not share a datacenter with "db-1" (require_different_dc), but "db-1" is in DC1 too`),
			},
			{
				// Against a VM planned in the same run; the reference orders the plan.
				Config: env.providerBlock(nil) + db + `
resource "moxxie_vm" "cache_a" {
  name       = "cache-a"
  datacenter = "DC2"
}
resource "moxxie_vm" "cache_b" {
  name       = "cache-b"
  datacenter = "DC2"
  affinity   = { require_different_dc = [moxxie_vm.cache_a.name] }
}
`,
				PlanOnly:    true,
				ExpectError: wrapped(`VM "cache-b" must not share a datacenter with "cache-a" (require_different_dc), but "cache-a" is in DC2 too`),
			},
			{
				Config: env.providerBlock(nil) + db + `
resource "moxxie_vm" "replica" {
  name       = "db-2"
  datacenter = "DC2"
  affinity   = { require_different_dc = [moxxie_vm.db.name] }
  failover_datacenter = "DC1"
}
`,
			},
			{
				Config: env.providerBlock(nil) + db + `
resource "moxxie_vm" "replica" {
  name       = "db-2"
  datacenter = "DC2"
  failover_datacenter = "DC2"
}
`,
				PlanOnly:    true,
				ExpectError: wrapped(`failover_datacenter must differ from datacenter (DC2)`),
			},
		},
	})
}

// Terraform's test harness shows errors but not warnings, so the soft rule is checked on the
// resource's own plan-time check, against real simulated clusters.
func TestPlacement_preferSameDCWarns(t *testing.T) {
	t.Setenv("TF_ACC", "1")
	env := newSimEnv(t)
	data := env.providerData(t)
	env.checkDestroyAtEnd(t)
	// Tagged as moxxie's own, so that placement counts it; addVM removes it when the test ends.
	env.addVM(t, "DC2", "pve1", 300, map[string]any{"name": "db-1", "tags": "moxxie-00000000000000aa"}, false, true)
	r := &vmResource{data: data}
	me := placement.Planned{Name: "web-1", DC: "DC1", Affinity: placement.Affinity{PreferSameDC: []string{"db-1"}}}
	var diags diag.Diagnostics
	r.checkAffinity(context.Background(), me, &diags)
	if diags.HasError() || diags.WarningsCount() != 1 {
		t.Fatalf("want exactly one warning, got %v", diags)
	}
	w := diags.Warnings()[0]
	if w.Summary() != "Affinity preference not met" || !strings.Contains(w.Detail(), `"db-1" is in DC2 and "web-1" is planned into DC1`) {
		t.Fatalf("warning = %q: %q", w.Summary(), w.Detail())
	}
	me.DC = "DC2"
	diags = nil
	r.checkAffinity(context.Background(), me, &diags)
	if len(diags) != 0 {
		t.Fatalf("placing next to db-1 must be silent, got %v", diags)
	}
}

// A rule naming a VM that exists nowhere and is not planned warns, once per name.
func TestPlacement_affinityOnAnUnknownVMWarns(t *testing.T) {
	t.Setenv("TF_ACC", "1")
	env := newSimEnv(t)
	env.requireSim("plants a VM in the simulator")
	if err := env.cluster("DC2").AddVM("pve1", 300, map[string]string{"name": "db-1", "tags": "moxxie-00000000000000aa"}, true); err != nil {
		t.Fatal(err)
	}
	r := &vmResource{data: env.providerData(t)}
	me := placement.Planned{Name: "web-1", DC: "DC2", Affinity: placement.Affinity{PreferSameDC: []string{"db-1"}, RequireDifferentDC: []string{"dbb-1"}}}
	var diags diag.Diagnostics
	r.checkAffinity(context.Background(), me, &diags)
	if diags.HasError() || diags.WarningsCount() != 1 {
		t.Fatalf("want exactly one warning, got %v", diags)
	}
	if w := diags.Warnings()[0]; w.Summary() != "Affinity rule names nothing" || !strings.Contains(w.Detail(), `require_different_dc names "dbb-1", which no datacenter holds`) {
		t.Fatalf("warning = %q: %q", w.Summary(), w.Detail())
	}
}
