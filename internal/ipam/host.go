package ipam

import (
	"fmt"
	"net/netip"
	"slices"
)

// Gateway returns the first usable host of subnet: network+1 when the
// subnet has a network and a broadcast address (/30 and larger), the first
// address of a /31 point-to-point link (RFC 3021), the address itself for
// a /32. It returns the zero Addr for an invalid prefix.
func Gateway(subnet netip.Prefix) netip.Addr {
	first, _ := HostRange(subnet)
	return first
}

// HostRange returns the first and last usable host addresses of subnet.
// Network and broadcast addresses are excluded when there are more than
// two addresses; /31 and /32 use every address they have.
func HostRange(subnet netip.Prefix) (first, last netip.Addr) {
	if !subnet.IsValid() {
		return netip.Addr{}, netip.Addr{}
	}
	subnet = subnet.Masked()
	first, last = subnet.Addr(), lastAddr(subnet)
	if subnet.Addr().BitLen()-subnet.Bits() >= 2 {
		first, last = first.Next(), last.Prev()
	}
	return first, last
}

// lastAddr sets every host bit of a masked prefix; it works for both
// families by operating on the 16-byte form.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	offset := 128 - p.Addr().BitLen() // IPv4 lives in the last 4 bytes
	for i := offset + p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

// NextFreeHost returns the lowest usable host of subnet that is not in
// used. Callers list the gateway in used when it must not be handed out.
func NextFreeHost(subnet netip.Prefix, used []netip.Addr) (netip.Addr, error) {
	if !subnet.IsValid() {
		return netip.Addr{}, fmt.Errorf("invalid subnet %s", subnet)
	}
	subnet = subnet.Masked()
	first, last := HostRange(subnet)
	taken := make([]netip.Addr, 0, len(used))
	for _, a := range used {
		if a.Is4In6() && subnet.Addr().Is4() {
			a = a.Unmap()
		}
		if subnet.Contains(a) {
			taken = append(taken, a)
		}
	}
	slices.SortFunc(taken, netip.Addr.Compare)
	cursor := first
	for _, a := range taken {
		if a.Less(cursor) {
			continue // network address, or a duplicate
		}
		if a != cursor {
			break
		}
		if cursor == last {
			return netip.Addr{}, &ExhaustedError{
				Pool:   "subnet " + subnet.String(),
				Detail: fmt.Sprintf("all %s usable addresses in use", hostCount(subnet)),
			}
		}
		cursor = cursor.Next()
	}
	return cursor, nil
}

// hostCount formats the number of usable hosts; IPv6 subnets can exceed
// any integer type, so it falls back to a power of two.
func hostCount(p netip.Prefix) string {
	hostBits := p.Addr().BitLen() - p.Bits()
	switch {
	case hostBits >= 63:
		return fmt.Sprintf("2^%d", hostBits)
	case hostBits >= 2:
		return fmt.Sprint(uint64(1)<<hostBits - 2)
	default:
		return fmt.Sprint(uint64(1) << hostBits)
	}
}
