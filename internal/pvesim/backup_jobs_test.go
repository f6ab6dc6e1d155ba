package pvesim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// Backup.pm: a job needs Sys.Modify on / and Datastore.Allocate on the storage it writes to
// (AllocateSpace is not enough); an update also on the storage it wrote to; delete only
// Sys.Modify. The job id is a pve-configid.
func TestBackupJobPrivileges(t *testing.T) {
	dc1, _, _ := twoDCs(t)
	acl := dc1.srv.Cluster.Access()
	secret, err := acl.AddToken("ops@pve", "job", true, "", "")
	if err != nil {
		t.Fatal(err)
	}
	tok := "ops@pve!job=" + secret
	grant := func(role, path string, privs ...string) {
		t.Helper()
		if err := acl.AddRole(role, privs); err != nil {
			t.Fatal(err)
		}
		for _, up := range []access.ACLUpdate{
			{Path: path, Roles: []string{role}, Users: []string{"ops@pve"}, Propagate: true},
			{Path: path, Roles: []string{role}, Tokens: []string{"ops@pve!job"}, Propagate: true},
		} {
			if err := acl.SetACL(access.Root, up); err != nil {
				t.Fatal(err)
			}
		}
	}
	job := map[string]any{"id": "moxxie-0123456789abcdef", "schedule": "daily", "storage": "pbs", "vmid": "100", "mode": "snapshot"}
	want403(t, dc1.asToken(t, tok, "POST", "/cluster/backup", job), "Permission check failed (/, Sys.Modify)")
	grant("Mod", "/", "Sys.Modify", "Sys.Audit")
	grant("Space", "/storage/pbs", "Datastore.AllocateSpace")
	want403(t, dc1.asToken(t, tok, "POST", "/cluster/backup", job), "Permission check failed (/storage/pbs, Datastore.Allocate)")
	grant("Alloc", "/storage/pbs", "Datastore.Allocate", "Datastore.AllocateSpace")
	if r := dc1.asToken(t, tok, "POST", "/cluster/backup", job); r.status != 200 {
		t.Fatalf("create with Datastore.Allocate: %d %s", r.status, r.line)
	}
	// moving the job to a storage the token may not allocate on is refused
	want403(t, dc1.asToken(t, tok, "PUT", "/cluster/backup/moxxie-0123456789abcdef", map[string]any{"storage": "local"}),
		"Permission check failed (/storage/local, Datastore.Allocate)")
	if r := dc1.asToken(t, tok, "PUT", "/cluster/backup/moxxie-0123456789abcdef", map[string]any{"schedule": "21:00"}); r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.line)
	}
	if r := dc1.asToken(t, tok, "DELETE", "/cluster/backup/moxxie-0123456789abcdef", nil); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.line)
	}
	bad := dc1.jcall(t, "POST", "/cluster/backup", map[string]any{"id": "9job", "schedule": "daily", "vmid": "100"})
	if bad.status != 400 || !strings.Contains(fmt.Sprint(bad.errors()["id"]), "invalid configuration ID") {
		t.Errorf("job id 9job: %d %v", bad.status, bad.errors())
	}
}
