package pvesim

import (
	"net/url"
	"reflect"
	"testing"
)

// TestSDNErrors holds every refusal to PVE's status, status line, body
// message and parameter errors. None of the requests changes the state.
func TestSDNErrors(t *testing.T) {
	s := startSim(t, testConfig())
	s.baseSDN(t)
	const pvf = "400 Parameter verification failed."
	tests := []struct {
		name         string
		method, path string
		params       url.Values
		status       int
		line         string            // reason phrase
		message      string            // full body message ("" = line)
		errors       map[string]string // 400 details
	}{
		{name: "zone id charset", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "z_1", "type", "simple"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"zone": "invalid format - zone ID 'z_1' contains illegal characters"}},
		{name: "zone id length", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "zone12345", "type", "simple"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"zone": "invalid format - zone ID 'zone12345' can't be more length than 8 characters"}},
		{name: "zone type enum", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "x1", "type", "ovs"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"type": "value 'ovs' does not have a value in the enumeration 'evpn, faucet, qinq, simple, vlan, vxlan'"}},
		{name: "vlan-protocol enum", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "x1", "type", "qinq", "bridge", "vmbr0", "tag", "5", "vlan-protocol", "802.1x"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"vlan-protocol": "value '802.1x' does not have a value in the enumeration '802.1q, 802.1ad'"}},
		{name: "vxlan unsupported", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "x1", "type", "vxlan", "peers", "10.0.0.1"),
			status: 500, line: "pvesim: zone type 'vxlan' is not supported by the simulator (use simple, vlan or qinq)"},
		{name: "vlan zone without bridge", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "x1", "type", "vlan"),
			status: 500, line: "missing value for required option 'bridge'"},
		{name: "qinq zone without tag", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "x1", "type", "qinq", "bridge", "vmbr0"),
			status: 500, line: "missing value for required option 'tag'"},
		{name: "option of another zone type", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "x1", "type", "vlan", "bridge", "vmbr0", "vlan-protocol", "802.1ad"),
			status: 500, line: "unexpected property 'vlan-protocol'"},
		{name: "duplicate zone", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "z1", "type", "simple"),
			status: 500, line: "create sdn zone object failed: sdn zone object ID 'z1' already defined"},
		{name: "unknown ipam", method: "POST", path: "/cluster/sdn/zones", params: kv("zone", "x1", "type", "simple", "ipam", "netbox"),
			status: 500, line: "create sdn zone object failed: " + pvf, message: "create sdn zone object failed: " + pvf + "\nipam: netbox not existing"},
		{name: "read missing zone", method: "GET", path: "/cluster/sdn/zones/nope", status: 500, line: "sdn zone 'nope' does not exist"},
		{name: "update missing zone", method: "PUT", path: "/cluster/sdn/zones/nope", params: kv("mtu", "1400"),
			status: 500, line: "update sdn zone object failed: sdn zone 'nope' does not exist"},
		{name: "delete required zone option", method: "PUT", path: "/cluster/sdn/zones/z1", params: kv("delete", "bridge"),
			status: 500, line: "update sdn zone object failed: unable to delete required option 'bridge'"},
		{name: "stale zone digest", method: "PUT", path: "/cluster/sdn/zones/z1", params: kv("mtu", "1400", "digest", "0000000000000000000000000000000000000000"),
			status: 500, line: "update sdn zone object failed: detected modified configuration - file changed by other user? Try again."},
		{name: "delete zone in use", method: "DELETE", path: "/cluster/sdn/zones/z1",
			status: 500, line: "delete sdn zone object failed: zone z1 is used by vnet v1 at /usr/share/perl5/PVE/Network/SDN/Zones/Plugin.pm line 178."},

		{name: "vnet id charset", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "v-1", "zone", "z1", "tag", "7"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"vnet": "invalid format - vnet ID 'v-1' contains illegal characters"}},
		{name: "vnet without zone", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "v9", "tag", "7"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"zone": "property is missing and it is not optional"}},
		{name: "vnet tag below 1", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "v9", "zone", "z1", "tag", "0"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"tag": "value must have a minimum value of 1"}},
		{name: "vnet bridge is no option", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "v9", "zone", "z1", "bridge", "vmbr0"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"bridge": "property is not defined in schema and the schema does not allow additional properties"}},
		{name: "vnet in missing zone", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "v9", "zone", "nope", "tag", "7"),
			status: 500, line: "create sdn vnet object failed: unknown section type ''"},
		{name: "duplicate vnet", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "v1", "zone", "z1", "tag", "101"),
			status: 500, line: "create sdn vnet object failed: sdn vnet object ID 'v1' already defined"},
		{name: "duplicate tag in vlan zone", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "v9", "zone", "z1", "tag", "100"),
			status: 500, line: "create sdn vnet object failed: " + pvf, message: "create sdn vnet object failed: " + pvf + "\ntag: tag 100 already exist in vnet v1"},
		{name: "duplicate tag in qinq zone", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "w9", "zone", "q1", "tag", "100"),
			status: 500, line: "create sdn vnet object failed: " + pvf, message: "create sdn vnet object failed: " + pvf + "\ntag: tag 100 already exist in zone q1 vnet w1"},
		{name: "vlan zone needs a tag", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "v9", "zone", "z1"),
			status: 500, line: "create sdn vnet object failed: " + pvf, message: "create sdn vnet object failed: " + pvf + "\ntag: missing vlan tag"},
		{name: "vlan tag too high", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "v9", "zone", "z1", "tag", "4097"),
			status: 500, line: "create sdn vnet object failed: " + pvf, message: "create sdn vnet object failed: " + pvf + "\ntag: vlan tag max value is 4096"},
		{name: "qinq tag too high", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "w9", "zone", "q1", "tag", "5000"),
			status: 500, line: "create sdn vnet object failed: " + pvf, message: "create sdn vnet object failed: " + pvf + "\ntag: VLAN tag maximal value is 4096"},
		{name: "tag in simple zone", method: "POST", path: "/cluster/sdn/vnets", params: kv("vnet", "s9", "zone", "s1", "tag", "5"),
			status: 500, line: "create sdn vnet object failed: " + pvf, message: "create sdn vnet object failed: " + pvf + "\ntag: vlan tag is not allowed on simple zone"},
		{name: "read missing vnet", method: "GET", path: "/cluster/sdn/vnets/nope", status: 500, line: "sdn vnet 'nope' does not exist"},
		{name: "update missing vnet", method: "PUT", path: "/cluster/sdn/vnets/nope", params: kv("tag", "5"), status: 500, line: "sdn vnet 'nope' does not exist"},
		{name: "delete missing vnet", method: "DELETE", path: "/cluster/sdn/vnets/nope", status: 500, line: "sdn vnet 'nope' does not exist"},
		{name: "delete vnet with subnets", method: "DELETE", path: "/cluster/sdn/vnets/v1",
			status: 500, line: "delete sdn vnet object failed: " + pvf, message: "delete sdn vnet object failed: " + pvf + "\nvnet: Can't delete vnet if subnets exists"},
		{name: "move vnet with subnets", method: "PUT", path: "/cluster/sdn/vnets/v1", params: kv("zone", "q1"),
			status: 500, line: "update sdn vnet object failed: " + pvf, message: "update sdn vnet object failed: " + pvf + "\nzone: can't change zone if subnets exist"},
		{name: "vlanaware vnet with subnets", method: "PUT", path: "/cluster/sdn/vnets/v1", params: kv("vlanaware", "1"),
			status: 500, line: "update sdn vnet object failed: " + pvf, message: "update sdn vnet object failed: " + pvf + "\nvlanaware: vlanaware vnet is not compatible with subnets"},

		{name: "subnet on missing vnet", method: "POST", path: "/cluster/sdn/vnets/nope/subnets", params: kv("subnet", "10.9.0.0/24", "type", "subnet"),
			status: 500, line: "sdn vnet 'nope' does not exist"},
		{name: "subnet without type", method: "POST", path: "/cluster/sdn/vnets/v1/subnets", params: kv("subnet", "10.9.0.0/24"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"type": "property is missing and it is not optional"}},
		{name: "subnet not a CIDR", method: "POST", path: "/cluster/sdn/vnets/v1/subnets", params: kv("subnet", "10.9.0.0", "type", "subnet"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"subnet": "invalid format - value does not look like a valid CIDR network"}},
		{name: "subnet id on create", method: "POST", path: "/cluster/sdn/vnets/v1/subnets", params: kv("subnet", "z1-10.9.0.0-24", "type", "subnet"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"subnet": "invalid format - value does not look like a valid CIDR network"}},
		{name: "gateway not an IP", method: "POST", path: "/cluster/sdn/vnets/v1/subnets", params: kv("subnet", "10.9.0.0/24", "type", "subnet", "gateway", "gw"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"gateway": "invalid format - value does not look like a valid IP address"}},
		{name: "duplicate subnet", method: "POST", path: "/cluster/sdn/vnets/v1/subnets", params: kv("subnet", "10.0.0.0/24", "type", "subnet"),
			status: 500, line: "create sdn subnet object failed: sdn subnet object ID 'z1-10.0.0.0-24' already defined"},
		{name: "overlapping subnet in zone", method: "POST", path: "/cluster/sdn/vnets/v1/subnets", params: kv("subnet", "10.0.0.128/25", "type", "subnet"),
			status: 500, line: "create sdn subnet object failed: " + pvf,
			message: "create sdn subnet object failed: " + pvf + "\nsubnet: 10.0.0.128/25 overlaps with subnet z1-10.0.0.0-24 in zone z1"},
		{name: "gateway outside subnet", method: "POST", path: "/cluster/sdn/vnets/v1/subnets", params: kv("subnet", "10.9.0.0/24", "type", "subnet", "gateway", "10.8.0.1"),
			status: 500, line: "create sdn subnet object failed: " + pvf, message: "create sdn subnet object failed: " + pvf + "\ngateway: 10.8.0.1 is not in subnet 10.9.0.0/24"},
		{name: "read missing subnet", method: "GET", path: "/cluster/sdn/vnets/v1/subnets/z1-10.7.0.0-24", status: 500, line: "sdn subnet 'z1-10.7.0.0-24' does not exist"},
		{name: "read subnet of another vnet", method: "GET", path: "/cluster/sdn/vnets/w1/subnets/z1-10.0.0.0-24",
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"vnet": "wrong vnet"}},
		{name: "update missing subnet", method: "PUT", path: "/cluster/sdn/vnets/v1/subnets/z1-10.7.0.0-24", params: kv("snat", "1"),
			status: 500, line: "update sdn subnet object failed: sdn subnet 'z1-10.7.0.0-24' does not exist"},

		{name: "apply unknown parameter", method: "PUT", path: "/cluster/sdn", params: kv("force", "1"),
			status: 400, line: "Parameter verification failed.", errors: map[string]string{"force": "property is not defined in schema and the schema does not allow additional properties"}},
	}
	before := s.srv.Cluster.SDN()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.call(t, tt.method, tt.path, tt.params)
			if r.status != tt.status || r.line != tt.line {
				t.Fatalf("got %d %q\nwant %d %q", r.status, r.line, tt.status, tt.line)
			}
			message := tt.message
			if message == "" {
				message = tt.line
			}
			if r.body["message"] != message+"\n" {
				t.Errorf("body message %q, want %q", r.body["message"], message+"\n")
			}
			got := map[string]string{}
			for k, v := range r.errors() {
				got[k], _ = v.(string)
			}
			if len(got)+len(tt.errors) > 0 && !reflect.DeepEqual(got, tt.errors) {
				t.Errorf("errors %v, want %v", got, tt.errors)
			}
		})
	}
	if after := s.srv.Cluster.SDN(); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused request changed the SDN state:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestSDNUpdates covers the accepted edits: option updates, deletes,
