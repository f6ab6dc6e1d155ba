package pvesim

import (
	"errors"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// permission is a route's "permissions" as the official schema states
// them: user "all" (any authenticated caller; the handler filters or
// checks further) or "world", or a check expression in the schema's own
// form, e.g. ["perm", "/vms/{vmid}", ["VM.Audit"]]. The conformance test
// compares it with the schema; serve evaluates it before the handler,
// as pveproxy's check_api2_permissions does.
type permission struct {
	user  string
	check []any
}

// Every route declares one; a zero permission fails the conformance test.
var (
	permAll   = permission{user: "all"}
	permWorld = permission{user: "world"}
)

func (p permission) declared() bool { return p.user != "" || p.check != nil }

// privList keeps a privilege list in the schema's JSON shape.
func privList(privs []string) []any {
	out := make([]any, len(privs))
	for i, p := range privs {
		out[i] = p
	}
	return out
}

// needs is ["perm", path, [privs...]]: every privilege on path.
func needs(path string, privs ...string) []any { return []any{"perm", path, privList(privs)} }

// needsAny is ["perm", path, [privs...], "any", 1]: one of privs.
func needsAny(path string, privs ...string) []any {
	return []any{"perm", path, privList(privs), "any", 1}
}

// needsIfParam is a perm test that fails unless param is given.
func needsIfParam(param, path string, privs ...string) []any {
	return []any{"perm", path, privList(privs), "require_param", param}
}

func allOf(checks ...[]any) []any { return append([]any{"and"}, anys(checks)...) }
func oneOf(checks ...[]any) []any { return append([]any{"or"}, anys(checks)...) }

func anys(checks [][]any) []any {
	out := make([]any, len(checks))
	for i, c := range checks {
		out[i] = c
	}
	return out
}

func checked(expr []any) permission { return permission{check: expr} }

// apiErr turns the access package's errors into API errors.
func apiErr(err error) *apiError {
	var ae *access.Error
	if errors.As(err, &ae) {
		if ae.Param != "" {
			return paramErr(ae.Param, ae.Message)
		}
		return &apiError{status: ae.Status, message: ae.Message}
	}
	return failf("%v", err)
}

func denied(what string) *apiError { return apiErr(access.Denied(what)) }

// authorize is check_api2_permissions.
func (c *Cluster) authorize(p permission, user string, params map[string]string) *apiError {
	if p.user == "world" {
		return nil
	}
	if user == "" {
		return denied("user != null")
	}
	if user == access.Root {
		return nil
	}
	if !p.declared() {
		return denied("user != root@pam")
	}
	if p.user == "all" {
		return nil
	}
	if _, err := c.evalPerm(p.check, user, params, false); err != nil {
		return err
	}
	return nil
}

// evalPerm is exec_api2_perm_check. With noerr a failed test answers
// false instead of an error.
func (c *Cluster) evalPerm(expr []any, user string, params map[string]string, noerr bool) (bool, *apiError) {
	fail := func(what string) (bool, *apiError) {
		if noerr {
			return false, nil
		}
		return false, denied(what)
	}
	switch expr[0] {
	case "and":
		for _, sub := range expr[1:] {
			if _, err := c.evalPerm(sub.([]any), user, params, false); err != nil {
				return false, err
			}
		}
		return true, nil
	case "or":
		for _, sub := range expr[1:] {
			if ok, _ := c.evalPerm(sub.([]any), user, params, true); ok {
				return true, nil
			}
		}
		return fail("")
	case "perm":
		path, privs, opts := expr[1].(string), strs(expr[2]), options(expr[3:])
		if rp, ok := opts["require_param"]; ok {
			if _, given := params[rp.(string)]; !given {
				return fail("")
			}
		}
		path = access.NormalizePath(templateReplace(path, params))
		var err error
		if _, anyOf := opts["any"]; anyOf {
			err = c.acl.CheckAny(user, path, privs...)
		} else {
			err = c.acl.Check(user, path, privs...)
		}
		if err != nil {
			if noerr {
				return false, nil
			}
			return false, apiErr(err)
		}
		return true, nil
	case "userid-param":
		target := params["userid"]
		switch expr[1] {
		case "self":
			if !c.acl.UserExists(target) {
				if noerr {
					return false, nil
				}
				return false, failf("no such user ('%s')", target)
			}
			if user == target {
				return true, nil
			}
			return fail("")
		default: // Realm.AllocateUser on the user's realm
			_, realm, _ := strings.Cut(target, "@")
			if err := c.acl.Check(user, "/access/realm/"+realm, "Realm.AllocateUser"); err != nil {
				if noerr {
					return false, nil
				}
				return false, apiErr(err)
			}
			return true, nil
		}
	case "userid-group":
		return c.checkUserGroup(expr, user, params, noerr)
	case "perm-modify":
		path := access.NormalizePath(templateReplace(expr[1].(string), params))
		if err := c.checkPermModify(user, path); err != nil {
			if noerr {
				return false, nil
			}
			return false, err
		}
		return true, nil
	}
	return false, failf("unknown permission test")
}

// checkUserGroup is the "userid-group" test: the privileges on
// /access/groups, or on every group named in "groups" (create/update),
// or on a group the target user belongs to.
func (c *Cluster) checkUserGroup(expr []any, user string, params map[string]string, noerr bool) (bool, *apiError) {
	privs, opts := strs(expr[1]), options(expr[2:])
	target := params["userid"]
	mode, _ := opts["groups_param"].(string)
	existing := mode != "create"
	if existing && !c.acl.UserExists(target) {
		if noerr {
			return false, nil
		}
		return false, failf("no such user ('%s')", target)
	}
	if c.acl.HasAny(user, "/access/groups", privs...) {
		return true, nil
	}
	joined := strings.Join(privs, "|")
	if mode != "" {
		groups := splitList(params["groups"])
		if len(groups) == 0 {
			return false, denied("/access/groups, " + joined)
		}
		for _, g := range groups {
			if !c.acl.HasAny(user, "/access/groups/"+g, privs...) {
				return false, denied("/access/groups/" + g + ", " + joined)
			}
		}
	}
	if existing {
		u, _ := c.acl.User(target)
		for _, g := range u.Groups {
			if c.acl.HasAny(user, "/access/groups/"+g, privs...) {
				return true, nil
			}
		}
		if noerr {
			return false, nil
		}
		return false, denied("")
	}
	return true, nil
}

// checkPermModify is check_perm_modify.
func (c *Cluster) checkPermModify(user, path string) *apiError {
	if path == "" {
		if err := c.acl.Check(user, "/access", "Permissions.Modify"); err != nil {
			return apiErr(err)
		}
		return nil
	}
	privs := []string{"Permissions.Modify"}
	switch {
	case strings.HasPrefix(path, "/storage/"):
		privs = append(privs, "Datastore.Allocate")
	case strings.HasPrefix(path, "/vms/"):
		privs = append(privs, "VM.Allocate")
	case strings.HasPrefix(path, "/pool/"):
		privs = append(privs, "Pool.Allocate")
	}
	if err := c.acl.CheckAny(user, path, privs...); err != nil {
		return apiErr(err)
	}
	return nil
}

// templateReplace is PVE::Tools::template_replace: {name} becomes the
// parameter's value ("" if absent).
func templateReplace(tmpl string, params map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "{")
		if i < 0 {
			break
		}
		j := strings.Index(tmpl[i:], "}")
		if j < 0 {
			break
		}
		b.WriteString(tmpl[:i])
		b.WriteString(params[tmpl[i+1:i+j]])
		tmpl = tmpl[i+j+1:]
	}
	b.WriteString(tmpl)
	return b.String()
}

