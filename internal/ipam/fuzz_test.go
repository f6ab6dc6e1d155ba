package ipam

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func FuzzParseVLANRange(f *testing.F) {
	for _, s := range []string{"100-2000", " 1 - 4094 ", "7-7", "100", "200-100", "0-5", "1-4095", "a-b", "-", "--", "1--2", "+1-2", "00001-00002"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseVLANRange(s)
		if err != nil {
			if r != (VLANRange{}) {
				t.Fatalf("ParseVLANRange(%q) returned %+v alongside error %v", s, r, err)
			}
			if !strings.Contains(err.Error(), "vlan_range") {
				t.Fatalf("error %q does not name vlan_range", err)
			}
			return
		}
		if r.Lo < MinVLAN || r.Lo > r.Hi || r.Hi > MaxVLAN {
			t.Fatalf("ParseVLANRange(%q) = %+v outside 1 <= Lo <= Hi <= 4094", s, r)
		}
		if r.Size() != r.Hi-r.Lo+1 || !r.Contains(r.Lo) || !r.Contains(r.Hi) {
			t.Fatalf("inconsistent range %+v", r)
		}
		again, err := ParseVLANRange(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip of %q via %q = %+v, %v", s, r.String(), again, err)
		}
	})
}

// fuzzCase turns fuzz input into a valid pool, a used set and a request.
// Used prefixes mostly land inside the range so that the interesting code
// paths (skipping, alignment, exhaustion) are reached often.
type fuzzCase struct {
	pool Pool
	used Used
	req  Request
}

func newFuzzCase(base uint32, rangeBits, prefixExtra uint8, lo, hi, wantVLAN uint16, reqPrefix uint8, raw []byte) fuzzCase {
	bits := 8 + int(rangeBits)%25
	rng := netip.PrefixFrom(v4Addr(base), bits).Masked()
	vlo := 1 + int(lo)%MaxVLAN
	vhi := vlo + int(hi)%(MaxVLAN-vlo+1)
	c := fuzzCase{pool: Pool{
		DC:           "F",
		IPRange:      rng,
		VLANs:        VLANRange{vlo, vhi},
		SubnetPrefix: bits + int(prefixExtra)%(33-bits),
		ServiceVLAN:  int(lo>>4) % (MaxVLAN + 1),
	}}
	if wantVLAN != 0 {
		c.req.VLAN = int(wantVLAN) % (MaxVLAN + 6)
	}
	if reqPrefix != 0 {
		c.req.PrefixLen = int(reqPrefix) % 36
	}
	r := v4Span(rng)
	for len(raw) >= 8 {
		ch := raw[:8]
		raw = raw[8:]
		a := uint32(ch[1])<<24 | uint32(ch[2])<<16 | uint32(ch[3])<<8 | uint32(ch[4])
		if ch[0]&1 == 0 {
			a = r.lo | a&(r.hi-r.lo)
		}
		c.used.Subnets = append(c.used.Subnets, netip.PrefixFrom(v4Addr(a), int(ch[5])%33))
		v := int(ch[6])<<8 | int(ch[7])
		if ch[0]&2 == 0 {
			v = vlo + v%(vhi-vlo+1)
		} else {
			v %= MaxVLAN + 6
		}
		c.used.VLANs = append(c.used.VLANs, v)
	}
	return c
}

func FuzzAllocate(f *testing.F) {
	f.Add(uint32(0xAC100000), uint8(8), uint8(8), uint16(100), uint16(1900), uint16(0), uint8(0), []byte{})
	f.Add(uint32(0x0A000000), uint8(22), uint8(2), uint16(10), uint16(1), uint16(0), uint8(0),
		[]byte{0, 0, 0, 0, 0, 24, 0, 0, 0, 0, 0, 1, 0, 23, 0, 1, 0, 0, 0, 0, 64, 26, 0, 2})
	f.Add(uint32(0xFFFFFF00), uint8(16), uint8(7), uint16(4094), uint16(0), uint16(4094), uint8(31),
		[]byte{1, 255, 255, 255, 255, 32, 255, 255})
	f.Add(uint32(0x0A000000), uint8(0), uint8(16), uint16(1), uint16(4093), uint16(5000), uint8(7),
		[]byte{2, 10, 0, 0, 0, 7, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, base uint32, rangeBits, prefixExtra uint8, lo, hi, wantVLAN uint16, reqPrefix uint8, raw []byte) {
		if len(raw) > 8*512 {
			raw = raw[:8*512]
		}
		c := newFuzzCase(base, rangeBits, prefixExtra, lo, hi, wantVLAN, reqPrefix, raw)

		// Unchecked pools must produce errors, never panics.
		rawPool := Pool{IPRange: netip.PrefixFrom(v4Addr(base), int(rangeBits)), VLANs: VLANRange{int(lo), int(hi)}, SubnetPrefix: int(prefixExtra)}
		_, _ = rawPool.Allocate(c.used, c.req)
		_ = rawPool.Stats(c.used)

		used := c.used
		var handed []Allocation
		for range 8 {
			before := c.pool.Stats(used)
			a, err := c.pool.Allocate(used, c.req)
			if err != nil {
				checkAllocateError(t, c, used, err)
				return
			}
			checkAllocation(t, c, used, a)
			for _, h := range handed {
				if h.VLAN == a.VLAN || Overlaps(h.Subnet, a.Subnet) {
					t.Fatalf("allocation %+v repeats earlier %+v", a, h)
				}
			}
			handed = append(handed, a)
			used.VLANs = append(used.VLANs, a.VLAN)
			used.Subnets = append(used.Subnets, a.Subnet)
			after := c.pool.Stats(used)
			if after.VLANsUsed != before.VLANsUsed+1 || after.VLANsUsed+after.VLANsFree != after.VLANsTotal {
				t.Fatalf("VLAN stats %+v -> %+v after allocating %d", before, after, a.VLAN)
			}
			if a.Subnet.Bits() == c.pool.SubnetPrefix && after.SubnetsUsed != before.SubnetsUsed+1 {
				t.Fatalf("subnet stats %+v -> %+v after allocating %s", before, after, a.Subnet)
			}
			if c.req.VLAN != 0 {
				return // a fixed VLAN cannot be allocated twice
			}
		}
	})
}

