package ipam

import (
	"fmt"
	"strconv"
	"strings"
)

// MinVLAN and MaxVLAN bound usable 802.1Q/802.1ad tags (0 and 4095 are reserved).
const (
	MinVLAN = 1
	MaxVLAN = 4094
)

// VLANRange is an inclusive range of VLAN tags.
type VLANRange struct{ Lo, Hi int }

// ParseVLANRange parses "A-B" with 1 <= A <= B <= 4094. Spaces around the
// numbers are tolerated; a single number is rejected so that a typo cannot
// silently shrink a pool to one VLAN.
func ParseVLANRange(s string) (VLANRange, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 2 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[1]) == "" {
		hint := ""
		if n := strings.TrimSpace(s); n != "" && isDigits(n) {
			hint = fmt.Sprintf("; for a single VLAN write %s-%s", n, n)
		}
		return VLANRange{}, fmt.Errorf("invalid vlan_range %q: must be A-B (e.g. 100-2000)%s", s, hint)
	}
	lo, err := parseVLANBound("start", parts[0])
	if err != nil {
		return VLANRange{}, fmt.Errorf("invalid vlan_range %q: %w", s, err)
	}
	hi, err := parseVLANBound("end", parts[1])
	if err != nil {
		return VLANRange{}, fmt.Errorf("invalid vlan_range %q: %w", s, err)
	}
	r := VLANRange{Lo: lo, Hi: hi}
	if err := r.check(); err != nil {
		return VLANRange{}, fmt.Errorf("invalid vlan_range %q: %w", s, err)
	}
	return r, nil
}

// parseVLANBound accepts plain decimal digits only: signs and other
// notations strconv would take are not meaningful for a VLAN tag.
func parseVLANBound(which, s string) (int, error) {
	s = strings.TrimSpace(s)
	if !isDigits(s) {
		return 0, fmt.Errorf("%s %q is not a whole number", which, s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < MinVLAN || n > MaxVLAN {
		return 0, fmt.Errorf("%s %s is out of %d..%d", which, s, MinVLAN, MaxVLAN)
	}
	return n, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// check reports the first thing wrong with the bounds, without a prefix so
// callers can say where the range came from.
func (r VLANRange) check() error {
	if r.Lo < MinVLAN || r.Lo > MaxVLAN {
		return fmt.Errorf("start %d is out of %d..%d", r.Lo, MinVLAN, MaxVLAN)
	}
	if r.Hi < MinVLAN || r.Hi > MaxVLAN {
		return fmt.Errorf("end %d is out of %d..%d", r.Hi, MinVLAN, MaxVLAN)
	}
	if r.Lo > r.Hi {
		return fmt.Errorf("start %d is greater than end %d", r.Lo, r.Hi)
	}
	return nil
}

// Contains reports whether v lies in the range.
func (r VLANRange) Contains(v int) bool { return v >= r.Lo && v <= r.Hi }

// Size is the number of VLANs in the range (0 for an inverted range).
func (r VLANRange) Size() int {
	if r.Hi < r.Lo {
		return 0
	}
	return r.Hi - r.Lo + 1
}

// String formats the range the way ParseVLANRange reads it.
func (r VLANRange) String() string { return fmt.Sprintf("%d-%d", r.Lo, r.Hi) }

// ValidateVLAN checks a customer VLAN tag.
func ValidateVLAN(v int) error {
	if v < MinVLAN || v > MaxVLAN {
		return fmt.Errorf("VLAN %d is out of %d..%d", v, MinVLAN, MaxVLAN)
	}
	return nil
}

// ValidateServiceVLAN checks a Q-in-Q outer (S-)tag.
func ValidateServiceVLAN(v int) error {
	if v < MinVLAN || v > MaxVLAN {
		return fmt.Errorf("service_vlan %d is out of %d..%d", v, MinVLAN, MaxVLAN)
	}
	return nil
}

// NextFreeVLAN returns the lowest VLAN of the pool's range not in used.
// Used values outside the range and duplicates are harmless.
func (p Pool) NextFreeVLAN(used []int) (int, error) {
	if err := p.VLANs.check(); err != nil {
		return 0, dcError(p.DC, "vlan_range %s: %v", p.VLANs, err)
	}
	var taken [MaxVLAN + 1]bool
	inUse := 0
	for _, v := range used {
		if p.VLANs.Contains(v) && !taken[v] {
			taken[v] = true
			inUse++
		}
	}
	for v := p.VLANs.Lo; v <= p.VLANs.Hi; v++ {
		if !taken[v] {
			return v, nil
		}
	}
	return 0, &ExhaustedError{
		DC:     p.DC,
		Pool:   "vlan_range " + p.VLANs.String(),
		Detail: fmt.Sprintf("all %d in use", inUse),
	}
}
