package pvesim

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

const (
	targetTokenID = "root@pam!mig"
	targetSecret  = "b7c1e0d2-4f3a-4e55-9d0c-2a1b3c4d5e6f"
)

// migrationSims starts a source (DC1, nodes pve1..pve3) and a target
// (DC2: node dc2n1, bridges vmbr0 and vmbr5, storages local-lvm, fast,
// tiny) and returns them with a target-endpoint pinning DC2's certificate.
func migrationSims(t *testing.T) (src, dst *sim, endpoint string) {
	t.Helper()
	src = startSim(t, storageTestConfig())
	dst = startSim(t, Config{
		Name:    "DC2",
		Nodes:   []NodeConfig{{Name: "dc2n1"}},
		Tokens:  map[string]string{targetTokenID: targetSecret, testTokenID: testSecret},
		Bridges: []string{"vmbr0", "vmbr5"},
		Storages: []StorageConfig{
			{Name: "local-lvm", Type: "lvmthin", Content: "images,rootdir", TotalBytes: tib},
			{Name: "fast", Type: "lvmthin", Content: "images", TotalBytes: tib},
			{Name: "tiny", Type: "lvm", Content: "images", TotalBytes: 4 * gib},
			{Name: "iso", Type: "dir", Content: "iso", TotalBytes: tib},
		},
	})
	return src, dst, endpointFor(t, dst, targetSecret, dst.srv.Fingerprint)
}

func endpointFor(t *testing.T, dst *sim, secret, fingerprint string) string {
	t.Helper()
	u, err := url.Parse(dst.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ep := "host=" + u.Hostname() + ",port=" + u.Port() + ",apitoken=PVEAPIToken=" + targetTokenID + "=" + secret
	if fingerprint != "" {
		ep += ",fingerprint=" + fingerprint
	}
	return ep
}

// taskLog reads a task's log lines.
func (s *sim) taskLog(t *testing.T, upid string) string {
	t.Helper()
	m := upidRe.FindStringSubmatch(upid)
	var lines []string
	for _, it := range s.jok(t, "GET", "/nodes/"+m[1]+"/tasks/"+upid+"/log", map[string]any{"limit": 1000}).([]any) {
		lines = append(lines, it.(map[string]any)["t"].(string))
	}
	return strings.Join(lines, "\n")
}

// migrateVM starts a remote migration and returns its UPID after checking
// it is a qmigrate task of the VM on the source node.
func (s *sim) migrateVM(t *testing.T, node string, vmid int, params map[string]any) string {
	t.Helper()
	upid, _ := s.jok(t, "POST", "/nodes/"+node+"/qemu/"+vmidStr(vmid)+"/remote_migrate", params).(string)
	if m := upidRe.FindStringSubmatch(upid); len(m) != 9 || m[1] != node || m[6] != "qmigrate" || m[7] != vmidStr(vmid) {
		t.Fatalf("remote_migrate returned %q, want a qmigrate UPID on %s", upid, node)
	}
	return upid
}

func TestRemoteMigrateOffline(t *testing.T) {
	src, dst, ep := migrationSims(t)
	mustOK(t, "create", src.runTask(t, "POST", "/nodes/pve2/qemu", map[string]any{
		"vmid": 100, "name": "web", "scsi0": "local-lvm:8", "scsi1": "local-lvm:2", "virtio0": "files:1",
		"ide2": "local-lvm:cloudinit", "ciuser": "ops", "tags": "moxxie;id-42", "description": "line one\nline two",
		"net0": "virtio=BC:24:11:00:00:10,bridge=vmbr0,tag=100", "net1": "e1000=BC:24:11:00:00:11,bridge=vmbr1"}))
	src.jok(t, "PUT", "/nodes/pve2/qemu/100/config", map[string]any{"delete": "scsi1"})
	before := src.config(t, 100)

	upid := src.migrateVM(t, "pve2", 100, map[string]any{
		"target-endpoint": ep, "target-storage": "local-lvm:fast,files:local-lvm",
		"target-bridge": "vmbr0:vmbr5,vmbr1:vmbr0", "target-vmid": 205, "bwlimit": 10240})
	mustOK(t, "migration", src.waitExit(t, upid))

	got := dst.config(t, 205)
	want := map[string]string{
		"scsi0":   "fast:vm-205-disk-0,size=8G",
		"unused0": "fast:vm-205-disk-1",
		"virtio0": "local-lvm:vm-205-disk-0,size=1G",
		"ide2":    "fast:vm-205-cloudinit,media=cdrom,size=4M",
		"net0":    "virtio=BC:24:11:00:00:10,bridge=vmbr5,tag=100",
		"net1":    "e1000=BC:24:11:00:00:11,bridge=vmbr0",
		"name":    "web", "tags": "id-42;moxxie", "description": "line one\nline two", "ciuser": "ops",
		"smbios1": before["smbios1"], "vmgenid": before["vmgenid"], "lock": "",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("target %s = %q, want %q", k, got[k], v)
		}
	}
	if vm, _ := dst.srv.Cluster.VM(205); vm.Node != "dc2n1" || vm.Status != "stopped" {
		t.Errorf("target VM on %s, %s", vm.Node, vm.Status)
	}
	if used := dst.storageUsed(t, "dc2n1", "fast"); used != 10*gib+4<<20 {
		t.Errorf("target fast used %d", used)
	}
	// The source stays, stopped and locked, with its volumes.
	after, _ := src.srv.Cluster.VM(100)
	if after.Status != "stopped" || after.Lock != "migrate" || after.Config["scsi0"] != before["scsi0"] {
		t.Errorf("source after migration: %s lock %q scsi0 %q", after.Status, after.Lock, after.Config["scsi0"])
	}
	if used := src.storageUsed(t, "pve2", "local-lvm"); used != 10*gib+4<<20 {
		t.Errorf("source local-lvm used %d", used)
	}
	log := src.taskLog(t, upid)
	for _, line := range []string{
		"mapped: net0 from vmbr0 to vmbr5", "mapped: net1 from vmbr1 to vmbr0",
		"volume 'local-lvm:vm-100-disk-0' is 'fast:vm-205-disk-0' on the target",
		"migration finished successfully", "TASK OK",
	} {
		if !strings.Contains(log, line) {
			t.Errorf("task log lacks %q:\n%s", line, log)
		}
	}
	// A locked source cannot be migrated again.
	if r := src.jcall(t, "POST", "/nodes/pve2/qemu/100/remote_migrate", map[string]any{
		"target-endpoint": ep, "target-storage": "fast", "target-bridge": "1"}); r.status != 500 || r.line != "VM 100 is locked (migrate)" {
		t.Errorf("second migration: %d %q", r.status, r.line)
	}
}

