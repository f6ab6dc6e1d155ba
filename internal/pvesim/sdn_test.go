package pvesim

import (
	"context"
	"reflect"
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

// TestSDNFlowUnderLock walks moxxie's allocation: lock, zone, vnet, subnet,
// apply with release-lock, then tear down the same way.
func TestSDNFlowUnderLock(t *testing.T) {
	s := startSim(t, testConfig())
	tok := s.lock(t, false)
	if st := s.srv.Cluster.SDN(); !st.Locked || st.LockToken != tok {
		t.Fatalf("after lock: %+v", st)
	}
	s.ok(t, "POST", "/cluster/sdn/zones", kv("zone", "dc2", "type", "qinq", "bridge", "vmbr1", "tag", "3000",
		"vlan-protocol", "802.1ad", "mtu", "1496", "lock-token", tok))
	s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "t100", "zone", "dc2", "tag", "100", "alias", "tenant a", "lock-token", tok))
	s.ok(t, "POST", "/cluster/sdn/vnets/t100/subnets", kv("subnet", "172.17.0.0/24", "type", "subnet",
		"gateway", "172.17.0.1", "snat", "1", "lock-token", tok))

	// Nothing is live yet: running is empty, the default view is the edited config.
	if got := s.list(t, "/cluster/sdn/vnets", "vnet", kv("running", "1")); len(got) != 0 {
		t.Errorf("running before apply: %v", got)
	}
	if v := s.list(t, "/cluster/sdn/vnets", "vnet", nil)["t100"]; v["zone"] != "dc2" || v["tag"] != float64(100) || v["state"] != nil {
		t.Errorf("default view: %v", v)
	}
	z := s.list(t, "/cluster/sdn/zones", "zone", kv("pending", "1"))["dc2"]
	wantPending := map[string]any{"bridge": "vmbr1", "tag": float64(3000), "vlan-protocol": "802.1ad", "mtu": float64(1496)}
	if z["state"] != "new" || z["type"] != "qinq" || !reflect.DeepEqual(z["pending"], wantPending) || z["bridge"] != nil {
		t.Errorf("pending zone: %v", z)
	}

	task := s.apply(t, kv("lock-token", tok))
	if task.Type != "reloadnetworkall" || task.ID != "" || task.Node != "pve1" || !strings.HasSuffix(string(task.UPID), ":reloadnetworkall::root@pam!moxxie:") {
		t.Errorf("apply task: type %q id %q node %q upid %s", task.Type, task.ID, task.Node, task.UPID)
	}
	st := s.srv.Cluster.SDN()
	if st.Locked || st.PendingChanges {
		t.Errorf("after apply: locked %v pending %v", st.Locked, st.PendingChanges)
	}
	wantZone := SDNZone{Zone: "dc2", Type: "qinq", Bridge: "vmbr1", VLANProtocol: "802.1ad", Tag: 3000, MTU: 1496,
		Options: map[string]string{"type": "qinq", "bridge": "vmbr1", "tag": "3000", "vlan-protocol": "802.1ad", "mtu": "1496"}}
	if zone, _ := st.Applied.Zone("dc2"); !reflect.DeepEqual(zone, wantZone) {
		t.Errorf("applied zone %+v", zone)
	}
	if v, _ := st.Applied.Vnet("t100"); v != (SDNVnet{Vnet: "t100", Zone: "dc2", Alias: "tenant a", Tag: 100}) {
		t.Errorf("applied vnet %+v", v)
	}
	wantSubnet := SDNSubnet{ID: "dc2-172.17.0.0-24", CIDR: "172.17.0.0/24", Vnet: "t100", Zone: "dc2", Gateway: "172.17.0.1", SNAT: true}
	if sn, _ := st.Applied.Subnet("dc2-172.17.0.0-24"); sn != wantSubnet {
		t.Errorf("applied subnet %+v", sn)
	}
	sub := s.list(t, "/cluster/sdn/vnets/t100/subnets", "subnet", kv("running", "1"))["dc2-172.17.0.0-24"]
	for k, want := range map[string]any{"cidr": "172.17.0.0/24", "zone": "dc2", "network": "172.17.0.0", "mask": "24",
		"gateway": "172.17.0.1", "snat": float64(1), "vnet": "t100", "type": "subnet", "id": "dc2-172.17.0.0-24"} {
		if sub[k] != want {
			t.Errorf("running subnet %s = %#v, want %#v", k, sub[k], want)
		}
	}

	// Tear down: subnet first, then vnet; both show as deleted until applied.
	tok = s.lock(t, false)
	s.ok(t, "DELETE", "/cluster/sdn/vnets/t100/subnets/dc2-172.17.0.0-24", kv("lock-token", tok))
	s.ok(t, "DELETE", "/cluster/sdn/vnets/t100", kv("lock-token", tok))
	if v := s.list(t, "/cluster/sdn/vnets", "vnet", kv("pending", "1"))["t100"]; v["state"] != "deleted" || v["tag"] != float64(100) {
		t.Errorf("pending deleted vnet: %v", v)
	}
	if got := s.list(t, "/cluster/sdn/vnets", "vnet", nil); len(got) != 0 {
		t.Errorf("default view after delete: %v", got)
	}
	s.apply(t, kv("lock-token", tok, "release-lock", "0"))
	if st := s.srv.Cluster.SDN(); !st.Locked || len(st.Applied.Vnets) != 0 || len(st.Applied.Subnets) != 0 {
		t.Errorf("after teardown: %+v", st)
	}
	s.ok(t, "DELETE", "/cluster/sdn/lock", kv("lock-token", tok))
	if s.srv.Cluster.SDN().Locked {
		t.Error("lock survived release")
	}
}

