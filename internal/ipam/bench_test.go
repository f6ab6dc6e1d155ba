package ipam

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// BenchmarkAllocateLargePool allocates from a /8 whose first 10k /24 blocks
// are taken, passed in random order as they would come from the SDN, so the
// allocator has to sort and skip every one of them.
func BenchmarkAllocateLargePool(b *testing.B) {
	p := Pool{DC: "DC1", IPRange: netip.MustParsePrefix("10.0.0.0/8"), VLANs: VLANRange{1, 4094}, SubnetPrefix: 24}
	const n = 10_000
	used := Used{Subnets: blocks("10.0.0.0", 24, n)}
	rnd := rand.New(rand.NewPCG(1, 2))
	rnd.Shuffle(n, func(i, j int) { used.Subnets[i], used.Subnets[j] = used.Subnets[j], used.Subnets[i] })
	for range 4000 {
		used.VLANs = append(used.VLANs, 1+rnd.IntN(4094))
	}
	want := netip.PrefixFrom(v4Addr(v4Span(p.IPRange).lo+n<<8), 24)
	b.ReportAllocs()
	for b.Loop() {
		a, err := p.Allocate(used, Request{})
		if err != nil || a.Subnet != want {
			b.Fatalf("Allocate = %+v, %v; want %s", a, err, want)
		}
	}
}
