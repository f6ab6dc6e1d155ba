package access

import (
	"strings"
	"testing"
)

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestBuiltinRolesAsPVEDefinesThem(t *testing.T) {
	s := New()
	get := func(id string) map[string]bool {
		r, err := s.GetRole(id)
		mustNil(t, err)
		m := map[string]bool{}
		for _, p := range r.Privs {
			m[p] = true
		}
		return m
	}
	if n := len(get("NoAccess")); n != 0 {
		t.Errorf("NoAccess holds %d privileges", n)
	}
	if admin := get("Administrator"); len(admin) != len(AllPrivs()) || !admin["Permissions.Modify"] || !admin["Sys.Incoming"] {
		t.Errorf("Administrator = %v", admin)
	}
	aud := get("PVEAuditor")
	for _, p := range []string{"VM.Audit", "Sys.Audit", "Datastore.Audit", "SDN.Audit", "Pool.Audit", "Mapping.Audit", "VM.GuestAgent.Audit"} {
		if !aud[p] {
			t.Errorf("PVEAuditor lacks %s", p)
		}
	}
	if len(aud) != 7 {
		t.Errorf("PVEAuditor = %v", aud)
	}
	vmAdmin := get("PVEVMAdmin")
	if !vmAdmin["VM.Allocate"] || !vmAdmin["VM.PowerMgmt"] || !vmAdmin["VM.Audit"] || vmAdmin["Sys.Audit"] || vmAdmin["Datastore.AllocateSpace"] {
		t.Errorf("PVEVMAdmin = %v", vmAdmin)
	}
	if pa := get("PVEAdmin"); pa["Sys.Incoming"] || pa["Sys.Modify"] || pa["Mapping.Modify"] || pa["Permissions.Modify"] || !pa["Sys.Console"] {
		t.Errorf("PVEAdmin = %v", pa)
	}
	if tu := get("PVETemplateUser"); len(tu) != 2 || !tu["VM.Clone"] || !tu["VM.Audit"] {
		t.Errorf("PVETemplateUser = %v", tu)
	}
	if _, err := s.GetRole("PVESysUser"); err == nil {
		t.Error("PVESysUser exists; Sys has no user privileges")
	}
	if err := s.UpdateRole("PVEAuditor", []string{"VM.Allocate"}, true); err == nil || !strings.Contains(err.Error(), "cannot be modified") {
		t.Errorf("modifying a built-in role: %v", err)
	}
	if err := s.AddRole("X", []string{"VM.Bogus"}); err == nil || err.Error() != "invalid privilege 'VM.Bogus'" {
		t.Errorf("invalid privilege: %v", err)
	}
}

func setup(t *testing.T) *Store {
	s := New()
	mustNil(t, s.AddUser(User{ID: "alice@pve", Enable: true}))
	mustNil(t, s.AddRole("Audit", []string{"VM.Audit"}))
	mustNil(t, s.AddRole("Power", []string{"VM.Audit", "VM.PowerMgmt"}))
	return s
}

func TestEvaluation(t *testing.T) {
	s := setup(t)
	acl := func(up ACLUpdate) { t.Helper(); mustNil(t, s.SetACL(Root, up)) }
	acl(ACLUpdate{Path: "/vms", Roles: []string{"Audit"}, Users: []string{"alice@pve"}, Propagate: true})
	if !s.Has("alice@pve", "/vms/100", "VM.Audit") {
		t.Error("propagated ACL on /vms does not reach /vms/100")
	}
	if s.Has("alice@pve", "/", "VM.Audit") {
		t.Error("ACL on /vms leaks up to /")
	}
	// most specific path wins, even with fewer privileges
	acl(ACLUpdate{Path: "/vms/100", Roles: []string{"NoAccess"}, Users: []string{"alice@pve"}})
	if err := s.Check("alice@pve", "/vms/100", "VM.Audit"); err == nil || err.Error() != "Permission check failed (/vms/100, VM.Audit)" {
		t.Errorf("NoAccess on /vms/100: %v", err)
	}
	if !s.Has("alice@pve", "/vms/101", "VM.Audit") {
		t.Error("NoAccess on /vms/100 hides /vms/101")
	}
	// without propagate an entry applies to its own path only
	acl(ACLUpdate{Path: "/storage", Roles: []string{"PVEDatastoreUser"}, Users: []string{"alice@pve"}})
	if !s.Has("alice@pve", "/storage", "Datastore.AllocateSpace") || s.Has("alice@pve", "/storage/local", "Datastore.AllocateSpace") {
		t.Error("non-propagating ACL: wrong reach")
	}
	// group ACLs count only where the user has none of its own
	mustNil(t, s.AddGroup("ops", ""))
	mustNil(t, s.UpdateUser("alice@pve", UserUpdate{Groups: &[]string{"ops"}}))
	acl(ACLUpdate{Path: "/vms/200", Roles: []string{"Power"}, Groups: []string{"ops"}, Propagate: true})
	if !s.Has("alice@pve", "/vms/200", "VM.PowerMgmt") {
		t.Error("group ACL on /vms/200 not applied")
	}
	acl(ACLUpdate{Path: "/vms/200", Roles: []string{"Audit"}, Users: []string{"alice@pve"}, Propagate: true})
	if s.Has("alice@pve", "/vms/200", "VM.PowerMgmt") {
		t.Error("user ACL on the same node must override the group's")
	}
	if err := s.CheckAny("alice@pve", "/vms/200", "VM.Allocate", "VM.Clone"); err == nil || err.Error() != "Permission check failed (/vms/200, VM.Allocate|VM.Clone)" {
		t.Errorf("CheckAny text: %v", err)
	}
}

