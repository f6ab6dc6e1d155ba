package pvesim

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// SDN identifier formats and the error shapes pve-network produces.

var sdnIDRe = regexp.MustCompile(`^(?i:[a-z][a-z0-9]*[a-z0-9])$`)

// fmtSDNID builds pve-sdn-zone-id / pve-sdn-vnet-id: at least two
// alphanumerics starting with a letter, at most 8 characters.
func fmtSDNID(what string) func(string) error {
	return func(v string) error {
		if !sdnIDRe.MatchString(v) {
			return fmt.Errorf("%s ID '%s' contains illegal characters", what, v)
		}
		if len(v) > 8 {
			return fmt.Errorf("%s ID '%s' can't be more length than 8 characters", what, v)
		}
		return nil
	}
}

var (
	fmtSDNZoneID = fmtSDNID("zone")
	fmtSDNVnetID = fmtSDNID("vnet")
)

// fmtSDNSubnetID is pve-sdn-subnet-id: a CIDR ("10.0.0.0/24") or a subnet
// ID ("z1-10.0.0.0-24") whose address and mask form one.
func fmtSDNSubnetID(v string) error {
	cidr := v
	if !strings.Contains(v, "/") {
		parts := strings.Split(v, "-")
		if len(parts) < 3 {
			return fmt.Errorf("value does not look like a valid CIDR network")
		}
		cidr = parts[1] + "/" + parts[2]
	}
	if _, err := netip.ParsePrefix(cidr); err != nil {
		return fmt.Errorf("value does not look like a valid CIDR network")
	}
	return nil
}

func fmtIP(v string) error {
	if _, err := netip.ParseAddr(v); err != nil {
		return fmt.Errorf("value does not look like a valid IP address")
	}
	return nil
}

// subnetID is the ID PVE gives a subnet: "<zone>-<cidr with / as ->".
func subnetID(zone, cidr string) string {
	return zone + "-" + strings.ReplaceAll(cidr, "/", "-")
}

// subnetCIDR recovers the CIDR from a subnet ID, as sdn_subnets_config does.
func subnetCIDR(id string) (zone, cidr string) {
	parts := strings.Split(id, "-")
	if len(parts) < 3 {
		return "", ""
	}
	return parts[0], parts[1] + "/" + parts[2]
}

// Perl source locations for dies without a trailing newline: Perl appends
// " at FILE line N." to those, and PVE passes the text through.
const (
	perlSDN         = "/usr/share/perl5/PVE/Network/SDN.pm"
	perlSDNAPI      = "/usr/share/perl5/PVE/API2/Network/SDN.pm"
	perlZonesPlugin = "/usr/share/perl5/PVE/Network/SDN/Zones/Plugin.pm"
)

func perlDie(msg, file string, line int) *apiError {
	return failf("%s at %s line %d.", msg, file, line)
}

// sdnFailed is lock_sdn_config's error wrapping: "<errmsg>: <error>". A
// parameter exception inside it is stringified the way PVE::Exception does
// ("400 Parameter verification failed." plus "param: message" lines) and
// the whole becomes an ordinary 500.
func sdnFailed(op string, err *apiError) *apiError {
	msg := err.message
	if err.status == 400 {
		var b strings.Builder
		b.WriteString("400 " + msg)
		keys := make([]string, 0, len(err.errors))
		for k := range err.errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString("\n" + k + ": " + err.errors[k])
		}
		msg = b.String()
	}
	return failf("%s: %s", op, msg)
}
