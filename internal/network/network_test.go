package network

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
)

func TestParseID(t *testing.T) {
	cases := []struct {
		id   string
		want Ref
		ok   bool
	}{
		{"DC1/acme/default", Ref{DC: "DC1", ClientID: "acme", Name: "default"}, true},
		{"DC2/mxv4094", Ref{DC: "DC2", Vnet: "mxv4094"}, true},
		{"DC1/acme", Ref{}, false},
		{"DC1/vnet1", Ref{}, false},
		{"/acme/default", Ref{}, false},
		{"DC1/ac me/default", Ref{}, false},
		{"DC1/acme/default/x", Ref{}, false},
		{"", Ref{}, false},
	}
	for _, tc := range cases {
		got, err := ParseID(tc.id)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseID(%q) = %+v, %v; want %+v ok=%v", tc.id, got, err, tc.want, tc.ok)
		}
	}
	a := Allocation{DC: "DC1", ClientID: "acme", Name: "web"}
	if back, err := ParseID(a.ID()); err != nil || back.ClientID != "acme" || back.Name != "web" {
		t.Fatalf("ID round trip: %+v %v", back, err)
	}
}

func TestAliasRoundTrip(t *testing.T) {
	c, n, ok := parseAlias(alias("team-a", "net.7"))
	if !ok || c != "team-a" || n != "net.7" {
		t.Fatalf("got %q %q %v", c, n, ok)
	}
	if _, _, ok := parseAlias("hand made vnet"); ok {
		t.Fatal("a foreign alias must not parse")
	}
}

// used must count VLANs only on the same wire as moxxie's zone, and every subnet of the cluster.
func TestUsedCountsTheSameWireOnly(t *testing.T) {
	view := sdnView{
		zones: []dcrouter.SDNZone{
			{Zone: Zone, Type: "vlan", Bridge: "vmbr0"},
			{Zone: "lab", Type: "vlan", Bridge: "vmbr0"},
			{Zone: "other", Type: "vlan", Bridge: "vmbr5"},
			{Zone: "q1", Type: "qinq", Bridge: "vmbr0", Tag: 3000},
		},
		vnets: []dcrouter.SDNVnet{
			{Vnet: "mxv100", Zone: Zone, Tag: 100},
			{Vnet: "lab1", Zone: "lab", Tag: 101},
			{Vnet: "far", Zone: "other", Tag: 102},
			{Vnet: "cust", Zone: "q1", Tag: 103},
		},
		subnets: []dcrouter.SDNSubnet{{CIDR: "10.0.0.0/24"}, {CIDR: "192.168.9.0/24"}, {CIDR: "garbage"}},
	}
	plain := datacenter.Network{Bridge: "vmbr0", Pool: ipam.Pool{DC: "DC1"}}
	got := view.used(plain)
	if !reflect.DeepEqual(got.VLANs, []int{100, 101}) {
		t.Fatalf("plain VLANs used = %v, want [100 101]", got.VLANs)
	}
	if !reflect.DeepEqual(got.Subnets, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("192.168.9.0/24")}) {
		t.Fatalf("subnets used = %v", got.Subnets)
	}
	qinq := datacenter.Network{Bridge: "vmbr0", QinQ: true, Pool: ipam.Pool{DC: "DC2", ServiceVLAN: 3000}}
	if got := view.used(qinq).VLANs; !reflect.DeepEqual(got, []int{100, 103}) {
		t.Fatalf("qinq VLANs used = %v, want [100 103]", got)
	}
}
