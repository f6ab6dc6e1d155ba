package pvesim

import "testing"

// The access formats accept what PVE accepts and refuse with its texts.
func TestAccessFormats(t *testing.T) {
	for _, tt := range []struct {
		ref, value, want string // want "" = accepted
	}{
		{"pve-userid", "ops@pve", ""},
		{"pve-userid", "a@", "user name 'a@' is too short"},
		{"pve-userid", "ops", "value 'ops' does not look like a valid user name"},
		{"pve-userid", "o:ps@pve", "value 'o:ps@pve' does not look like a valid user name"},
		{"pve-userid", "ops@1realm", "value 'ops@1realm' does not look like a valid user name"},
		{"pve-userid-list", "a@pve,b@pam", ""},
		{"pve-userid-list", "a@pve,bob", "value 'bob' does not look like a valid user name"},
		{"pve-tokenid-list", "ops@pve!ci", ""},
		{"pve-tokenid-list", "ops@pve", "value 'ops@pve' does not look like a valid token ID"},
		{"pve-tokenid-list", "ops@pve!1ci", "value 'ops@pve!1ci' does not look like a valid token ID"},
		{"pve-groupid", "admins.eu-1", ""},
		{"pve-groupid", "ad mins", "group name 'ad mins' contains invalid characters"},
		{"pve-groupid-list", "a;b", ""},
		{"pve-roleid", "PVEVMAdmin", ""},
		{"pve-roleid-list", "PVEVMAdmin,Bad/Role", "role name 'Bad/Role' contains invalid characters"},
		{"email-opt", "", ""},
		{"email-opt", "first.last+tag@example.com", ""},
		{"email-opt", "nobody", "value does not look like a valid email address"},
		{"email-opt", "a@b_c", "value does not look like a valid email address"},
	} {
		f := resolveFormat(tt.ref)
		if f == nil {
			t.Fatalf("%s does not resolve", tt.ref)
		}
		err := f(tt.value)
		if got := ""; err != nil {
			got = err.Error()
			if got != tt.want {
				t.Errorf("%s %q: %q, want %q", tt.ref, tt.value, got, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("%s %q accepted, want %q", tt.ref, tt.value, tt.want)
		}
	}
	// Through the API the failure is a parameter error.
	s := startSim(t, testConfig())
	r := s.jcall(t, "POST", "/access/users", map[string]any{"userid": "ops@pve", "email": "nobody"})
	if r.status != 400 || r.errors()["email"] != "invalid format - value does not look like a valid email address" {
		t.Errorf("POST /access/users email=nobody: %d %v", r.status, r.errors())
	}
	r = s.jcall(t, "POST", "/access/users", map[string]any{"userid": "ops2@pve", "password": "short"})
	if r.status != 400 || r.errors()["password"] != "value must be at least 8 characters long" {
		t.Errorf("POST /access/users password=short: %d %v", r.status, r.errors())
	}
}
