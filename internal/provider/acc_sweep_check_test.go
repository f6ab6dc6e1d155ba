package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// What a failed run can leave behind (a running moxxie-tagged VM, a vnet with a subnet in
// moxxie's zone, a held SDN lock) is each reported by CheckDestroy and removed by the sweepers,
// which leave alone what moxxie does not own: an untagged VM, a vnet of another zone.
func TestSweepers_removeWhatCheckDestroyFinds(t *testing.T) {
	srv, err := pvesim.Start(pvesim.New(withGuideToken(t, pvesim.Config{Name: "DC1", Tokens: map[string]string{adminTokenID: adminTokenSecret}, TaskDuration: time.Millisecond}, testTokenSecret)), "127.0.0.1:0", pvesim.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Setenv(accDatacentersEnv, "DC1")
	t.Setenv("MOXXIE_ACC_DC1_URL", srv.URL)
	t.Setenv("MOXXIE_ACC_DC1_API_TOKEN", testTokenID+"="+testTokenSecret)
	t.Setenv("MOXXIE_ACC_DC1_ADMIN_API_TOKEN", adminTokenID+"="+adminTokenSecret)
	t.Setenv("MOXXIE_ACC_DC1_FINGERPRINT", srv.Fingerprint)
	e := &simEnv{t: t}
	e.addServer("DC1", srv, testTokenID, testTokenSecret)
	c := e.mustAPI(t, "DC1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if err := e.checkDestroy(nil); err != nil {
		t.Fatalf("a fresh cluster: %v", err)
	}
	e.addVM(t, "DC1", "pve1", 120, map[string]any{"name": "left-1", "tags": "moxxie-0123456789abcdef"}, false, true)
	e.addVM(t, "DC1", "pve1", 121, map[string]any{"name": "not-ours", "tags": "web"}, false, false)
	token, err := c.SDNLock(ctx, false)
	must(t, err)
	must(t, c.CreateSDNZone(ctx, dcrouter.SDNZone{Zone: moxxieZone, Type: "vlan", Bridge: "vmbr0"}, token))
	must(t, c.CreateSDNZone(ctx, dcrouter.SDNZone{Zone: "other", Type: "vlan", Bridge: "vmbr0"}, token))
	must(t, c.CreateSDNVnet(ctx, dcrouter.SDNVnet{Vnet: "mxv100", Zone: moxxieZone, Tag: 100}, token))
	must(t, c.CreateSDNVnet(ctx, dcrouter.SDNVnet{Vnet: "keep1", Zone: "other", Tag: 7}, token))
	must(t, c.CreateSDNSubnet(ctx, dcrouter.SDNSubnet{Vnet: "mxv100", CIDR: "10.5.0.0/24", Gateway: "10.5.0.1"}, token))
	upid, err := c.SDNApply(ctx, token, false) // applied, but the lock stays held
	must(t, waitTask(ctx, c, upid, err))

	err = e.checkDestroy(nil)
	if err == nil {
		t.Fatal("CheckDestroy found nothing left behind")
	}
	for _, want := range []string{"VM 120 (left-1", "vnet mxv100", "subnet 10.5.0.0/24 of mxv100", "the SDN lock held"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckDestroy: %v; want it to name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "121") || strings.Contains(err.Error(), "keep1") {
		t.Errorf("CheckDestroy blames what moxxie does not own: %v", err)
	}

	must(t, sweepVMs("DC1"))
	must(t, sweepSDN("DC1"))
	if err := e.checkDestroy(nil); err != nil {
		t.Fatalf("after the sweepers: %v", err)
	}
	if _, ok, err := findVM(ctx, c, 121); err != nil || !ok {
		t.Errorf("the sweepers removed the untagged VM 121 (found %v, %v)", ok, err)
	}
	zones, err := c.SDNZones(ctx, true)
	must(t, err)
	vnets, err := c.SDNVnets(ctx, true)
	must(t, err)
	if len(zones) != 1 || zones[0].Zone != "other" || zones[0].State != "" || len(vnets) != 1 || vnets[0].Vnet != "keep1" || vnets[0].State != "" {
		t.Errorf("after the sweepers: zones %+v, vnets %+v; want zone moxxie gone, zone other and vnet keep1 applied and kept", zones, vnets)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
