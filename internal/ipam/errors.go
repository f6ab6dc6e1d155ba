package ipam

import (
	"fmt"
	"strings"
)

// ExhaustedError reports that a pool has nothing left of the requested kind.
// Callers can detect it with errors.As to tell "pool full" from bad input.
type ExhaustedError struct {
	DC     string // datacenter name; empty when the pool is not tied to one
	Pool   string // e.g. "vlan_range 100-2000" or "ip_range 172.16.0.0/16 (/24 blocks)"
	Detail string // e.g. "all 1901 in use"
}

func (e *ExhaustedError) Error() string {
	var b strings.Builder
	if e.DC != "" {
		fmt.Fprintf(&b, "datacenter %q: ", e.DC)
	}
	fmt.Fprintf(&b, "no free %s left in %s", e.kind(), e.Pool)
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	return b.String()
}

// kind names what ran out, derived from the pool description so the struct
// stays as small as the API promises.
func (e *ExhaustedError) kind() string {
	switch {
	case strings.HasPrefix(e.Pool, "vlan_range"):
		return "VLAN"
	case strings.HasPrefix(e.Pool, "ip_range"):
		return "subnet"
	case strings.HasPrefix(e.Pool, "subnet"):
		return "host address"
	default:
		return "value"
	}
}

// dcError prefixes an error message with the datacenter it concerns.
func dcError(dc, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if dc == "" {
		return fmt.Errorf("%s", msg)
	}
	return fmt.Errorf("datacenter %q: %s", dc, msg)
}