func TestRemoteMigrateOnlineAndDelete(t *testing.T) {
	src, dst, ep := migrationSims(t)
	mustOK(t, "start", src.createStarted(t, "pve1", map[string]any{
		"vmid": 110, "scsi0": "local-lvm:4", "net0": "virtio,bridge=vmbr5,tag=7"}))
	mac := src.config(t, 110)["net0"]

	upid := src.migrateVM(t, "pve1", 110, map[string]any{
		"target-endpoint": ep, "target-storage": "local-lvm", "target-bridge": "1", "online": 1, "delete": 1})
	mustOK(t, "migration", src.waitExit(t, upid))

	vm, ok := dst.srv.Cluster.VM(110)
	if !ok || vm.Status != "running" || vm.Lock != "" || vm.Config["net0"] != mac || vm.Config["scsi0"] != "local-lvm:vm-110-disk-0,size=4G" {
		t.Errorf("target VM: %+v", vm)
	}
	if _, exists := src.srv.Cluster.VM(110); exists {
		t.Error("source VM still exists after delete=1")
	}
	if used := src.storageUsed(t, "pve1", "local-lvm"); used != 0 {
		t.Errorf("source storage still holds %d bytes", used)
	}
}

func TestRemoteMigrateRefusedAtOnce(t *testing.T) {
	src, dst, ep := migrationSims(t)
	for _, vm := range []struct {
		vmid    int
		running bool
		extra   map[string]string
	}{
		{100, true, nil}, {101, false, nil}, {102, false, map[string]string{"lock": "backup"}},
	} {
		conf := map[string]string{"scsi0": "local-lvm:vm-" + vmidStr(vm.vmid) + "-disk-0,size=4G", "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0"}
		for k, v := range vm.extra {
			conf[k] = v
		}
		if err := src.srv.Cluster.AddVM("pve1", vm.vmid, conf, vm.running); err != nil {
			t.Fatal(err)
		}
	}
	src.jok(t, "POST", "/cluster/ha/resources", map[string]any{"sid": "vm:101"})
	mustOK(t, "create 103", src.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 103, "scsi0": "local-lvm:1"}))

	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	down := strings.Replace(ep, ",port="+portOf(t, dst), ",port="+vmidStr(closedPort), 1)
	wrongFP := strings.Repeat("AB:", 31) + "AB"

	tests := []struct {
		name     string
		vmid     int
		params   map[string]any
		status   int
		want     string
		errKey   string
		errValue string
	}{
		{name: "running without online", vmid: 100, status: 500, want: "can't migrate running VM without --online"},
		{name: "HA managed", vmid: 101, status: 400, want: "Parameter verification failed.", errKey: "vmid", errValue: "cannot remote-migrate VM that is configured for HA"},
		{name: "locked", vmid: 102, status: 500, want: "VM 102 is locked (backup)"},
		{name: "missing VM", vmid: 404, status: 500, want: "Configuration file 'nodes/pve1/qemu-server/404.conf' does not exist"},
		{name: "identity storage", vmid: 103, params: map[string]any{"target-storage": "1"}, status: 500, want: "remote migration requires explicit storage mapping!"},
		{name: "bad token", vmid: 103, params: map[string]any{"target-endpoint": endpointFor(t, dst, "wrong", dst.srv.Fingerprint)}, status: 500, want: "401 invalid token value!"},
		{name: "unknown token", vmid: 103, params: map[string]any{"target-endpoint": strings.Replace(ep, "!mig=", "!other=", 1)}, status: 500, want: "401 no such token 'other' for user 'root@pam'"},
		{name: "fingerprint mismatch", vmid: 103, params: map[string]any{"target-endpoint": endpointFor(t, dst, targetSecret, wrongFP)}, status: 500,
			want: "fingerprint '" + dst.srv.Fingerprint + "' not verified, abort!"},
		{name: "self-signed without fingerprint", vmid: 103, params: map[string]any{"target-endpoint": endpointFor(t, dst, targetSecret, "")}, status: 500,
			want: "fingerprint '" + dst.srv.Fingerprint + "' not verified, abort!"},
		{name: "target down", vmid: 103, params: map[string]any{"target-endpoint": down}, status: 500,
			want: "500 Can't connect to 127.0.0.1:" + vmidStr(closedPort) + " (Connection refused)"},
		{name: "endpoint without host", vmid: 103, params: map[string]any{"target-endpoint": "apitoken=PVEAPIToken=a@pam!b=c"}, status: 400,
			want: "Parameter verification failed.", errKey: "target-endpoint", errValue: "invalid format - format error\ntarget-endpoint.host: property is missing and it is not optional"},
		{name: "duplicate storage mapping", vmid: 103, params: map[string]any{"target-storage": "local-lvm:fast,local-lvm:tiny"}, status: 400,
			want: "Parameter verification failed.", errKey: "target-storage", errValue: "invalid format - duplicate mapping for source 'local-lvm'"},
		{name: "bridge map mixing identity", vmid: 103, params: map[string]any{"target-bridge": "1,vmbr0:vmbr5"}, status: 400,
			want: "Parameter verification failed.", errKey: "target-bridge", errValue: "invalid format - identity mapping cannot be combined with other mappings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]any{"target-endpoint": ep, "target-storage": "local-lvm:fast", "target-bridge": "vmbr0:vmbr5"}
			for k, v := range tt.params {
				params[k] = v
			}
			r := src.jcall(t, "POST", "/nodes/pve1/qemu/"+vmidStr(tt.vmid)+"/remote_migrate", params)
			if r.status != tt.status || r.line != tt.want {
				t.Errorf("%d %q %v, want %d %q", r.status, r.line, r.errors(), tt.status, tt.want)
			}
			if tt.errKey != "" && r.errors()[tt.errKey] != tt.errValue {
				t.Errorf("errors[%s] = %q, want %q", tt.errKey, r.errors()[tt.errKey], tt.errValue)
			}
			if vm, ok := src.srv.Cluster.VM(tt.vmid); ok && vm.Lock == "migrate" {
				t.Error("refused migration locked the source")
			}
			if len(dst.srv.Cluster.VMs()) != 0 {
				t.Errorf("target got VMs: %+v", dst.srv.Cluster.VMs())
			}
		})
	}
}

