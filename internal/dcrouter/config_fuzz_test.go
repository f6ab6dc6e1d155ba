package dcrouter

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// urlCanary is a password no input can contain by chance; it stands in for a user's password.
const urlCanary = "Zq8pw-canary-u7R"

// FuzzNormalizeURL: NormalizeURL never panics; what it accepts comes out in canonical form
// (scheme://host[:port]/api2/json, lower-case, nothing else) and normalizing again changes
// nothing; the same URL with a password in it is refused without echoing the password.
func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{
		"https://pve.dc1.example.net:8006", "HTTPS://PVE.Example.NET:8006/api2/json/", "http://10.0.0.1", "https://[fd00::1]:8006",
		"pve.example.net:8006", "ftp://pve.example.net", "https://root:pw@pve.example.net", "https://pve.example.net:0",
		"https://pve.example.net:8006/ui", "https://pve.example.net?x=1", "https://pve.example.net#top", "https://:8006", " ", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := NormalizeURL(raw)
		if err == nil {
			u, perr := url.Parse(out)
			if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Host != strings.ToLower(u.Host) ||
				u.User != nil || u.RawQuery != "" || u.Fragment != "" || !strings.HasSuffix(out, "://"+u.Host+apiPath) {
				t.Fatalf("NormalizeURL(%q) = %q: not canonical (%v)", raw, out, perr)
			}
			if again, err := NormalizeURL(out); err != nil || again != out {
				t.Fatalf("NormalizeURL(%q) = %q, %v; want it unchanged", out, again, err)
			}
		}
		scheme, rest, ok := strings.Cut(strings.TrimSpace(raw), "://")
		if !ok || !urlScheme.MatchString(scheme) {
			return // without a scheme, "user:pw@" is no userinfo
		}
		withPassword := scheme + "://moxxie:" + urlCanary + "@" + rest
		_, err = NormalizeURL(withPassword)
		if err == nil {
			t.Fatalf("NormalizeURL(%q) accepted credentials", withPassword)
		}
		if strings.Contains(err.Error(), urlCanary) {
			t.Fatalf("error echoes the password: %v", err)
		}
	})
}

// FuzzParseAPIToken: ParseAPIToken never panics; an accepted token splits exactly at the first
// "=" after the optional PVEAPIToken= prefix; an error never depends on the secret: the same id
// with another secret of the same kind (valid, empty, with whitespace) gives the same error, and
// that error does not hold the other secret.
func FuzzParseAPIToken(f *testing.F) {
	for _, s := range []string{
		"root@pam!moxxie=0b5a1c2e-secret", "PVEAPIToken=terraform@pve!ci=s3cr3t", "  root@pam!moxxie=x  ", "root@pam-no-id",
		"s3cr3t-without-id", "root@pam!moxxie=", "root@pam!moxxie=two words", "root!moxxie=abc", "@pam!t1=abc",
		"root@p!tok=abc", "root@pam!1tok=abc", "PVEAPIToken=PVEAPIToken=x", "a=a", "",
	} {
		f.Add(s)
	}
	const canary = "Qx7canarysecret"
	_, _, noEquals := ParseAPIToken("no-equals-sign-here")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, err := ParseAPIToken(s)
		body := strings.TrimPrefix(strings.TrimSpace(s), "PVEAPIToken=")
		wantID, wantSecret, hasEquals := strings.Cut(body, "=")
		if err == nil {
			if id != wantID || secret != wantSecret || secret == "" {
				t.Fatalf("ParseAPIToken(%q) = %q, %q; want %q, %q", s, id, secret, wantID, wantSecret)
			}
			return
		}
		if id != "" || secret != "" {
			t.Fatalf("ParseAPIToken(%q) failed but returned %q, %q", s, id, secret)
		}
		if !hasEquals {
			if err.Error() != noEquals.Error() {
				t.Fatalf("without \"=\" the error must not depend on the value: %q vs %q", err, noEquals)
			}
			return
		}
		other := canary
		switch {
		case wantSecret == "":
			other = ""
		case validateTokenSecret(wantSecret) != nil:
			other = "Qx7 canary secret" // keeps the whitespace the original has
		}
		_, _, otherErr := ParseAPIToken("PVEAPIToken=" + wantID + "=" + other)
		if otherErr == nil || otherErr.Error() != err.Error() {
			t.Fatalf("the error depends on the secret:\n  %q: %v\n  with %q: %v", s, err, other, otherErr)
		}
		if other != "" && !strings.Contains(wantID, other) && strings.Contains(otherErr.Error(), other) {
			t.Fatalf("error echoes the secret: %v", otherErr)
		}
	})
}

var pveFingerprint = regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`)

// FuzzNormalizeFingerprint: NormalizeFingerprint never panics; it accepts exactly the inputs that
// are 64 hex digits once colons and surrounding space are dropped, and returns those digits in
// PVE's form, which it maps to itself.
func FuzzNormalizeFingerprint(f *testing.F) {
	for _, s := range []string{
		strings.Repeat("AB:", 31) + "AB", strings.Repeat("0f", 32), " " + strings.Repeat("a1:", 31) + "a1 ", "AB:CD",
		strings.Repeat("zz", 32), strings.Repeat("A:B", 32), "sha256:AB", "",
	} {
		f.Add(s)
	}
	hex64 := regexp.MustCompile(`^[0-9A-Fa-f]{64}$`)
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeFingerprint(s)
		digits := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
		if hex64.MatchString(digits) != (err == nil) {
			t.Fatalf("NormalizeFingerprint(%q) = %q, %v: acceptance disagrees with the 64-hex-digit rule", s, out, err)
		}
		if err != nil {
			return
		}
		if !pveFingerprint.MatchString(out) || strings.ReplaceAll(out, ":", "") != strings.ToUpper(digits) {
			t.Fatalf("NormalizeFingerprint(%q) = %q", s, out)
		}
		if again, err := NormalizeFingerprint(out); err != nil || again != out {
			t.Fatalf("NormalizeFingerprint(%q) = %q, %v; want it unchanged", out, again, err)
		}
	})
}
