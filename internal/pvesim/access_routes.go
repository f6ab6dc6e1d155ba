package pvesim

import (
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/internal/perlre"
)

// The realm and token name regexes of PVE::Auth::Plugin and
// PVE::AccessControl, as the schema prints them.
const (
	realmRe     = `[A-Za-z][A-Za-z0-9\.\-_]+`
	tokenNameRe = realmRe
)

// accessAdminRoutes is enough of /access to set users, tokens, roles and
// ACLs up through the API, as pveum does.
func accessAdminRoutes() []route {
	// Patterns are the schema's, in Go's spelling (perlre.ToGo).
	userid := strP("userid").maxLen(64)
	tokenid := strP("tokenid").matching(`(?:` + tokenNameRe + `)`)
	roleid := strP("roleid")
	userFields := []Param{
		strP("comment").opt().maxLen(2048), strP("email").opt().maxLen(254), boolP("enable").opt(),
		intP("expire").opt().atLeast(0), strP("firstname").opt().maxLen(1024), strP("groups").opt(),
		strP("keys").opt().matching(perlre.ToGo(`[0-9a-zA-Z!=]{0,4096}`)), strP("lastname").opt().maxLen(1024),
	}
	tokenFields := []Param{strP("comment").opt(), intP("expire").opt().atLeast(0), boolP("privsep").opt()}
	userModify := []any{"userid-group", privList([]string{"User.Modify"})}
	selfOrModify := checked(oneOf([]any{"userid-param", "self"}, userModify))
	sysModify := checked(needs("/access", "Sys.Modify"))
	return []route{
		{method: "GET", path: "/access/users", params: []Param{boolP("enabled").opt(), boolP("full").opt()},
			handle: (*Cluster).listUsers, perm: permAll},
		{method: "POST", path: "/access/users", params: withParams(userFields, userid, strP("password").opt().minLen(8).maxLen(64)),
			handle: (*Cluster).createUser,
			perm: checked(allOf([]any{"userid-param", "Realm.AllocateUser"},
				[]any{"userid-group", privList([]string{"User.Modify"}), "groups_param", "create"}))},
		{method: "GET", path: "/access/users/{userid}", params: []Param{userid}, handle: (*Cluster).readUser,
			perm: checked([]any{"userid-group", privList([]string{"User.Modify", "Sys.Audit"})})},
		{method: "PUT", path: "/access/users/{userid}", params: withParams(userFields, userid, boolP("append").opt()),
			handle: (*Cluster).updateUser,
			perm:   checked([]any{"userid-group", privList([]string{"User.Modify"}), "groups_param", "update"})},
		{method: "DELETE", path: "/access/users/{userid}", params: []Param{userid}, handle: (*Cluster).deleteUser,
			perm: checked(allOf([]any{"userid-param", "Realm.AllocateUser"}, userModify))},
		{method: "GET", path: "/access/users/{userid}/token", params: []Param{userid}, handle: (*Cluster).listTokens, perm: selfOrModify},
		{method: "GET", path: "/access/users/{userid}/token/{tokenid}", params: []Param{userid, tokenid}, handle: (*Cluster).readToken, perm: selfOrModify},
		{method: "POST", path: "/access/users/{userid}/token/{tokenid}", params: withParams(tokenFields, userid, tokenid),
			handle: (*Cluster).createToken, perm: selfOrModify},
		{method: "PUT", path: "/access/users/{userid}/token/{tokenid}", params: withParams(tokenFields, userid, tokenid, strP("delete").opt()),
			handle: (*Cluster).updateToken, perm: selfOrModify},
		{method: "DELETE", path: "/access/users/{userid}/token/{tokenid}", params: []Param{userid, tokenid}, handle: (*Cluster).deleteToken, perm: selfOrModify},
		{method: "GET", path: "/access/groups", handle: (*Cluster).listGroups, perm: permAll},
		{method: "POST", path: "/access/groups", params: []Param{strP("groupid"), strP("comment").opt()},
			handle: (*Cluster).createGroup, perm: checked(needs("/access/groups", "Group.Allocate"))},
		{method: "GET", path: "/access/groups/{groupid}", params: []Param{strP("groupid")},
			handle: (*Cluster).readGroup, perm: checked(needsAny("/access/groups", "Sys.Audit", "Group.Allocate"))},
		{method: "DELETE", path: "/access/groups/{groupid}", params: []Param{strP("groupid")},
			handle: (*Cluster).deleteGroup, perm: checked(needs("/access/groups", "Group.Allocate"))},
		{method: "GET", path: "/access/roles", handle: (*Cluster).listRoles, perm: permAll},
		{method: "POST", path: "/access/roles", params: []Param{roleid, strP("privs").opt()}, handle: (*Cluster).createRole, perm: sysModify},
		{method: "GET", path: "/access/roles/{roleid}", params: []Param{roleid}, handle: (*Cluster).readRole, perm: permAll},
		{method: "PUT", path: "/access/roles/{roleid}", params: []Param{roleid, strP("privs").opt(), boolP("append").opt()},
			handle: (*Cluster).updateRole, perm: sysModify},
		{method: "DELETE", path: "/access/roles/{roleid}", params: []Param{roleid}, handle: (*Cluster).deleteRole, perm: sysModify},
		{method: "GET", path: "/access/acl", handle: (*Cluster).listACL, perm: permAll},
		{method: "PUT", path: "/access/acl",
			params: []Param{strP("path"), strP("roles"), boolP("delete").opt(), strP("groups").opt(), boolP("propagate").opt(),
				strP("tokens").opt(), strP("users").opt()},
			handle: (*Cluster).updateACL, perm: checked([]any{"perm-modify", "{path}"})},
		{method: "GET", path: "/access/permissions", params: []Param{strP("path").opt(), strP("userid").opt().matching(`(?:^(?:[^\s:/]+)\@(?:` + realmRe + `)(?:!(?:` + tokenNameRe + `))?$)`)},
			handle: (*Cluster).permissionsOf, perm: permAll},
	}
}

