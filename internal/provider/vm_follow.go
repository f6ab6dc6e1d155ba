package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// searchOrder is where a VM is looked for: where it was last seen, where it was created, where it
// fails over to, then everywhere else.
func (d *providerData) searchOrder(current, primary, failover string) []string {
	seen := map[string]bool{}
	var out []string
	for _, dc := range append([]string{current, primary, failover}, d.dcs.Names()...) {
		if _, ok := d.dcs[dc]; ok && !seen[dc] {
			seen[dc] = true
			out = append(out, dc)
		}
	}
	return out
}

// unreachableError says a datacenter could not be asked, as opposed to answering "not here".
type unreachableError struct {
	dcs []string
	err error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("datacenter %s could not be reached: %v", strings.Join(e.dcs, ", "), e.err)
}

// isUnreachable tells transport failures (no HTTP answer at all) from errors PVE reported.
func isUnreachable(err error) bool {
	var apiErr *dcrouter.APIError
	if errors.As(err, &apiErr) && apiErr.Status > 0 {
		return false
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// findVM looks for the VM with identity id in order; it is not found only when every datacenter
// answered without it, so a datacenter outage never removes a VM from state.
func (d *providerData) findVM(ctx context.Context, id string, order []string) (string, vm.Location, bool, error) {
	var down []string
	var lastErr error
	var movingDC string
	var moving vm.Location
	for _, dc := range order {
		c, err := d.router.Client(dc)
		if err != nil {
			return "", vm.Location{}, false, err
		}
		loc, found, err := vm.Locate(ctx, c, id)
		if err != nil {
			if isUnreachable(err) {
				down, lastErr = append(down, dc), err
				continue
			}
			return "", vm.Location{}, false, err
		}
		if found && loc.Lock != "migrate" {
			return dc, loc, true, nil
		}
		if found && movingDC == "" {
			movingDC, moving = dc, loc
		}
	}
	if movingDC != "" {
		// Only a copy that a migration task is moving: the VM exists (the task's target has no
		// identity tag until the copy is done), so it must not drop out of state.
		return movingDC, moving, true, nil
	}
	if len(down) > 0 {
		return "", vm.Location{}, false, &unreachableError{dcs: down, err: lastErr}
	}
	return "", vm.Location{}, false, nil
}