func TestTokens(t *testing.T) {
	s := setup(t)
	acl := func(up ACLUpdate) { t.Helper(); mustNil(t, s.SetACL(Root, up)) }
	secret, err := s.AddToken("alice@pve", "sep", true, "", "")
	mustNil(t, err)
	if len(secret) != 36 {
		t.Errorf("secret %q is not UUID-shaped", secret)
	}
	_, err = s.AddToken("alice@pve", "full", false, "", "s2")
	mustNil(t, err)
	acl(ACLUpdate{Path: "/", Roles: []string{"Power"}, Users: []string{"alice@pve"}, Propagate: true})
	if !s.Has("alice@pve!full", "/vms/1", "VM.PowerMgmt") {
		t.Error("token without privsep lacks its user's privileges")
	}
	if s.Has("alice@pve!sep", "/vms/1", "VM.Audit") {
		t.Error("privsep token without own ACLs has privileges")
	}
	// the token's own ACL grants more than the user holds: intersection
	acl(ACLUpdate{Path: "/", Roles: []string{"PVEVMAdmin"}, Tokens: []string{"alice@pve!sep"}, Propagate: true})
	if !s.Has("alice@pve!sep", "/vms/1", "VM.PowerMgmt") || s.Has("alice@pve!sep", "/vms/1", "VM.Allocate") {
		t.Errorf("privsep token = %v, want the intersection {VM.Audit VM.PowerMgmt}", s.Permissions("alice@pve!sep", "/vms/1"))
	}
	// a token ACL on a user/group path does not help the user
	if s.Has("alice@pve", "/vms/1", "VM.Allocate") {
		t.Error("the token's ACL widened its user")
	}
	if _, err := s.AddToken(Root, "all", false, "", "x"); err != nil {
		t.Fatal(err)
	}
	if !s.Has("root@pam!all", "/vms/1", "VM.Allocate", "Sys.Incoming", "Permissions.Modify") {
		t.Error("root@pam token without privsep lacks rights")
	}
	if _, err := s.AddToken(Root, "sep", true, "", "x"); err != nil {
		t.Fatal(err)
	}
	if s.Has("root@pam!sep", "/", "Sys.Audit") {
		t.Error("privsep root token without ACLs has rights")
	}
	mustNil(t, s.DeleteToken("alice@pve", "sep"))
	if s.Has("alice@pve!sep", "/vms/1", "VM.Audit") {
		t.Error("deleted token keeps rights")
	}
	eq := func(a, b string) bool { return a == b }
	if _, err := s.VerifyToken("alice@pve!full", "nope", eq); err == nil || err.Error() != "invalid token value!" {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := s.VerifyToken("bob@pve!xy", "s", eq); err == nil || err.Error() != "no such user ('bob@pve')" {
		t.Errorf("unknown user: %v", err)
	}
	mustNil(t, s.SetTokenExpire("alice@pve", "full", 1))
	if _, err := s.VerifyToken("alice@pve!full", "s2", eq); err == nil || err.Error() != "token 'full' access expired" {
		t.Errorf("expired token: %v", err)
	}
	mustNil(t, s.SetTokenExpire("alice@pve", "full", 0))
	off := false
	mustNil(t, s.UpdateUser("alice@pve", UserUpdate{Enable: &off}))
	if _, err := s.VerifyToken("alice@pve!full", "s2", eq); err == nil || err.Error() != "user 'alice@pve' is disabled" {
		t.Errorf("disabled user's token: %v", err)
	}
}

func TestACLUpdateBoundsCaller(t *testing.T) {
	s := setup(t)
	mustNil(t, s.SetACL(Root, ACLUpdate{Path: "/vms/5", Roles: []string{"PVEVMAdmin"}, Users: []string{"alice@pve"}}))
	mustNil(t, s.AddUser(User{ID: "bob@pve", Enable: true}))
	err := s.SetACL("alice@pve", ACLUpdate{Path: "/vms/5", Roles: []string{"Administrator"}, Users: []string{"bob@pve"}})
	if err == nil || !strings.Contains(err.Error(), "Cannot add role 'Administrator' - requires 'Permissions.Modify' or superset of privileges.") {
		t.Errorf("handing out more than one holds: %v", err)
	}
	if err := s.SetACL(Root, ACLUpdate{Path: "/bogus", Roles: []string{"Audit"}, Users: []string{"bob@pve"}}); err == nil || err.Error() != "invalid ACL path '/bogus'" {
		t.Errorf("bad path: %v", err)
	}
	if err := s.AddUser(User{ID: "carol@ldap"}); err == nil || err.Error() != "domain 'ldap' does not exist" {
		t.Errorf("unknown realm: %v", err)
	}
	mustNil(t, s.AddGroup("g1", "c"))
	mustNil(t, s.UpdateUser("bob@pve", UserUpdate{Groups: &[]string{"g1"}}))
	mustNil(t, s.SetACL(Root, ACLUpdate{Path: "/vms", Roles: []string{"Audit"}, Groups: []string{"g1"}, Propagate: true}))
	if !s.Has("bob@pve", "/vms/9", "VM.Audit") {
		t.Error("group ACL not applied to its member")
	}
	mustNil(t, s.DeleteGroup("g1"))
	if s.Has("bob@pve", "/vms/9", "VM.Audit") || len(s.ACL()) != 1 {
		t.Errorf("deleted group's ACL still applies: %v", s.ACL())
	}
	if u, _ := s.User("bob@pve"); len(u.Groups) != 0 {
		t.Errorf("bob still in %v", u.Groups)
	}
	mustNil(t, s.DeleteUser("alice@pve"))
	for _, e := range s.ACL() {
		if e.UGID == "alice@pve" {
			t.Errorf("ACL entry of deleted user left: %+v", e)
		}
	}
}
