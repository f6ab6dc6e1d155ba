package pvesim

import (
	"reflect"
	"strings"
	"testing"
)

func TestCloudInitSettings(t *testing.T) {
	s := startSim(t, storageTestConfig())
	keys := "ssh-ed25519%20AAAAC3Nz%20ops%40example"
	mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{
		"vmid": 100, "scsi0": "local-lvm:8", "ide2": "local-lvm:cloudinit", "ciuser": "ops", "cipassword": "s3cret",
		"sshkeys": keys, "ipconfig0": "ip=10.0.0.5/24,gw=10.0.0.1", "nameserver": "10.0.0.53", "searchdomain": "example.net"}))

	got := s.jok(t, "GET", "/nodes/pve1/qemu/100/config", nil).(map[string]any)
	if got["ide2"] != "local-lvm:vm-100-cloudinit,media=cdrom,size=4M" || got["cipassword"] != "**********" ||
		got["sshkeys"] != "ssh-ed25519%20AAAAC3Nz%20ops%40example" || got["ipconfig0"] != "ip=10.0.0.5/24,gw=10.0.0.1" {
		t.Errorf("config = %v", got)
	}
	if stored := s.config(t, 100)["cipassword"]; stored == "s3cret" || !strings.HasPrefix(stored, "$5$") {
		t.Errorf("password stored as %q, want a hash", stored)
	}
	if s.volumeSize("local-lvm:vm-100-cloudinit") != 4<<20 {
		t.Error("cloud-init volume missing")
	}

	for _, tt := range []struct{ key, value, want string }{
		{"sshkeys", "ssh-ed25519 AAAA ops@x", "invalid format - invalid urlencoded string: ssh-ed25519 AAAA ops@x"},
		{"sshkeys", "ssh-rsa%2", "invalid format - invalid urlencoded string: ssh-rsa%2"},
		{"ipconfig0", "ip=10.0.0.5", "invalid format - format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration"},
		{"nameserver", "dns_example", "invalid format - value does not look like a valid address: dns_example"},
	} {
		r := s.jcall(t, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{tt.key: tt.value})
		if r.status != 400 || r.errors()[tt.key] != tt.want {
			t.Errorf("%s=%q: %d %v, want %q", tt.key, tt.value, r.status, r.errors(), tt.want)
		}
	}
}

func TestCloudInitPendingView(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "start", s.createStarted(t, "pve1", map[string]any{
		"vmid": 100, "ide2": "local-lvm:cloudinit", "ciuser": "ops", "cipassword": "a", "searchdomain": "example.net",
		"ipconfig0": "ip=dhcp"}))
	view := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, it := range s.jok(t, "GET", "/nodes/pve1/qemu/100/cloudinit", nil).([]any) {
			item := it.(map[string]any)
			out[item["key"].(string)] = item
			delete(item, "key")
		}
		return out
	}
	want := map[string]map[string]any{
		"ciuser": {"value": "ops"}, "cipassword": {"value": "**********"}, "searchdomain": {"value": "example.net"},
	}
	if got := view(); !reflect.DeepEqual(got, want) {
		t.Errorf("fresh image: %v", got)
	}

	// Changes on the running VM apply at once and show against the image.
	s.jok(t, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{
		"ciuser": "admin", "cipassword": "b", "nameserver": "10.0.0.53", "ipconfig0": "ip=10.0.0.5/24", "delete": "searchdomain"})
	if conf := s.config(t, 100); conf["ciuser"] != "admin" || conf["nameserver"] != "10.0.0.53" || conf["searchdomain"] != "" {
		t.Errorf("config after change: %v", conf)
	}
	want = map[string]map[string]any{
		"ciuser":       {"value": "ops", "pending": "admin"},
		"cipassword":   {"value": "**********", "pending": "**********"},
		"nameserver":   {"pending": "10.0.0.53"},
		"searchdomain": {"delete": float64(1)},
		// PVE lists a changed ipconfigN only once deleted: not at all here.
	}
	if got := view(); !reflect.DeepEqual(got, want) {
		t.Errorf("after change: %v", got)
	}

	// Changing back to the image's value is no longer pending.
	s.jok(t, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{"ciuser": "ops"})
	if got := view()["ciuser"]; !reflect.DeepEqual(got, map[string]any{"value": "ops"}) {
		t.Errorf("reverted ciuser: %v", got)
	}

	// Regenerating the image clears the difference.
	if r := s.jcall(t, "PUT", "/nodes/pve1/qemu/100/cloudinit", nil); r.status != 200 || r.body["data"] != nil {
		t.Fatalf("regenerate: %d %v", r.status, r.body)
	}
	for k, item := range view() {
		if _, pending := item["pending"]; pending || item["delete"] != nil {
			t.Errorf("after regenerate %s = %v", k, item)
		}
	}
}

