package provider

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/moxxie/terraform-provider-moxxie/internal/network"
)

// sdnCheck adapts a function over the clusters into a state check.
type sdnCheck func() error

func (f sdnCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f()
}

// expectZone checks moxxie's applied SDN zone in dc.
func (e *simEnv) expectZone(dc, typ, bridge string, tag int, protocol string) statecheck.StateCheck {
	return sdnCheck(func() error {
		v, err := e.sdn(dc)
		if err != nil {
			return err
		}
		if err := v.settled(dc); err != nil {
			return err
		}
		z := v.zone
		if z == nil {
			return fmt.Errorf("%s: no zone %s", dc, moxxieZone)
		}
		if z.Type != typ || z.Bridge != bridge || z.Tag != tag || z.VLANProtocol != protocol {
			return fmt.Errorf("%s: zone moxxie = %s on %s tag %d protocol %q, want %s on %s tag %d protocol %q", dc, z.Type, z.Bridge, z.Tag, z.VLANProtocol, typ, bridge, tag, protocol)
		}
		return nil
	})
}

// expectVnets checks the applied vnets of moxxie's zone in dc are exactly want (vnet -> tag), with
// nothing left pending and the SDN lock released.
func (e *simEnv) expectVnets(dc string, want map[string]int) statecheck.StateCheck {
	return sdnCheck(func() error {
		v, err := e.sdn(dc)
		if err != nil {
			return err
		}
		if err := v.settled(dc); err != nil {
			return err
		}
		got := map[string]int{}
		for _, vn := range v.vnets {
			got[vn.Vnet] = vn.Tag
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s: vnets %v, want %v", dc, got, want)
		}
		return nil
	})
}

// distinctNetworks checks dc holds n applied vnets with distinct VLANs and subnets that do not
// overlap, and that the SDN lock is free.
func (e *simEnv) distinctNetworks(dc string, n int) error {
	v, err := e.sdn(dc)
	if err != nil {
		return err
	}
	if err := v.settled(dc); err != nil {
		return err
	}
	tags := map[int]string{}
	for _, vn := range v.vnets {
		if other, dup := tags[vn.Tag]; dup {
			return fmt.Errorf("%s: VLAN %d used by %s and %s", dc, vn.Tag, other, vn.Vnet)
		}
		tags[vn.Tag] = vn.Vnet
	}
	if len(tags) != n || len(v.subnets) != n {
		return fmt.Errorf("%s: %d vnets and %d subnets, want %d of each", dc, len(tags), len(v.subnets), n)
	}
	var prefixes []netip.Prefix
	for _, sub := range v.subnets {
		p, err := netip.ParsePrefix(sub.CIDR)
		if err != nil {
			return err
		}
		for _, q := range prefixes {
			if p.Overlaps(q) {
				return fmt.Errorf("%s: subnets %s and %s overlap", dc, p, q)
			}
		}
		prefixes = append(prefixes, p)
	}
	return nil
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// deleteVnet removes a vnet and its subnets through the API, as an administrator would.
func (e *simEnv) deleteVnet(t *testing.T, dc, vnet string) {
	t.Helper()
	ctx, cancel := apiContext()
	defer cancel()
	if err := network.Release(ctx, e.mustAPI(t, dc), vnet, 0); err != nil {
		t.Fatalf("deleting %s in %s: %v", vnet, dc, err)
	}
}

// stateFunc is a state check written as a function.
type stateFunc func(statecheck.CheckStateRequest) error

func (f stateFunc) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f(req)
}