// TestSDNListingModes checks pending=1 against pve-network's pending_config
// for every kind of change, and running=1 / default against the two copies.
func TestSDNListingModes(t *testing.T) {
	s := startSim(t, testConfig())
	s.baseSDN(t)
	s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "v2", "zone", "z1", "tag", "200", "alias", "old"))
	s.apply(t, nil)

	s.ok(t, "PUT", "/cluster/sdn/vnets/v2", kv("tag", "201", "delete", "alias"))
	s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "v3", "zone", "z1", "tag", "300"))
	s.ok(t, "DELETE", "/cluster/sdn/vnets/w1", nil)

	pending := s.list(t, "/cluster/sdn/vnets", "vnet", kv("pending", "1"))
	tests := []struct {
		vnet string
		want map[string]any
	}{
		{"v1", map[string]any{"vnet": "v1", "type": "vnet", "zone": "z1", "tag": float64(100), "digest": nil}},
		{"v2", map[string]any{"vnet": "v2", "type": "vnet", "zone": "z1", "tag": float64(200), "alias": "old", "state": "changed",
			"pending": map[string]any{"tag": float64(201), "alias": "deleted"}, "digest": nil}},
		{"v3", map[string]any{"vnet": "v3", "type": "vnet", "state": "new",
			"pending": map[string]any{"zone": "z1", "tag": float64(300)}, "digest": nil}},
		{"w1", map[string]any{"vnet": "w1", "type": "vnet", "zone": "q1", "tag": float64(100), "state": "deleted",
			"pending": map[string]any{}, "digest": nil}},
	}
	for _, tt := range tests {
		if got := pending[tt.vnet]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("pending %s:\n got %v\nwant %v", tt.vnet, got, tt.want)
		}
	}
	if len(pending) != len(tests) {
		t.Errorf("pending view has %d vnets: %v", len(pending), pending)
	}

	running := s.list(t, "/cluster/sdn/vnets", "vnet", kv("running", "1"))
	edited := s.list(t, "/cluster/sdn/vnets", "vnet", nil)
	if keys(running) != "v1,v2,w1" || running["v2"]["tag"] != float64(200) || running["v2"]["alias"] != "old" {
		t.Errorf("running view: %v", running)
	}
	if keys(edited) != "v1,v2,v3" || edited["v2"]["tag"] != float64(201) || edited["v2"]["alias"] != nil {
		t.Errorf("edited view: %v", edited)
	}
	if d, _ := edited["v1"]["digest"].(string); len(d) != 40 {
		t.Errorf("edited view digest %q", d)
	}
	one, _ := s.ok(t, "GET", "/cluster/sdn/vnets/v3", kv("pending", "1")).(map[string]any)
	if one["state"] != "new" {
		t.Errorf("GET one vnet pending: %v", one)
	}
	if r := s.call(t, "GET", "/cluster/sdn/vnets/v3", kv("running", "1")); r.status != 500 || r.line != "sdn vnet 'v3' does not exist" {
		t.Errorf("GET unapplied vnet running: %d %q", r.status, r.line)
	}
	if zs := s.list(t, "/cluster/sdn/zones", "zone", kv("type", "qinq")); keys(zs) != "q1" {
		t.Errorf("type filter: %v", zs)
	}
}

