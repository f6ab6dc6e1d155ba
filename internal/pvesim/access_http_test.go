package pvesim

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// asToken sends params as JSON with another token's credential.
func (s *sim) asToken(t *testing.T, token, method, path string, params map[string]any) rawResult {
	t.Helper()
	hdr := map[string]string{"Authorization": "PVEAPIToken=" + token}
	if method == "GET" || method == "DELETE" {
		q := url.Values{}
		for k, v := range params {
			b, _ := json.Marshal(v)
			q.Set(k, strings.Trim(string(b), `"`))
		}
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		return s.raw(t, method, path, "", "", hdr)
	}
	body, _ := json.Marshal(params)
	hdr["Content-Type"] = "application/json"
	return s.raw(t, method, path, "application/json", string(body), hdr)
}

// asRoot sends params like jcall, but as root@pam itself (a ticket
// login): PVE's superuser passes every check, root@pam's tokens do not.
func (s *sim) asRoot(t *testing.T, method, path string, params map[string]any) rawResult {
	t.Helper()
	login := s.raw(t, "POST", "/access/ticket", "application/x-www-form-urlencoded", "username=root@pam&password=rootpass", map[string]string{})
	if login.status != 200 {
		t.Fatalf("root login: %d %s", login.status, login.line)
	}
	data := login.body["data"].(map[string]any)
	hdr := map[string]string{"Cookie": "PVEAuthCookie=" + url.PathEscape(data["ticket"].(string)),
		"CSRFPreventionToken": data["CSRFPreventionToken"].(string)}
	if method == "GET" || method == "DELETE" {
		q := url.Values{}
		for k, v := range params {
			b, _ := json.Marshal(v)
			q.Set(k, strings.Trim(string(b), `"`))
		}
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		return s.raw(t, method, path, "", "", hdr)
	}
	body, _ := json.Marshal(params)
	return s.raw(t, method, path, "application/json", string(body), hdr)
}

func want403(t *testing.T, r rawResult, msg string) {
	t.Helper()
	if r.status != 403 || r.line != msg {
		t.Errorf("got %d %q, want 403 %q", r.status, r.line, msg)
	}
}

