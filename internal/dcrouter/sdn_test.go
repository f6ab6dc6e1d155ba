package dcrouter

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestSubnetID(t *testing.T) {
	tests := []struct{ zone, cidr, want string }{
		{"z1", "10.0.0.0/24", "z1-10.0.0.0-24"},
		{"dc2", "172.17.128.0/17", "dc2-172.17.128.0-17"},
		{"v6", "fd00::/64", "v6-fd00::-64"},
	}
	for _, tt := range tests {
		if got := SubnetID(tt.zone, tt.cidr); got != tt.want {
			t.Errorf("SubnetID(%q, %q) = %q, want %q", tt.zone, tt.cidr, got, tt.want)
		}
	}
}

const upidApply = "UPID:pve1:00001234:00ABCDEF:65000000:reloadnetworkall::root@pam!moxxie:"

// TestSDNRequestShapes pins exactly what each call sends.
func TestSDNRequestShapes(t *testing.T) {
	rec := &recorder{}
	c := jsonFake(t, rec, map[string]string{
		"POST " + api + "/cluster/sdn/lock":                              `"0190a0b0-1111-7000-8000-000000000001"`,
		"DELETE " + api + "/cluster/sdn/lock":                            `null`,
		"PUT " + api + "/cluster/sdn":                                    `"` + upidApply + `"`,
		"POST " + api + "/cluster/sdn/zones":                             `null`,
		"POST " + api + "/cluster/sdn/vnets":                             `null`,
		"POST " + api + "/cluster/sdn/vnets/v1/subnets":                  `null`,
		"DELETE " + api + "/cluster/sdn/vnets/v1":                        `null`,
		"DELETE " + api + "/cluster/sdn/vnets/v1/subnets/z1-10.0.0.0-24": `null`,
		"GET " + api + "/cluster/sdn/zones":                              `[]`,
	})
	ctx := ctxTimeout(t, 10*time.Second)
	tests := []struct {
		name      string
		call      func(context.Context) error
		method    string
		path      string
		wantQuery string
		wantBody  map[string]any // nil: no body
	}{
		{"lock", func(ctx context.Context) error { _, err := c.SDNLock(ctx, false); return err },
			"POST", "/cluster/sdn/lock", "", map[string]any{"allow-pending": 0.0}},
		{"lock allow pending", func(ctx context.Context) error { _, err := c.SDNLock(ctx, true); return err },
			"POST", "/cluster/sdn/lock", "", map[string]any{"allow-pending": 1.0}},
		{"unlock", func(ctx context.Context) error { return c.SDNUnlock(ctx, "T") },
			"DELETE", "/cluster/sdn/lock", "lock-token=T", nil},
		{"vlan zone", func(ctx context.Context) error {
			return c.CreateSDNZone(ctx, SDNZone{Zone: "z1", Type: "vlan", Bridge: "vmbr0"}, "T")
		}, "POST", "/cluster/sdn/zones", "", map[string]any{"zone": "z1", "type": "vlan", "bridge": "vmbr0", "lock-token": "T"}},
		{"qinq zone", func(ctx context.Context) error {
			return c.CreateSDNZone(ctx, SDNZone{Zone: "q1", Type: "qinq", Bridge: "vmbr1", Tag: 3000, VLANProtocol: "802.1ad", MTU: 1496}, "")
		}, "POST", "/cluster/sdn/zones", "", map[string]any{"zone": "q1", "type": "qinq", "bridge": "vmbr1", "tag": 3000.0, "vlan-protocol": "802.1ad", "mtu": 1496.0}},
		{"vnet", func(ctx context.Context) error {
			return c.CreateSDNVnet(ctx, SDNVnet{Vnet: "v1", Zone: "z1", Tag: 100, Alias: "a b", VLANAware: true}, "T")
		}, "POST", "/cluster/sdn/vnets", "", map[string]any{"vnet": "v1", "zone": "z1", "tag": 100.0, "alias": "a b", "vlanaware": 1.0, "lock-token": "T"}},
		{"untagged vnet", func(ctx context.Context) error {
			return c.CreateSDNVnet(ctx, SDNVnet{Vnet: "v1", Zone: "s1"}, "")
		}, "POST", "/cluster/sdn/vnets", "", map[string]any{"vnet": "v1", "zone": "s1"}},
		{"subnet", func(ctx context.Context) error {
			return c.CreateSDNSubnet(ctx, SDNSubnet{Vnet: "v1", CIDR: "10.0.0.0/24", Gateway: "10.0.0.1", SNAT: true, ID: "ignored"}, "T")
		}, "POST", "/cluster/sdn/vnets/v1/subnets", "", map[string]any{"subnet": "10.0.0.0/24", "type": "subnet", "gateway": "10.0.0.1", "snat": 1.0, "lock-token": "T"}},
		{"delete vnet", func(ctx context.Context) error { return c.DeleteSDNVnet(ctx, "v1", "T") },
			"DELETE", "/cluster/sdn/vnets/v1", "lock-token=T", nil},
		{"delete subnet without lock", func(ctx context.Context) error { return c.DeleteSDNSubnet(ctx, "v1", "z1-10.0.0.0-24", "") },
			"DELETE", "/cluster/sdn/vnets/v1/subnets/z1-10.0.0.0-24", "", nil},
		{"apply keeping the lock", func(ctx context.Context) error { _, err := c.SDNApply(ctx, "T", false); return err },
			"PUT", "/cluster/sdn", "", map[string]any{"lock-token": "T", "release-lock": 0.0}},
		{"apply without lock", func(ctx context.Context) error { _, err := c.SDNApply(ctx, "", true); return err },
			"PUT", "/cluster/sdn", "", nil},
		{"pending listing", func(ctx context.Context) error { _, err := c.SDNZones(ctx, true); return err },
			"GET", "/cluster/sdn/zones", "pending=1", nil},
		{"edited listing", func(ctx context.Context) error { _, err := c.SDNZones(ctx, false); return err },
			"GET", "/cluster/sdn/zones", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rec.count()
			if err := tt.call(ctx); err != nil {
				t.Fatal(err)
			}
			reqs := rec.all()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != api+tt.path || r.RawQuery != tt.wantQuery {
				t.Errorf("sent %s %s?%s", r.Method, r.Path, r.RawQuery)
			}
			var body map[string]any
			if r.Body != "" {
				if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
					t.Fatalf("body %q: %v", r.Body, err)
				}
			}
			if !reflect.DeepEqual(body, tt.wantBody) {
				t.Errorf("body %v, want %v", body, tt.wantBody)
			}
		})
	}
}

