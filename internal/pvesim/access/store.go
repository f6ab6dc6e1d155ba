package access

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Root is PVE's superuser: every check passes for it.
const Root = "root@pam"

var (
	userIDRe  = regexp.MustCompile(`^([^\s:/@!]{1,60})@([A-Za-z][A-Za-z0-9.\-_]{1,31})$`)
	tokenIDRe = regexp.MustCompile(`^([^\s:!@]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$`)
	tokenName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.\-_]+$`)
	roleIDRe  = regexp.MustCompile(`^[A-Za-z0-9.\-_]+$`)
	groupIDRe = regexp.MustCompile(`^[A-Za-z0-9.\-_]+$`)
	aclPathRe = regexp.MustCompile(`^[[:alnum:].\-_/]+$`)
)

// User is one entry of user.cfg.
type User struct {
	ID        string
	Password  string // pve realm, or a simulated pam password
	Comment   string
	Email     string
	FirstName string
	LastName  string
	Enable    bool
	Expire    int64
	Groups    []string
	Tokens    map[string]*Token
}

// Token is an API token of a user.
type Token struct {
	Name    string
	Secret  string
	Privsep bool
	Comment string
	Expire  int64
}

// ACE is one ACL entry: Kind is "user", "group" or "token".
type ACE struct {
	Path      string
	Kind      string
	UGID      string
	Role      string
	Propagate bool
}

// Store holds one cluster's user.cfg. It is safe for concurrent use.
type Store struct {
	mu            sync.Mutex
	users         map[string]*User
	groups        map[string]map[string]bool // group -> members
	groupComments map[string]string
	roles         map[string]privSet // custom roles
	acl           map[string][]ACE   // by normalized path
}

// New returns a store holding root@pam, as every PVE installation does.
func New() *Store {
	s := &Store{
		users:         map[string]*User{},
		groups:        map[string]map[string]bool{},
		groupComments: map[string]string{},
		roles:         map[string]privSet{},
		acl:           map[string][]ACE{},
	}
	s.users[Root] = &User{ID: Root, Enable: true, Tokens: map[string]*Token{}}
	return s
}

// Error is a PVE API error: a status and PVE's message.
type Error struct {
	Status  int
	Message string
	Param   string // set for parameter errors (400 with errors.{param})
}

func (e *Error) Error() string { return e.Message }

// Denied is raise_perm_exc: 403 "Permission check failed (what)".
func Denied(what string) *Error {
	msg := "Permission check failed"
	if what != "" {
		msg += " (" + what + ")"
	}
	return &Error{Status: 403, Message: msg}
}

func badRequest(format string, args ...any) *Error {
	return &Error{Status: 500, Message: fmt.Sprintf(format, args...)}
}

func paramErr(param, format string, args ...any) *Error {
	return &Error{Status: 400, Param: param, Message: fmt.Sprintf(format, args...)}
}

// SplitTokenID splits "user@realm!name"; ok is false for a plain user.
func SplitTokenID(id string) (user, name string, ok bool) {
	m := tokenIDRe.FindStringSubmatch(id)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// NormalizePath is normalize_path: collapsed and trailing slashes go,
// a leading one is added; "" if the path has characters PVE refuses.
func NormalizePath(p string) string {
	if p == "" {
		return ""
	}
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		p = "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !aclPathRe.MatchString(p) {
		return ""
	}
	return p
}

func checkRealm(userid string) *Error {
	m := userIDRe.FindStringSubmatch(userid)
	if m == nil {
		return paramErr("userid", "value '%s' does not look like a valid user name", userid)
	}
	if m[2] != "pam" && m[2] != "pve" {
		return paramErr("userid", "domain '%s' does not exist", m[2])
	}
	return nil
}

// AddUser creates a user of the pam or pve realm.
func (s *Store) AddUser(u User) error {
	if err := checkRealm(u.ID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return badRequest("create user failed: user '%s' already exists", u.ID)
	}
	for _, g := range u.Groups {
		if s.groups[g] == nil {
			return badRequest("create user failed: no such group '%s'", g)
		}
	}
	nu := u
	nu.Tokens = map[string]*Token{}
	nu.Groups = append([]string(nil), u.Groups...)
	s.users[u.ID] = &nu
	for _, g := range u.Groups {
		s.groups[g][u.ID] = true
	}
	return nil
}

// UserUpdate is PUT /access/users/{userid}: nil fields stay.
type UserUpdate struct {
	Comment, Email, FirstName, LastName *string
	Enable                              *bool
	Expire                              *int64
	Groups                              *[]string
	Append                              bool
}

// UpdateUser changes a user's fields.
func (s *Store) UpdateUser(id string, up UserUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return badRequest("update user failed: no such user '%s'", id)
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.Comment, up.Comment)
	set(&u.Email, up.Email)
	set(&u.FirstName, up.FirstName)
	set(&u.LastName, up.LastName)
	if up.Enable != nil {
		u.Enable = *up.Enable
	}
	if up.Expire != nil {
		u.Expire = *up.Expire
	}
	if up.Groups != nil {
		for _, g := range *up.Groups {
			if s.groups[g] == nil {
				return badRequest("update user failed: no such group '%s'", g)
			}
		}
		if !up.Append {
			for _, g := range u.Groups {
				delete(s.groups[g], id)
			}
			u.Groups = nil
		}
		for _, g := range *up.Groups {
			if !s.groups[g][id] {
				s.groups[g][id] = true
				u.Groups = append(u.Groups, g)
			}
		}
	}
	return nil
}

// DeleteUser removes a user, its tokens and every ACL entry naming them.
func (s *Store) DeleteUser(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return badRequest("delete user failed: no such user '%s'", id)
	}
	for _, g := range u.Groups {
		delete(s.groups[g], id)
	}
	delete(s.users, id)
	for p, entries := range s.acl {
		kept := entries[:0]
		for _, e := range entries {
			if (e.Kind == "user" && e.UGID == id) || (e.Kind == "token" && strings.HasPrefix(e.UGID, id+"!")) {
				continue
			}
			kept = append(kept, e)
		}
		s.acl[p] = kept
	}
	return nil
}

// User returns a copy of a user (tokens included).
func (s *Store) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return copyUser(u), true
}

func copyUser(u *User) User {
	c := *u
	c.Groups = append([]string(nil), u.Groups...)
	c.Tokens = map[string]*Token{}
	for k, t := range u.Tokens {
		tc := *t
		c.Tokens[k] = &tc
	}
	return c
}

// Users lists every user sorted by ID.
func (s *Store) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, copyUser(u))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Group is a group and its members.
type Group struct {
	ID, Comment string
	Members     []string
}

// AddGroup creates an empty group.
func (s *Store) AddGroup(name, comment string) error {
	if !groupIDRe.MatchString(name) {
		return paramErr("groupid", "invalid format - value does not look like a valid group ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[name] != nil {
		return badRequest("create group failed: group '%s' already exists", name)
	}
	s.groups[name] = map[string]bool{}
	s.groupComments[name] = comment
	return nil
}

// Groups lists the groups sorted by ID, members sorted.
func (s *Store) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.groups))
	for id, members := range s.groups {
		g := Group{ID: id, Comment: s.groupComments[id], Members: []string{}}
		for u := range members {
			g.Members = append(g.Members, u)
		}
		sort.Strings(g.Members)
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// DeleteGroup removes a group, its memberships and its ACL entries.
func (s *Store) DeleteGroup(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[name] == nil {
		return badRequest("delete group failed: group '%s' does not exist", name)
	}
	for u := range s.groups[name] {
		if user := s.users[u]; user != nil {
			user.Groups = slices.DeleteFunc(user.Groups, func(g string) bool { return g == name })
		}
	}
	delete(s.groups, name)
	delete(s.groupComments, name)
	for p, entries := range s.acl {
		s.acl[p] = slices.DeleteFunc(entries, func(e ACE) bool { return e.Kind == "group" && e.UGID == name })
	}
	return nil
}

// AddToken creates a token; an empty secret draws a random UUID-shaped
// one, as PVE does. It returns the secret, shown only here.
func (s *Store) AddToken(userid, name string, privsep bool, comment, secret string) (string, error) {
	if !tokenName.MatchString(name) {
		return "", paramErr("tokenid", "invalid format - invalid token ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userid]
	if !ok {
		return "", badRequest("no such user ('%s')", userid)
	}
	if _, dup := u.Tokens[name]; dup {
		return "", badRequest("Token already exists.")
	}
	if secret == "" {
		secret = newUUID()
	}
	u.Tokens[name] = &Token{Name: name, Secret: secret, Privsep: privsep, Comment: comment}
	return secret, nil
}

// UpdateToken changes a token's privsep flag and comment (nil: keep).
func (s *Store) UpdateToken(userid, name string, privsep *bool, comment *string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.token(userid, name)
	if t == nil {
		return badRequest("no such token '%s' for user '%s'", name, userid)
	}
	if privsep != nil {
		t.Privsep = *privsep
	}
	if comment != nil {
		t.Comment = *comment
	}
	return nil
}

// SetTokenExpire sets a token's expiry (seconds since the epoch, 0: never).
func (s *Store) SetTokenExpire(userid, name string, expire int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.token(userid, name)
	if t == nil {
		return badRequest("no such token '%s' for user '%s'", name, userid)
	}
	t.Expire = expire
	return nil
}

// DeleteToken removes a token and its ACL entries.
func (s *Store) DeleteToken(userid, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token(userid, name) == nil {
		return badRequest("no such token '%s' for user '%s'", name, userid)
	}
	delete(s.users[userid].Tokens, name)
	id := userid + "!" + name
	for p, entries := range s.acl {
		kept := entries[:0]
		for _, e := range entries {
			if !(e.Kind == "token" && e.UGID == id) {
				kept = append(kept, e)
			}
		}
		s.acl[p] = kept
	}
	return nil
}

func (s *Store) token(userid, name string) *Token {
	if u, ok := s.users[userid]; ok {
		return u.Tokens[name]
	}
	return nil
}

// UserExists reports whether userid is in user.cfg.
func (s *Store) UserExists(userid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.users[userid]
	return ok
}

// VerifyToken checks "user@realm!name" and its secret with pveproxy's
// messages; it returns the token ID as the caller's identity.
func (s *Store) VerifyToken(tokenID, secret string, eq func(a, b string) bool) (string, error) {
	user, name, ok := SplitTokenID(tokenID)
	if !ok {
		return "", badRequest("'%s' is not a valid token ID", tokenID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, known := s.users[user]
	if !known {
		return "", badRequest("no such user ('%s')", user)
	}
	now := time.Now().Unix()
	if !u.Enable {
		return "", badRequest("user '%s' is disabled", user)
	}
	if u.Expire != 0 && u.Expire < now {
		return "", badRequest("user '%s' access expired", user)
	}
	t := u.Tokens[name]
	if t == nil {
		return "", badRequest("no such token '%s' for user '%s'", name, user)
	}
	if t.Expire != 0 && t.Expire < now {
		return "", badRequest("token '%s' access expired", name)
	}
	if !eq(t.Secret, secret) {
		return "", badRequest("invalid token value!")
	}
	return tokenID, nil
}

// VerifyPassword checks a user's password (the pam realm is simulated by
// the same table).
func (s *Store) VerifyPassword(userid, password string, eq func(a, b string) bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userid]
	return ok && u.Enable && (u.Expire == 0 || u.Expire >= time.Now().Unix()) && u.Password != "" && eq(u.Password, password)
}

// SetPassword sets a user's password.
func (s *Store) SetPassword(userid, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userid]
	if !ok {
		return badRequest("no such user ('%s')", userid)
	}
	u.Password = password
	return nil
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
