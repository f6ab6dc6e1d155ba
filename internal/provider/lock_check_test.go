package provider

import (
	"context"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// The checks' SDN lock reading over a link that loses answers. Seed 36 at a 50% drop-after rate
// loses the answers to the first and fourth requests and delivers the others: a lock probe sent
// alone, or after a check's three reads (zones, resent, vnets), is applied and its answer lost.
func TestLockCheckOverALossyLink(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	srv, err := pvesim.Start(cluster, "127.0.0.1:0", pvesim.ServerOptions{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := accClient(accEndpoint{URL: srv.URL, TokenID: "root@pam!tok", TokenSecret: "s"}, "DC1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lossy := pvesim.Faults{DropAfterRate: 0.5, Seed: 36}

	// What the chaos test's check did: probe by taking the lock. The probe takes it, loses the
	// token, and its resend is refused: it reports a lock nobody else held and leaves it held.
	cluster.SetFaults(lossy)
	held, err := sdnLockHeld(ctx, c)
	cluster.SetFaults(pvesim.Faults{})
	if got := cluster.FaultCounts().DropAfter; got != 1 {
		t.Fatalf("%d answers lost, want 1: the seed no longer hits the probe's lock request", got)
	}
	if err != nil || !held || !cluster.SDN().Locked {
		t.Fatalf("the probe over a lossy link: held=%v err=%v, cluster locked=%v; want it fooled (true, nil, true)", held, err, cluster.SDN().Locked)
	}
	if err := c.SDNForceUnlock(ctx); err != nil {
		t.Fatal(err)
	}

	// What the checks do where a simulator serves the datacenter: the same lossy link neither
	// fools them nor leaves a lock behind.
	e := &simEnv{t: t, servers: map[string]*pvesim.Server{"DC1": srv}}
	before := cluster.FaultCounts().DropAfter
	cluster.SetFaults(lossy)
	v, err := readSDN(ctx, c, e.lockHeld("DC1"))
	cluster.SetFaults(pvesim.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	if cluster.FaultCounts().DropAfter-before < 1 {
		t.Fatalf("the reads lost no answer (%+v): the test shows nothing", cluster.FaultCounts())
	}
	if v.locked || cluster.SDN().Locked {
		t.Fatalf("free lock read as locked=%v, cluster locked=%v", v.locked, cluster.SDN().Locked)
	}

	// And a lock that is held is reported.
	if _, err := c.SDNLock(ctx, true); err != nil {
		t.Fatal(err)
	}
	if v, err := readSDN(ctx, c, e.lockHeld("DC1")); err != nil || !v.locked {
		t.Fatalf("held lock read as locked=%v (err %v)", v.locked, err)
	}
}
