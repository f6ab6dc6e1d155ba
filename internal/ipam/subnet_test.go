package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// blocks lists count consecutive /bits prefixes starting at start.
func blocks(start string, bits, count int) []netip.Prefix {
	a := netip.MustParseAddr(start)
	out := make([]netip.Prefix, 0, count)
	step := uint64(1) << (32 - bits)
	base := uint64(v4Span(netip.PrefixFrom(a, 32)).lo)
	for i := range uint64(count) {
		out = append(out, netip.PrefixFrom(v4Addr(uint32(base+i*step)), bits))
	}
	return out
}

func TestNextFreeSubnet(t *testing.T) {
	tests := []struct {
		name      string
		rng       string
		poolBits  int
		used      []netip.Prefix
		prefixLen int
		want      string
		wantErr   string
	}{
		{name: "empty pool", rng: "10.0.0.0/16", want: "10.0.0.0/24"},
		{name: "first block used", rng: "10.0.0.0/16", used: prefixes("10.0.0.0/24"), want: "10.0.1.0/24"},
		{name: "used /23 covers two blocks", rng: "10.0.0.0/16", used: prefixes("10.0.0.0/23"), want: "10.0.2.0/24"},
		{name: "used /26 inside first block", rng: "10.0.0.0/16", used: prefixes("10.0.0.64/26"), want: "10.0.1.0/24"},
		{name: "mixed sizes unsorted", rng: "10.0.0.0/16",
			used: prefixes("10.0.2.0/23", "10.0.1.128/25", "10.0.0.0/24", "10.0.5.0/24"), want: "10.0.4.0/24"},
		{name: "hole between used", rng: "10.0.0.0/16",
			used: prefixes("10.0.0.0/24", "10.0.2.0/24"), want: "10.0.1.0/24"},
		{name: "duplicates", rng: "10.0.0.0/16",
			used: prefixes("10.0.0.0/24", "10.0.0.0/24", "10.0.1.0/24", "10.0.0.0/24"), want: "10.0.2.0/24"},
		{name: "outside pool ignored", rng: "10.0.0.0/16",
			used: prefixes("10.1.0.0/24", "192.168.0.0/16", "9.255.255.0/24", "fd00::/8", "::/0"), want: "10.0.0.0/24"},
		{name: "unmasked used prefix", rng: "10.0.0.0/16", used: prefixes("10.0.0.5/24"), want: "10.0.1.0/24"},
		{name: "only last block free", rng: "10.0.0.0/16", used: blocks("10.0.0.0", 24, 255), want: "10.0.255.0/24"},
		{name: "longer than default", rng: "10.0.0.0/16", prefixLen: 26,
			used: prefixes("10.0.0.0/26", "10.0.0.128/25"), want: "10.0.0.64/26"},
		{name: "shorter than default is aligned", rng: "10.0.0.0/16", prefixLen: 23,
			used: prefixes("10.0.1.0/24"), want: "10.0.2.0/23"},
		{name: "whole range", rng: "10.0.0.0/16", prefixLen: 16, want: "10.0.0.0/16"},
		{name: "pool prefix used when 0", rng: "10.0.0.0/16", poolBits: 28, used: prefixes("10.0.0.0/28"), want: "10.0.0.16/28"},
		{name: "/31 blocks", rng: "10.0.0.0/30", prefixLen: 31, used: prefixes("10.0.0.0/31"), want: "10.0.0.2/31"},
		{name: "/32 blocks", rng: "10.0.0.0/30", prefixLen: 32,
			used: prefixes("10.0.0.1/32", "10.0.0.0/32"), want: "10.0.0.2/32"},
		{name: "top of address space", rng: "255.255.255.0/24", prefixLen: 26,
			used: prefixes("255.255.255.0/25", "255.255.255.128/26"), want: "255.255.255.192/26"},
		{name: "top of address space full", rng: "255.255.255.0/24", prefixLen: 26,
			used:    prefixes("255.255.255.0/25", "255.255.255.128/26", "255.255.255.255/32"),
			wantErr: `datacenter "DC1": no free subnet left in ip_range 255.255.255.0/24 (/26 blocks) (all 4 overlap used subnets)`},
		{name: "used supernet exhausts", rng: "10.0.0.0/16", used: prefixes("10.0.0.0/15"),
			wantErr: `datacenter "DC1": no free subnet left in ip_range 10.0.0.0/16 (/24 blocks) (all 256 overlap used subnets)`},
		{name: "fragmented full", rng: "10.0.0.0/30", prefixLen: 31, used: prefixes("10.0.0.1/32", "10.0.0.3/32"),
			wantErr: `datacenter "DC1": no free subnet left in ip_range 10.0.0.0/30 (/31 blocks) (all 2 overlap used subnets)`},
		{name: "too short", rng: "10.0.0.0/16", prefixLen: 15,
			wantErr: `datacenter "DC1": prefix length /15 is shorter than ip_range 10.0.0.0/16: a block must fit inside the range (use /16..32)`},
		{name: "too long", rng: "10.0.0.0/16", prefixLen: 33, wantErr: `datacenter "DC1": prefix length /33 is longer than /32`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Pool{DC: "DC1", IPRange: netip.MustParsePrefix(tt.rng), SubnetPrefix: tt.poolBits}
			got, err := p.NextFreeSubnet(tt.used, tt.prefixLen)
			if tt.wantErr != "" {
				if errString(err) != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("NextFreeSubnet = %v, %v; want %s", got, err, tt.want)
			}
			if ref := naiveNextFreeSubnet(p.IPRange, tt.used, got.Bits()); ref != got {
				t.Fatalf("naive reference picks %v, NextFreeSubnet picked %v", ref, got)
			}
		})
	}
}

func TestNextFreeSubnetExhaustedIsTyped(t *testing.T) {
	p := Pool{DC: "DC2", IPRange: netip.MustParsePrefix("172.17.0.0/16")}
	_, err := p.NextFreeSubnet(blocks("172.17.0.0", 24, 256), 0)
	var ex *ExhaustedError
	if !errors.As(err, &ex) {
		t.Fatalf("error %v is not an *ExhaustedError", err)
	}
	if ex.DC != "DC2" || ex.Pool != "ip_range 172.17.0.0/16 (/24 blocks)" {
		t.Fatalf("fields = %+v", ex)
	}
}

// naiveNextFreeSubnet is the obvious quadratic definition of the lowest
// free block, used as a reference on small ranges.
func naiveNextFreeSubnet(rng netip.Prefix, used []netip.Prefix, bits int) netip.Prefix {
	r := v4Span(rng)
	step := uint64(1) << (32 - bits)
	for at := uint64(r.lo); at <= uint64(r.hi); at += step {
		b := netip.PrefixFrom(v4Addr(uint32(at)), bits)
		free := true
		for _, u := range used {
			if Overlaps(b, u) {
				free = false
				break
			}
		}
		if free {
			return b
		}
	}
	return netip.Prefix{}
}

func ExamplePool_NextFreeSubnet() {
	p := Pool{DC: "DC1", IPRange: netip.MustParsePrefix("172.16.0.0/16"), SubnetPrefix: 24}
	used := []netip.Prefix{
		netip.MustParsePrefix("172.16.0.64/26"), // a /26 still blocks its whole /24
		netip.MustParsePrefix("172.16.1.0/24"),
	}
	next, _ := p.NextFreeSubnet(used, 0)
	fmt.Println(next)
	// Output: 172.16.2.0/24
}
