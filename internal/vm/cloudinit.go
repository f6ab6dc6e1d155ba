package vm

import (
	"net/url"
	"strings"
)

// CloudInit is the guest configuration PVE hands to cloud-init through its cloud-init drive.
type CloudInit struct {
	User         string
	SSHKeys      []string
	DNSServers   []string
	SearchDomain string
	// Password is sent when set and never read back: PVE stores it hashed and shows it masked,
	// so an empty Password means "leave the VM's password as it is".
	Password string
}

// params renders the config keys; empty values are deleted so removing a setting in Terraform
// removes it in PVE.
func (ci CloudInit) params(p map[string]any, del *[]string) {
	set := func(key, v string) {
		if v == "" {
			*del = append(*del, key)
			return
		}
		p[key] = v
	}
	set("ciuser", ci.User)
	set("sshkeys", encodeSSHKeys(ci.SSHKeys))
	set("nameserver", strings.Join(ci.DNSServers, " "))
	set("searchdomain", ci.SearchDomain)
	if ci.Password != "" {
		p["cipassword"] = ci.Password
	}
}

func (ci CloudInit) equal(o CloudInit) bool {
	return ci.User == o.User && strings.Join(ci.SSHKeys, "\n") == strings.Join(o.SSHKeys, "\n") &&
		strings.Join(ci.DNSServers, " ") == strings.Join(o.DNSServers, " ") && ci.SearchDomain == o.SearchDomain
}

// PVE wants sshkeys percent-encoded with %20 for spaces (not '+'), keys separated by newlines.
func encodeSSHKeys(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return strings.ReplaceAll(url.QueryEscape(strings.Join(keys, "\n")), "+", "%20")
}

func decodeSSHKeys(s string) []string {
	if s == "" {
		return nil
	}
	dec, err := url.PathUnescape(s)
	if err != nil {
		dec = s
	}
	var keys []string
	for _, k := range strings.Split(dec, "\n") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// cloudInitFromConfig reads the settings back; ok is false when the VM has no cloud-init drive.
func cloudInitFromConfig(cfg map[string]string) (CloudInit, bool) {
	has := false
	for k, v := range cfg {
		if diskSlot.MatchString(k) && strings.Contains(v, "cloudinit") {
			has = true
		}
	}
	ci := CloudInit{User: cfg["ciuser"], SSHKeys: decodeSSHKeys(cfg["sshkeys"]), SearchDomain: cfg["searchdomain"]}
	if ns := strings.Fields(cfg["nameserver"]); len(ns) > 0 {
		ci.DNSServers = ns
	}
	return ci, has
}
