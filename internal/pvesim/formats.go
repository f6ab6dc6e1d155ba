package pvesim

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Value formats PVE registers by name (pve-node, dns-name, ...). Only the
// cheap ones are checked; their messages follow the PVE verifiers.

var (
	nodeNameRe  = regexp.MustCompile(`^(?i:[a-z0-9]([a-z0-9\-]*[a-z0-9])?)$`)
	dnsNameRe   = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)
	storageIDRe = regexp.MustCompile(`^(?i:[a-z][a-z0-9\-_.]*[a-z0-9])$`)
	configIDRe  = regexp.MustCompile(`^[a-z][a-z0-9_-]+$`)
	tagRe       = regexp.MustCompile(`^(?i:[a-z0-9_][a-z0-9_\-+.]*)$`)
	urlencRe    = regexp.MustCompile(`^[-%a-zA-Z0-9_.!~*'()]*$`)
	macRe       = regexp.MustCompile(`^[a-fA-F0-9]{2}(?::[a-fA-F0-9]{2}){5}$`)
	bridgeRe    = regexp.MustCompile(`^[-.\w]+$`)
	diskSizeRe  = regexp.MustCompile(`^(\d+(?:\.\d+)?)([KMGT])?$`)
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
	if !storageIDRe.MatchString(v) {
		return fmt.Errorf("storage ID '%s' contains illegal characters", v)
	}
	return nil
}

// fmtConfigIDList checks delete/revert lists ("net1,memory").
func fmtConfigIDList(v string) error {
	for _, id := range splitList(v) {
		if !configIDRe.MatchString(id) {
			return fmt.Errorf("invalid configuration ID '%s'", id)
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

func fmtAddressList(v string) error {
	for _, a := range splitList(v) {
		if net.ParseIP(a) == nil {
			return fmt.Errorf("unable to parse address '%s'", a)
		}
	}
	return nil
}

func fmtMAC(v string) error {
	if !macRe.MatchString(v) {
		return errors.New("value does not look like a valid MAC address")
	}
	hw, _ := net.ParseMAC(v)
	if hw[0]&1 != 0 {
		return fmt.Errorf("MAC address '%s' is not unicast", v)
	}
	return nil
}

func fmtBridge(v string) error {
	if !bridgeRe.MatchString(v) || len(v) > 15 {
		return fmt.Errorf("invalid bridge ID '%s'", v)
	}
	return nil
}

func fmtDiskSize(v string) error {
	if !diskSizeRe.MatchString(v) {
		return fmt.Errorf("unable to parse size '%s'", v)
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

func fmtIPv4CIDR(v string) error {
	ip, _, err := net.ParseCIDR(v)
	if err != nil || ip.To4() == nil {
		return fmt.Errorf("invalid IPv4 CIDR '%s'", v)
	}
	return nil
}

func fmtIPv6CIDR(v string) error {
	ip, _, err := net.ParseCIDR(v)
	if err != nil || ip.To4() != nil {
		return fmt.Errorf("invalid IPv6 CIDR '%s'", v)
	}
	return nil
}

func fmtIPv4(v string) error {
	if ip := net.ParseIP(v); ip == nil || ip.To4() == nil {
		return fmt.Errorf("invalid IPv4 address '%s'", v)
	}
	return nil
}

func fmtIPv6(v string) error {
	if ip := net.ParseIP(v); ip == nil || ip.To4() != nil {
		return fmt.Errorf("invalid IPv6 address '%s'", v)
	}
	return nil
}

// orWords lets a format also accept literal keywords (ip=dhcp).
func orWords(f func(string) error, words ...string) func(string) error {
	return func(v string) error {
		if contains(words, v) {
			return nil
		}
		return f(v)
	}
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
