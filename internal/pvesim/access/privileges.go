// Package access is the simulator's permission model, PVE's as
// pve-access-control defines it: users of the pam and pve realms, API
// tokens with and without privilege separation, groups, roles holding
// privileges, and ACLs on paths with propagation. It is pure Go; pvesim
// puts it in front of every route.
package access

import "sort"

// privGroups mirrors AccessControl.pm's privilege table: per category the
// privileges only root should hold, those of an administrator, a user and
// an auditor. The built-in roles are derived from it the way create_roles
// does.
var privGroups = []struct {
	cat                      string
	root, admin, user, audit []string
}{
	{cat: "VM",
		admin: []string{"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
			"VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.Replicate",
			"VM.Snapshot", "VM.Snapshot.Rollback"},
		user: []string{"VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead",
			"VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"},
		audit: []string{"VM.Audit", "VM.GuestAgent.Audit"}},
	{cat: "Sys",
		root:  []string{"Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"},
		admin: []string{"Sys.Console", "Sys.Syslog"},
		audit: []string{"Sys.Audit"}},
	{cat: "Datastore",
		admin: []string{"Datastore.Allocate", "Datastore.AllocateTemplate"},
		user:  []string{"Datastore.AllocateSpace"},
		audit: []string{"Datastore.Audit"}},
	{cat: "SDN",
		admin: []string{"SDN.Allocate", "SDN.Audit"},
		user:  []string{"SDN.Use"},
		audit: []string{"SDN.Audit"}},
	{cat: "User",
		root:  []string{"Realm.Allocate"},
		admin: []string{"User.Modify", "Group.Allocate", "Realm.AllocateUser"}},
	{cat: "Pool",
		admin: []string{"Pool.Allocate"},
		user:  []string{"Pool.Audit"},
		audit: []string{"Pool.Audit"}},
	{cat: "Mapping",
		admin: []string{"Mapping.Modify"},
		user:  []string{"Mapping.Use"},
		audit: []string{"Mapping.Audit"}},
}

// privSet is a set of privilege names.
type privSet map[string]bool

var (
	validPrivs   = privSet{"Permissions.Modify": true} // in no category
	builtinRoles = map[string]privSet{"NoAccess": {}}
)

func init() {
	add := func(role string, privs ...string) {
		if builtinRoles[role] == nil {
			builtinRoles[role] = privSet{}
		}
		for _, p := range privs {
			builtinRoles[role][p] = true
		}
	}
	for _, g := range privGroups {
		for _, list := range [][]string{g.root, g.admin, g.user, g.audit} {
			for _, p := range list {
				validPrivs[p] = true
			}
		}
		add("PVE"+g.cat+"Admin", append(append(append([]string{}, g.admin...), g.user...), g.audit...)...)
		add("PVEAdmin", append(append(append([]string{}, g.admin...), g.user...), g.audit...)...)
		if len(g.user) > 0 {
			add("PVE"+g.cat+"User", append(append([]string{}, g.user...), g.audit...)...)
		}
		add("PVEAuditor", g.audit...)
	}
	// Mapping.Modify is for Administrator and PVEMappingAdmin only.
	delete(builtinRoles["PVEAdmin"], "Mapping.Modify")
	add("PVETemplateUser", "VM.Clone", "VM.Audit")
	builtinRoles["Administrator"] = validPrivs
}

// ValidPriv reports whether name is a privilege PVE knows.
func ValidPriv(name string) bool { return validPrivs[name] }

// AllPrivs lists every privilege, sorted.
func AllPrivs() []string { return validPrivs.sorted() }

func (s privSet) sorted() []string {
	out := make([]string, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (s privSet) clone() privSet {
	out := make(privSet, len(s))
	for p := range s {
		out[p] = true
	}
	return out
}