// TestSDNListingDecoding feeds the shapes PVE versions produce: numbers
// as strings, booleans, pending values with "deleted" markers.
func TestSDNListingDecoding(t *testing.T) {
	c := jsonFake(t, &recorder{}, map[string]string{
		"GET " + api + "/cluster/sdn/vnets": `[
			{"vnet":"v1","type":"vnet","zone":"z1","tag":"100","vlanaware":true,"digest":null},
			{"vnet":"v2","type":"vnet","zone":"z1","tag":200,"alias":"old","state":"changed","pending":{"tag":201,"alias":"deleted","zone":"z2"}},
			{"vnet":"v3","type":"vnet","state":"new","pending":{"zone":"z1","tag":300,"vlanaware":0}},
			{"vnet":"v4","type":"vnet","zone":"z1","tag":400,"state":"deleted","pending":{}}]`,
		"GET " + api + "/cluster/sdn/zones": `[
			{"zone":"q1","type":"qinq","bridge":"vmbr1","tag":3000,"mtu":"1496","vlan-protocol":"802.1ad","pending":1},
			{"zone":"s1","type":"simple","state":"new","pending":{"mtu":1450}}]`,
		"GET " + api + "/cluster/sdn/vnets/v1/subnets": `[
			{"subnet":"z1-10.0.0.0-24","id":"z1-10.0.0.0-24","cidr":"10.0.0.0/24","zone":"z1","vnet":"v1","mask":"24",
			 "network":"10.0.0.0","type":"subnet","state":"changed","gateway":"10.0.0.1","pending":{"gateway":"10.0.0.254","snat":1},"dhcp-range":[]}]`,
	})
	ctx := ctxTimeout(t, 10*time.Second)
	vnets, err := c.SDNVnets(ctx, true)
	wantVnets := []SDNVnet{
		{Vnet: "v1", Zone: "z1", Tag: 100, VLANAware: true},
		{Vnet: "v2", Zone: "z2", Tag: 201, State: "changed"},
		{Vnet: "v3", Zone: "z1", Tag: 300, State: "new"},
		{Vnet: "v4", Zone: "z1", Tag: 400, State: "deleted"},
	}
	if err != nil || !reflect.DeepEqual(vnets, wantVnets) {
		t.Errorf("vnets %v\n got %+v\nwant %+v", err, vnets, wantVnets)
	}
	zones, err := c.SDNZones(ctx, true)
	wantZones := []SDNZone{
		{Zone: "q1", Type: "qinq", Bridge: "vmbr1", VLANProtocol: "802.1ad", Tag: 3000, MTU: 1496},
		{Zone: "s1", Type: "simple", MTU: 1450, State: "new"},
	}
	if err != nil || !reflect.DeepEqual(zones, wantZones) {
		t.Errorf("zones %v\n got %+v\nwant %+v", err, zones, wantZones)
	}
	subnets, err := c.SDNSubnets(ctx, "v1", true)
	wantSubnets := []SDNSubnet{{ID: "z1-10.0.0.0-24", CIDR: "10.0.0.0/24", Vnet: "v1", Zone: "z1", Gateway: "10.0.0.254", SNAT: true, State: "changed"}}
	if err != nil || !reflect.DeepEqual(subnets, wantSubnets) {
		t.Errorf("subnets %v\n got %+v\nwant %+v", err, subnets, wantSubnets)
	}
}

