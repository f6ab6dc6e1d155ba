package network

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// Allocations and releases over a link that loses a third of the answers after PVE applied the
// request (lock, vnet, subnet, apply alike) still end with every network made exactly once, the
// SDN lock free and nothing left pending.
func TestAllocateAndReleaseSurviveLostAnswers(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	c := simClient(t, cluster, dcrouter.WithRetry(10, time.Millisecond, 5*time.Millisecond))
	n := datacenter.Network{Bridge: "vmbr0", Pool: ipam.Pool{DC: "DC1", IPRange: netip.MustParsePrefix("10.0.0.0/16"), VLANs: ipam.VLANRange{Lo: 100, Hi: 200}, SubnetPrefix: 24}}
	cluster.SetFaults(pvesim.Faults{DropAfterRate: 0.3, Seed: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var vnets []string
	for i := 0; i < 12; i++ {
		a, err := Allocate(ctx, c, n, Request{ClientID: "acme", Name: "n" + string(rune('a'+i))})
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		vnets = append(vnets, a.Vnet)
	}
	for _, v := range vnets[:6] {
		if err := Release(ctx, c, v, 0); err != nil {
			t.Fatalf("release %s: %v", v, err)
		}
	}
	cluster.SetFaults(pvesim.Faults{})
	// 12 allocations and 6 releases take some 290 requests, resends included; seed 3 loses over
	// 80 of their answers. Without lost answers the test shows nothing.
	if got := cluster.FaultCounts(); got.DropAfter < 40 {
		t.Fatalf("only %d answers were lost (%+v): the faults barely fired", got.DropAfter, got)
	}
	s := cluster.SDN()
	if s.Locked || s.PendingChanges {
		t.Fatalf("SDN left locked=%v pending=%v", s.Locked, s.PendingChanges)
	}
	if len(s.Applied.Vnets) != 6 || len(s.Applied.Subnets) != 6 {
		t.Fatalf("applied %d vnets and %d subnets, want 6 of each", len(s.Applied.Vnets), len(s.Applied.Subnets))
	}
	var resent int64
	for _, rc := range cluster.Requests() {
		if rc.Path == "/cluster/sdn/lock" && rc.Method == "POST" {
			resent = rc.Count
		}
	}
	if resent <= 18 { // 18 locks were needed; more requests means answers were lost and resent
		t.Fatalf("only %d lock requests: the faults did not hit the lock, the test proves nothing", resent)
	}
}
