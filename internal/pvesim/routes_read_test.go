package pvesim

import (
	"strings"
	"testing"
	"time"
)

// schemaShaped fails the test when an answer lacks what the schema's
// returns require.
func schemaShaped(t *testing.T, method, pattern string, got any) {
	t.Helper()
	for _, p := range returnsProblems(method+" "+pattern, loadReturns(t, method, pattern), got) {
		t.Error(p)
	}
}

func TestPools(t *testing.T) {
	cfg := storageTestConfig()
	cfg.Pools = []PoolConfig{{ID: "web", Comment: "frontends"}, {ID: "db"}}
	s := startSim(t, cfg)
	mustOK(t, "create in pool", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "pool": "web"}))
	mustOK(t, "create outside", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 101}))
	mustOK(t, "clone into pool", s.runTask(t, "POST", "/nodes/pve1/qemu/101/clone", map[string]any{"newid": 102, "pool": "web"}))

	list := s.jok(t, "GET", "/pools", nil)
	schemaShaped(t, "GET", "/pools", list)
	if l := list.([]any); len(l) != 2 || l[0].(map[string]any)["poolid"] != "db" || l[1].(map[string]any)["comment"] != "frontends" {
		t.Errorf("GET /pools = %v", list)
	}
	one := s.jok(t, "GET", "/pools/web", nil).(map[string]any)
	schemaShaped(t, "GET", "/pools/{poolid}", one)
	members := one["members"].([]any)
	if len(members) != 2 || members[0].(map[string]any)["id"] != "qemu/100" || members[1].(map[string]any)["vmid"] != float64(102) {
		t.Errorf("members of web = %v", members)
	}
	if m := s.jok(t, "GET", "/pools/web", map[string]any{"type": "storage"}).(map[string]any)["members"].([]any); len(m) != 0 {
		t.Errorf("storage members = %v", m)
	}
	byID := s.jok(t, "GET", "/pools", map[string]any{"poolid": "web"}).([]any)
	if len(byID) != 1 || len(byID[0].(map[string]any)["members"].([]any)) != 2 {
		t.Errorf("GET /pools?poolid=web = %v", byID)
	}

	mustOK(t, "destroy member", s.runTask(t, "DELETE", "/nodes/pve1/qemu/100", nil))
	if m := s.jok(t, "GET", "/pools/web", nil).(map[string]any)["members"].([]any); len(m) != 1 {
		t.Errorf("after destroy: members %v", m)
	}

	for _, tt := range []struct {
		method, path string
		params       map[string]any
		status       int
		line, param  string
	}{
		{"GET", "/pools/nope", nil, 500, "pool 'nope' does not exist", ""},
		{"GET", "/pools", map[string]any{"type": "qemu"}, 400, "Parameter verification failed.", "poolid"},
		{"POST", "/nodes/pve1/qemu", map[string]any{"vmid": 103, "pool": "nope"}, 500, "pool 'nope' does not exist", ""},
	} {
		r := s.jcall(t, tt.method, tt.path, tt.params)
		if r.status != tt.status || r.line != tt.line || tt.param != "" && r.errors()[tt.param] == nil {
			t.Errorf("%s %s %v: %d %q %v", tt.method, tt.path, tt.params, r.status, r.line, r.errors())
		}
	}
	// The permission check runs before parameters are verified: a bad pool
	// ID is no ACL path, so only root@pam gets as far as the format check.
	want403(t, s.jcall(t, "GET", "/pools/bad!name", nil), "Permission check failed (, Pool.Audit)")
	if r := s.asRoot(t, "GET", "/pools/bad!name", nil); r.status != 400 || r.errors()["poolid"] == nil {
		t.Errorf("GET /pools/bad!name as root@pam: %d %q %v", r.status, r.line, r.errors())
	}
}