func wantPrefix(c fuzzCase) int {
	if c.req.PrefixLen != 0 {
		return c.req.PrefixLen
	}
	return c.pool.SubnetPrefix
}

func checkAllocation(t *testing.T, c fuzzCase, used Used, a Allocation) {
	t.Helper()
	p := c.pool
	if !p.VLANs.Contains(a.VLAN) || slices.Contains(used.VLANs, a.VLAN) {
		t.Fatalf("VLAN %d not free in %s (used %v)", a.VLAN, p.VLANs, used.VLANs)
	}
	if c.req.VLAN != 0 && a.VLAN != c.req.VLAN {
		t.Fatalf("requested VLAN %d, got %d", c.req.VLAN, a.VLAN)
	}
	if c.req.VLAN == 0 {
		taken := vlanSet(used.VLANs)
		for v := p.VLANs.Lo; v < a.VLAN; v++ {
			if !taken[v] {
				t.Fatalf("VLAN %d was free but %d was chosen", v, a.VLAN)
			}
		}
	}
	if a.ServiceVLAN != p.ServiceVLAN {
		t.Fatalf("service VLAN %d, want %d", a.ServiceVLAN, p.ServiceVLAN)
	}
	s := a.Subnet
	if s.Bits() != wantPrefix(c) || s != s.Masked() || !p.IPRange.Contains(s.Addr()) || s.Bits() < p.IPRange.Bits() {
		t.Fatalf("subnet %s is not an aligned /%d inside %s", s, wantPrefix(c), p.IPRange)
	}
	for _, u := range used.Subnets {
		if Overlaps(s, u) {
			t.Fatalf("subnet %s overlaps used %s", s, u)
		}
	}
	if first, _ := HostRange(s); a.Gateway != first || !s.Contains(a.Gateway) {
		t.Fatalf("gateway %s is not the first host of %s", a.Gateway, s)
	}
	if small(p.IPRange, s.Bits(), used) {
		if ref := naiveNextFreeSubnet(p.IPRange, used.Subnets, s.Bits()); ref != s {
			t.Fatalf("chose %s, but %s is the lowest free block", s, ref)
		}
	}
}

func checkAllocateError(t *testing.T, c fuzzCase, used Used, err error) {
	t.Helper()
	p := c.pool
	var ex *ExhaustedError
	if !errors.As(err, &ex) {
		vlanBad := c.req.VLAN != 0 && (!p.VLANs.Contains(c.req.VLAN) || slices.Contains(used.VLANs, c.req.VLAN))
		prefixBad := c.req.PrefixLen != 0 && ValidateSubnetPrefix(p.IPRange, c.req.PrefixLen) != nil
		if !vlanBad && !prefixBad {
			t.Fatalf("unexpected error for a valid request: %v", err)
		}
		return
	}
	switch {
	case strings.HasPrefix(ex.Pool, "vlan_range"):
		taken := vlanSet(used.VLANs)
		for v := p.VLANs.Lo; v <= p.VLANs.Hi; v++ {
			if !taken[v] {
				t.Fatalf("VLAN %d is free but got %v", v, err)
			}
		}
	case small(p.IPRange, wantPrefix(c), used):
		if ref := naiveNextFreeSubnet(p.IPRange, used.Subnets, wantPrefix(c)); ref.IsValid() {
			t.Fatalf("%s is free but got %v", ref, err)
		}
	}
}

// small bounds the quadratic reference check so fuzzing stays fast.
func small(rng netip.Prefix, bits int, used Used) bool {
	return (uint64(1)<<(bits-rng.Bits()))*uint64(len(used.Subnets)+1) <= 1<<16
}

func vlanSet(vs []int) map[int]bool {
	m := make(map[int]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}