// TestPrivilegesThroughTheAPI sets a limited user and privsep token up
// with /access as root's token would (pveum), then acts as that token.
func TestPrivilegesThroughTheAPI(t *testing.T) {
	s := startSim(t, testConfig())
	mustOK(t, "create 100", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "scsi0": "local-lvm:1"}))
	mustOK(t, "create 101", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 101}))

	s.jok(t, "POST", "/access/users", map[string]any{"userid": "lim@pve"})
	s.jok(t, "POST", "/access/roles", map[string]any{"roleid": "Lim", "privs": "VM.Audit,VM.Allocate,VM.Config.Memory,Sys.Audit"})
	created := s.jok(t, "POST", "/access/users/lim@pve/token/t1", map[string]any{"privsep": 1}).(map[string]any)
	if created["full-tokenid"] != "lim@pve!t1" || len(created["value"].(string)) != 36 {
		t.Fatalf("token create answered %v", created)
	}
	tok := "lim@pve!t1=" + created["value"].(string)
	for _, who := range []string{"users", "tokens"} {
		ugid := map[string]string{"users": "lim@pve", "tokens": "lim@pve!t1"}[who]
		s.jok(t, "PUT", "/access/acl", map[string]any{"path": "/vms/100", "roles": "Lim", who: ugid})
		s.jok(t, "PUT", "/access/acl", map[string]any{"path": "/vms/970", "roles": "Lim", who: ugid})
	}

	// lists show only what the token may audit
	res := s.asToken(t, tok, "GET", "/cluster/resources", map[string]any{"type": "vm"})
	if list := res.body["data"].([]any); len(list) != 1 || list[0].(map[string]any)["vmid"] != float64(100) {
		t.Errorf("/cluster/resources for the token: %v", list)
	}
	if list := s.asToken(t, tok, "GET", "/nodes/pve1/qemu", nil).body["data"].([]any); len(list) != 1 {
		t.Errorf("/nodes/pve1/qemu for the token: %v", list)
	}
	if list := s.asToken(t, tok, "GET", "/nodes/pve1/storage", nil).body["data"].([]any); len(list) != 0 {
		t.Errorf("storages without Datastore.Audit listed: %v", list)
	}

	want403(t, s.asToken(t, tok, "GET", "/nodes/pve1/qemu/101/config", nil), "Permission check failed (/vms/101, VM.Audit)")
	want403(t, s.asToken(t, tok, "GET", "/cluster/status", nil), "Permission check failed (/, Sys.Audit)")
	want403(t, s.asToken(t, tok, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 971}), "Permission check failed")
	want403(t, s.asToken(t, tok, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 970, "scsi0": "local-lvm:1"}),
		"Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)")
	want403(t, s.asToken(t, tok, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 970, "cores": 2}),
		"Permission check failed (/vms/970, VM.Config.CPU)")
	want403(t, s.asToken(t, tok, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 970, "net0": "virtio,bridge=vmbr0"}),
		"Permission check failed (/vms/970, VM.Config.Network)")
	want403(t, s.asToken(t, tok, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{"cores": 2}),
		"Permission check failed (/vms/100, VM.Config.CPU)")
	want403(t, s.asToken(t, tok, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{"delete": "scsi0"}),
		"Permission check failed (/vms/100, VM.Config.Disk)")
	want403(t, s.asToken(t, tok, "POST", "/nodes/pve1/qemu/100/status/start", nil), "Permission check failed (/vms/100, VM.PowerMgmt)")
	if r := s.asToken(t, tok, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{"memory": 1024}); r.status != 200 {
		t.Errorf("memory change with VM.Config.Memory: %d %s", r.status, r.line)
	}
	if r := s.asToken(t, tok, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 970, "memory": 512}); r.status != 200 {
		t.Errorf("create with VM.Allocate and VM.Config.Memory: %d %s", r.status, r.line)
	}

	// the token never exceeds its user: SDN.Use granted only to the token
	s.jok(t, "PUT", "/access/acl", map[string]any{"path": "/sdn/zones/localnetwork/vmbr0", "roles": "PVESDNUser", "tokens": "lim@pve!t1"})
	s.jok(t, "PUT", "/access/acl", map[string]any{"path": "/vms/972", "roles": "PVEVMAdmin", "users": "lim@pve", "tokens": "lim@pve!t1"})
	want403(t, s.asToken(t, tok, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 972, "net0": "virtio,bridge=vmbr0"}),
		"Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)")
	s.jok(t, "PUT", "/access/acl", map[string]any{"path": "/sdn/zones/localnetwork/vmbr0", "roles": "PVESDNUser", "users": "lim@pve"})
	if r := s.asToken(t, tok, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 972, "net0": "virtio,bridge=vmbr0"}); r.status != 200 {
		t.Errorf("NIC with SDN.Use for user and token: %d %s", r.status, r.line)
	}

	perms := s.asToken(t, tok, "GET", "/access/permissions", map[string]any{"path": "/vms/100"}).body["data"].(map[string]any)
	if p := perms["/vms/100"].(map[string]any); len(p) != 4 || p["VM.Config.Memory"] != float64(1) {
		t.Errorf("/access/permissions: %v", perms)
	}
	want403(t, s.asToken(t, tok, "GET", "/access/permissions", map[string]any{"userid": "root@pam"}), "Permission check failed (/access, Sys.Audit)")
	// a token without privsep of root@pam holds every right but is not root
	if r := s.jcall(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 973, "args": "-no-reboot"}); r.status != 500 || r.line != "only root can set 'args' config" {
		t.Errorf("args by root's token: %d %q", r.status, r.line)
	}
	// removing the token revokes it
	s.jok(t, "DELETE", "/access/users/lim@pve/token/t1", nil)
	if r := s.asToken(t, tok, "GET", "/version", nil); r.status != 401 {
		t.Errorf("deleted token still authenticates: %d", r.status)
	}
}