func TestStorageConfigAndVolumeInfo(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "scsi0": "local-lvm:8", "scsi1": "files:2,format=qcow2"}))

	list := s.jok(t, "GET", "/storage", nil)
	schemaShaped(t, "GET", "/storage", list)
	if len(list.([]any)) != len(storageTestConfig().withDefaults().Storages) {
		t.Errorf("GET /storage = %v", list)
	}
	if dirs := s.jok(t, "GET", "/storage", map[string]any{"type": "dir"}).([]any); len(dirs) == 0 {
		t.Error("no dir storage listed")
	} else {
		for _, d := range dirs {
			if d.(map[string]any)["type"] != "dir" {
				t.Errorf("type filter let %v through", d)
			}
		}
	}
	one := s.jok(t, "GET", "/storage/local-lvm", nil).(map[string]any)
	if one["type"] != "lvmthin" || one["content"] == nil || one["digest"] == nil {
		t.Errorf("GET /storage/local-lvm = %v", one)
	}

	conf := s.config(t, 100)
	lvm, qcow := drive(t, conf, "scsi0")["file"], drive(t, conf, "scsi1")["file"]
	info := s.jok(t, "GET", "/nodes/pve1/storage/local-lvm/content/"+lvm, nil).(map[string]any)
	schemaShaped(t, "GET", "/nodes/{node}/storage/{storage}/content/{volume}", info)
	if info["size"] != float64(8*gib) || info["format"] != "raw" {
		t.Errorf("info of %s = %v", lvm, info)
	}
	_, volname, _ := strings.Cut(qcow, ":")
	info = s.jok(t, "GET", "/nodes/pve1/storage/files/content/"+volname, nil).(map[string]any)
	if info["size"] != float64(2*gib) || info["format"] != "qcow2" {
		t.Errorf("info of %s by name = %v", qcow, info)
	}

	for _, tt := range []struct {
		path   string
		status int
		line   string
		param  string
	}{
		{"/storage/nope", 500, "storage 'nope' does not exist", ""},
		{"/nodes/pve1/storage/local-lvm/content/local-lvm:vm-100-disk-9", 500, "can't get size of '/dev/pve/vm-100-disk-9': command '/sbin/lvs --separator : --noheadings --units b --unbuffered --nosuffix --options lv_size /dev/pve/vm-100-disk-9' failed: exit code 5", ""},
		{"/nodes/pve1/storage/files/content/100/vm-100-disk-9.qcow2", 500, "volume_size_info on 'files:100/vm-100-disk-9.qcow2' failed - no format", ""},
		{"/nodes/pve1/storage/files/content/" + lvm, 400, "Parameter verification failed.", "volume"},
	} {
		r := s.jcall(t, "GET", tt.path, nil)
		if r.status != tt.status || r.line != tt.line || tt.param != "" && r.errors()[tt.param] == nil {
			t.Errorf("%s: %d %q %v", tt.path, r.status, r.line, r.errors())
		}
	}
}

func TestTaskLists(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "create 100", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100}))
	mustOK(t, "create 101", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 101}))
	mustOK(t, "start", s.runTask(t, "POST", "/nodes/pve1/qemu/100/status/start", nil))
	if exit := s.runTask(t, "POST", "/nodes/pve1/qemu/100/status/start", nil); exit != "VM 100 already running" {
		t.Fatalf("second start: %q", exit)
	}
	mustOK(t, "create on pve2", s.runTask(t, "POST", "/nodes/pve2/qemu", map[string]any{"vmid": 200}))

	all := s.jok(t, "GET", "/nodes/pve1/tasks", nil).([]any)
	schemaShaped(t, "GET", "/nodes/{node}/tasks", all)
	if len(all) != 4 {
		t.Fatalf("pve1 tasks = %v", all)
	}
	first := all[0].(map[string]any)
	if first["type"] != "qmstart" || first["id"] != "100" || first["status"] != "VM 100 already running" || first["user"] != "root@pam" || first["tokenid"] != "moxxie" {
		t.Errorf("newest task = %v", first)
	}
	for _, tt := range []struct {
		params map[string]any
		want   int
	}{
		{map[string]any{"vmid": 100}, 3},
		{map[string]any{"typefilter": "qmcreate"}, 2},
		{map[string]any{"errors": 1}, 1},
		{map[string]any{"limit": 1}, 1},
		{map[string]any{"start": 1}, 3},
		{map[string]any{"start": 3, "limit": 5}, 1},
		{map[string]any{"userfilter": "ROOT@"}, 4},
		{map[string]any{"userfilter": "ops"}, 0},
		{map[string]any{"source": "active"}, 0},
		{map[string]any{"source": "all"}, 4},
		{map[string]any{"statusfilter": "ok"}, 3},
		{map[string]any{"statusfilter": "warning"}, 0},
	} {
		if got := s.jok(t, "GET", "/nodes/pve1/tasks", tt.params).([]any); len(got) != tt.want {
			t.Errorf("tasks %v: %d entries %v, want %d", tt.params, len(got), got, tt.want)
		}
	}
	r := s.jcall(t, "GET", "/nodes/pve1/tasks", map[string]any{"statusfilter": "fine"})
	if r.status != 400 || r.errors()["statusfilter"] == nil {
		t.Errorf("bad statusfilter: %d %v", r.status, r.errors())
	}

	cluster := s.jok(t, "GET", "/cluster/tasks", nil).([]any)
	schemaShaped(t, "GET", "/cluster/tasks", cluster)
	if len(cluster) != 5 || cluster[0].(map[string]any)["node"] != "pve2" {
		t.Errorf("cluster tasks = %v", cluster)
	}
}