func keys[V any](m map[string]V) string { return strings.Join(sortedKeys(m), ",") }

func TestPendingObjects(t *testing.T) {
	running := sdnFile{
		"a": {"type": "vnet", "zone": "z", "tag": "1"},
		"b": {"type": "vnet", "zone": "z", "tag": "2", "alias": "x"},
		"c": {"type": "vnet", "zone": "z"},
	}
	edited := sdnFile{
		"a": {"type": "vnet", "zone": "z", "tag": "1"},
		"b": {"type": "vnet", "zone": "y", "tag": "2"},
		"c": {"type": "vnet", "zone": "z", "vlanaware": "1"},
		"d": {"type": "vnet", "zone": "z"},
	}
	want := map[string]map[string]any{
		"a": {"type": "vnet", "zone": "z", "tag": int64(1)},
		"b": {"type": "vnet", "zone": "z", "tag": int64(2), "alias": "x", "state": "changed",
			"pending": map[string]any{"zone": "y", "alias": "deleted"}},
		"c": {"type": "vnet", "zone": "z", "state": "changed", "pending": map[string]any{"vlanaware": int64(1)}},
		"d": {"type": "vnet", "state": "new", "pending": map[string]any{"zone": "z"}},
	}
	if got := pendingObjects(running, edited); !reflect.DeepEqual(got, want) {
		t.Errorf("pendingObjects:\n got %v\nwant %v", got, want)
	}
}

