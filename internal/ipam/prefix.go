package ipam

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseIPRange parses an IPv4 CIDR that names a network, e.g. 172.16.0.0/16.
// Host bits must be zero: "172.16.0.1/16" is almost always a typo for the
// network, and accepting it would hide which addresses the pool covers.
func ParseIPRange(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid ip_range %q: must be an IPv4 CIDR such as 172.16.0.0/16", s)
	}
	if err := checkIPRange(p); err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid ip_range %q: %w", s, err)
	}
	return p, nil
}

// checkIPRange reports what is wrong with an already parsed range.
func checkIPRange(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("must be an IPv4 CIDR such as 172.16.0.0/16")
	case !p.Addr().Is4():
		return fmt.Errorf("IPv4 only: %s is an IPv6 prefix", p)
	case p.Masked() != p:
		return fmt.Errorf("host bits are set; did you mean %s?", p.Masked())
	}
	return nil
}

// rangeError describes a bad configured range, naming the attribute.
func rangeError(p netip.Prefix) error {
	if !p.IsValid() {
		return fmt.Errorf("ip_range is not set")
	}
	if err := checkIPRange(p); err != nil {
		return fmt.Errorf("ip_range %s: %w", p, err)
	}
	return nil
}

// ValidateSubnetPrefix checks that blocks of /prefix fit inside ipRange.
func ValidateSubnetPrefix(ipRange netip.Prefix, prefix int) error {
	if err := rangeError(ipRange); err != nil {
		return err
	}
	if prefix < ipRange.Bits() {
		return fmt.Errorf("prefix length /%d is shorter than ip_range %s: a block must fit inside the range (use /%d..32)",
			prefix, ipRange, ipRange.Bits())
	}
	if prefix > 32 {
		return fmt.Errorf("prefix length /%d is longer than /32", prefix)
	}
	return nil
}

// Overlaps reports whether a and b share any address. Host bits are
// ignored, and prefixes of different families never overlap.
func Overlaps(a, b netip.Prefix) bool {
	if !a.IsValid() || !b.IsValid() {
		return false
	}
	return a.Masked().Overlaps(b.Masked())
}
