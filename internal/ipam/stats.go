package ipam

import (
	"math"
	"net/netip"
)

// Stats summarises how full a pool is. Subnets are counted in blocks of the
// pool's SubnetPrefix: a block is used when any used prefix overlaps it, so
// a used /23 takes two /24 blocks and a used /26 takes a whole one.
type Stats struct {
	VLANsTotal, VLANsUsed, VLANsFree       int
	SubnetsTotal, SubnetsUsed, SubnetsFree int
}

// Stats counts only used values that fall inside the pool; duplicates are
// counted once. Parts of the pool that are invalid count as empty.
func (p Pool) Stats(used Used) Stats {
	var st Stats
	if p.VLANs.check() == nil {
		var seen [MaxVLAN + 1]bool
		for _, v := range used.VLANs {
			if p.VLANs.Contains(v) && !seen[v] {
				seen[v] = true
				st.VLANsUsed++
			}
		}
		st.VLANsTotal = p.VLANs.Size()
		st.VLANsFree = st.VLANsTotal - st.VLANsUsed
	}
	prefixLen := p.subnetPrefix()
	if ValidateSubnetPrefix(p.IPRange, prefixLen) == nil {
		total, inUse := subnetBlocks(p.IPRange, prefixLen, used.Subnets)
		st.SubnetsTotal = clampInt(total)
		st.SubnetsUsed = clampInt(inUse)
		st.SubnetsFree = clampInt(total - inUse)
	}
	return st
}

// subnetBlocks counts all /prefixLen blocks of rng and those touched by used.
func subnetBlocks(rng netip.Prefix, prefixLen int, used []netip.Prefix) (total, inUse uint64) {
	r := v4Span(rng)
	shift := uint(32 - prefixLen)
	total = blockCount(rng.Bits(), prefixLen)
	next := uint64(0) // first block index not yet counted
	for _, s := range usedSpans(r, used) {
		first := max(uint64(s.lo>>shift), next)
		last := uint64(s.hi >> shift)
		if last >= first {
			inUse += last - first + 1
			next = last + 1
		}
	}
	return total, inUse
}

func clampInt(v uint64) int {
	if v > math.MaxInt {
		return math.MaxInt
	}
	return int(v)
}
