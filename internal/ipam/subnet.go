package ipam

import (
	"fmt"
	"net/netip"
)

// DefaultSubnetPrefix is the allocation size used when a pool sets none.
const DefaultSubnetPrefix = 24

// NextFreeSubnet returns the lowest block of size /prefixLen, aligned to its
// size, inside the pool's IPRange that overlaps none of used. Used prefixes
// may be larger or smaller than the block, unsorted, duplicated or outside
// the range. prefixLen 0 means the pool's SubnetPrefix.
//
// The walk visits each used prefix once after sorting, so cost depends on
// how many prefixes are used, not on how large the range is.
func (p Pool) NextFreeSubnet(used []netip.Prefix, prefixLen int) (netip.Prefix, error) {
	if prefixLen == 0 {
		prefixLen = p.subnetPrefix()
	}
	if err := ValidateSubnetPrefix(p.IPRange, prefixLen); err != nil {
		return netip.Prefix{}, dcError(p.DC, "%v", err)
	}
	rng := v4Span(p.IPRange)
	size := uint64(1) << (32 - prefixLen)
	// Block starts are computed in 64 bits: the block after the last one of
	// 255.255.255.0/24 would wrap around in 32.
	cursor := uint64(rng.lo)
	for _, s := range usedSpans(rng, used) {
		if uint64(s.hi) < cursor {
			continue // already skipped past it
		}
		if cursor+size-1 < uint64(s.lo) {
			break // the block at cursor ends before this used span starts
		}
		cursor = alignUp(uint64(s.hi)+1, size)
	}
	if cursor+size-1 > uint64(rng.hi) {
		return netip.Prefix{}, &ExhaustedError{
			DC:     p.DC,
			Pool:   fmt.Sprintf("ip_range %s (/%d blocks)", p.IPRange, prefixLen),
			Detail: fmt.Sprintf("all %d overlap used subnets", blockCount(p.IPRange.Bits(), prefixLen)),
		}
	}
	return netip.PrefixFrom(v4Addr(uint32(cursor)), prefixLen), nil
}

// alignUp rounds v up to a multiple of size (a power of two).
func alignUp(v, size uint64) uint64 { return (v + size - 1) &^ (size - 1) }

// blockCount is how many /prefixLen blocks fit in a /rangeBits range.
func blockCount(rangeBits, prefixLen int) uint64 { return uint64(1) << (prefixLen - rangeBits) }

func (p Pool) subnetPrefix() int {
	if p.SubnetPrefix == 0 {
		return DefaultSubnetPrefix
	}
	return p.SubnetPrefix
}