func portOf(t *testing.T, s *sim) string {
	t.Helper()
	u, err := url.Parse(s.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

func TestRemoteMigrateTaskFailures(t *testing.T) {
	src, dst, ep := migrationSims(t)
	if err := dst.srv.Cluster.AddVM("dc2n1", 300, map[string]string{"name": "taken"}, false); err != nil {
		t.Fatal(err)
	}
	if err := src.srv.Cluster.AddVM("pve1", 9000, map[string]string{"template": "1", "scsi0": "local-lvm:base-9000-disk-0,size=2G"}, false); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "linked clone", src.runTask(t, "POST", "/nodes/pve1/qemu/9000/clone", map[string]any{"newid": 130}))
	tests := []struct {
		name    string
		create  map[string]any
		setup   func(vmid int)
		params  map[string]any
		wantLog []string
	}{
		{name: "missing target bridge", params: map[string]any{"target-bridge": "vmbr99"},
			wantLog: []string{"500 bridge 'vmbr99' does not exist"}},
		{name: "missing target storage", params: map[string]any{"target-storage": "nas"},
			wantLog: []string{"storage 'nas' does not exist"}},
		{name: "storage without images", params: map[string]any{"target-storage": "iso"},
			wantLog: []string{"storage 'iso' does not support vm images"}},
		{name: "target VMID taken", params: map[string]any{"target-vmid": 300},
			wantLog: []string{"vmid: unable to create empty VM config - VM 300 already exists on node 'dc2n1'"}},
		{name: "snapshots", setup: func(vmid int) {
			mustOK(t, "snapshot", src.runTask(t, "POST", "/nodes/pve1/qemu/"+vmidStr(vmid)+"/snapshot", map[string]any{"snapname": "s1"}))
		}, wantLog: []string{"remote migration with snapshots not supported yet", "Problem found while scanning volumes - can't migrate VM - check log"}},
		{name: "attached ISO", create: map[string]any{"ide2": "local:iso/debian.iso,media=cdrom"},
			wantLog: []string{"can't migrate local disk 'local:iso/debian.iso': local cdrom image"}},
		{name: "linked clone", setup: func(int) {}, params: map[string]any{"vmid": 130},
			wantLog: []string{"can't migrate 'local-lvm:base-9000-disk-0/vm-130-disk-0' as it's a clone of 'base-9000-disk-0'"}},
		{name: "target storage full", params: map[string]any{"target-storage": "tiny"},
			wantLog: []string{"storage migration for 'local-lvm:vm-", "unable to create image: not enough space on storage 'tiny'"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vmid := 120 + i
			if v, ok := tt.params["vmid"].(int); ok {
				vmid = v
			} else {
				create := map[string]any{"vmid": vmid, "scsi0": "local-lvm:8", "net0": "virtio,bridge=vmbr0"}
				for k, v := range tt.create {
					create[k] = v
				}
				mustOK(t, "create", src.runTask(t, "POST", "/nodes/pve1/qemu", create))
			}
			if tt.setup != nil {
				tt.setup(vmid)
			}
			before := src.config(t, vmid)
			params := map[string]any{"target-endpoint": ep, "target-storage": "local-lvm", "target-bridge": "vmbr0"}
			for k, v := range tt.params {
				if k != "vmid" {
					params[k] = v
				}
			}
			upid := src.migrateVM(t, "pve1", vmid, params)
			if exit := src.waitExit(t, upid); exit != "migration aborted" {
				t.Fatalf("exit = %q, want migration aborted", exit)
			}
			log := src.taskLog(t, upid)
			for _, want := range append(tt.wantLog, "ERROR: migration aborted", "TASK ERROR: migration aborted") {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			after := src.config(t, vmid)
			if after["lock"] != "" || after["scsi0"] != before["scsi0"] {
				t.Errorf("source changed: lock %q scsi0 %q", after["lock"], after["scsi0"])
			}
			eventually(t, "target cleanup", func() bool {
				vms := dst.srv.Cluster.VMs()
				return len(vms) == 1 && vms[0].VMID == 300
			})
			if used := dst.storageUsed(t, "dc2n1", "local-lvm") + dst.storageUsed(t, "dc2n1", "tiny"); used != 0 {
				t.Errorf("target keeps %d bytes of the aborted migration", used)
			}
		})
	}
}
