package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// Sweepers remove what acceptance tests left behind on external clusters (a test that failed
// before its destroy, an interrupted run): `go test ./internal/provider -sweep=DC1,DC2`, where each
// "region" is a datacenter of MOXXIE_ACC_DATACENTERS (make sweep does this). They delete every
// moxxie-tagged VM and every moxxie vnet, so they are meant for clusters kept for these tests only.

func TestMain(m *testing.M) {
	resource.TestMain(m)
}

func init() {
	resource.AddTestSweepers("moxxie_vm", &resource.Sweeper{Name: "moxxie_vm", F: sweepVMs})
	resource.AddTestSweepers("moxxie_network_allocation", &resource.Sweeper{
		Name: "moxxie_network_allocation", F: sweepSDN,
		// A vnet still used by a VM is refused; VMs go first.
		Dependencies: []string{"moxxie_vm"},
	})
}

// sweepClient is a client for the external datacenter dc.
func sweepClient(dc string) (*dcrouter.Client, error) {
	if !externalMode() {
		return nil, fmt.Errorf("sweepers run against external clusters: set %s", accDatacentersEnv)
	}
	ep, err := externalEndpoint(dc)
	if err != nil {
		return nil, err
	}
	return accClient(ep.admin(), dc)
}

// sweepVMs stops and deletes every moxxie-tagged VM of dc.
func sweepVMs(dc string) error {
	c, err := sweepClient(dc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*apiTimeout)
	defer cancel()
	vms, err := listManagedVMs(ctx, c)
	if err != nil {
		return err
	}
	for _, v := range vms {
		if err := destroyVM(ctx, c, v.VMID); err != nil {
			return fmt.Errorf("%s: %w", dc, err)
		}
	}
	return nil
}

// sweepSDN breaks a held SDN lock, deletes the subnets and vnets of moxxie's zone (its mxv<VLAN>
// vnets), the zone itself once nothing else is in it, and applies.
func sweepSDN(dc string) error {
	c, err := sweepClient(dc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*apiTimeout)
	defer cancel()
	if held, err := sdnLockHeld(ctx, c); err != nil {
		return err
	} else if held {
		if err := c.SDNForceUnlock(ctx); err != nil {
			return fmt.Errorf("%s: breaking the SDN lock: %w", dc, err)
		}
	}
	token, err := c.SDNLock(ctx, true)
	if err != nil {
		return fmt.Errorf("%s: taking the SDN lock: %w", dc, err)
	}
	view, err := readSDN(ctx, c, nil) // the sweep holds the lock itself
	if err == nil {
		err = sweepZone(ctx, c, view, token)
	}
	if err != nil {
		_ = c.SDNUnlock(ctx, token)
		return fmt.Errorf("%s: %w", dc, err)
	}
	upid, err := c.SDNApply(ctx, token, true)
	if err := waitTask(ctx, c, upid, err); err != nil {
		return fmt.Errorf("%s: applying SDN: %w", dc, err)
	}
	return nil
}

func sweepZone(ctx context.Context, c *dcrouter.Client, view sdnView, token string) error {
	others := 0
	for _, s := range view.subnets {
		if s.State != "deleted" && testVnet.MatchString(s.Vnet) {
			if err := c.DeleteSDNSubnet(ctx, s.Vnet, s.ID, token); err != nil {
				return err
			}
		}
	}
	for _, vn := range view.vnets {
		switch {
		case vn.State == "deleted":
		case testVnet.MatchString(vn.Vnet):
			if err := c.DeleteSDNVnet(ctx, vn.Vnet, token); err != nil {
				return err
			}
		default:
			others++
		}
	}
	if view.zone == nil || view.zone.State == "deleted" || others > 0 {
		return nil
	}
	return c.Delete(ctx, "/cluster/sdn/zones/"+moxxieZone, map[string]any{"lock-token": token}, nil)
}