func TestRunningTaskIsActive(t *testing.T) {
	cfg := storageTestConfig()
	cfg.TaskDuration = 500 * time.Millisecond
	s := startSim(t, cfg)
	upid := s.jok(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100}).(string)
	active := s.jok(t, "GET", "/nodes/pve1/tasks", map[string]any{"source": "active"}).([]any)
	if len(active) != 1 || active[0].(map[string]any)["upid"] != upid || active[0].(map[string]any)["status"] != "RUNNING" {
		t.Errorf("active tasks = %v", active)
	}
	if archived := s.jok(t, "GET", "/nodes/pve1/tasks", nil).([]any); len(archived) != 0 {
		t.Errorf("running task in the archive: %v", archived)
	}
	mustOK(t, "create", s.waitExit(t, upid))
}

func TestGuestAgentRoutes(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "no agent", s.createStarted(t, "pve1", map[string]any{"vmid": 100}))
	mustOK(t, "agent", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 101, "agent": "1"}))
	for _, tt := range []struct {
		method, path string
		params       map[string]any
		line         string
	}{
		{"GET", "/nodes/pve1/qemu/100/agent/network-get-interfaces", nil, "No QEMU guest agent configured"},
		{"GET", "/nodes/pve1/qemu/101/agent/network-get-interfaces", nil, "VM 101 is not running"},
		{"POST", "/nodes/pve1/qemu/101/agent/ping", nil, "VM 101 is not running"},
		{"GET", "/nodes/pve1/qemu/999/agent/info", nil, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"},
	} {
		r := s.jcall(t, tt.method, tt.path, tt.params)
		if r.status != 500 || r.line != tt.line {
			t.Errorf("%s %s: %d %q, want 500 %q", tt.method, tt.path, r.status, r.line, tt.line)
		}
	}
	mustOK(t, "start", s.runTask(t, "POST", "/nodes/pve1/qemu/101/status/start", nil))
	for _, tt := range []struct {
		method, path string
		params       map[string]any
	}{
		{"GET", "/nodes/pve1/qemu/101/agent/network-get-interfaces", nil},
		{"GET", "/nodes/pve1/qemu/101/agent/info", nil},
		{"POST", "/nodes/pve1/qemu/101/agent/ping", nil},
		{"POST", "/nodes/pve1/qemu/101/agent", map[string]any{"command": "get-osinfo"}},
	} {
		r := s.jcall(t, tt.method, tt.path, tt.params)
		if r.status != 500 || r.line != "QEMU guest agent is not running" {
			t.Errorf("%s %s: %d %q", tt.method, tt.path, r.status, r.line)
		}
	}
	if r := s.jcall(t, "POST", "/nodes/pve1/qemu/101/agent", map[string]any{"command": "rm-rf"}); r.status != 400 || r.errors()["command"] == nil {
		t.Errorf("unknown agent command: %d %v", r.status, r.errors())
	}
	if idx := s.jok(t, "GET", "/nodes/pve1/qemu/101/agent", nil).([]any); len(idx) != 25 || idx[0].(map[string]any)["name"] != "exec" {
		t.Errorf("agent index = %v", idx)
	}
}