func TestAuthorizeWithoutDeclaredPermission(t *testing.T) {
	c := New(testConfig())
	if err := c.authorize(permission{}, "ops@pve!ci", nil); err == nil || err.message != "Permission check failed (user != root@pam)" {
		t.Errorf("undeclared permission for a non-root caller: %v", err)
	}
	if err := c.authorize(permission{}, "root@pam", nil); err != nil {
		t.Errorf("root@pam: %v", err)
	}
	// "or" failing names nothing, as raise_perm_exc() without argument
	p := checked(oneOf(needs("/vms/{vmid}", "VM.Allocate"), needsIfParam("pool", "/pool/{pool}", "VM.Allocate")))
	if err := c.authorize(p, "ops@pve!ci", map[string]string{"vmid": "5"}); err == nil || err.message != "Permission check failed" {
		t.Errorf("or: %v", err)
	}
	if err := c.authorize(checked(needsAny("/vms/{vmid}", "VM.Config.CPU", "VM.Config.Disk")), "ops@pve!ci", map[string]string{"vmid": "5"}); err == nil ||
		err.message != "Permission check failed (/vms/5, VM.Config.CPU|VM.Config.Disk)" {
		t.Errorf("any: %v", err)
	}
}

// TestSDNAndTaskPrivileges: SDN lists show what the caller may audit or
// allocate per zone and vnet, vnet writes need SDN.Allocate on the vnet,
// and another caller's task needs Sys.Audit on its node.
func TestSDNAndTaskPrivileges(t *testing.T) {
	s := startSim(t, testConfig())
	tok := s.lock(t, false)
	for _, z := range []string{"za", "zb"} {
		s.ok(t, "POST", "/cluster/sdn/zones", kv("zone", z, "type", "vlan", "bridge", "vmbr0", "lock-token", tok))
	}
	s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "va", "zone", "za", "tag", "10", "lock-token", tok))
	s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "vb", "zone", "zb", "tag", "11", "lock-token", tok))
	s.ok(t, "DELETE", "/cluster/sdn/lock", kv("lock-token", tok))

	acl := s.srv.Cluster.Access()
	secret, err := acl.AddToken("ops@pve", "audit", true, "", "")
	if err != nil {
		t.Fatal(err)
	}
	who := "ops@pve!audit=" + secret
	for _, up := range []struct{ path, role string }{{"/sdn/zones/za", "PVEAuditor"}, {"/nodes/pve1", "NoAccess"}} {
		for _, field := range []string{"users", "tokens"} {
			id := map[string]string{"users": "ops@pve", "tokens": "ops@pve!audit"}[field]
			s.jok(t, "PUT", "/access/acl", map[string]any{"path": up.path, "roles": up.role, field: id})
		}
	}
	names := func(path, key string) []string {
		var out []string
		for _, o := range s.asToken(t, who, "GET", path, nil).body["data"].([]any) {
			out = append(out, o.(map[string]any)[key].(string))
		}
		return out
	}
	if got := names("/cluster/sdn/zones", "zone"); len(got) != 1 || got[0] != "za" {
		t.Errorf("zones listed: %v, want [za]", got)
	}
	if got := names("/cluster/sdn/vnets", "vnet"); len(got) != 1 || got[0] != "va" {
		t.Errorf("vnets listed: %v, want [va]", got)
	}
	want403(t, s.asToken(t, who, "GET", "/cluster/sdn/vnets/vb", nil), "Permission check failed (/sdn/zones/zb/vb, SDN.Audit|SDN.Allocate)")
	want403(t, s.asToken(t, who, "DELETE", "/cluster/sdn/vnets/va", nil), "Permission check failed (/sdn/zones/za/va, SDN.Allocate)")
	want403(t, s.asToken(t, who, "POST", "/cluster/sdn/lock", nil), "Permission check failed (/sdn, SDN.Allocate)")

	upid := s.jok(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100}).(string)
	want403(t, s.asToken(t, who, "GET", "/nodes/pve1/tasks/"+upid+"/status", nil), "Permission check failed (/nodes/pve1, Sys.Audit)")
	want403(t, s.asToken(t, who, "GET", "/nodes/pve1/tasks/"+upid+"/log", nil), "Permission check failed (/nodes/pve1, Sys.Audit)")
	// the owner reads its own task without Sys.Audit
	s.jok(t, "PUT", "/access/acl", map[string]any{"path": "/vms/101", "roles": "PVEVMAdmin", "users": "ops@pve", "tokens": "ops@pve!audit"})
	own := s.asToken(t, who, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 101})
	if own.status != 200 {
		t.Fatalf("create 101: %d %s", own.status, own.line)
	}
	if r := s.asToken(t, who, "GET", "/nodes/pve1/tasks/"+own.body["data"].(string)+"/status", nil); r.status != 200 {
		t.Errorf("own task: %d %s", r.status, r.line)
	}
	// a NIC on a vnet needs SDN.Use in the vnet's zone (check_vnet_access)
	want403(t, s.asToken(t, who, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 101, "net0": "virtio,bridge=vb"}),
		"Permission check failed (/sdn/zones/zb/vb, SDN.Use)")
}

