package provider

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
)

// sdnCheck adapts a function over the simulators into a state check.
type sdnCheck func() error

func (f sdnCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f()
}

// expectZone checks moxxie's applied SDN zone in dc.
func (e *simEnv) expectZone(dc, typ, bridge string, tag int, protocol string) statecheck.StateCheck {
	return sdnCheck(func() error {
		z, ok := e.cluster(dc).SDN().Applied.Zone("moxxie")
		if !ok {
			return fmt.Errorf("%s: no applied zone moxxie", dc)
		}
		if z.Type != typ || z.Bridge != bridge || z.Tag != tag || z.VLANProtocol != protocol {
			return fmt.Errorf("%s: zone moxxie = %s on %s tag %d protocol %q, want %s on %s tag %d protocol %q", dc, z.Type, z.Bridge, z.Tag, z.VLANProtocol, typ, bridge, tag, protocol)
		}
		return nil
	})
}

// expectVnets checks the applied vnets of dc are exactly want (vnet -> tag), with nothing left
// pending and the SDN lock released.
func (e *simEnv) expectVnets(dc string, want map[string]int) statecheck.StateCheck {
	return sdnCheck(func() error {
		s := e.cluster(dc).SDN()
		if s.Locked || s.PendingChanges {
			return fmt.Errorf("%s: SDN left locked=%v pending=%v", dc, s.Locked, s.PendingChanges)
		}
		got := map[string]int{}
		for _, v := range s.Applied.Vnets {
			got[v.Vnet] = v.Tag
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
	s := e.cluster(dc).SDN()
	if s.Locked || s.PendingChanges {
		return fmt.Errorf("%s: SDN left locked=%v pending=%v", dc, s.Locked, s.PendingChanges)
	}
	tags := map[int]string{}
	for _, v := range s.Applied.Vnets {
		if other, dup := tags[v.Tag]; dup {
			return fmt.Errorf("%s: VLAN %d used by %s and %s", dc, v.Tag, other, v.Vnet)
		}
		tags[v.Tag] = v.Vnet
	}
	if len(tags) != n || len(s.Applied.Subnets) != n {
		return fmt.Errorf("%s: %d vnets and %d subnets, want %d of each", dc, len(tags), len(s.Applied.Subnets), n)
	}
	var prefixes []netip.Prefix
	for _, sub := range s.Applied.Subnets {
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
	ctx := context.Background()
	r, err := dcrouter.New([]dcrouter.Config{{Name: dc, URL: e.servers[dc].URL, TokenID: testTokenID, TokenSecret: testTokenSecret, TLSFingerprint: e.servers[dc].Fingerprint}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Client(dc)
	if err != nil {
		t.Fatal(err)
	}
	if err := network.Release(ctx, c, vnet, 0); err != nil {
		t.Fatalf("deleting %s in %s: %v", vnet, dc, err)
	}
}

// stateFunc is a state check written as a function.
type stateFunc func(statecheck.CheckStateRequest) error

func (f stateFunc) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f(req)
}