func TestSnapshots(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "scsi0": "local-lvm:8", "cores": 2}))
	mustOK(t, "create thick", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 101, "scsi0": "thick:8"}))

	upid, _ := s.jok(t, "POST", "/nodes/pve1/qemu/100/snapshot", map[string]any{"snapname": "s1", "description": "before"}).(string)
	if u := upidRe.FindStringSubmatch(upid); len(u) != 9 || u[6] != "qmsnapshot" || u[7] != "100" {
		t.Fatalf("snapshot UPID %q", upid)
	}
	mustOK(t, "s1", s.waitExit(t, upid))
	s.jok(t, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{"cores": 4})
	mustOK(t, "s2", s.runTask(t, "POST", "/nodes/pve1/qemu/100/snapshot", map[string]any{"snapname": "s2"}))

	list := s.jok(t, "GET", "/nodes/pve1/qemu/100/snapshot", nil).([]any)
	names := map[string]map[string]any{}
	for _, it := range list {
		item := it.(map[string]any)
		names[item["name"].(string)] = item
	}
	if len(list) != 3 || names["s1"]["description"] != "before" || names["s1"]["parent"] != nil ||
		names["s2"]["parent"] != "s1" || names["current"]["parent"] != "s2" || names["current"]["description"] != "You are here!" {
		t.Errorf("snapshot list = %v", list)
	}
	conf := s.jok(t, "GET", "/nodes/pve1/qemu/100/config", nil).(map[string]any)
	if conf["parent"] != "s2" || conf["cores"] != float64(4) {
		t.Errorf("config parent %v cores %v", conf["parent"], conf["cores"])
	}
	old := s.jok(t, "GET", "/nodes/pve1/qemu/100/config", map[string]any{"snapshot": "s1"}).(map[string]any)
	if old["cores"] != float64(2) || old["description"] != "before" {
		t.Errorf("config of s1 = %v", old)
	}
	if _, isNumber := old["snaptime"].(float64); !isNumber {
		t.Errorf("config of s1: snaptime %#v is not a number", old["snaptime"])
	}

	failures := []struct {
		vmid           int
		name, wantExit string
	}{
		{100, "s1", "snapshot name 's1' already used"},
		{101, "s1", "snapshot feature is not available"},
	}
	for _, tt := range failures {
		if exit := s.runTask(t, "POST", "/nodes/pve1/qemu/"+vmidStr(tt.vmid)+"/snapshot", map[string]any{"snapname": tt.name}); exit != tt.wantExit {
			t.Errorf("snapshot %d %s: %q, want %q", tt.vmid, tt.name, exit, tt.wantExit)
		}
	}
	for _, tt := range []struct{ name, want string }{
		{"current", "unable to use snapshot name 'current' (reserved name)"},
		{"PENDING", "unable to use snapshot name 'pending' (reserved name)"},
	} {
		if r := s.jcall(t, "POST", "/nodes/pve1/qemu/100/snapshot", map[string]any{"snapname": tt.name}); r.status != 500 || r.line != tt.want {
			t.Errorf("snapshot %s: %d %q", tt.name, r.status, r.line)
		}
	}
	if r := s.jcall(t, "POST", "/nodes/pve1/qemu/100/snapshot", map[string]any{"snapname": "1bad"}); r.status != 400 {
		t.Errorf("invalid name accepted: %d", r.status)
	}

	// Deleting s1 re-parents s2.
	mustOK(t, "delete s1", s.runTask(t, "DELETE", "/nodes/pve1/qemu/100/snapshot/s1", nil))
	for _, it := range s.jok(t, "GET", "/nodes/pve1/qemu/100/snapshot", nil).([]any) {
		if item := it.(map[string]any); item["name"] == "s2" && item["parent"] != nil {
			t.Errorf("s2 parent after deleting s1: %v", item["parent"])
		}
	}
	if exit := s.runTask(t, "DELETE", "/nodes/pve1/qemu/100/snapshot/s1", nil); exit != "snapshot 's1' does not exist" {
		t.Errorf("second delete: %q", exit)
	}
}