// digests and a subnet delete that PVE treats as a no-op.
func TestSDNUpdates(t *testing.T) {
	s := startSim(t, testConfig())
	s.baseSDN(t)
	zone, _ := s.ok(t, "GET", "/cluster/sdn/zones/q1", nil).(map[string]any)
	digest, _ := zone["digest"].(string)
	s.ok(t, "PUT", "/cluster/sdn/zones/q1", kv("mtu", "1400", "digest", digest))
	s.ok(t, "PUT", "/cluster/sdn/zones/q1", kv("delete", "vlan-protocol"))
	s.ok(t, "PUT", "/cluster/sdn/vnets/w1", kv("alias", "Tenant (b)", "tag", "101"))
	s.ok(t, "PUT", "/cluster/sdn/vnets/v1/subnets/z1-10.0.0.0-24", kv("gateway", "10.0.0.254", "snat", "1"))
	s.ok(t, "DELETE", "/cluster/sdn/vnets/v1/subnets/z1-10.5.0.0-24", nil)

	p := s.srv.Cluster.SDN().Pending
	if z, _ := p.Zone("q1"); z.MTU != 1400 || z.VLANProtocol != "" || z.Tag != 3000 {
		t.Errorf("zone q1 %+v", z)
	}
	if v, _ := p.Vnet("w1"); v.Alias != "Tenant (b)" || v.Tag != 101 {
		t.Errorf("vnet w1 %+v", v)
	}
	if sn, _ := p.Subnet("z1-10.0.0.0-24"); sn.Gateway != "10.0.0.254" || !sn.SNAT || sn.Vnet != "v1" {
		t.Errorf("subnet %+v", sn)
	}
	if a, _ := s.srv.Cluster.SDN().Applied.Zone("q1"); a.MTU != 1496 {
		t.Errorf("applied zone changed before apply: %+v", a)
	}
}
