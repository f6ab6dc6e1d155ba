package pvesim

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Value formats PVE registers by name (pve-node, dns-name, ...). Only the
// cheap ones are checked; their messages follow the PVE verifiers.

var (
	nodeNameRe  = regexp.MustCompile(`^(?i:[a-z0-9]([a-z0-9\-]*[a-z0-9])?)$`)
	dnsNameRe   = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)
	storageIDRe = regexp.MustCompile(`^(?i:[a-z][a-z0-9\-_.]*[a-z0-9])$`)
	tagRe       = regexp.MustCompile(`^(?i:[a-z0-9_][a-z0-9_\-+.]*)$`)
	urlencRe    = regexp.MustCompile(`^[-%a-zA-Z0-9_.!~*'()]*$`)
	macRe       = regexp.MustCompile(`^(?i:[a-f0-9][02468ace](?::[a-f0-9]{2}){5})$`)
	bridgeRe    = regexp.MustCompile(`^[-.\w]+$`)
	diskSizeRe  = regexp.MustCompile(`^(\d+(?:\.\d+)?)([KMGT])?$`)
	// pveSizeRe is PVE::JSONSchema::parse_size, which also takes KiB..TiB.
	pveSizeRe   = regexp.MustCompile(`^(\d+(\.\d+)?)([KMGT](?:iB)?)?$`)
	volumeIDRe  = regexp.MustCompile(`^(?i:[a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$`)
	listSplitRe = regexp.MustCompile(`[;,\s]+`)
)

func fmtNodeName(v string) error {
	if !nodeNameRe.MatchString(v) {
		return errors.New("value does not look like a valid node name")
	}
	return nil
}

func fmtDNSName(v string) error {
	if !dnsNameRe.MatchString(v) {
		return errors.New("value does not look like a valid DNS name")
	}
	return nil
}

func fmtStorageID(v string) error {
	if len(v) < 2 {
		return fmt.Errorf("storage ID '%s' cannot be shorter than 2 characters", v)
	}
	if !storageIDRe.MatchString(v) {
		return fmt.Errorf("storage ID '%s' contains illegal characters", v)
	}
	return nil
}

// fmtConfigIDList checks delete/revert lists ("net1,memory"), each entry
// a pve-configid.
func fmtConfigIDList(v string) error {
	for _, id := range splitList(v) {
		if err := fmtConfigID(id); err != nil {
			return err
		}
	}
	return nil
}

func fmtTagList(v string) error {
	for _, tag := range splitList(v) {
		if !tagRe.MatchString(tag) {
			return fmt.Errorf("invalid characters in tag '%s'", tag)
		}
	}
	return nil
}

func fmtURLEncoded(v string) error {
	if !urlencRe.MatchString(v) {
		return fmt.Errorf("invalid urlencoded string: %s", v)
	}
	if _, err := url.PathUnescape(v); err != nil {
		return fmt.Errorf("invalid urlencoded string: %s", v)
	}
	return nil
}

// fmtMAC is mac-addr: unicast only (the I/G bit clear).
func fmtMAC(v string) error {
	if !macRe.MatchString(v) {
		return errors.New("value does not look like a valid unicast MAC address")
	}
	return nil
}

func fmtBridge(v string) error {
	if !bridgeRe.MatchString(v) {
		return fmt.Errorf("invalid bridge ID '%s'", v)
	}
	return nil
}

func fmtDiskSize(v string) error {
	if !pveSizeRe.MatchString(v) {
		return fmt.Errorf("value does not look like a valid disk size: %s", v)
	}
	return nil
}

// fmtVolume accepts what a drive's file= may name: a volume ID (which also
// covers the STORAGE:SIZE allocation syntax), an absolute path, none, cdrom.
func fmtVolume(v string) error {
	if v == "none" || v == "cdrom" || strings.HasPrefix(v, "/") || volumeIDRe.MatchString(v) {
		return nil
	}
	return fmt.Errorf("unable to parse volume ID '%s'", v)
}

func fmtVolumeID(v string) error {
	if !volumeIDRe.MatchString(v) {
		return fmt.Errorf("unable to parse volume ID '%s'", v)
	}
	return nil
}

// The CIDR formats want a prefix longer than 7, as PVE's CIDRv4/CIDRv6.
func fmtIPv4CIDR(v string) error {
	addr, bits, ok := strings.Cut(v, "/")
	n, err := strconv.Atoi(bits)
	if ip := net.ParseIP(addr); !ok || err != nil || ip == nil || ip.To4() == nil || strings.Contains(addr, ":") || n <= 7 || n > 32 {
		return errors.New("value does not look like a valid IPv4 CIDR network")
	}
	return nil
}

func fmtIPv6CIDR(v string) error {
	addr, bits, ok := strings.Cut(v, "/")
	n, err := strconv.Atoi(bits)
	if ip := net.ParseIP(addr); !ok || err != nil || ip == nil || !strings.Contains(addr, ":") || n <= 7 || n > 128 {
		return errors.New("value does not look like a valid IPv6 CIDR network")
	}
	return nil
}

func fmtIPv4(v string) error {
	if ip := net.ParseIP(v); ip == nil || strings.Contains(v, ":") {
		return errors.New("value does not look like a valid IPv4 address")
	}
	return nil
}

func fmtIPv6(v string) error {
	if ip := net.ParseIP(v); ip == nil || !strings.Contains(v, ":") {
		return errors.New("value does not look like a valid IPv6 address")
	}
	return nil
}

// splitList splits PVE "-list" values the way PVE::Tools::split_list does.
func splitList(v string) []string {
	var out []string
	for _, s := range listSplitRe.Split(v, -1) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
