package pvesim

import (
	"fmt"
	"regexp"
	"unicode/utf8"
)

// The user.cfg formats of pve-access-control (PVE::Auth::Plugin,
// PVE::AccessControl) and pve-common's email, with their texts.

const (
	userNameRe  = `[^\s:/]+`
	groupNameRe = `[A-Za-z0-9\.\-_]+`
	// emailUserRe is ParseUtils' EMAIL_USER_RE; Perl's \w is Unicode.
	emailUserRe = `[\p{L}\p{M}\p{N}\p{Pc}\+\-\~]+(\.[\p{L}\p{M}\p{N}\p{Pc}\+\-\~]+)*`
)

var (
	userIDFormatRe  = regexp.MustCompile(`^(` + userNameRe + `)\@(` + realmRe + `)$`)
	tokenIDFormatRe = regexp.MustCompile(`^((` + userNameRe + `)\@(` + realmRe + `))!(` + tokenNameRe + `)$`)
	groupNameFmtRe  = regexp.MustCompile(`^` + groupNameRe + `$`)
	roleNameFmtRe   = regexp.MustCompile(`^[A-Za-z0-9\.\-_]+$`)
	emailFmtRe      = regexp.MustCompile(`^` + emailUserRe + `@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*$`)
)

// fmtUserID is pve-userid (verify_username): 3 to 64 characters,
// user@realm.
func fmtUserID(v string) error {
	switch n := utf8.RuneCountInString(v); {
	case n < 3:
		return fmt.Errorf("user name '%s' is too short", v)
	case n > 64:
		return fmt.Errorf("user name '%s' is too long (%d > 64)", v, n)
	}
	if !userIDFormatRe.MatchString(v) {
		return fmt.Errorf("value '%s' does not look like a valid user name", v)
	}
	return nil
}

// fmtTokenID is pve-tokenid: user@realm!name.
func fmtTokenID(v string) error {
	if !tokenIDFormatRe.MatchString(v) {
		return fmt.Errorf("value '%s' does not look like a valid token ID", v)
	}
	return nil
}

func fmtGroupID(v string) error {
	if !groupNameFmtRe.MatchString(v) {
		return fmt.Errorf("group name '%s' contains invalid characters", v)
	}
	return nil
}

func fmtRoleID(v string) error {
	if !roleNameFmtRe.MatchString(v) {
		return fmt.Errorf("role name '%s' contains invalid characters", v)
	}
	return nil
}

func fmtEmail(v string) error {
	if !emailFmtRe.MatchString(v) {
		return fmt.Errorf("value does not look like a valid email address")
	}
	return nil
}