// TestResizeNeedsSpaceOnTheStorage: resize_vm checks VM.Config.Disk up
// front and Datastore.AllocateSpace on the disk's storage in its task.
func TestResizeNeedsSpaceOnTheStorage(t *testing.T) {
	s := startSim(t, testConfig())
	mustOK(t, "create 100", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "scsi0": "local-lvm:1"}))
	acl := s.srv.Cluster.Access()
	secret, err := acl.AddToken("ops@pve", "disk", true, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := acl.AddRole("DiskOnly", []string{"VM.Config.Disk", "VM.Audit"}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", "tokens"} {
		up := access.ACLUpdate{Path: "/vms/100", Roles: []string{"DiskOnly"}, Users: []string{"ops@pve"}, Propagate: true}
		if tok != "" {
			up = access.ACLUpdate{Path: "/vms/100", Roles: []string{"DiskOnly"}, Tokens: []string{"ops@pve!disk"}, Propagate: true}
		}
		if err := acl.SetACL(access.Root, up); err != nil {
			t.Fatal(err)
		}
	}
	r := s.asToken(t, "ops@pve!disk="+secret, "PUT", "/nodes/pve1/qemu/100/resize", map[string]any{"disk": "scsi0", "size": "+1G"})
	if r.status != 200 {
		t.Fatalf("resize: %d %s", r.status, r.line)
	}
	if exit := s.waitExit(t, r.body["data"].(string)); exit != "Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)" {
		t.Errorf("resize task exit %q", exit)
	}
}

// efidisk0 and tpmstate0 are drives to check_vm_modify_config_perm: a new
// one needs Datastore.AllocateSpace on its storage, not root@pam.
func TestEFIAndTPMDisksNeedSpaceNotRoot(t *testing.T) {
	s := startSim(t, testConfig())
	mustOK(t, "create 100", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100}))
	acl := s.srv.Cluster.Access()
	secret, err := acl.AddToken("ops@pve", "disk", true, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := acl.AddRole("DiskOnly", []string{"VM.Config.Disk", "VM.Audit"}); err != nil {
		t.Fatal(err)
	}
	grant := func(path string) {
		t.Helper()
		for _, up := range []access.ACLUpdate{
			{Path: path, Roles: []string{"DiskOnly"}, Users: []string{"ops@pve"}, Propagate: true},
			{Path: path, Roles: []string{"DiskOnly"}, Tokens: []string{"ops@pve!disk"}, Propagate: true},
		} {
			if err := acl.SetACL(access.Root, up); err != nil {
				t.Fatal(err)
			}
		}
	}
	grant("/vms/100")
	tok := "ops@pve!disk=" + secret
	for _, key := range []string{"efidisk0", "tpmstate0"} {
		want403(t, s.asToken(t, tok, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{key: "local-lvm:1"}),
			"Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)")
	}
	if err := acl.AddRole("Space", []string{"Datastore.AllocateSpace"}); err != nil {
		t.Fatal(err)
	}
	for _, up := range []access.ACLUpdate{
		{Path: "/storage/local-lvm", Roles: []string{"Space"}, Users: []string{"ops@pve"}},
		{Path: "/storage/local-lvm", Roles: []string{"Space"}, Tokens: []string{"ops@pve!disk"}},
	} {
		if err := acl.SetACL(access.Root, up); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"efidisk0", "tpmstate0"} {
		if r := s.asToken(t, tok, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{key: "local-lvm:1"}); r.status != 200 {
			t.Errorf("%s with AllocateSpace: %d %q", key, r.status, r.line)
		}
	}
}
