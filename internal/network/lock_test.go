package network

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// A lock someone else holds ends an allocation with what happened and how to release it, both
// when moxxie's own wait ends and when the operation's timeout cuts it short, never with PVE's
// raw "invalid lock token provided! at ..." or a bare "context deadline exceeded".
func TestAllocateOnAHeldLockSaysHowToReleaseIt(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!tok": "s"}})
	c := simClient(t, cluster, dcrouter.WithRetry(1, time.Millisecond, 5*time.Millisecond))
	if _, err := c.SDNLock(context.Background(), true); err != nil { // another writer's, never released
		t.Fatal(err)
	}
	n := datacenter.Network{Bridge: "vmbr0", Pool: ipam.Pool{DC: "DC1", IPRange: netip.MustParsePrefix("10.0.0.0/16"), VLANs: ipam.VLANRange{Lo: 100, Hi: 200}, SubnetPrefix: 24}}

	saved := lockWait
	defer func() { lockWait = saved }()
	for _, tc := range []struct {
		name    string
		wait    time.Duration
		timeout time.Duration
	}{
		{"moxxie stops waiting", 300 * time.Millisecond, time.Minute},
		{"the create timeout ends", time.Minute, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lockWait = tc.wait
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			_, err := Allocate(ctx, c, n, Request{ClientID: "acme", Name: "default"})
			var held *LockHeldError
			if !errors.As(err, &held) {
				t.Fatalf("want a LockHeldError, got %v", err)
			}
			msg := err.Error()
			for _, want := range []string{"SDN lock of datacenter DC1 is held", "found it held at 20", "pvesh delete /cluster/sdn/lock --force 1"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q: %s", want, msg)
				}
			}
			if strings.Contains(msg, "SDN.pm") || strings.Contains(msg, "deadline exceeded") {
				t.Errorf("message shows the raw refusal: %s", msg)
			}
			if !NothingCreated(err) {
				t.Errorf("a lock not taken must count as nothing created")
			}
		})
	}
	if s := cluster.SDN(); len(s.Pending.Vnets) != 0 {
		t.Errorf("waiting on the lock wrote vnets: %v", s.Pending.Vnets)
	}
}
