package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// checkDestroy is every acceptance test's resource.TestCase.CheckDestroy: after the final
// destroy, each datacenter of the test's environment, asked through its API, holds no
// moxxie-tagged VM, no vnet or subnet in moxxie's SDN zone (applied or pending), and its SDN lock
// is free. A VM a test made by hand carries no identity tag and is the test's own to remove
// (addVM does so when the test ends); a test that gives one the tag removes it itself.
func (e *simEnv) checkDestroy(*terraform.State) error {
	var errs []error
	for _, dc := range e.names() {
		errs = append(errs, e.leftovers(dc))
	}
	return errors.Join(errs...)
}

// checkDestroyAtEnd is checkDestroy for a test that plans or calls the provider without a
// resource.TestCase: it runs when the test ends, after the cleanups registered before it (so
// after addVM's removals when called first).
func (e *simEnv) checkDestroyAtEnd(t testing.TB) {
	t.Cleanup(func() {
		if err := e.checkDestroy(nil); err != nil {
			t.Error(err)
		}
	})
}

// checkDestroyTogether is checkDestroy for n runs that share the datacenters at the same time
// (parallel subtests): until all of them have destroyed, one run's leftovers are another's live
// resources, so each run's check waits for the others and then checks.
func (e *simEnv) checkDestroyTogether(n int) resource.TestCheckFunc {
	var destroyed sync.WaitGroup
	destroyed.Add(n)
	return func(s *terraform.State) error {
		destroyed.Done()
		if !waitTimeout(&destroyed, 5*time.Minute) {
			return fmt.Errorf("the other runs did not finish their destroy")
		}
		return e.checkDestroy(s)
	}
}

// leftovers describes what moxxie left behind in dc, or nil.
func (e *simEnv) leftovers(dc string) error {
	ctx, cancel := apiContext()
	defer cancel()
	c, err := e.api(dc)
	if err != nil {
		return err
	}
	return leftoversIn(ctx, c, e.lockHeld(dc))
}

func leftoversIn(ctx context.Context, c *dcrouter.Client, held lockReader) error {
	dc := c.DC()
	var found []string
	vms, err := listManagedVMs(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: listing VMs: %w", dc, err)
	}
	for _, v := range vms {
		found = append(found, fmt.Sprintf("VM %d (%s, tags %s)", v.VMID, v.Name, v.Tags))
	}
	sdn, err := readSDN(ctx, c, held)
	if err != nil {
		return fmt.Errorf("%s: reading SDN: %w", dc, err)
	}
	for _, vn := range sdn.vnets {
		found = append(found, "vnet "+vn.Vnet+stateSuffix(vn.State))
	}
	for _, s := range sdn.subnets {
		found = append(found, "subnet "+s.CIDR+" of "+s.Vnet+stateSuffix(s.State))
	}
	if sdn.locked {
		found = append(found, "the SDN lock held")
	}
	var jobs []struct {
		ID   string `json:"id"`
		VMID string `json:"vmid"`
	}
	if err := c.Get(ctx, "/cluster/backup", nil, &jobs); err != nil {
		return fmt.Errorf("%s: listing backup jobs: %w", dc, err)
	}
	for _, j := range jobs {
		if strings.HasPrefix(j.ID, "moxxie-") {
			found = append(found, fmt.Sprintf("backup job %s (VMID %s)", j.ID, j.VMID))
		}
	}
	ha, err := readHA(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: reading HA: %w", dc, err)
	}
	for _, r := range ha.rules {
		if strings.HasPrefix(r.ID, "moxxie-") {
			found = append(found, fmt.Sprintf("HA rule %s (%s)", r.ID, strings.Join(r.Resources, ",")))
		}
	}
	for _, h := range ha.ha {
		if h.Comment == vm.HAComment {
			found = append(found, "HA resource "+h.SID)
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%s after destroy: %s", dc, strings.Join(found, ", "))
	}
	return nil
}

func stateSuffix(state string) string {
	if state == "" {
		return ""
	}
	return " (pending: " + state + ")"
}
