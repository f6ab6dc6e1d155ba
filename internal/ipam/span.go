package ipam

import (
	"cmp"
	"net/netip"
	"slices"
)

// span is an inclusive IPv4 address interval as integers, which lets the
// allocator jump over used space instead of visiting addresses.
type span struct{ lo, hi uint32 }

func v4Span(p netip.Prefix) span {
	a := p.Addr().As4()
	u := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	// Masking by hand: Prefix.Masked goes through the 128-bit path and
	// dominates the cost when thousands of used prefixes are converted.
	mask := ^uint32(0) << (32 - p.Bits()) // a shift by 32 yields 0 for /0
	return span{lo: u & mask, hi: u | ^mask}
}

func v4Addr(u uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

// usedSpans clips the IPv4 prefixes in used to rng and returns them sorted
// by start. Anything outside rng or of another family is dropped.
func usedSpans(rng span, used []netip.Prefix) []span {
	out := make([]span, 0, len(used))
	sorted := true
	for _, u := range used {
		if !u.IsValid() || !u.Addr().Is4() {
			continue
		}
		s := v4Span(u)
		if s.hi < rng.lo || s.lo > rng.hi {
			continue
		}
		s.lo = max(s.lo, rng.lo)
		s.hi = min(s.hi, rng.hi)
		if n := len(out); n > 0 && s.lo < out[n-1].lo {
			sorted = false
		}
		out = append(out, s)
	}
	if !sorted {
		sortSpans(out)
	}
	return out
}

// sortSpans orders spans by start with an LSD radix sort: callers pass up
// to tens of thousands of prefixes per allocation, and a comparison sort of
// that many already costs close to a millisecond.
func sortSpans(s []span) {
	if len(s) < 64 {
		slices.SortFunc(s, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
		return
	}
	var counts [4][256]int
	for _, x := range s {
		for d := range 4 {
			counts[d][byte(x.lo>>(8*d))]++
		}
	}
	src, dst := s, make([]span, len(s))
	for d := range 4 {
		c := &counts[d]
		if c[byte(src[0].lo>>(8*d))] == len(s) {
			continue // every start has the same byte here: nothing to reorder
		}
		pos := 0
		for i, n := range c {
			c[i] = pos
			pos += n
		}
		for _, x := range src {
			b := byte(x.lo >> (8 * d))
			dst[c[b]] = x
			c[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &s[0] {
		copy(s, src)
	}
}
