package ipam

import (
	"errors"
	"net/netip"
	"testing"
)

func dc1() Pool {
	return Pool{
		DC:           "DC1",
		IPRange:      netip.MustParsePrefix("172.16.0.0/16"),
		VLANs:        VLANRange{100, 2000},
		SubnetPrefix: 24,
	}
}

func TestPoolValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Pool)
		wantErr string
	}{
		{name: "valid", mutate: func(*Pool) {}},
		{name: "default prefix", mutate: func(p *Pool) { p.SubnetPrefix = 0 }},
		{name: "qinq", mutate: func(p *Pool) { p.ServiceVLAN = 3000 }},
		{name: "no range", mutate: func(p *Pool) { p.IPRange = netip.Prefix{} },
			wantErr: `datacenter "DC1": ip_range is not set`},
		{name: "ipv6 range", mutate: func(p *Pool) { p.IPRange = netip.MustParsePrefix("fd00::/48") },
			wantErr: `datacenter "DC1": ip_range fd00::/48: IPv4 only: fd00::/48 is an IPv6 prefix`},
		{name: "prefix shorter than range", mutate: func(p *Pool) { p.SubnetPrefix = 12 },
			wantErr: `datacenter "DC1": subnet_prefix: prefix length /12 is shorter than ip_range 172.16.0.0/16: a block must fit inside the range (use /16..32)`},
		{name: "default prefix too short for range", mutate: func(p *Pool) {
			p.SubnetPrefix = 0
			p.IPRange = netip.MustParsePrefix("172.16.0.0/28")
		}, wantErr: `datacenter "DC1": subnet_prefix: prefix length /24 is shorter than ip_range 172.16.0.0/28: a block must fit inside the range (use /28..32)`},
		{name: "inverted vlans", mutate: func(p *Pool) { p.VLANs = VLANRange{200, 100} },
			wantErr: `datacenter "DC1": vlan_range 200-100: start 200 is greater than end 100`},
		{name: "zero vlans", mutate: func(p *Pool) { p.VLANs = VLANRange{} },
			wantErr: `datacenter "DC1": vlan_range 0-0: start 0 is out of 1..4094`},
		{name: "bad service vlan", mutate: func(p *Pool) { p.ServiceVLAN = 4095 },
			wantErr: `datacenter "DC1": service_vlan 4095 is out of 1..4094`},
		{name: "all problems reported", mutate: func(p *Pool) {
			p.SubnetPrefix = 40
			p.VLANs = VLANRange{1, 5000}
			p.ServiceVLAN = -1
		}, wantErr: `datacenter "DC1": subnet_prefix: prefix length /40 is longer than /32` + "\n" +
			`datacenter "DC1": vlan_range 1-5000: end 5000 is out of 1..4094` + "\n" +
			`datacenter "DC1": service_vlan -1 is out of 1..4094`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := dc1()
			tt.mutate(&p)
			if got := errString(p.Validate()); got != tt.wantErr {
				t.Fatalf("Validate() = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		name    string
		pool    func() Pool
		used    Used
		req     Request
		want    Allocation
		wantErr string
		exhaust bool
	}{
		{name: "empty pool", pool: dc1, want: Allocation{VLAN: 100, Subnet: pfx("172.16.0.0/24"), Gateway: addr("172.16.0.1")}},
		{name: "qinq carries service vlan", pool: func() Pool { p := dc1(); p.ServiceVLAN = 3000; return p },
			want: Allocation{VLAN: 100, ServiceVLAN: 3000, Subnet: pfx("172.16.0.0/24"), Gateway: addr("172.16.0.1")}},
		{name: "skips used", pool: dc1,
			used: Used{VLANs: []int{101, 100, 100, 50, 3000}, Subnets: prefixes("172.16.0.0/23", "172.16.2.64/26", "10.0.0.0/24")},
			want: Allocation{VLAN: 102, Subnet: pfx("172.16.3.0/24"), Gateway: addr("172.16.3.1")}},
		{name: "requested vlan", pool: dc1, used: Used{VLANs: []int{100}}, req: Request{VLAN: 2000},
			want: Allocation{VLAN: 2000, Subnet: pfx("172.16.0.0/24"), Gateway: addr("172.16.0.1")}},
		{name: "requested first vlan", pool: dc1, req: Request{VLAN: 100},
			want: Allocation{VLAN: 100, Subnet: pfx("172.16.0.0/24"), Gateway: addr("172.16.0.1")}},
		{name: "requested longer prefix", pool: dc1, used: Used{Subnets: prefixes("172.16.0.0/25")}, req: Request{PrefixLen: 26},
			want: Allocation{VLAN: 100, Subnet: pfx("172.16.0.128/26"), Gateway: addr("172.16.0.129")}},
		{name: "requested shorter prefix", pool: dc1, used: Used{Subnets: prefixes("172.16.0.0/24")}, req: Request{PrefixLen: 22},
			want: Allocation{VLAN: 100, Subnet: pfx("172.16.4.0/22"), Gateway: addr("172.16.4.1")}},
		{name: "requested /31", pool: dc1, used: Used{Subnets: prefixes("172.16.0.0/32")}, req: Request{PrefixLen: 31},
			want: Allocation{VLAN: 100, Subnet: pfx("172.16.0.2/31"), Gateway: addr("172.16.0.2")}},
		{name: "requested /32", pool: dc1, used: Used{Subnets: prefixes("172.16.0.0/32")}, req: Request{PrefixLen: 32},
			want: Allocation{VLAN: 100, Subnet: pfx("172.16.0.1/32"), Gateway: addr("172.16.0.1")}},
		{name: "requested vlan taken", pool: dc1, used: Used{VLANs: []int{150}}, req: Request{VLAN: 150},
			wantErr: `datacenter "DC1": requested VLAN 150 is already in use (vlan_range 100-2000)`},
		{name: "requested vlan below pool", pool: dc1, req: Request{VLAN: 99},
			wantErr: `datacenter "DC1": requested VLAN 99 is outside vlan_range 100-2000`},
		{name: "requested vlan above pool", pool: dc1, req: Request{VLAN: 2001},
			wantErr: `datacenter "DC1": requested VLAN 2001 is outside vlan_range 100-2000`},
		{name: "requested vlan invalid", pool: dc1, req: Request{VLAN: 5000},
			wantErr: `datacenter "DC1": requested VLAN 5000 is out of 1..4094`},
		{name: "requested prefix too short", pool: dc1, req: Request{PrefixLen: 8},
			wantErr: `datacenter "DC1": requested prefix length /8 is shorter than ip_range 172.16.0.0/16: a block must fit inside the range (use /16..32)`},
		{name: "requested prefix too long", pool: dc1, req: Request{PrefixLen: 33},
			wantErr: `datacenter "DC1": requested prefix length /33 is longer than /32`},
		{name: "invalid pool", pool: func() Pool { p := dc1(); p.VLANs = VLANRange{}; return p },
			wantErr: `datacenter "DC1": vlan_range 0-0: start 0 is out of 1..4094`},
		{name: "vlans exhausted", pool: func() Pool { p := dc1(); p.VLANs = VLANRange{100, 101}; return p },
			used: Used{VLANs: []int{100, 101}}, exhaust: true,
			wantErr: `datacenter "DC1": no free VLAN left in vlan_range 100-101 (all 2 in use)`},
		{name: "subnets exhausted", pool: func() Pool { p := dc1(); p.IPRange = pfx("172.16.0.0/23"); return p },
			used: Used{Subnets: prefixes("172.16.0.0/25", "172.16.1.200/29")}, exhaust: true,
			wantErr: `datacenter "DC1": no free subnet left in ip_range 172.16.0.0/23 (/24 blocks) (all 2 overlap used subnets)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.pool().Allocate(tt.used, tt.req)
			if tt.wantErr != "" {
				if errString(err) != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				var ex *ExhaustedError
				if errors.As(err, &ex) != tt.exhaust {
					t.Fatalf("errors.As(*ExhaustedError) = %v, want %v", !tt.exhaust, tt.exhaust)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Allocate = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// Allocating until the pool is full, feeding each result back, must hand
// out every VLAN and block exactly once and then report exhaustion.
func TestAllocateUntilFull(t *testing.T) {
	p := Pool{DC: "DC9", IPRange: pfx("10.9.0.0/22"), VLANs: VLANRange{10, 20}, SubnetPrefix: 24}
	var used Used
	for i := range 4 {
		a, err := p.Allocate(used, Request{})
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		if a.VLAN != 10+i || a.Subnet != netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(i), 0}), 24) {
			t.Fatalf("allocation %d = %+v", i, a)
		}
		used.VLANs = append(used.VLANs, a.VLAN)
		used.Subnets = append(used.Subnets, a.Subnet)
	}
	_, err := p.Allocate(used, Request{})
	want := `datacenter "DC9": no free subnet left in ip_range 10.9.0.0/22 (/24 blocks) (all 4 overlap used subnets)`
	if errString(err) != want {
		t.Fatalf("fifth allocation error = %v, want %q", err, want)
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }
