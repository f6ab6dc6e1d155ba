package pvesim

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// templateSim has VM 100 converted to a template through the API and a
// plain VM 200, both on pve1.
func templateSim(t *testing.T, cfg Config) *sim {
	t.Helper()
	s := startSim(t, cfg)
	mustOK(t, "create 100", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{
		"vmid": 100, "name": "tmpl", "scsi0": "local-lvm:8", "scsi1": "local-lvm:2", "ide2": "local-lvm:cloudinit",
		"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=5", "ciuser": "ops", "tags": "base"}))
	mustOK(t, "template", s.runTask(t, "POST", "/nodes/pve1/qemu/100/template", nil))
	mustOK(t, "create 200", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{
		"vmid": 200, "name": "plain", "scsi0": "local-lvm:4", "net0": "virtio,bridge=vmbr0"}))
	return s
}

func TestTemplateConversion(t *testing.T) {
	s := templateSim(t, storageTestConfig())
	conf := s.config(t, 100)
	if conf["template"] != "1" || drive(t, conf, "scsi0")["file"] != "local-lvm:base-100-disk-0" ||
		drive(t, conf, "scsi1")["file"] != "local-lvm:base-100-disk-1" {
		t.Fatalf("template config: %v", conf)
	}
	if drive(t, conf, "ide2")["file"] != "local-lvm:vm-100-cloudinit" {
		t.Errorf("cloud-init drive renamed: %q", conf["ide2"])
	}
	if s.volumeSize("local-lvm:base-100-disk-0") != 8*gib || s.volumeSize("local-lvm:vm-100-disk-0") != -1 {
		t.Error("base volume not renamed in storage")
	}

	mustOK(t, "start 200", s.runTask(t, "POST", "/nodes/pve1/qemu/200/status/start", nil))
	mustOK(t, "snapshot 200", s.runTask(t, "POST", "/nodes/pve1/qemu/200/snapshot", map[string]any{"snapname": "s1"}))
	tests := []struct {
		vmid int
		want string
	}{
		{100, "you can't convert a template to a template"},
		{200, "unable to create template, because VM contains snapshots"},
		{404, "Configuration file 'nodes/pve1/qemu-server/404.conf' does not exist"},
	}
	for _, tt := range tests {
		r := s.jcall(t, "POST", "/nodes/pve1/qemu/"+vmidStr(tt.vmid)+"/template", nil)
		if r.status != 500 || r.line != tt.want {
			t.Errorf("template %d: %d %q, want %q", tt.vmid, r.status, r.line, tt.want)
		}
	}
	if exit := s.runTask(t, "POST", "/nodes/pve1/qemu/200/status/start", nil); exit != "VM 200 already running" {
		t.Errorf("restart: %q", exit)
	}
	if exit := s.runTask(t, "POST", "/nodes/pve1/qemu/100/status/start", nil); exit != "you can't start a vm if it's a template" {
		t.Errorf("starting a template: %q", exit)
	}
}

func TestLinkedAndFullClones(t *testing.T) {
	cfg := storageTestConfig()
	cfg.TaskDuration = 100 * time.Millisecond
	s := templateSim(t, cfg)
	tmpl := s.config(t, 100)

	// Linked clone: lock "clone" while the qmclone task (id: source) runs.
	upid, _ := s.jok(t, "POST", "/nodes/pve1/qemu/100/clone", map[string]any{"newid": 105, "name": "web"}).(string)
	if u := upidRe.FindStringSubmatch(upid); len(u) != 9 || u[6] != "qmclone" || u[7] != "100" {
		t.Fatalf("clone UPID %q", upid)
	}
	if vm, ok := s.srv.Cluster.VM(105); !ok || vm.Lock != "clone" {
		t.Errorf("during clone: %+v", vm)
	}
	mustOK(t, "linked clone", s.waitExit(t, upid))
	linked := s.config(t, 105)
	checks := map[string]string{
		"scsi0": "local-lvm:base-100-disk-0/vm-105-disk-0,size=8G",
		"scsi1": "local-lvm:base-100-disk-1/vm-105-disk-1,size=2G",
		"ide2":  "local-lvm:vm-105-cloudinit,media=cdrom,size=4M",
		"name":  "web", "tags": "base", "ciuser": "ops", "lock": "", "template": "",
	}
	for k, want := range checks {
		if linked[k] != want {
			t.Errorf("linked %s = %q, want %q", k, linked[k], want)
		}
	}
	if s.volumeSize("local-lvm:vm-105-cloudinit") != 4<<20 {
		t.Error("cloud-init volume of the clone not created")
	}
	macRe := regexp.MustCompile(`^virtio=(BC:24:11:[0-9A-F:]{8}),bridge=vmbr0,tag=5$`)
	m := macRe.FindStringSubmatch(linked["net0"])
	if len(m) != 2 || m[1] == "BC:24:11:00:00:01" {
		t.Errorf("clone net0 %q: want a new MAC, same bridge and tag", linked["net0"])
	}
	if linked["smbios1"] == tmpl["smbios1"] || !strings.HasPrefix(linked["smbios1"], "uuid=") {
		t.Errorf("smbios1 %q not regenerated (template %q)", linked["smbios1"], tmpl["smbios1"])
	}
	if linked["vmgenid"] == tmpl["vmgenid"] || linked["vmgenid"] == "" {
		t.Errorf("vmgenid %q not regenerated", linked["vmgenid"])
	}

	// Full clone onto another storage, default name.
	mustOK(t, "full clone", s.runTask(t, "POST", "/nodes/pve1/qemu/100/clone",
		map[string]any{"newid": 106, "full": 1, "storage": "files", "description": "copy"}))
	full := s.config(t, 106)
	for k, want := range map[string]string{
		"scsi0": "files:106/vm-106-disk-0.qcow2,size=8G", "scsi1": "files:106/vm-106-disk-1.qcow2,size=2G",
		"ide2": "files:106/vm-106-cloudinit.qcow2,media=cdrom,size=4M", "name": "Copy-of-VM-tmpl", "description": "copy",
	} {
		if full[k] != want {
			t.Errorf("full %s = %q, want %q", k, full[k], want)
		}
	}
	if got := s.storageUsed(t, "pve1", "files"); got != 10*gib+4<<20 {
		t.Errorf("files used %d after full clone", got)
	}

	// Clone of a plain VM is full by default.
	mustOK(t, "clone plain", s.runTask(t, "POST", "/nodes/pve1/qemu/200/clone", map[string]any{"newid": 201}))
	if got := s.config(t, 201)["scsi0"]; got != "local-lvm:vm-201-disk-0,size=4G" {
		t.Errorf("clone of VM 200: scsi0 %q", got)
	}
}

