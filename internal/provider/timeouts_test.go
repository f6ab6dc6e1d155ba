package provider

import (
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// A create that outlives its timeout stops waiting at the deadline, keeps what it made as
// tainted (replaced, not duplicated, by the next apply), and a later apply converges.
func TestAccVM_createTimeoutStopsWaitingAndLosesNothing(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("slows tasks down through fault injection")
	cfg := func(timeout string) string {
		return env.providerBlock(nil) + `
resource "moxxie_vm" "slow" {
  name       = "slow-1"
  datacenter = "DC1"
  timeouts   = { create = "` + timeout + `" }
}
`
	}
	var started time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					env.cluster("DC1").SetFaults(pvesim.Faults{TaskExtra: 15 * time.Second})
					started = time.Now()
				},
				Config:      cfg("2s"),
				ExpectError: regexp.MustCompile(`context deadline exceeded`),
			},
			{
				PreConfig: func() {
					if waited := time.Since(started); waited > 12*time.Second {
						t.Errorf("the create waited %s, past its 2s timeout", waited)
					}
					if err := env.expectFaults("DC1", pvesim.FaultCounts{TaskExtended: 1}); err != nil {
						t.Error(err)
					}
					env.cluster("DC1").SetFaults(pvesim.Faults{})
				},
				Config: cfg("5m"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("moxxie_vm.slow", plancheck.ResourceActionDestroyBeforeCreate)},
				},
				Check: env.expectManagedVMs("DC1", 1),
			},
		},
	})
}
