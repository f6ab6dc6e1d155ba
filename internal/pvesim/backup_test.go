package pvesim

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// twoDCs starts DC1 and DC2, each its own server, sharing one PBS
// datastore as a PBS sync job between the sites makes it.
func twoDCs(t *testing.T) (*sim, *sim, *PBSDatastore) {
	t.Helper()
	shared := NewPBSDatastore()
	cfg1 := testConfig()
	cfg1.PBS, cfg1.TaskDuration = shared, 30*time.Millisecond
	cfg2 := testConfig()
	cfg2.Name, cfg2.PBS, cfg2.TaskDuration = "DC2", shared, 30*time.Millisecond
	return startSim(t, cfg1), startSim(t, cfg2), shared
}

const identityTag = "moxxie-0123456789abcdef"

func (s *sim) backupVM100(t *testing.T) {
	t.Helper()
	mustOK(t, "start 100", s.createStarted(t, "pve1", map[string]any{
		"vmid": 100, "name": "web", "tags": identityTag + ";prod", "scsi0": "local-lvm:4",
		"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0", "memory": 2048}))
}

func (s *sim) backups(t *testing.T, params map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range s.jok(t, "GET", "/nodes/pve1/storage/pbs/content", params).([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

var pbsVolidRe = regexp.MustCompile(`^pbs:backup/vm/100/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func TestBackupInOneDCRestoresInTheOther(t *testing.T) {
	dc1, dc2, _ := twoDCs(t)
	dc1.backupVM100(t)
	before := dc1.config(t, 100)

	upid, _ := dc1.jok(t, "POST", "/nodes/pve1/vzdump", map[string]any{
		"vmid": "100", "storage": "pbs", "mode": "snapshot", "notes-template": "{{guestname}} on {{cluster}}"}).(string)
	if !strings.Contains(upid, ":vzdump:100:") {
		t.Errorf("vzdump UPID %q", upid)
	}
	if lock := dc1.config(t, 100)["lock"]; lock != "backup" {
		t.Errorf("lock during backup = %q, want backup", lock)
	}
	mustOK(t, "vzdump", dc1.waitExit(t, upid))
	if _, locked := dc1.config(t, 100)["lock"]; locked {
		t.Error("lock left after backup")
	}
	if st := dc1.jok(t, "GET", "/nodes/pve1/qemu/100/status/current", nil).(map[string]any); st["status"] != "running" {
		t.Errorf("VM after a snapshot-mode backup: %v", st["status"])
	}

	// listed in DC2, with the schema's shape
	list := dc2.backups(t, map[string]any{"content": "backup", "vmid": 100})
	if len(list) != 1 {
		t.Fatalf("DC2 lists %d backups, want 1: %v", len(list), list)
	}
	b := list[0]
	volid, _ := b["volid"].(string)
	if !pbsVolidRe.MatchString(volid) || b["format"] != "pbs-vm" || b["content"] != "backup" ||
		b["vmid"] != float64(100) || b["notes"] != "web on DC1" || b["size"] != float64(4*gib) {
		t.Errorf("backup entry %v", b)
	}
	if ct, _ := b["ctime"].(float64); time.Since(time.Unix(int64(ct), 0)) > time.Minute {
		t.Errorf("ctime %v", b["ctime"])
	}
	for _, p := range returnsProblems("GET content", loadReturns(t, "GET", "/nodes/{node}/storage/{storage}/content"), dc2.jok(t, "GET", "/nodes/pve1/storage/pbs/content", nil)) {
		t.Error(p)
	}
	if got := dc2.backups(t, map[string]any{"vmid": 101}); len(got) != 0 {
		t.Errorf("vmid filter: %v", got)
	}
	if got := dc2.backups(t, map[string]any{"content": "images"}); len(got) != 0 {
		t.Errorf("content filter: %v", got)
	}

	// restored in DC2: same identity tag and config, fresh disks, stopped
	upid, _ = dc2.jok(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "archive": volid, "storage": "local-lvm"}).(string)
	if !strings.Contains(upid, ":qmrestore:100:") {
		t.Errorf("restore UPID %q", upid)
	}
	mustOK(t, "restore", dc2.waitExit(t, upid))
	after := dc2.config(t, 100)
	for _, k := range []string{"name", "tags", "net0", "memory"} {
		if after[k] != before[k] {
			t.Errorf("restored %s = %q, want %q", k, after[k], before[k])
		}
	}
	if !strings.Contains(after["tags"], identityTag) {
		t.Errorf("identity tag lost: %q", after["tags"])
	}
	if !strings.HasPrefix(after["scsi0"], "local-lvm:vm-100-disk-0,") || !strings.Contains(after["scsi0"], "size=4G") {
		t.Errorf("restored scsi0 %q", after["scsi0"])
	}
	if st := dc2.jok(t, "GET", "/nodes/pve1/qemu/100/status/current", nil).(map[string]any); st["status"] != "stopped" {
		t.Errorf("restored VM %v, want stopped", st["status"])
	}
	if st := dc1.jok(t, "GET", "/nodes/pve1/qemu/100/status/current", nil).(map[string]any); st["status"] != "running" {
		t.Errorf("DC1's VM after the restore in DC2: %v", st["status"])
	}

	// an existing VMID is refused without force, and a running one with it
	r := dc2.jcall(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "archive": volid})
	if r.status != 500 || r.line != "unable to restore VM 100 - VM 100 already exists on node 'pve1'" {
		t.Errorf("restore over existing: %d %q", r.status, r.line)
	}
	if exit := dc1.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "archive": volid, "force": 1}); exit != "unable to restore VM 100 - vm is running" {
		t.Errorf("forced restore over a running VM: %q", exit)
	}
	if st := dc1.jok(t, "GET", "/nodes/pve1/qemu/100/status/current", nil).(map[string]any); st["status"] != "running" || dc1.config(t, 100)["lock"] != "" {
		t.Errorf("DC1's VM after the refused restore: %v lock %q", st["status"], dc1.config(t, 100)["lock"])
	}
	// unique gives new MACs
	mustOK(t, "restore 200 unique", dc2.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 200, "archive": volid, "unique": 1}))
	if n := dc2.config(t, 200)["net0"]; n == before["net0"] || !strings.Contains(n, "bridge=vmbr0") {
		t.Errorf("unique restore net0 %q", n)
	}
	// start=1: the restore ends, then the start it forks runs the copy
	mustOK(t, "restore 201 started", dc2.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 201, "archive": volid, "unique": 1, "start": 1}))
	mustOK(t, "the restore's start", dc2.startedBy(t, "pve1", 201))
	if v, _ := dc2.srv.Cluster.VM(201); v.Status != "running" {
		t.Errorf("VM 201 after restore with start=1: %s", v.Status)
	}
	// the volume's attributes and its removal
	info := dc2.jok(t, "GET", "/nodes/pve1/storage/pbs/content/"+volid, nil).(map[string]any)
	if info["format"] != "pbs-vm" || info["size"] != float64(4*gib) {
		t.Errorf("volume info %v", info)
	}
	mustOK(t, "delete backup", dc2.runTask(t, "DELETE", "/nodes/pve1/storage/pbs/content/"+volid, nil))
	if got := dc1.backups(t, nil); len(got) != 0 {
		t.Errorf("DC1 still lists %v", got)
	}
}

func TestStoragesShowThePBSStorage(t *testing.T) {
	dc1, _, _ := twoDCs(t)
	for _, path := range []string{"/storage", "/nodes/pve1/storage"} {
		found := false
		for _, e := range dc1.jok(t, "GET", path, nil).([]any) {
			if m := e.(map[string]any); m["storage"] == "pbs" {
				found = m["type"] == "pbs" && m["content"] == "backup"
			}
		}
		if !found {
			t.Errorf("%s: no pbs storage of type pbs with content backup", path)
		}
	}
	r := dc1.jcall(t, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "local-lvm"})
	if r.status != 500 || r.line != "storage 'local-lvm' does not support vzdump backups" {
		t.Errorf("vzdump to local-lvm: %d %q", r.status, r.line)
	}
	if r := dc1.jcall(t, "POST", "/nodes/pve1/vzdump", map[string]any{"storage": "pbs"}); r.status != 400 || r.errors()["vmid"] != "property is missing" {
		t.Errorf("vzdump without a selection: %d %v", r.status, r.body)
	}
	for tmpl, want := range map[string]string{
		"{{name}}":    "found unknown: variable 'name' at char 4",
		"a\nb":        "contains a line feed",
		`x\t{{vmid}}`: "found unknown: escape sequence '\\t' at char 1",
	} {
		r := dc1.jcall(t, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs", "notes-template": tmpl})
		if r.status != 400 || r.errors()["notes-template"] != want {
			t.Errorf("notes-template %q: %d %v", tmpl, r.status, r.errors())
		}
	}
}

func TestBackupJobRoundTrip(t *testing.T) {
	dc1, _, _ := twoDCs(t)
	dc1.jok(t, "POST", "/cluster/backup", map[string]any{"id": "moxxie-100", "schedule": "*/15", "storage": "pbs",
		"vmid": "100", "mode": "snapshot", "notes-template": "{{guestname}}", "enabled": 1})
	if r := dc1.jcall(t, "POST", "/cluster/backup", map[string]any{"id": "moxxie-100", "schedule": "daily", "vmid": "100"}); r.status != 500 || r.line != "Job 'moxxie-100' already exists" {
		t.Errorf("duplicate job: %d %q", r.status, r.line)
	}
	if r := dc1.jcall(t, "POST", "/cluster/backup", map[string]any{"id": "job-x", "vmid": "100"}); r.status != 400 || r.errors()["schedule"] != "neither 'starttime' nor 'schedule' were set" {
		t.Errorf("job without schedule: %d %v", r.status, r.body)
	}
	job := dc1.jok(t, "GET", "/cluster/backup/moxxie-100", nil).(map[string]any)
	if job["schedule"] != "*/15" || job["storage"] != "pbs" || job["vmid"] != "100" || job["enabled"] != float64(1) || job["type"] != "vzdump" {
		t.Errorf("job %v", job)
	}
	for _, p := range returnsProblems("GET job", loadReturns(t, "GET", "/cluster/backup/{id}"), job) {
		t.Error(p)
	}
	dc1.jok(t, "PUT", "/cluster/backup/moxxie-100", map[string]any{"vmid": "100,101", "enabled": 0, "delete": "notes-template"})
	job = dc1.jok(t, "GET", "/cluster/backup/moxxie-100", nil).(map[string]any)
	if job["vmid"] != "100,101" || job["enabled"] != float64(0) || job["notes-template"] != nil {
		t.Errorf("updated job %v", job)
	}
	list := dc1.jok(t, "GET", "/cluster/backup", nil)
	if l, _ := list.([]any); len(l) != 1 {
		t.Errorf("job list %v", list)
	}
	for _, p := range returnsProblems("GET jobs", loadReturns(t, "GET", "/cluster/backup"), list) {
		t.Error(p)
	}
	dc1.jok(t, "DELETE", "/cluster/backup/moxxie-100", nil)
	if r := dc1.jcall(t, "GET", "/cluster/backup/moxxie-100", nil); r.status != 400 || r.errors()["id"] != "No such job 'moxxie-100'" {
		t.Errorf("deleted job: %d %v", r.status, r.body)
	}
}

// A limited token: vzdump needs Datastore.AllocateSpace on the storage
// (403) and VM.Backup on the guest (the worker fails); listing hides
// backups of guests the caller may not back up; restore needs VM.Allocate.
func TestBackupPrivileges(t *testing.T) {
	dc1, dc2, _ := twoDCs(t)
	dc1.backupVM100(t)
	grant := func(s *sim, role string, privs []string, path string) string {
		acl := s.srv.Cluster.Access()
		secret, err := acl.AddToken("ops@pve", "bk", true, "", "")
		if err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
		if err := acl.AddRole(role, privs); err != nil {
			t.Fatal(err)
		}
		for _, up := range []access.ACLUpdate{
			{Path: path, Roles: []string{role}, Users: []string{"ops@pve"}, Propagate: true},
			{Path: path, Roles: []string{role}, Tokens: []string{"ops@pve!bk"}, Propagate: true},
		} {
			if err := acl.SetACL(access.Root, up); err != nil {
				t.Fatal(err)
			}
		}
		return "ops@pve!bk=" + secret
	}
	tok := grant(dc1, "Audit", []string{"Datastore.Audit", "VM.Audit"}, "/")
	want403(t, dc1.asToken(t, tok, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs"}),
		"Permission check failed (/storage/pbs, Datastore.AllocateSpace)")
	grant(dc1, "Space", []string{"Datastore.AllocateSpace"}, "/storage/pbs")
	r := dc1.asToken(t, tok, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs"})
	if r.status != 200 {
		t.Fatalf("vzdump: %d %s", r.status, r.line)
	}
	if exit := dc1.waitExit(t, r.body["data"].(string)); exit != "Permission check failed (/vms/100, VM.Backup)" {
		t.Errorf("vzdump without VM.Backup: %q", exit)
	}
	mustOK(t, "root vzdump", dc1.runTask(t, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs"}))
	// Audit and AllocateSpace on the storage, no VM.Backup: nothing listed
	r = dc1.asToken(t, tok, "GET", "/nodes/pve1/storage/pbs/content", nil)
	if r.status != 200 || len(r.body["data"].([]any)) != 0 {
		t.Errorf("listing without VM.Backup: %d %v", r.status, r.body)
	}
	grant(dc1, "Backup", []string{"VM.Backup"}, "/vms/100")
	r = dc1.asToken(t, tok, "GET", "/nodes/pve1/storage/pbs/content", nil)
	if r.status != 200 || len(r.body["data"].([]any)) != 1 {
		t.Fatalf("listing with VM.Backup: %d %v", r.status, r.body)
	}
	volid := r.body["data"].([]any)[0].(map[string]any)["volid"].(string)
	// DC2: a token with nothing on /storage/pbs may not list, nor restore
	tok2 := grant(dc2, "Audit", []string{"VM.Audit"}, "/vms")
	grant(dc2, "Sdn", []string{"SDN.Use"}, "/sdn") // the restored NIC's bridge (TestRestoreOverrides)
	want403(t, dc2.asToken(t, tok2, "GET", "/nodes/pve1/storage/pbs/content", nil),
		"Permission check failed (/storage/pbs, Datastore.Audit|Datastore.AllocateSpace)")
	want403(t, dc2.asToken(t, tok2, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "archive": volid}), "Permission check failed")
	// VM.Allocate on the VMID: the backup of the same VMID is its own
	grant(dc2, "Alloc", []string{"VM.Allocate"}, "/vms/100")
	r = dc2.asToken(t, tok2, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "archive": volid})
	if r.status != 200 {
		t.Fatalf("restore with VM.Allocate: %d %s", r.status, r.line)
	}
	if exit := dc2.waitExit(t, r.body["data"].(string)); exit != "unable to restore VM 100 - Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)" {
		t.Errorf("restore without space on the disk's storage: %q", exit)
	}
	if _, ok := dc2.srv.Cluster.VM(100); ok {
		t.Error("a failed restore left VM 100 behind")
	}
	// over an existing, stopped guest VM.Backup suffices, with force only
	mustOK(t, "root restore", dc2.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "archive": volid}))
	for _, up := range []access.ACLUpdate{
		{Path: "/vms/100", Roles: []string{"Alloc"}, Users: []string{"ops@pve"}, Delete: true},
		{Path: "/vms/100", Roles: []string{"Alloc"}, Tokens: []string{"ops@pve!bk"}, Delete: true},
	} {
		if err := dc2.srv.Cluster.Access().SetACL(access.Root, up); err != nil {
			t.Fatal(err)
		}
	}
	grant(dc2, "BackupOnly", []string{"VM.Backup", "VM.Audit"}, "/vms/100")
	grant(dc2, "Space", []string{"Datastore.AllocateSpace"}, "/storage")
	want403(t, dc2.asToken(t, tok2, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "archive": volid}), "Permission check failed")
	r = dc2.asToken(t, tok2, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "archive": volid, "force": 1})
	if r.status != 200 {
		t.Fatalf("forced restore with VM.Backup: %d %s", r.status, r.line)
	}
	mustOK(t, "forced restore", dc2.waitExit(t, r.body["data"].(string)))
	if tags := dc2.config(t, 100)["tags"]; !strings.Contains(tags, identityTag) {
		t.Errorf("tags after the forced restore %q", tags)
	}
}

// Two processes given one -pbs-dir: each opens the directory itself, and a
// backup one writes is listed, restored and deleted through the other.
func TestPBSDirSharedAcrossDatastores(t *testing.T) {
	dir := t.TempDir()
	open := func() *PBSDatastore {
		ds, err := OpenPBSDatastore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	cfg1, cfg2 := testConfig(), testConfig()
	cfg1.PBS, cfg2.PBS, cfg2.Name = open(), open(), "DC2"
	dc1, dc2 := startSim(t, cfg1), startSim(t, cfg2)
	dc1.backupVM100(t)
	mustOK(t, "vzdump", dc1.runTask(t, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs"}))
	mustOK(t, "vzdump again", dc1.runTask(t, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs"}))
	list := dc2.backups(t, map[string]any{"content": "backup"})
	if len(list) != 2 || list[0]["volid"] == list[1]["volid"] {
		t.Fatalf("DC2 lists %v, want two distinct backups", list)
	}
	mustOK(t, "restore", dc2.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "archive": list[1]["volid"]}))
	if tags := dc2.config(t, 100)["tags"]; !strings.Contains(tags, identityTag) {
		t.Errorf("restored tags %q", tags)
	}
	mustOK(t, "delete", dc2.runTask(t, "DELETE", "/nodes/pve1/storage/pbs/content/"+list[0]["volid"].(string), nil))
	if got := dc1.backups(t, nil); len(got) != 1 || got[0]["volid"] != list[1]["volid"] {
		t.Errorf("DC1 after DC2's delete: %v", got)
	}
}

// While its backup runs a guest is locked: config changes and a second
// backup are refused with PVE's texts, and the lock goes with the task.
func TestBackupLocksTheGuest(t *testing.T) {
	cfg := testConfig()
	cfg.PBS, cfg.TaskDuration = NewPBSDatastore(), 10*time.Second
	s := startSim(t, cfg)
	s.srv.Cluster.mu.Lock()
	s.srv.Cluster.cfg.TaskDuration = 0 // a quick create
	s.srv.Cluster.mu.Unlock()
	s.backupVM100(t)
	s.srv.Cluster.mu.Lock()
	s.srv.Cluster.cfg.TaskDuration = 10 * time.Second
	s.srv.Cluster.mu.Unlock()
	upid, _ := s.jok(t, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs"}).(string)
	if r := s.jcall(t, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{"memory": 4096}); r.status != 500 || r.line != "VM 100 is locked (backup)" {
		t.Errorf("config change during backup: %d %q", r.status, r.line)
	}
	second, _ := s.jok(t, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs"}).(string)
	s.srv.Cluster.Close() // fast-forward both tasks
	mustOK(t, "backup", s.waitExit(t, upid))
	if exit := s.waitExit(t, second); exit != "job errors" {
		t.Errorf("second backup of a locked guest: %q", exit)
	}
	if lock := s.config(t, 100)["lock"]; lock != "" {
		t.Errorf("lock after the backups: %q", lock)
	}
	if n := len(s.srv.Cluster.pbs.Snapshots()); n != 1 {
		t.Errorf("%d snapshots, want 1", n)
	}
}

// create_vm with archive merges the given config keys over the backed-up
// config (what a drill restores with: isolated NICs, its own tag, onboot
// off), refuses disk keys, and checks each key's privilege and the merged
// NICs' bridges as a create would.
func TestRestoreOverrides(t *testing.T) {
	dc1, dc2, _ := twoDCs(t)
	dc1.backupVM100(t)
	mustOK(t, "vzdump", dc1.runTask(t, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs"}))
	volid := dc2.backups(t, nil)[0]["volid"].(string)

	r := dc2.jcall(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 300, "archive": volid, "scsi0": "local-lvm:4"})
	if r.status != 400 || !strings.Contains(r.body["errors"].(map[string]any)["scsi0"].(string), "option conflicts with option 'archive'") {
		t.Errorf("disk override: %d %v", r.status, r.body)
	}
	mustOK(t, "restore with overrides", dc2.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 300, "archive": volid,
		"storage": "local-lvm", "unique": 1, "net0": "virtio,bridge=vmbr3", "tags": "moxxie-drill-0123456789abcdef", "onboot": 0, "name": "web-drill"}))
	conf := dc2.config(t, 300)
	if !regexp.MustCompile(`^virtio=[0-9A-F:]{17},bridge=vmbr3$`).MatchString(conf["net0"]) || conf["net0"] == dc1.config(t, 100)["net0"] {
		t.Errorf("net0 %q: want a fresh MAC on vmbr3", conf["net0"])
	}
	if conf["tags"] != "moxxie-drill-0123456789abcdef" || conf["onboot"] != "0" || conf["name"] != "web-drill" || conf["memory"] != "2048" {
		t.Errorf("restored config %v", conf)
	}

	// a token that may restore but not set NICs, nor use the bridge
	acl := dc2.srv.Cluster.Access()
	secret, err := acl.AddToken("ops@pve", "rs", true, "", "")
	if err != nil {
		t.Fatal(err)
	}
	grant := func(role string, privs ...string) {
		if err := acl.AddRole(role, privs); err != nil {
			t.Fatal(err)
		}
		for _, up := range []access.ACLUpdate{{Path: "/", Roles: []string{role}, Users: []string{"ops@pve"}, Propagate: true},
			{Path: "/", Roles: []string{role}, Tokens: []string{"ops@pve!rs"}, Propagate: true}} {
			if err := acl.SetACL(access.Root, up); err != nil {
				t.Fatal(err)
			}
		}
	}
	tok := "ops@pve!rs=" + secret
	grant("Restore", "VM.Allocate", "VM.Backup", "VM.Audit", "Datastore.AllocateSpace", "VM.Config.Options")
	params := map[string]any{"vmid": 301, "archive": volid, "storage": "local-lvm", "net0": "virtio,bridge=vmbr3"}
	want403(t, dc2.asToken(t, tok, "POST", "/nodes/pve1/qemu", params), "Permission check failed (/vms/301, VM.Config.Network)")
	grant("Net", "VM.Config.Network")
	want403(t, dc2.asToken(t, tok, "POST", "/nodes/pve1/qemu", params), "Permission check failed (/sdn/zones/localnetwork/vmbr3, SDN.Use)")
	// the backed-up NIC's bridge is checked in the worker, on the merged config
	r = dc2.asToken(t, tok, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 301, "archive": volid, "storage": "local-lvm"})
	if r.status != 200 {
		t.Fatalf("restore without overrides: %d %s", r.status, r.line)
	}
	if exit := dc2.waitExit(t, r.body["data"].(string)); exit != "unable to restore VM 301 - Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)" {
		t.Errorf("restore onto a bridge the token may not use: %q", exit)
	}
	if _, ok := dc2.srv.Cluster.VM(301); ok {
		t.Error("a refused restore left VM 301 behind")
	}
	grant("Sdn", "SDN.Use")
	r = dc2.asToken(t, tok, "POST", "/nodes/pve1/qemu", params)
	if r.status != 200 {
		t.Fatalf("restore with the privileges: %d %s", r.status, r.line)
	}
	mustOK(t, "restore as token", dc2.waitExit(t, r.body["data"].(string)))
}

// extractconfig returns the backed-up config file; it needs VM.Backup on
// the backed-up guest besides access to the backup storage.
func TestExtractConfig(t *testing.T) {
	dc1, dc2, _ := twoDCs(t)
	dc1.backupVM100(t)
	mustOK(t, "vzdump", dc1.runTask(t, "POST", "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs"}))
	volid := dc2.backups(t, nil)[0]["volid"].(string)
	text, _ := dc2.jok(t, "GET", "/nodes/pve1/vzdump/extractconfig", map[string]any{"volume": volid}).(string)
	for _, line := range []string{"name: web\n", "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n", "tags: " + identityTag + ";prod\n"} {
		if !strings.Contains(text, line) {
			t.Errorf("config lacks %q:\n%s", line, text)
		}
	}
	for _, p := range returnsProblems("GET extractconfig", loadReturns(t, "GET", "/nodes/{node}/vzdump/extractconfig"), text) {
		t.Error(p)
	}
	acl := dc2.srv.Cluster.Access()
	secret, err := acl.AddToken("ops@pve", "ex", true, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := acl.AddRole("Space", []string{"Datastore.AllocateSpace"}); err != nil {
		t.Fatal(err)
	}
	for _, up := range []access.ACLUpdate{{Path: "/storage/pbs", Roles: []string{"Space"}, Users: []string{"ops@pve"}},
		{Path: "/storage/pbs", Roles: []string{"Space"}, Tokens: []string{"ops@pve!ex"}}} {
		if err := acl.SetACL(access.Root, up); err != nil {
			t.Fatal(err)
		}
	}
	want403(t, dc2.asToken(t, "ops@pve!ex="+secret, "GET", "/nodes/pve1/vzdump/extractconfig", map[string]any{"volume": volid}),
		"Permission check failed (/vms/100, VM.Backup)")
	if r := dc2.jcall(t, "GET", "/nodes/pve1/vzdump/extractconfig", map[string]any{"volume": "local-lvm:vm-100-disk-0"}); r.status != 500 ||
		!strings.Contains(r.line, "content type needs to be 'backup'") {
		t.Errorf("extract from a disk: %d %q", r.status, r.line)
	}
}
