package pvesim

import (
	"fmt"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// newAccessStore builds user.cfg from the configuration. It panics on a
// configuration PVE would refuse, like New's other checks of its input.
func newAccessStore(cfg Config) *access.Store {
	s := access.New()
	ensureUser := func(id string) {
		if !s.UserExists(id) {
			must(s.AddUser(access.User{ID: id, Enable: true}))
		}
	}
	for _, id := range sortedKeys(cfg.Users) {
		ensureUser(id)
		must(s.SetPassword(id, cfg.Users[id]))
	}
	for _, id := range sortedKeys(cfg.Tokens) {
		user, name, ok := access.SplitTokenID(id)
		if !ok {
			panic(fmt.Sprintf("pvesim: token %q: want user@realm!name", id))
		}
		ensureUser(user)
		_, err := s.AddToken(user, name, false, "", cfg.Tokens[id])
		must(err)
	}
	for _, r := range sortedKeys(cfg.Roles) {
		must(s.AddRole(r, cfg.Roles[r]))
	}
	for _, t := range cfg.PrivsepTokens {
		must(ProvisionPrivsepToken(s, t))
	}
	return s
}

// ProvisionPrivsepToken creates t's user (if missing) and its
// privilege-separated token, and grants t.Role on / to both, as
//
//	pveum acl modify / --users USER --roles ROLE
//	pveum acl modify / --tokens 'USER!NAME' --roles ROLE
func ProvisionPrivsepToken(s *access.Store, t PrivsepToken) error {
	user, name, ok := access.SplitTokenID(t.ID)
	if !ok {
		return fmt.Errorf("token %q: want user@realm!name", t.ID)
	}
	if !s.UserExists(user) {
		if err := s.AddUser(access.User{ID: user, Enable: true}); err != nil {
			return err
		}
	}
	if _, err := s.AddToken(user, name, true, "", t.Secret); err != nil {
		return err
	}
	if err := s.SetACL(access.Root, access.ACLUpdate{Path: "/", Roles: []string{t.Role}, Users: []string{user}, Propagate: true}); err != nil {
		return err
	}
	return s.SetACL(access.Root, access.ACLUpdate{Path: "/", Roles: []string{t.Role}, Tokens: []string{t.ID}, Propagate: true})
}

// Access is the cluster's user.cfg, for tests and tools that set up
// users, roles and ACLs in-process.
func (c *Cluster) Access() *access.Store { return c.acl }

func must(err error) {
	if err != nil {
		panic("pvesim: " + err.Error())
	}
}