func TestCloneRefusals(t *testing.T) {
	s := templateSim(t, storageTestConfig())
	if err := s.srv.Cluster.AddVM("pve1", 300, map[string]string{"name": "cephy", "scsi0": "ceph:vm-300-disk-0,size=4G"}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.Cluster.AddVM("pve1", 301, map[string]string{"lock": "backup", "scsi0": "local-lvm:vm-301-disk-0,size=4G"}, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		source int
		params map[string]any
		status int
		want   string
	}{
		{"newid taken", 100, map[string]any{"newid": 200}, 500, "unable to create VM 200: config file already exists"},
		{"linked from a plain VM", 200, map[string]any{"newid": 210, "full": 0}, 500, "Linked clone feature is not supported for 'local-lvm:vm-200-disk-0' (scsi0)"},
		{"storage on a linked clone", 100, map[string]any{"newid": 210, "storage": "local-lvm"}, 500, "parameter 'storage' not allowed for linked clones"},
		{"format on a linked clone", 100, map[string]any{"newid": 210, "format": "qcow2"}, 500, "parameter 'format' not allowed for linked clones"},
		{"unknown target node", 100, map[string]any{"newid": 210, "target": "nope"}, 500, "no such cluster node 'nope'"},
		{"target with local storage", 200, map[string]any{"newid": 210, "target": "pve2"}, 500, "can't clone VM to node 'pve2' (VM uses local storage)"},
		{"target storage not shared", 300, map[string]any{"newid": 210, "target": "pve2", "storage": "local-lvm"}, 500, "can't clone to non-shared storage 'local-lvm'"},
		{"unknown storage", 200, map[string]any{"newid": 210, "storage": "nas"}, 500, "storage 'nas' does not exist"},
		{"storage without images", 200, map[string]any{"newid": 210, "storage": "local"}, 400, "Parameter verification failed."},
		{"locked source", 301, map[string]any{"newid": 210}, 500, "VM 301 is locked (backup)"},
		{"unknown snapshot", 200, map[string]any{"newid": 210, "snapname": "nope"}, 500, "snapshot 'nope' does not exist"},
		{"missing source", 999, map[string]any{"newid": 210}, 500, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"},
		{"pool", 200, map[string]any{"newid": 210, "pool": "prod"}, 500, "pool 'prod' does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.jcall(t, "POST", "/nodes/pve1/qemu/"+vmidStr(tt.source)+"/clone", tt.params)
			if r.status != tt.status || r.line != tt.want {
				t.Errorf("%d %q %v, want %d %q", r.status, r.line, r.errors(), tt.status, tt.want)
			}
			if _, exists := s.srv.Cluster.VM(210); exists {
				t.Error("refused clone left VM 210 behind")
			}
		})
	}
	// Shared storage may clone to another node.
	mustOK(t, "clone to pve2", s.runTask(t, "POST", "/nodes/pve1/qemu/300/clone", map[string]any{"newid": 310, "target": "pve2"}))
	if vm, _ := s.srv.Cluster.VM(310); vm.Node != "pve2" || vm.Config["scsi0"] != "ceph:vm-310-disk-0,size=4G" {
		t.Errorf("clone on pve2: node %s scsi0 %q", vm.Node, vm.Config["scsi0"])
	}
}

func TestCloneFailureCleansUp(t *testing.T) {
	s := templateSim(t, storageTestConfig())
	// 30G fits into "thick" once; the second full clone runs out of room.
	if err := s.srv.Cluster.AddVM("pve1", 400, map[string]string{"scsi0": "local-lvm:vm-400-disk-0,size=30G"}, false); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "first", s.runTask(t, "POST", "/nodes/pve1/qemu/400/clone", map[string]any{"newid": 401, "storage": "thick"}))
	exit := s.runTask(t, "POST", "/nodes/pve1/qemu/400/clone", map[string]any{"newid": 402, "storage": "thick"})
	if exit != "clone failed: unable to create image: not enough space on storage 'thick'" {
		t.Errorf("exit = %q", exit)
	}
	if _, exists := s.srv.Cluster.VM(402); exists {
		t.Error("failed clone left its config")
	}
	if got := s.storageUsed(t, "pve1", "thick"); got != 30*gib {
		t.Errorf("thick used %d after failed clone", got)
	}
}
