package ipam

import (
	"errors"
	"net/netip"
	"testing"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestGatewayAndHostRange(t *testing.T) {
	tests := []struct {
		subnet          string
		gw, first, last string
	}{
		{subnet: "172.16.0.0/16", gw: "172.16.0.1", first: "172.16.0.1", last: "172.16.255.254"},
		{subnet: "10.0.5.0/24", gw: "10.0.5.1", first: "10.0.5.1", last: "10.0.5.254"},
		{subnet: "10.0.5.64/26", gw: "10.0.5.65", first: "10.0.5.65", last: "10.0.5.126"},
		{subnet: "10.0.0.4/30", gw: "10.0.0.5", first: "10.0.0.5", last: "10.0.0.6"},
		{subnet: "10.0.0.4/31", gw: "10.0.0.4", first: "10.0.0.4", last: "10.0.0.5"},
		{subnet: "10.0.0.7/32", gw: "10.0.0.7", first: "10.0.0.7", last: "10.0.0.7"},
		{subnet: "10.0.5.77/24", gw: "10.0.5.1", first: "10.0.5.1", last: "10.0.5.254"}, // host bits ignored
		{subnet: "0.0.0.0/0", gw: "0.0.0.1", first: "0.0.0.1", last: "255.255.255.254"},
		{subnet: "fd00::/64", gw: "fd00::1", first: "fd00::1", last: "fd00::ffff:ffff:ffff:fffe"},
	}
	for _, tt := range tests {
		t.Run(tt.subnet, func(t *testing.T) {
			p := netip.MustParsePrefix(tt.subnet)
			if got := Gateway(p); got.String() != tt.gw {
				t.Errorf("Gateway = %s, want %s", got, tt.gw)
			}
			first, last := HostRange(p)
			if first.String() != tt.first || last.String() != tt.last {
				t.Errorf("HostRange = %s..%s, want %s..%s", first, last, tt.first, tt.last)
			}
		})
	}
	if g := Gateway(netip.Prefix{}); g.IsValid() {
		t.Errorf("Gateway(invalid) = %s, want zero Addr", g)
	}
}

func TestNextFreeHost(t *testing.T) {
	tests := []struct {
		name    string
		subnet  string
		used    []netip.Addr
		want    string
		wantErr string
	}{
		{name: "empty", subnet: "10.0.0.0/24", want: "10.0.0.1"},
		{name: "gateway used", subnet: "10.0.0.0/24", used: addrs("10.0.0.1"), want: "10.0.0.2"},
		{name: "unsorted and duplicated", subnet: "10.0.0.0/24",
			used: addrs("10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.5"), want: "10.0.0.4"},
		{name: "outside ignored", subnet: "10.0.0.0/24",
			used: addrs("10.0.1.1", "10.0.0.0", "9.9.9.9", "fd00::1"), want: "10.0.0.1"},
		{name: "mapped form counts", subnet: "10.0.0.0/24", used: addrs("::ffff:10.0.0.1"), want: "10.0.0.2"},
		{name: "last usable", subnet: "10.0.0.0/29",
			used: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.7"), want: "10.0.0.6"},
		{name: "/31 second address", subnet: "10.0.0.2/31", used: addrs("10.0.0.2"), want: "10.0.0.3"},
		{name: "/32 free", subnet: "10.0.0.9/32", want: "10.0.0.9"},
		{name: "/30 full", subnet: "10.0.0.4/30", used: addrs("10.0.0.6", "10.0.0.5"),
			wantErr: "no free host address left in subnet 10.0.0.4/30 (all 2 usable addresses in use)"},
		{name: "/31 full", subnet: "10.0.0.4/31", used: addrs("10.0.0.4", "10.0.0.5"),
			wantErr: "no free host address left in subnet 10.0.0.4/31 (all 2 usable addresses in use)"},
		{name: "/32 full", subnet: "10.0.0.4/32", used: addrs("10.0.0.4"),
			wantErr: "no free host address left in subnet 10.0.0.4/32 (all 1 usable addresses in use)"},
		{name: "broadcast in used does not count", subnet: "10.0.0.0/30",
			used: addrs("10.0.0.1", "10.0.0.3", "10.0.0.0"), want: "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NextFreeHost(netip.MustParsePrefix(tt.subnet), tt.used)
			if tt.wantErr != "" {
				var ex *ExhaustedError
				if errString(err) != tt.wantErr || !errors.As(err, &ex) {
					t.Fatalf("error = %v, want *ExhaustedError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("NextFreeHost = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
	if _, err := NextFreeHost(netip.Prefix{}, nil); err == nil {
		t.Error("NextFreeHost(invalid) returned no error")
	}
}