func strs(v any) []string {
	list := v.([]any)
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x.(string)
	}
	return out
}

func options(kv []any) map[string]any {
	out := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// vmPerm is check_vm_perm without a pool: privs on /vms/<vmid>.
func (c *Cluster) vmPerm(user string, vmid int, privs ...string) *apiError {
	if err := c.acl.Check(user, "/vms/"+vmidStr(vmid), privs...); err != nil {
		return apiErr(err)
	}
	return nil
}

// can reports whether user holds every one of privs on path.
func (c *Cluster) can(user, path string, privs ...string) bool {
	return c.acl.Has(user, path, privs...)
}

// configPrivs is what a config write needs at least one of; the handler
// then checks each key's own (checkConfigKeys).
var configPrivs = []string{"VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Memory",
	"VM.Config.Network", "VM.Config.HWType", "VM.Config.Options", "VM.Config.Cloudinit"}

// checkTaskAccess is read_task_status/log's check: the task's owner (a
// user also owns its tokens' tasks), else Sys.Audit on /nodes/<node>.
func (c *Cluster) checkTaskAccess(user, taskUser, node string) *apiError {
	if ownsTask(user, taskUser) {
		return nil
	}
	return c.checkPath(user, "/nodes/"+node, "Sys.Audit")
}

// ownsTask is Tasks.pm's check_task_user: the task's user or token.
func ownsTask(user, taskUser string) bool {
	owner, _, _ := strings.Cut(taskUser, "!")
	return user == taskUser || user == owner
}
