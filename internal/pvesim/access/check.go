package access

import (
	"sort"
	"strings"
)

// rolesOn is AccessControl::roles for a user or a privsep token: walking
// from / to path, the most specific node that grants the subject anything
// wins. On each node a token's own entries come first, then the user's,
// then its groups'; entries above the final node count only if they
// propagate. NoAccess anywhere in the winning set clears everything.
func (s *Store) rolesOn(subject, path string) map[string]bool {
	var roles map[string]bool
	user := subject
	if u, _, ok := SplitTokenID(subject); ok {
		user = u
	}
	for _, node := range pathChain(path) {
		final := node == path
		var tokenRoles, userRoles, groupRoles map[string]bool
		for _, e := range s.acl[node] {
			if !final && !e.Propagate {
				continue
			}
			switch {
			case e.Kind == "token" && e.UGID == subject:
				tokenRoles = addRole(tokenRoles, e.Role)
			case e.Kind == "user" && e.UGID == subject:
				userRoles = addRole(userRoles, e.Role)
			case e.Kind == "group" && subject == user && s.groups[e.UGID][user]:
				groupRoles = addRole(groupRoles, e.Role)
			}
		}
		switch {
		case tokenRoles != nil:
			roles = tokenRoles
		case userRoles != nil:
			roles = userRoles
		case groupRoles != nil:
			roles = groupRoles
		}
	}
	if roles["NoAccess"] {
		return map[string]bool{"NoAccess": true}
	}
	return roles
}

func addRole(m map[string]bool, role string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[role] = true
	return m
}

// pathChain is "/", "/a", "/a/b" for "/a/b".
func pathChain(path string) []string {
	out := []string{"/"}
	if path == "/" {
		return out
	}
	cur := ""
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		cur += "/" + seg
		out = append(out, cur)
	}
	return out
}

// Permissions is RPCEnvironment::permissions: the privileges authid (a
// user or a token ID) holds on path. root@pam holds every privilege; a
// token without privilege separation holds its user's; a privsep token
// holds what its own ACLs grant that its user also holds.
func (s *Store) Permissions(authid, path string) map[string]bool {
	if authid == Root {
		return validPrivs.clone()
	}
	path = NormalizePath(path)
	if path == "" {
		return map[string]bool{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.permissions(authid, path)
}

func (s *Store) permissions(authid, path string) privSet {
	if authid == Root {
		return validPrivs.clone()
	}
	if user, name, ok := SplitTokenID(authid); ok {
		t := s.token(user, name)
		if t == nil {
			return privSet{}
		}
		userPrivs := s.permissions(user, path)
		if !t.Privsep {
			return userPrivs
		}
		own := s.privsOf(s.rolesOn(authid, path))
		for p := range own {
			if !userPrivs[p] {
				delete(own, p)
			}
		}
		return own
	}
	if _, ok := s.users[authid]; !ok {
		return privSet{}
	}
	return s.privsOf(s.rolesOn(authid, path))
}

func (s *Store) privsOf(roles map[string]bool) privSet {
	out := privSet{}
	for r := range roles {
		if p, ok := s.role(r); ok {
			for priv := range p {
				out[priv] = true
			}
		}
	}
	return out
}

// Check is RPCEnvironment::check: every privilege, or 403 naming the
// path and the first one missing.
func (s *Store) Check(authid, path string, privs ...string) error {
	have := s.Permissions(authid, path)
	for _, p := range privs {
		if !have[p] {
			return Denied(NormalizePath(path) + ", " + p)
		}
	}
	return nil
}

// CheckAny is RPCEnvironment::check_any: one of privs, or 403 naming the
// path and all of them joined by "|".
func (s *Store) CheckAny(authid, path string, privs ...string) error {
	have := s.Permissions(authid, path)
	for _, p := range privs {
		if have[p] {
			return nil
		}
	}
	return Denied(NormalizePath(path) + ", " + strings.Join(privs, "|"))
}

// Has reports whether authid holds every one of privs on path.
func (s *Store) Has(authid, path string, privs ...string) bool {
	return s.Check(authid, path, privs...) == nil
}

// HasAny reports whether authid holds one of privs on path.
func (s *Store) HasAny(authid, path string, privs ...string) bool {
	return s.CheckAny(authid, path, privs...) == nil
}

// CheckSDNBridge is check_sdn_bridge: privs on the bridge/vnet itself,
// or on one of its VLANs that has an ACL node.
func (s *Store) CheckSDNBridge(authid, zone, bridge string, privs ...string) error {
	path := "/sdn/zones/" + zone + "/" + bridge
	if s.HasAny(authid, path, privs...) {
		return nil
	}
	s.mu.Lock()
	var vlans []string
	for p := range s.acl {
		if rest, ok := strings.CutPrefix(p, path+"/"); ok && !strings.Contains(rest, "/") {
			vlans = append(vlans, p)
		}
	}
	s.mu.Unlock()
	sort.Strings(vlans)
	for _, v := range vlans {
		if s.HasAny(authid, v, privs...) {
			return nil
		}
	}
	return s.CheckAny(authid, path, privs...)
}

// EffectivePermissions is get_effective_permissions: per path of interest
// (the top-level ones and every path with an ACL), what authid holds
// there, leaving out paths where it holds nothing.
func (s *Store) EffectivePermissions(authid string) map[string][]string {
	paths := map[string]bool{"/": true, "/access": true, "/access/groups": true, "/nodes": true,
		"/pool": true, "/sdn": true, "/storage": true, "/vms": true}
	s.mu.Lock()
	for p, entries := range s.acl {
		if len(entries) > 0 {
			paths[p] = true
		}
	}
	s.mu.Unlock()
	out := map[string][]string{}
	for p := range paths {
		if privs := s.Permissions(authid, p); len(privs) > 0 {
			out[p] = privSet(privs).sorted()
		}
	}
	return out
}