func TestHAResources(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve2/qemu", map[string]any{"vmid": 105, "scsi0": "local-lvm:1"}))

	tests := []struct {
		params map[string]any
		status int
		want   string
	}{
		{map[string]any{"sid": "vm:105", "state": "started", "comment": "db"}, 200, ""},
		{map[string]any{"sid": "105"}, 500, "resource ID 'vm:105' already defined"},
		{map[string]any{"sid": "vm:106"}, 500, "resource 'vm:106' does not exist in cluster"},
		{map[string]any{"sid": "vm:105", "type": "ct"}, 500, "types does not match"},
		{map[string]any{"sid": "not an id"}, 400, "Parameter verification failed."},
		{map[string]any{"sid": "vm:105", "state": "running"}, 400, "Parameter verification failed."},
	}
	for _, tt := range tests {
		r := s.jcall(t, "POST", "/cluster/ha/resources", tt.params)
		if r.status != tt.status || (tt.want != "" && r.line != tt.want) {
			t.Errorf("%v: %d %q %v, want %d %q", tt.params, r.status, r.line, r.errors(), tt.status, tt.want)
		}
	}
	list := s.jok(t, "GET", "/cluster/ha/resources", nil).([]any)
	if len(list) != 1 {
		t.Fatalf("ha resources = %v", list)
	}
	item := list[0].(map[string]any)
	if item["sid"] != "vm:105" || item["state"] != "started" || item["type"] != "vm" || item["comment"] != "db" || item["digest"] == "" {
		t.Errorf("ha resource = %v", item)
	}
	if got := s.jok(t, "GET", "/cluster/ha/resources", map[string]any{"type": "ct"}).([]any); len(got) != 0 {
		t.Errorf("type=ct lists %v", got)
	}
	st := s.jok(t, "GET", "/nodes/pve2/qemu/105/status/current", nil).(map[string]any)
	if ha := st["ha"].(map[string]any); ha["managed"] != float64(1) || ha["state"] != "started" {
		t.Errorf("status ha = %v", ha)
	}
	for _, it := range s.jok(t, "GET", "/cluster/resources", map[string]any{"type": "vm"}).([]any) {
		if r := it.(map[string]any); r["vmid"] == float64(105) && r["hastate"] != "started" {
			t.Errorf("resources hastate = %v", r["hastate"])
		}
	}

	// Destroy needs purge for an HA-managed VM, and purge drops the resource.
	if r := s.jcall(t, "DELETE", "/nodes/pve2/qemu/105", nil); r.status != 500 ||
		r.line != "unable to remove VM 105 - used in HA resources and purge parameter not set." {
		t.Errorf("destroy without purge: %d %q", r.status, r.line)
	}
	mustOK(t, "destroy", s.runTask(t, "DELETE", "/nodes/pve2/qemu/105", map[string]any{"purge": 1}))
	if got := s.jok(t, "GET", "/cluster/ha/resources", nil).([]any); len(got) != 0 {
		t.Errorf("purge left %v", got)
	}
	if r := s.jcall(t, "DELETE", "/cluster/ha/resources/vm:105", nil); r.status != 500 || r.line != "cannot delete service 'vm:105', not HA managed!" {
		t.Errorf("delete unknown: %d %q", r.status, r.line)
	}
}