func TestSDNUnreadableTagFailsListing(t *testing.T) {
	c := jsonFake(t, &recorder{}, map[string]string{
		"GET " + api + "/cluster/sdn/vnets": `[{"vnet":"v1","zone":"z1","tag":"one hundred"}]`,
	})
	if _, err := c.SDNVnets(ctxTimeout(t, 10*time.Second), false); err == nil {
		t.Error("a tag that is not a number was read silently")
	}
}

// TestSDNClientSideChecks: calls that cannot be valid fail before any request.
func TestSDNClientSideChecks(t *testing.T) {
	rec := &recorder{}
	c := jsonFake(t, rec, map[string]string{})
	ctx := ctxTimeout(t, 10*time.Second)
	calls := map[string]func() error{
		"unlock without token":  func() error { return c.SDNUnlock(ctx, "") },
		"zone without id":       func() error { return c.CreateSDNZone(ctx, SDNZone{Type: "simple"}, "") },
		"zone without type":     func() error { return c.CreateSDNZone(ctx, SDNZone{Zone: "z1"}, "") },
		"vnet without zone":     func() error { return c.CreateSDNVnet(ctx, SDNVnet{Vnet: "v1"}, "") },
		"subnet without vnet":   func() error { return c.CreateSDNSubnet(ctx, SDNSubnet{CIDR: "10.0.0.0/24"}, "") },
		"subnet without prefix": func() error { return c.CreateSDNSubnet(ctx, SDNSubnet{Vnet: "v1", CIDR: "10.0.0.0"}, "") },
		"vnet id with slash":    func() error { return c.DeleteSDNVnet(ctx, "v1/../x", "") },
		"empty subnet id":       func() error { return c.DeleteSDNSubnet(ctx, "v1", "", "") },
		"subnets of empty vnet": func() error { _, err := c.SDNSubnets(ctx, "", false); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := rec.count(); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}