func tokenInfo(t *access.Token) map[string]any {
	out := map[string]any{"privsep": boolNum(t.Privsep), "expire": t.Expire}
	if t.Comment != "" {
		out["comment"] = t.Comment
	}
	return out
}

func userEntry(u access.User) map[string]any {
	out := map[string]any{"enable": boolNum(u.Enable), "expire": u.Expire}
	for k, v := range map[string]string{"comment": u.Comment, "email": u.Email, "firstname": u.FirstName, "lastname": u.LastName} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// listUsers shows the users whose groups the caller may audit or modify,
// and always the caller's own user.
func (c *Cluster) listUsers(req *request) (any, error) {
	self := req.user
	if u, _, ok := access.SplitTokenID(self); ok {
		self = u
	}
	privs := []string{"User.Modify", "Sys.Audit"}
	all := c.acl.HasAny(req.user, "/access/groups", privs...)
	out := []map[string]any{}
	for _, u := range c.acl.Users() {
		visible := all || u.ID == self
		for _, g := range u.Groups {
			visible = visible || c.acl.HasAny(req.user, "/access/groups/"+g, privs...)
		}
		if !visible || (req.has("enabled") && req.flag("enabled") != u.Enable) {
			continue
		}
		e := userEntry(u)
		e["userid"] = u.ID
		_, realm, _ := strings.Cut(u.ID, "@")
		e["realm-type"] = realm
		if len(u.Groups) > 0 {
			e["groups"] = strings.Join(u.Groups, ",")
		}
		if req.flag("full") {
			tokens := []map[string]any{}
			for _, name := range sortedKeys(u.Tokens) {
				t := tokenInfo(u.Tokens[name])
				t["tokenid"] = name
				tokens = append(tokens, t)
			}
			e["tokens"] = tokens
		}
		out = append(out, e)
	}
	return out, nil
}

func (c *Cluster) readUser(req *request) (any, error) {
	u, ok := c.acl.User(req.str("userid"))
	if !ok {
		return nil, failf("no such user ('%s')", req.str("userid"))
	}
	e := userEntry(u)
	e["groups"] = append([]string{}, u.Groups...)
	tokens := map[string]any{}
	for name, t := range u.Tokens {
		tokens[name] = tokenInfo(t)
	}
	e["tokens"] = tokens
	return e, nil
}

func (c *Cluster) createUser(req *request) (any, error) {
	u := access.User{
		ID: req.str("userid"), Password: req.str("password"), Comment: req.str("comment"), Email: req.str("email"),
		FirstName: req.str("firstname"), LastName: req.str("lastname"), Enable: !req.has("enable") || req.flag("enable"),
		Expire: req.num("expire", 0), Groups: splitList(req.str("groups")),
	}
	if err := c.acl.AddUser(u); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}

func optStr(req *request, key string) *string {
	if !req.has(key) {
		return nil
	}
	v := req.str(key)
	return &v
}

func (c *Cluster) updateUser(req *request) (any, error) {
	up := access.UserUpdate{Comment: optStr(req, "comment"), Email: optStr(req, "email"),
		FirstName: optStr(req, "firstname"), LastName: optStr(req, "lastname"), Append: req.flag("append")}
	if req.has("enable") {
		v := req.flag("enable")
		up.Enable = &v
	}
	if req.has("expire") {
		v := req.num("expire", 0)
		up.Expire = &v
	}
	if req.has("groups") {
		g := splitList(req.str("groups"))
		up.Groups = &g
	} else if up.Append {
		return nil, paramErr("append", "missing property - 'groups' is required for 'append'")
	}
	if err := c.acl.UpdateUser(req.str("userid"), up); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}

func (c *Cluster) deleteUser(req *request) (any, error) {
	if err := c.acl.DeleteUser(req.str("userid")); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}

func (c *Cluster) userTokens(userid string) (map[string]*access.Token, *apiError) {
	u, ok := c.acl.User(userid)
	if !ok {
		return nil, failf("no such user ('%s')", userid)
	}
	return u.Tokens, nil
}

func (c *Cluster) listTokens(req *request) (any, error) {
	tokens, err := c.userTokens(req.str("userid"))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, name := range sortedKeys(tokens) {
		t := tokenInfo(tokens[name])
		t["tokenid"] = name
		out = append(out, t)
	}
	return out, nil
}

func (c *Cluster) readToken(req *request) (any, error) {
	tokens, err := c.userTokens(req.str("userid"))
	if err != nil {
		return nil, err
	}
	t := tokens[req.str("tokenid")]
	if t == nil {
		return nil, failf("no such token '%s' for user '%s'", req.str("tokenid"), req.str("userid"))
	}
	return tokenInfo(t), nil
}

// createToken answers the secret once, with the full token ID; privsep
// defaults to on, as in PVE.
func (c *Cluster) createToken(req *request) (any, error) {
	userid, name := req.str("userid"), req.str("tokenid")
	privsep := !req.has("privsep") || req.flag("privsep")
	value, err := c.acl.AddToken(userid, name, privsep, req.str("comment"), "")
	if err != nil {
		return nil, apiErr(err)
	}
	if req.has("expire") {
		_ = c.acl.SetTokenExpire(userid, name, req.num("expire", 0))
	}
	tokens, _ := c.userTokens(userid)
	return map[string]any{"full-tokenid": userid + "!" + name, "info": tokenInfo(tokens[name]), "value": value}, nil
}

func (c *Cluster) updateToken(req *request) (any, error) {
	var privsep *bool
	if req.has("privsep") {
		v := req.flag("privsep")
		privsep = &v
	}
	comment := optStr(req, "comment")
	for _, k := range splitList(req.str("delete")) {
		if k != "comment" {
			return nil, paramErr("delete", "unknown option '"+k+"'")
		}
		empty := ""
		comment = &empty
	}
	if err := c.acl.UpdateToken(req.str("userid"), req.str("tokenid"), privsep, comment); err != nil {
		return nil, apiErr(err)
	}
	if req.has("expire") {
		_ = c.acl.SetTokenExpire(req.str("userid"), req.str("tokenid"), req.num("expire", 0))
	}
	return c.readToken(req)
}

func (c *Cluster) deleteToken(req *request) (any, error) {
	if err := c.acl.DeleteToken(req.str("userid"), req.str("tokenid")); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}

func (c *Cluster) listRoles(*request) (any, error) {
	out := []map[string]any{}
	for _, r := range c.acl.Roles() {
		out = append(out, map[string]any{"roleid": r.ID, "privs": strings.Join(r.Privs, ","), "special": boolNum(r.Special)})
	}
	return out, nil
}

func (c *Cluster) readRole(req *request) (any, error) {
	r, err := c.acl.GetRole(req.str("roleid"))
	if err != nil {
		return nil, apiErr(err)
	}
	out := map[string]any{}
	for _, p := range r.Privs {
		out[p] = 1
	}
	return out, nil
}

func (c *Cluster) createRole(req *request) (any, error) {
	if err := c.acl.AddRole(req.str("roleid"), splitList(req.str("privs"))); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}

func (c *Cluster) updateRole(req *request) (any, error) {
	if err := c.acl.UpdateRole(req.str("roleid"), splitList(req.str("privs")), req.flag("append")); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}

func (c *Cluster) deleteRole(req *request) (any, error) {
	if err := c.acl.DeleteRole(req.str("roleid")); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}

// listACL shows the entries on paths whose permissions the caller may
// modify, or all of them with Sys.Audit on /access.
func (c *Cluster) listACL(req *request) (any, error) {
	audit := c.can(req.user, "/access", "Sys.Audit")
	out := []map[string]any{}
	for _, e := range c.acl.ACL() {
		if !audit && c.checkPermModify(req.user, e.Path) != nil {
			continue
		}
		out = append(out, map[string]any{"path": e.Path, "type": e.Kind, "ugid": e.UGID, "roleid": e.Role, "propagate": boolNum(e.Propagate)})
	}
	return out, nil
}

func (c *Cluster) updateACL(req *request) (any, error) {
	up := access.ACLUpdate{
		Path: req.str("path"), Roles: splitList(req.str("roles")), Users: splitList(req.str("users")),
		Groups: splitList(req.str("groups")), Tokens: splitList(req.str("tokens")),
		Propagate: !req.has("propagate") || req.flag("propagate"), Delete: req.flag("delete"),
	}
	if err := c.acl.SetACL(req.user, up); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}

// permissionsOf is GET /access/permissions: one's own privileges (or an
// owned token's), others' with Sys.Audit on /access; per path, privilege
// -> 1.
func (c *Cluster) permissionsOf(req *request) (any, error) {
	who := req.user
	if req.has("userid") {
		who = req.str("userid")
	}
	owner, _, isToken := access.SplitTokenID(who)
	if who != req.user && !(isToken && owner == req.user) {
		if err := c.acl.Check(req.user, "/access", "Sys.Audit"); err != nil {
			return nil, apiErr(err)
		}
	}
	asMap := func(privs []string) map[string]any {
		m := map[string]any{}
		for _, p := range privs {
			m[p] = 1
		}
		return m
	}
	if req.has("path") {
		path := access.NormalizePath(req.str("path"))
		have := c.acl.Permissions(who, path)
		return map[string]any{path: asMap(sortedKeys(have))}, nil
	}
	out := map[string]any{}
	for p, privs := range c.acl.EffectivePermissions(who) {
		out[p] = asMap(privs)
	}
	return out, nil
}

// listGroups shows the groups the caller may audit, modify or allocate.
func (c *Cluster) listGroups(req *request) (any, error) {
	out := []map[string]any{}
	for _, g := range c.acl.Groups() {
		if !c.acl.HasAny(req.user, "/access/groups/"+g.ID, "User.Modify", "Sys.Audit", "Group.Allocate") {
			continue
		}
		e := map[string]any{"groupid": g.ID}
		if g.Comment != "" {
			e["comment"] = g.Comment
		}
		if len(g.Members) > 0 {
			e["users"] = strings.Join(g.Members, ",")
		}
		out = append(out, e)
	}
	return out, nil
}

func (c *Cluster) createGroup(req *request) (any, error) {
	if err := c.acl.AddGroup(req.str("groupid"), req.str("comment")); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}

func (c *Cluster) readGroup(req *request) (any, error) {
	for _, g := range c.acl.Groups() {
		if g.ID == req.str("groupid") {
			out := map[string]any{"members": g.Members}
			if g.Comment != "" {
				out["comment"] = g.Comment
			}
			return out, nil
		}
	}
	return nil, failf("group '%s' does not exist", req.str("groupid"))
}

func (c *Cluster) deleteGroup(req *request) (any, error) {
	if err := c.acl.DeleteGroup(req.str("groupid")); err != nil {
		return nil, apiErr(err)
	}
	return nil, nil
}
