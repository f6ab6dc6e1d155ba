package ipam

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortSpans(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 9))
	tests := []struct {
		n    int
		mask uint32 // which bits of lo vary, to hit the skipped radix passes
	}{
		{0, ^uint32(0)}, {1, ^uint32(0)}, {63, ^uint32(0)}, {64, ^uint32(0)},
		{1000, ^uint32(0)}, {1000, 0x0000ff00}, {5000, 0x00ffff00}, {300, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d/mask=%08x", tt.n, tt.mask), func(t *testing.T) {
			s := make([]span, tt.n)
			for i := range s {
				lo := 0x0a000000 | rnd.Uint32()&tt.mask
				s[i] = span{lo: lo, hi: lo + rnd.Uint32N(512)}
			}
			want := slices.Clone(s)
			slices.SortStableFunc(want, func(a, b span) int { return int(int64(a.lo) - int64(b.lo)) })
			sortSpans(s)
			if tt.n >= 64 && !slices.Equal(s, want) {
				t.Fatal("radix sort differs from a stable sort by start")
			}
			if !slices.IsSortedFunc(s, func(a, b span) int { return int(int64(a.lo) - int64(b.lo)) }) {
				t.Fatal("spans not sorted by start")
			}
		})
	}
}
