package dcrouter

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// simClient starts a pvesim cluster and returns a client pinned to it.
func simClient(t *testing.T) (*Client, *pvesim.Cluster) {
	t.Helper()
	cluster := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{testTokenID: testTokenSecret}})
	srv, err := pvesim.Start(cluster, "127.0.0.1:0", pvesim.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := tokenConfig("DC1", srv.URL)
	cfg.TLSFingerprint = srv.Fingerprint
	return clientFor(t, cfg, WithTaskPoll(time.Millisecond, 10*time.Millisecond)), cluster
}

// TestSDNAllocationAgainstSimulator runs moxxie's allocation and release
// sequences end to end.
func TestSDNAllocationAgainstSimulator(t *testing.T) {
	c, sim := simClient(t)
	ctx := ctxTimeout(t, 20*time.Second)

	token, err := c.SDNLock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	zone := SDNZone{Zone: "mx", Type: "qinq", Bridge: "vmbr1", VLANProtocol: "802.1ad", Tag: 3000, MTU: 1496}
	vnet := SDNVnet{Vnet: "mx100", Zone: "mx", Alias: "acme default", Tag: 100}
	subnet := SDNSubnet{CIDR: "172.17.0.0/24", Vnet: "mx100", Gateway: "172.17.0.1", SNAT: true}
	must(t, c.CreateSDNZone(ctx, zone, token))
	must(t, c.CreateSDNVnet(ctx, vnet, token))
	must(t, c.CreateSDNSubnet(ctx, subnet, token))

	vnets, err := c.SDNVnets(ctx, true)
	if want := []SDNVnet{{Vnet: "mx100", Zone: "mx", Alias: "acme default", Tag: 100, State: "new"}}; err != nil || !reflect.DeepEqual(vnets, want) {
		t.Errorf("pending vnets %v %+v", err, vnets)
	}
	upid, err := c.SDNApply(ctx, token, true)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := ParseUPID(upid); u.Type != "reloadnetworkall" || u.ID != "" {
		t.Errorf("apply UPID %s", upid)
	}
	must(t, c.WaitTask(ctx, upid))
	if sim.SDN().Locked {
		t.Error("apply with releaseLock kept the lock")
	}

	zones, err := c.SDNZones(ctx, false)
	if want := []SDNZone{zone}; err != nil || !reflect.DeepEqual(zones, want) {
		t.Errorf("zones %v %+v", err, zones)
	}
	subnets, err := c.SDNSubnets(ctx, "mx100", true)
	wantSubnet := SDNSubnet{ID: SubnetID("mx", "172.17.0.0/24"), CIDR: "172.17.0.0/24", Vnet: "mx100", Zone: "mx", Gateway: "172.17.0.1", SNAT: true}
	if err != nil || !reflect.DeepEqual(subnets, []SDNSubnet{wantSubnet}) {
		t.Errorf("subnets %v %+v", err, subnets)
	}

	// Release: subnet, then vnet; pending deletion stays visible with pending=true.
	token, err = c.SDNLock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	must(t, c.DeleteSDNSubnet(ctx, "mx100", wantSubnet.ID, token))
	must(t, c.DeleteSDNVnet(ctx, "mx100", token))
	vnets, err = c.SDNVnets(ctx, true)
	if want := []SDNVnet{{Vnet: "mx100", Zone: "mx", Alias: "acme default", Tag: 100, State: "deleted"}}; err != nil || !reflect.DeepEqual(vnets, want) {
		t.Errorf("vnets pending deletion %v %+v", err, vnets)
	}
	if vnets, err := c.SDNVnets(ctx, false); err != nil || len(vnets) != 0 {
		t.Errorf("edited vnets after delete %v %+v", err, vnets)
	}
	upid, err = c.SDNApply(ctx, token, false)
	if err != nil {
		t.Fatal(err)
	}
	must(t, c.WaitTask(ctx, upid))
	if st := sim.SDN(); !st.Locked || len(st.Applied.Vnets) != 0 {
		t.Errorf("after release apply: locked %v vnets %+v", st.Locked, st.Applied.Vnets)
	}
	must(t, c.SDNUnlock(ctx, token))
	if sim.SDN().Locked {
		t.Error("unlock kept the lock")
	}
}

func TestSDNChangedValuesFoldIntoListing(t *testing.T) {
	c, _ := simClient(t)
	ctx := ctxTimeout(t, 20*time.Second)
	must(t, c.CreateSDNZone(ctx, SDNZone{Zone: "z1", Type: "vlan", Bridge: "vmbr0"}, ""))
	must(t, c.CreateSDNVnet(ctx, SDNVnet{Vnet: "v1", Zone: "z1", Tag: 10, Alias: "old"}, ""))
	upid, err := c.SDNApply(ctx, "", false)
	must(t, err)
	must(t, c.WaitTask(ctx, upid))
	must(t, c.Put(ctx, "/cluster/sdn/vnets/v1", map[string]any{"tag": 11, "delete": "alias"}, nil))
	vnets, err := c.SDNVnets(ctx, true)
	if want := []SDNVnet{{Vnet: "v1", Zone: "z1", Tag: 11, State: "changed"}}; err != nil || !reflect.DeepEqual(vnets, want) {
		t.Errorf("changed vnet %v %+v", err, vnets)
	}
}

