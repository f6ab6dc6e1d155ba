package pvesim

import (
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// TestListsAndReadsFilteredByPrivilege holds the pool, storage, task,
// volume and guest-agent routes to what a privilege-separated token may
// see: lists leave out what it may not audit, reads are refused with
// PVE's texts.
func TestListsAndReadsFilteredByPrivilege(t *testing.T) {
	cfg := storageTestConfig()
	cfg.Pools = []PoolConfig{{ID: "web"}, {ID: "db"}}
	s := startSim(t, cfg)
	mustOK(t, "create 100", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "scsi0": "local-lvm:1"}))

	acl := s.srv.Cluster.Access()
	secret, err := acl.AddToken("ops@pve", "view", true, "", "")
	if err != nil {
		t.Fatal(err)
	}
	who := "ops@pve!view=" + secret
	roles := map[string][]string{
		"PoolAud": {"Pool.Audit"}, "DSAud": {"Datastore.Audit"}, "DSSpace": {"Datastore.AllocateSpace"},
		"VMPower": {"VM.Audit", "VM.PowerMgmt"}, "Agent": {"VM.GuestAgent.Audit"}, "NodeAud": {"Sys.Audit"},
	}
	for name, privs := range roles {
		if err := acl.AddRole(name, privs); err != nil {
			t.Fatal(err)
		}
	}
	grant := func(path, role string) {
		t.Helper()
		for _, up := range []access.ACLUpdate{
			{Path: path, Roles: []string{role}, Users: []string{"ops@pve"}, Propagate: true},
			{Path: path, Roles: []string{role}, Tokens: []string{"ops@pve!view"}, Propagate: true},
		} {
			if err := acl.SetACL(access.Root, up); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := func(path, key string) []string {
		t.Helper()
		r := s.asToken(t, who, "GET", path, nil)
		if r.status != 200 {
			t.Fatalf("GET %s: %d %q", path, r.status, r.line)
		}
		out := []string{}
		for _, o := range r.body["data"].([]any) {
			out = append(out, o.(map[string]any)[key].(string))
		}
		return out
	}
	same := func(what string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", what, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %v, want %v", what, got, want)
				return
			}
		}
	}

	// pools: listed with Pool.Audit; poolid= runs Pool.pm's noerr check and
	// ignores it, so any caller reads the named pool there.
	grant("/pool/web", "PoolAud")
	same("pools", ids("/pools", "poolid"), "web")
	want403(t, s.asToken(t, who, "GET", "/pools/db", nil), "Permission check failed (/pool/db, Pool.Audit)")
	if r := s.asToken(t, who, "GET", "/pools", map[string]any{"poolid": "db"}); r.status != 200 {
		t.Errorf("GET /pools?poolid=db: %d %q", r.status, r.line)
	}

	// storage: listed with Datastore.Audit or AllocateSpace; a section's
	// configuration takes Datastore.Allocate.
	same("storages before grants", ids("/storage", "storage"))
	grant("/storage/local", "DSAud")
	grant("/storage/ceph", "DSSpace")
	same("storages", ids("/storage", "storage"), "local", "ceph")
	want403(t, s.asToken(t, who, "GET", "/storage/local", nil), "Permission check failed (/storage/local, Datastore.Allocate)")

	// a VM's volume: Datastore.Audit on its storage, then VM.Config.Disk on
	// its owner (check_volume_access without a VM of the caller's)
	volid := drive(t, s.config(t, 100), "scsi0")["file"]
	info := "/nodes/pve1/storage/local-lvm/content/" + volid
	want403(t, s.asToken(t, who, "GET", info, nil), "Permission check failed (/storage/local-lvm, Datastore.Audit)")
	grant("/storage/local-lvm", "DSAud")
	want403(t, s.asToken(t, who, "GET", info, nil), "Permission check failed (/vms/100, VM.Config.Disk)")
	if r := s.jcall(t, "GET", info, nil); r.status != 200 {
		t.Errorf("volume info as %s: %d %q", testTokenID, r.status, r.line)
	}

	// tasks: a node's list shows the caller's own without Sys.Audit on the
	// node; the cluster list compares the task's user with the token ID, so
	// a token sees none of its own without Sys.Audit on /.
	grant("/vms/100", "VMPower")
	r := s.asToken(t, who, "POST", "/nodes/pve1/qemu/100/status/start", nil)
	if r.status != 200 {
		t.Fatalf("start as token: %d %q", r.status, r.line)
	}
	own := r.body["data"].(string)
	mustOK(t, "start", s.waitExit(t, own))
	same("node tasks without Sys.Audit", ids("/nodes/pve1/tasks", "upid"), own)
	same("cluster tasks without Sys.Audit", ids("/cluster/tasks", "upid"))
	grant("/nodes/pve1", "NodeAud")
	if got := ids("/nodes/pve1/tasks", "upid"); len(got) != 2 {
		t.Errorf("node tasks with Sys.Audit on the node: %v, want create and start", got)
	}
	same("cluster tasks with Sys.Audit on the node only", ids("/cluster/tasks", "upid"))
	grant("/", "NodeAud")
	if got := ids("/cluster/tasks", "upid"); len(got) != 2 {
		t.Errorf("cluster tasks with Sys.Audit on /: %v, want create and start", got)
	}

	// guest agent: each subcommand its privilege or Unrestricted
	agent := "/nodes/pve1/qemu/100/agent/"
	want403(t, s.asToken(t, who, "GET", agent+"info", nil), "Permission check failed (/vms/100, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)")
	grant("/vms/100", "Agent")
	if r := s.asToken(t, who, "GET", agent+"info", nil); r.status != 500 || r.line != "No QEMU guest agent configured" {
		t.Errorf("agent info with VM.GuestAgent.Audit: %d %q", r.status, r.line)
	}
	want403(t, s.asToken(t, who, "POST", agent+"fsfreeze-freeze", nil), "Permission check failed (/vms/100, VM.GuestAgent.FileSystemMgmt|VM.GuestAgent.Unrestricted)")
	if r := s.asToken(t, who, "POST", agent+"shutdown", nil); r.status != 500 || r.line != "No QEMU guest agent configured" {
		t.Errorf("agent shutdown with VM.PowerMgmt: %d %q", r.status, r.line)
	}
	want403(t, s.asToken(t, who, "GET", agent+"exec-status", map[string]any{"pid": 1}), "Permission check failed (/vms/100, VM.GuestAgent.Unrestricted)")
}
