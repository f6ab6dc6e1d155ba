package datacenter

import (
	"net/netip"
	"testing"
)

// providerBlockFields are the attribute paths below one datacenter in the provider schema; the
// provider turns FieldError.Field into such a path, so an error must name one of them.
var providerBlockFields = map[string]bool{
	"": true, "location": true, "proxmox_url": true, "api_token": true, "username": true, "password": true,
	"tls_insecure": true, "tls_ca_pem": true, "tls_fingerprint": true, "router_address": true, "storage": true,
	"max_concurrent_requests": true, "network.bridge": true, "network.ip_range": true, "network.vlan_range": true,
	"network.subnet_prefix": true, "network.qinq_enabled": true, "network.service_vlan": true,
	"limits.max_vms": true, "limits.max_cores": true, "limits.max_memory_mb": true,
}

// FuzzBuildNetwork: Build never panics on a provider block's network values; every error names a
// datacenter of the input and an attribute of the schema; and what it accepts obeys the rules
// the allocator relies on: VLANs within 1..4094, blocks that fit the range, a service VLAN exactly
// when Q-in-Q is on, disjoint ranges across datacenters, and numbers exactly as written.
func FuzzBuildNetwork(f *testing.F) {
	f.Add("https://pve.dc1.example.net:8006", "172.16.0.0/16", "100-2000", int64(24), false, int64(0), "172.17.0.0/16")
	f.Add("https://pve.dc1.example.net", "172.16.0.0/16", "100-2000", int64(26), true, int64(3000), "172.16.128.0/17")
	f.Add("pve.dc1.example.net:8006", "172.16.0.1/16", "2000-100", int64(8), true, int64(0), "fd00::/64")
	f.Add("https://10.0.0.1:8006/api2/json", "0.0.0.0/0", "1-4094", int64(32), false, int64(4095), "")
	f.Fuzz(func(t *testing.T, url, ipRange, vlanRange string, prefix int64, qinq bool, serviceVLAN int64, otherRange string) {
		dc1 := Input{Name: "DC1", ProxmoxURL: url, APIToken: "root@pam!moxxie=secret",
			Network: &NetworkInput{IPRange: ipRange, VLANRange: vlanRange, SubnetPrefix: &prefix, QinQEnabled: qinq}}
		if serviceVLAN != 0 {
			dc1.Network.ServiceVLAN = &serviceVLAN
		}
		dc2 := Input{Name: "DC2", ProxmoxURL: "https://pve.dc2.example.net:8006", APIToken: "root@pam!moxxie=secret",
			Network: &NetworkInput{IPRange: otherRange, VLANRange: "100-2000"}}
		set, errs := Build([]Input{dc1, dc2}, nil)
		for _, e := range errs {
			if (e.DC != "DC1" && e.DC != "DC2") || !providerBlockFields[e.Field] || e.Summary == "" || e.Detail == "" {
				t.Fatalf("error %+v names no attribute of the provider block", e)
			}
			if _, ok := set[e.DC]; ok {
				t.Fatalf("datacenter %s is both in error (%s) and usable", e.DC, e.Summary)
			}
		}
		var ranges []netip.Prefix
		for name, s := range set {
			n := s.Network
			p := n.Pool
			switch {
			case !p.IPRange.IsValid() || !p.IPRange.Addr().Is4() || p.IPRange.Masked() != p.IPRange:
				t.Fatalf("%s: accepted ip_range %v", name, p.IPRange)
			case p.SubnetPrefix < p.IPRange.Bits() || p.SubnetPrefix > 32:
				t.Fatalf("%s: accepted /%d blocks in %v", name, p.SubnetPrefix, p.IPRange)
			case p.VLANs.Lo < 1 || p.VLANs.Hi > 4094 || p.VLANs.Lo > p.VLANs.Hi:
				t.Fatalf("%s: accepted VLANs %v", name, p.VLANs)
			case n.QinQ != (p.ServiceVLAN != 0) || p.ServiceVLAN < 0 || p.ServiceVLAN > 4094:
				t.Fatalf("%s: qinq %v with service VLAN %d", name, n.QinQ, p.ServiceVLAN)
			}
			if name == "DC1" && (int64(p.SubnetPrefix) != prefix || (qinq && int64(p.ServiceVLAN) != serviceVLAN)) {
				t.Fatalf("accepted /%d and service VLAN %d where /%d and %d were written", p.SubnetPrefix, p.ServiceVLAN, prefix, serviceVLAN)
			}
			for _, r := range ranges {
				if r.Overlaps(p.IPRange) {
					t.Fatalf("accepted overlapping ranges %v and %v", r, p.IPRange)
				}
			}
			ranges = append(ranges, p.IPRange)
		}
	})
}
