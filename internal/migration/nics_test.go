package migration

import (
	"context"
	"strings"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

func TestNetworksResolvePlainReferences(t *testing.T) {
	e := newEnv(t, false, pvesim.Config{})
	n := &Networks{Pools: map[string]*datacenter.Network{"DC2": {Bridge: "vmbr1"}}}
	dst := e.client("DC2")
	for ref, want := range map[string]NICTarget{
		"vlan200": {Bridge: "vmbr1", VLAN: 200},
		"vlan05":  {Bridge: "vlan05"}, // not a VLAN reference: a bridge of that name
		"vlan0":   {Bridge: "vlan0"},
		"vmbr3":   {Bridge: "vmbr3"},
	} {
		got, err := n.Resolve(context.Background(), dst, ref)
		if err != nil || got.Bridge != want.Bridge || got.VLAN != want.VLAN || got.Alloc != nil {
			t.Errorf("Resolve(%q) = %+v, %v; want %+v", ref, got, err, want)
		}
	}
	if _, err := n.Resolve(context.Background(), dst, "DC1/acme/default"); err == nil || !strings.Contains(err.Error(), "belongs to datacenter DC1, not DC2") {
		t.Errorf("an allocation of another datacenter: %v", err)
	}
	if _, err := n.Resolve(context.Background(), e.client("DC1"), "DC1/acme/default"); err == nil || !strings.Contains(err.Error(), "declares no network block") {
		t.Errorf("an allocation without pools: %v", err)
	}
}

func TestMappingAfterArrivalFindsTheValueThatPlacedEachNIC(t *testing.T) {
	e := newEnv(t, false, pvesim.Config{})
	n := &Networks{}
	m := Mapping{Nets: n, Map: map[string]string{"vlan100": "vlan200", "vmbr5": "vmbr6"}}
	nics := []vm.NIC{{Bridge: "vmbr0", VLAN: 100}, {Bridge: "vmbr6", VLAN: 7}, {Bridge: "vmbr9"}}
	got, err := m.Arrived(context.Background(), e.client("DC2"), nics)
	if err != nil {
		t.Fatal(err)
	}
	// remote_migrate kept the source tag: vmbr0 came from vlan200 (tag 200), vmbr6 is untagged.
	want := []NICTarget{{Bridge: "vmbr0", VLAN: 200}, {Bridge: "vmbr6"}, {Bridge: "vmbr9"}}
	for i := range want {
		if got[i].Bridge != want[i].Bridge || got[i].VLAN != want[i].VLAN {
			t.Errorf("net%d: %+v, want %+v", i, got[i], want[i])
		}
	}
	targets, err := m.Targets(context.Background(), e.client("DC1"), e.client("DC2"), []vm.NIC{{Bridge: "vmbr0", VLAN: 300}})
	if err == nil || !strings.Contains(err.Error(), `map one of: "vlan300", "vmbr0"`) {
		t.Errorf("an unmapped NIC: %+v, %v", targets, err)
	}
}