func TestSDNErrorsAgainstSimulator(t *testing.T) {
	c, _ := simClient(t)
	ctx := ctxTimeout(t, 20*time.Second)
	must(t, c.CreateSDNZone(ctx, SDNZone{Zone: "z1", Type: "vlan", Bridge: "vmbr0"}, ""))
	must(t, c.CreateSDNVnet(ctx, SDNVnet{Vnet: "v1", Zone: "z1", Tag: 100}, ""))
	must(t, c.CreateSDNSubnet(ctx, SDNSubnet{Vnet: "v1", CIDR: "10.0.0.0/24"}, ""))

	tests := []struct {
		name              string
		call              func() error
		notFound, exists  bool
		locked, pendingCh bool
		contains          string
	}{
		{name: "delete missing vnet", call: func() error { return c.DeleteSDNVnet(ctx, "nope", "") },
			notFound: true, contains: "sdn vnet 'nope' does not exist"},
		{name: "subnets of missing vnet", call: func() error { _, err := c.SDNSubnets(ctx, "nope", true); return err },
			notFound: true, contains: "sdn vnet 'nope' does not exist"},
		{name: "subnet on missing vnet", call: func() error { return c.CreateSDNSubnet(ctx, SDNSubnet{Vnet: "nope", CIDR: "10.1.0.0/24"}, "") },
			notFound: true},
		{name: "duplicate zone", call: func() error { return c.CreateSDNZone(ctx, SDNZone{Zone: "z1", Type: "simple"}, "") },
			exists: true, contains: "sdn zone object ID 'z1' already defined"},
		{name: "duplicate vnet", call: func() error { return c.CreateSDNVnet(ctx, SDNVnet{Vnet: "v1", Zone: "z1", Tag: 101}, "") },
			exists: true, contains: "sdn vnet object ID 'v1' already defined"},
		{name: "duplicate subnet", call: func() error { return c.CreateSDNSubnet(ctx, SDNSubnet{Vnet: "v1", CIDR: "10.0.0.0/24"}, "") },
			exists: true, contains: "sdn subnet object ID 'z1-10.0.0.0-24' already defined"},
		{name: "duplicate tag names the holder", call: func() error { return c.CreateSDNVnet(ctx, SDNVnet{Vnet: "v2", Zone: "z1", Tag: 100}, "") },
			contains: "400 Parameter verification failed. tag: tag 100 already exist in vnet v1"},
		{name: "vnet with subnets", call: func() error { return c.DeleteSDNVnet(ctx, "v1", "") },
			contains: "vnet: Can't delete vnet if subnets exists"},
		{name: "lock with pending changes", call: func() error { _, err := c.SDNLock(ctx, false); return err },
			pendingCh: true, contains: "could not acquire lock for SDN config: configuration has pending changes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if IsNotFound(err) != tt.notFound || IsAlreadyExists(err) != tt.exists ||
				IsSDNLocked(err) != tt.locked || IsSDNPendingChanges(err) != tt.pendingCh {
				t.Errorf("classification of %v: notFound %v exists %v locked %v pending %v", err,
					IsNotFound(err), IsAlreadyExists(err), IsSDNLocked(err), IsSDNPendingChanges(err))
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q lacks %q", err, tt.contains)
			}
		})
	}

	token, err := c.SDNLock(ctx, true)
	must(t, err)
	for name, call := range map[string]func() error{
		"second lock":    func() error { _, err := c.SDNLock(ctx, true); return err },
		"write no token": func() error { return c.CreateSDNVnet(ctx, SDNVnet{Vnet: "v3", Zone: "z1", Tag: 3}, "") },
		"apply bad token": func() error {
			_, err := c.SDNApply(ctx, "0190a0b0-0000-7000-8000-000000000000", true)
			return err
		},
		"unlock bad token": func() error { return c.SDNUnlock(ctx, "0190a0b0-0000-7000-8000-000000000000") },
	} {
		if err := call(); !IsSDNLocked(err) || IsNotFound(err) {
			t.Errorf("%s: %v (locked %v)", name, err, IsSDNLocked(err))
		}
	}
	must(t, c.CreateSDNVnet(ctx, SDNVnet{Vnet: "v3", Zone: "z1", Tag: 3}, token))
	must(t, c.SDNUnlock(ctx, token))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSDNConcurrentAllocationThroughClient is the pattern callers follow:
// retry SDNLock while IsSDNLocked, pick a free tag, create, apply.
func TestSDNConcurrentAllocationThroughClient(t *testing.T) {
	c, sim := simClient(t)
	ctx := ctxTimeout(t, 30*time.Second)
	must(t, c.CreateSDNZone(ctx, SDNZone{Zone: "z1", Type: "vlan", Bridge: "vmbr0"}, ""))
	const workers = 10
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		go func(name string) { errs <- allocate(ctx, c, name) }(fmt.Sprintf("a%d", i))
	}
	for i := 0; i < workers; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	st := sim.SDN()
	tags := map[int]bool{}
	for _, v := range st.Applied.Vnets {
		tags[v.Tag] = true
	}
	if len(st.Applied.Vnets) != workers || len(tags) != workers || st.Locked {
		t.Errorf("applied vnets %+v, locked %v", st.Applied.Vnets, st.Locked)
	}
}

func allocate(ctx context.Context, c *Client, name string) error {
	token, err := c.SDNLock(ctx, true)
	for IsSDNLocked(err) {
		time.Sleep(5 * time.Millisecond)
		token, err = c.SDNLock(ctx, true)
	}
	if err != nil {
		return err
	}
	vnets, err := c.SDNVnets(ctx, true)
	if err != nil {
		return err
	}
	used := map[int]bool{}
	for _, v := range vnets {
		used[v.Tag] = true
	}
	tag := 100
	for used[tag] {
		tag++
	}
	if err := c.CreateSDNVnet(ctx, SDNVnet{Vnet: name, Zone: "z1", Tag: tag}, token); err != nil {
		return err
	}
	upid, err := c.SDNApply(ctx, token, true)
	if err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}
