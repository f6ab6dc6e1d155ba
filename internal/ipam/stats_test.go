package ipam

import (
	"math"
	"net/netip"
	"testing"
)

func TestStats(t *testing.T) {
	tests := []struct {
		name string
		pool Pool
		used Used
		want Stats
	}{
		{name: "empty", pool: dc1(),
			want: Stats{VLANsTotal: 1901, VLANsFree: 1901, SubnetsTotal: 256, SubnetsFree: 256}},
		{name: "counts only inside pool, once", pool: dc1(),
			used: Used{VLANs: []int{100, 100, 2000, 99, 2001, 0}, Subnets: prefixes("172.16.0.0/24", "172.16.0.0/24", "172.17.0.0/24", "fd00::/8")},
			want: Stats{VLANsTotal: 1901, VLANsUsed: 2, VLANsFree: 1899, SubnetsTotal: 256, SubnetsUsed: 1, SubnetsFree: 255}},
		{name: "a /23 takes two blocks, a /26 one", pool: dc1(),
			used: Used{Subnets: prefixes("172.16.4.0/23", "172.16.9.64/26", "172.16.9.128/26")},
			want: Stats{VLANsTotal: 1901, VLANsFree: 1901, SubnetsTotal: 256, SubnetsUsed: 3, SubnetsFree: 253}},
		{name: "overlapping used counted once", pool: dc1(),
			used: Used{Subnets: prefixes("172.16.0.0/22", "172.16.1.0/24", "172.16.3.0/25")},
			want: Stats{VLANsTotal: 1901, VLANsFree: 1901, SubnetsTotal: 256, SubnetsUsed: 4, SubnetsFree: 252}},
		{name: "supernet fills the pool", pool: dc1(),
			used: Used{Subnets: prefixes("172.0.0.0/8")},
			want: Stats{VLANsTotal: 1901, VLANsFree: 1901, SubnetsTotal: 256, SubnetsUsed: 256}},
		{name: "default prefix", pool: Pool{IPRange: pfx("10.0.0.0/22"), VLANs: VLANRange{1, 1}},
			used: Used{VLANs: []int{1}, Subnets: prefixes("10.0.3.255/32")},
			want: Stats{VLANsTotal: 1, VLANsUsed: 1, SubnetsTotal: 4, SubnetsUsed: 1, SubnetsFree: 3}},
		{name: "/32 blocks", pool: Pool{IPRange: pfx("10.0.0.0/29"), VLANs: VLANRange{5, 6}, SubnetPrefix: 32},
			used: Used{Subnets: prefixes("10.0.0.2/31", "10.0.0.7/32")},
			want: Stats{VLANsTotal: 2, VLANsFree: 2, SubnetsTotal: 8, SubnetsUsed: 3, SubnetsFree: 5}},
		{name: "invalid parts count as empty", pool: Pool{VLANs: VLANRange{9, 1}},
			used: Used{VLANs: []int{5}, Subnets: prefixes("10.0.0.0/24")},
			want: Stats{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pool.Stats(tt.used); got != tt.want {
				t.Fatalf("Stats = %+v\nwant    %+v", got, tt.want)
			}
		})
	}
}

func TestStatsWholeAddressSpace(t *testing.T) {
	p := Pool{IPRange: netip.MustParsePrefix("0.0.0.0/0"), VLANs: VLANRange{1, 4094}, SubnetPrefix: 32}
	st := p.Stats(Used{Subnets: prefixes("255.255.255.255/32", "0.0.0.0/31")})
	want := uint64(1) << 32
	if math.MaxInt < want {
		want = math.MaxInt
	}
	if uint64(st.SubnetsTotal) != want || st.SubnetsUsed != 3 || uint64(st.SubnetsFree) != want-3 {
		t.Fatalf("Stats = %+v", st)
	}
}