// TestSDNWithGoProxmox checks the wire shapes go-proxmox decodes.
func TestSDNWithGoProxmox(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	cl := mustCluster(t, s)
	if err := cl.NewSDNZone(ctx, &proxmox.SDNZoneOptions{Name: "z1", Type: "vlan", Bridge: "vmbr0", MTU: 1500}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewSDNVNet(ctx, &proxmox.VNetOptions{Name: "v1", Zone: "z1", Tag: 42, Alias: "web"}); err != nil {
		t.Fatal(err)
	}
	vnet, err := cl.SDNVNet(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := vnet.NewSubnet(ctx, &proxmox.SDNSubnetOptions{Subnet: "10.1.0.0/24", Gateway: "10.1.0.1"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewSDNVNet(ctx, &proxmox.VNetOptions{Name: "v1", Zone: "z1", Tag: 43}); err == nil ||
		!strings.Contains(err.Error(), "create sdn vnet object failed: sdn vnet object ID 'v1' already defined") {
		t.Errorf("duplicate vnet: %v", err)
	}
	task, err := cl.SDNApply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if wait(t, task).ExitStatus != "OK" {
		t.Fatalf("apply: %s", task.ExitStatus)
	}
	zones, err := cl.SDNZones(ctx)
	if err != nil || len(zones) != 1 || zones[0].Name != "z1" || zones[0].Type != "vlan" || zones[0].MTU != 1500 {
		t.Errorf("zones %v %+v", err, zones)
	}
	vnets, err := cl.SDNVNets(ctx)
	if err != nil || len(vnets) != 1 || vnets[0].Tag != 42 || vnets[0].Zone != "z1" || vnets[0].Alias != "web" {
		t.Errorf("vnets %v %+v", err, vnets)
	}
	subnets, err := cl.SDNSubnets(ctx, "v1")
	if err != nil || len(subnets) != 1 || subnets[0].ID != "z1-10.1.0.0-24" || subnets[0].CIDR != "10.1.0.0/24" || subnets[0].Netmask != "24" {
		t.Errorf("subnets %v %+v", err, subnets)
	}
	tok, err := cl.SDNLock(ctx, false)
	if err != nil || tok == "" {
		t.Fatalf("lock: %q %v", tok, err)
	}
	if _, err := cl.SDNLock(ctx, false); err == nil || !strings.Contains(err.Error(), "invalid lock token provided!") {
		t.Errorf("second lock: %v", err)
	}
	if err := cl.SDNReleaseLock(ctx, tok, false); err != nil {
		t.Errorf("release: %v", err)
	}
}

func TestClusterResourcesListAppliedZones(t *testing.T) {
	s := startSim(t, testConfig())
	s.ok(t, "POST", "/cluster/sdn/zones", kv("zone", "z1", "type", "simple"))
	count := func() int {
		n := 0
		items, _ := s.ok(t, "GET", "/cluster/resources", kv("type", "sdn")).([]any)
		for _, it := range items {
			if o := it.(map[string]any); o["sdn"] == "z1" && o["type"] == "sdn" && o["status"] == "ok" {
				n++
			}
		}
		return n
	}
	if n := count(); n != 0 {
		t.Errorf("unapplied zone listed %d times", n)
	}
	s.apply(t, nil)
	if n := count(); n != 3 {
		t.Errorf("applied zone listed %d times, want once per node (3)", n)
	}
}

// TestVMStartChecksBridges: a NIC on a vnet needs the vnet applied; node
// bridges are vmbr0..vmbr9 unless configured.
func TestVMStartChecksBridges(t *testing.T) {
	tests := []struct {
		name    string
		bridges []string
		bridge  string
		apply   bool
		wantErr string
	}{
		{"node bridge", nil, "vmbr3", false, ""},
		{"unknown node bridge", nil, "vmbr42", false, "bridge 'vmbr42' does not exist"},
		{"configured bridges replace defaults", []string{"br-lan"}, "vmbr0", false, "bridge 'vmbr0' does not exist"},
		{"configured bridge", []string{"br-lan"}, "br-lan", false, ""},
		{"pending vnet", nil, "v1", false, "bridge 'v1' does not exist"},
		{"applied vnet", nil, "v1", true, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Bridges = tt.bridges
			s := startSim(t, cfg)
			s.ok(t, "POST", "/cluster/sdn/zones", kv("zone", "z1", "type", "simple"))
			s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "v1", "zone", "z1"))
			if tt.apply {
				s.apply(t, nil)
			}
			vmid := 200 + i
			s.createVM(t, "pve1", vmid, opt("net0", "virtio,bridge="+tt.bridge))
			task, err := s.vm(t, "pve1", vmid).Start(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			exit := wait(t, task).ExitStatus
			if tt.wantErr == "" && exit != "OK" || tt.wantErr != "" && exit != tt.wantErr {
				t.Errorf("start exit %q, want %q", exit, tt.wantErr)
			}
			if vm, _ := s.srv.Cluster.VM(vmid); (vm.Status == "running") != (tt.wantErr == "") {
				t.Errorf("status %s after exit %q", vm.Status, exit)
			}
		})
	}
}
