package access

import (
	"sort"
	"strings"
)

// Role is a role and its privileges; Special marks PVE's built-in ones.
type Role struct {
	ID      string
	Privs   []string
	Special bool
}

func (s *Store) role(id string) (privSet, bool) {
	if p, ok := builtinRoles[id]; ok {
		return p, true
	}
	p, ok := s.roles[id]
	return p, ok
}

// Roles lists built-in and custom roles, sorted by ID.
func (s *Store) Roles() []Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Role
	for id, p := range builtinRoles {
		out = append(out, Role{ID: id, Privs: p.sorted(), Special: true})
	}
	for id, p := range s.roles {
		out = append(out, Role{ID: id, Privs: p.sorted()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// GetRole returns one role.
func (s *Store) GetRole(id string) (Role, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.role(id)
	if !ok {
		return Role{}, badRequest("role '%s' does not exist", id)
	}
	_, special := builtinRoles[id]
	return Role{ID: id, Privs: p.sorted(), Special: special}, nil
}

func parsePrivs(list []string) (privSet, error) {
	out := privSet{}
	for _, p := range list {
		if !validPrivs[p] {
			return nil, badRequest("invalid privilege '%s'", p)
		}
		out[p] = true
	}
	return out, nil
}

// AddRole creates a custom role (pveum role add).
func (s *Store) AddRole(id string, privs []string) error {
	if !roleIDRe.MatchString(id) {
		return paramErr("roleid", "invalid format - value does not look like a valid role ID")
	}
	if strings.HasPrefix(id, "PVE") {
		return paramErr("roleid", "cannot use role ID starting with 'PVE'")
	}
	set, err := parsePrivs(privs)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.role(id); ok {
		return badRequest("role '%s' already exists", id)
	}
	s.roles[id] = set
	return nil
}

// UpdateRole replaces (or, with add, extends) a custom role's privileges.
func (s *Store) UpdateRole(id string, privs []string, add bool) error {
	set, err := parsePrivs(privs)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, special := builtinRoles[id]; special {
		return badRequest("auto-generated role '%s' cannot be modified", id)
	}
	cur, ok := s.roles[id]
	if !ok {
		return badRequest("role '%s' does not exist", id)
	}
	if add {
		for p := range cur {
			set[p] = true
		}
	}
	s.roles[id] = set
	return nil
}

// DeleteRole removes a custom role and the ACL entries using it.
func (s *Store) DeleteRole(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, special := builtinRoles[id]; special {
		return badRequest("auto-generated role '%s' cannot be deleted", id)
	}
	if _, ok := s.roles[id]; !ok {
		return badRequest("role '%s' does not exist", id)
	}
	delete(s.roles, id)
	for p, entries := range s.acl {
		kept := entries[:0]
		for _, e := range entries {
			if e.Role != id {
				kept = append(kept, e)
			}
		}
		s.acl[p] = kept
	}
	return nil
}

// ACLUpdate is PUT /access/acl: roles granted to (or, with Delete,
// taken from) users, groups and tokens on a path.
type ACLUpdate struct {
	Path                  string
	Roles                 []string
	Users, Groups, Tokens []string
	Propagate             bool
	Delete                bool
}

// SetACL applies an ACL update the way PVE::API2::ACL does. by is the
// caller, whose own privileges bound what a caller without
// Permissions.Modify may hand out.
func (s *Store) SetACL(by string, up ACLUpdate) error {
	if len(up.Users)+len(up.Groups)+len(up.Tokens) == 0 {
		return &Error{Status: 400, Param: "users", Message: "either 'users', 'groups' or 'tokens' is required."}
	}
	path := NormalizePath(up.Path)
	if path == "" || (!up.Delete && !validACLPath(path)) {
		return paramErr("path", "invalid ACL path '%s'", up.Path)
	}
	mine := s.Permissions(by, path)
	s.mu.Lock()
	defer s.mu.Unlock()
	verb := "add"
	if up.Delete {
		verb = "remove"
	}
	for _, role := range up.Roles {
		privs, ok := s.role(role)
		if !ok {
			return badRequest("role '%s' does not exist", role)
		}
		if !mine["Permissions.Modify"] {
			for p := range privs {
				if !mine[p] {
					return paramErr("role", "Cannot %s role '%s' - requires 'Permissions.Modify' or superset of privileges.", verb, role)
				}
			}
			if role == "NoAccess" {
				return paramErr("role", "Cannot %s role '%s' - requires 'Permissions.Modify'", verb, role)
			}
		}
		apply := func(kind, id string) {
			entries := s.acl[path]
			kept := entries[:0]
			for _, e := range entries {
				if !(e.Kind == kind && e.UGID == id && e.Role == role) {
					kept = append(kept, e)
				}
			}
			if !up.Delete {
				kept = append(kept, ACE{Path: path, Kind: kind, UGID: id, Role: role, Propagate: up.Propagate})
			}
			s.acl[path] = kept
		}
		for _, g := range up.Groups {
			if s.groups[g] == nil {
				return badRequest("group '%s' does not exist", g)
			}
			apply("group", g)
		}
		for _, u := range up.Users {
			if s.users[u] == nil {
				return badRequest("user '%s' does not exist", u)
			}
			apply("user", u)
		}
		for _, t := range up.Tokens {
			user, name, ok := SplitTokenID(t)
			if !ok || s.token(user, name) == nil {
				return badRequest("no such token '%s' for user '%s'", name, user)
			}
			apply("token", t)
		}
	}
	return nil
}

// validACLPath is check_path, for the path kinds a simulator serves.
func validACLPath(p string) bool {
	if p == "/" {
		return true
	}
	for _, prefix := range []string{"/access", "/nodes", "/pool", "/sdn", "/storage", "/vms", "/mapping"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// ACL lists every entry, sorted by path, kind, id and role.
func (s *Store) ACL() []ACE {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ACE
	for _, entries := range s.acl {
		out = append(out, entries...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.UGID != b.UGID {
			return a.UGID < b.UGID
		}
		return a.Role < b.Role
	})
	return out
}
