package dcrouter

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// apiPath is where PVE serves its JSON API; every normalized URL ends in it.
const apiPath = "/api2/json"

// defaultMaxConcurrent bounds in-flight requests per DC when Config leaves it 0.
const defaultMaxConcurrent = 8

// Config describes one datacenter: its API endpoint, credentials and TLS trust.
// Exactly one of TokenID/TokenSecret or Username/Password must be set.
type Config struct {
	Name           string // DC name, e.g. "DC1"
	URL            string // https://host:8006 or https://host:8006/api2/json; trailing / ok
	TokenID        string // USER@REALM!TOKENID (token auth) ...
	TokenSecret    string
	Username       string // ... or USER@REALM plus password (ticket auth)
	Password       string
	TLSInsecure    bool
	TLSFingerprint string // SHA-256 of the server's leaf certificate; any case, colons optional
	TLSCAPEM       string // extra CA certificates, PEM
	MaxConcurrent  int    // in-flight requests per DC; 0 -> 8
	// ConnectTimeout bounds TCP connect plus TLS handshake of each connection; 0 ->
	// DefaultConnectTimeout. Request timeouts (which long synchronous calls need) are separate.
	ConnectTimeout time.Duration
	// Failed declares the datacenter lost (the operator's failover switch): its Client sends no
	// request at all and every call fails at once with an UnreachableError marked Declared.
	Failed bool
}

// usesToken reports whether the DC authenticates with an API token.
func (c Config) usesToken() bool { return c.TokenID != "" || c.TokenSecret != "" }

// secrets lists the values that must never appear in logs.
func (c Config) secrets() []string {
	var out []string
	for _, s := range []string{c.TokenSecret, c.Password} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// NormalizeURL turns a user-supplied PVE URL into "scheme://host[:port]/api2/json".
// The port is kept as written (a reverse proxy may serve PVE on 443).
func NormalizeURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("URL is empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		// The input may hold a password in its userinfo; an unparsable URL cannot be redacted
		// by net/url, so blank everything between "//" and "@".
		return "", fmt.Errorf("URL %q is not valid: %v", redactUserinfo(raw), redactUserinfo(unwrapURLError(err).Error()))
	}
	// Errors below print the redacted form so a password in userinfo never leaks.
	shown := u.Redacted()
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		if scheme == "" {
			return "", fmt.Errorf("URL %q: scheme must be http or https (e.g. https://pve.example.net:8006)", shown)
		}
		return "", fmt.Errorf("URL %q: scheme must be http or https, not %q", shown, u.Scheme)
	}
	if u.User != nil {
		return "", fmt.Errorf("URL %q: must not contain credentials; use the token or username/password settings", shown)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("URL %q: host is required", shown)
	}
	for _, r := range u.Host {
		if r > unicode.MaxASCII || unicode.IsControl(r) {
			return "", fmt.Errorf("URL %q: host must be ASCII (write an international name in its punycode form)", shown)
		}
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("URL %q: port must be 1-65535", shown)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("URL %q: port is empty", shown)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return "", fmt.Errorf("URL %q: must not have a query string", shown)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "", fmt.Errorf("URL %q: must not have a fragment", shown)
	}
	path := strings.TrimRight(u.Path, "/")
	if path != "" && path != apiPath {
		return "", fmt.Errorf("URL %q: path must be empty or %s, not %q", shown, apiPath, u.Path)
	}
	// url.URL renders the host (an IPv6 zone included) escaped as a URL needs it.
	host := strings.ToLower(u.Host)
	if i := strings.Index(u.Host, "%"); i >= 0 { // an IPv6 zone keeps its case
		host = strings.ToLower(u.Host[:i]) + u.Host[i:]
	}
	return (&url.URL{Scheme: scheme, Host: host, Path: apiPath}).String(), nil
}

var userinfo = regexp.MustCompile(`//[^/@]*@`)

func redactUserinfo(s string) string { return userinfo.ReplaceAllString(s, "//xxxxx@") }

// unwrapURLError drops url.Error's "parse <url>:" prefix, which repeats the input.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ParseAPIToken splits "USER@REALM!TOKENID=SECRET" (optionally prefixed with
// "PVEAPIToken=", as PVE shows it) into id and secret. Error messages never
// contain the secret.
func ParseAPIToken(s string) (id, secret string, err error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "PVEAPIToken=")
	const form = "USER@REALM!TOKENID=SECRET"
	i := strings.IndexByte(s, '=')
	if i < 0 {
		// Without "=" the whole value may be the secret: do not echo it.
		return "", "", fmt.Errorf("API token must have the form %s (no \"=\" found)", form)
	}
	id, secret = s[:i], s[i+1:]
	if err := validateTokenID(id); err != nil {
		return "", "", fmt.Errorf("API token must have the form %s: %w", form, err)
	}
	if err := validateTokenSecret(secret); err != nil {
		return "", "", fmt.Errorf("API token %q: %w", id+"=...", err)
	}
	return id, secret, nil
}

// validateTokenID checks USER@REALM!TOKENID the way PVE's pve-tokenid format does.
func validateTokenID(id string) error {
	user, token, ok := strings.Cut(id, "!")
	if !ok {
		return fmt.Errorf("token id %q lacks \"!TOKENID\"", id)
	}
	if err := validateUserID(user); err != nil {
		return fmt.Errorf("token id %q: %w", id, err)
	}
	if !isPVEIdent(token) {
		return fmt.Errorf("token id %q: token name %q must start with a letter and use only letters, digits, '.', '-', '_'", id, token)
	}
	return nil
}

func validateTokenSecret(secret string) error {
	if secret == "" {
		return errors.New("secret is empty")
	}
	if strings.ContainsAny(secret, " \t\r\n") {
		return errors.New("secret contains whitespace")
	}
	return nil
}

// validateUserID checks USER@REALM (PVE's pve-userid).
func validateUserID(u string) error {
	name, realm, ok := strings.Cut(u, "@")
	if !ok || name == "" {
		return fmt.Errorf("user %q must have the form USER@REALM", u)
	}
	if strings.ContainsAny(name, ":/!@ \t\r\n") {
		return fmt.Errorf("user %q: user name contains an invalid character", u)
	}
	if !isPVEIdent(realm) {
		return fmt.Errorf("user %q: realm %q must start with a letter and use only letters, digits, '.', '-', '_'", u, realm)
	}
	return nil
}

// isPVEIdent matches [A-Za-z][A-Za-z0-9._-]+, the shape of realm and token names.
func isPVEIdent(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_'):
		default:
			return false
		}
	}
	return true
}

// NormalizeFingerprint accepts a SHA-256 fingerprint in any case, with or
// without colons, and returns it as PVE shows it: "AA:BB:...".
func NormalizeFingerprint(s string) (string, error) {
	h := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	if h == "" {
		return "", errors.New("TLS fingerprint is empty")
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return "", fmt.Errorf("TLS fingerprint %q must be hex digits, optionally separated by ':'", s)
	}
	if len(b) != 32 {
		return "", fmt.Errorf("TLS fingerprint %q must be a SHA-256 (32 bytes), got %d bytes", s, len(b))
	}
	return formatFingerprint(b), nil
}

func formatFingerprint(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, len(b)*3)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// normalize validates c and returns it with URL and fingerprint normalized
// and MaxConcurrent defaulted.
func (c Config) normalize() (Config, error) {
	if strings.TrimSpace(c.Name) == "" {
		return c, errors.New("datacenter name is empty")
	}
	wrap := func(err error) error { return fmt.Errorf("datacenter %q: %w", c.Name, err) }
	u, err := NormalizeURL(c.URL)
	if err != nil {
		return c, wrap(err)
	}
	c.URL = u
	switch {
	case c.usesToken() && (c.Username != "" || c.Password != ""):
		return c, wrap(errors.New("set either an API token or username/password, not both"))
	case c.usesToken():
		if err := validateTokenID(c.TokenID); err != nil {
			return c, wrap(fmt.Errorf("API token: %w", err))
		}
		if err := validateTokenSecret(c.TokenSecret); err != nil {
			return c, wrap(fmt.Errorf("API token %q: %w", c.TokenID, err))
		}
	case c.Username != "" || c.Password != "":
		if err := validateUserID(c.Username); err != nil {
			return c, wrap(err)
		}
		if c.Password == "" {
			return c, wrap(fmt.Errorf("user %q: password is empty", c.Username))
		}
	default:
		return c, wrap(errors.New("no credentials: set an API token or username and password"))
	}
	if c.TLSFingerprint != "" {
		fp, err := NormalizeFingerprint(c.TLSFingerprint)
		if err != nil {
			return c, wrap(err)
		}
		c.TLSFingerprint = fp
	}
	if c.TLSCAPEM != "" {
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(c.TLSCAPEM)) {
			return c, wrap(errors.New("TLS CA PEM contains no valid certificate"))
		}
	}
	switch {
	case c.MaxConcurrent < 0:
		return c, wrap(fmt.Errorf("max concurrent requests must not be negative, got %d", c.MaxConcurrent))
	case c.MaxConcurrent == 0:
		c.MaxConcurrent = defaultMaxConcurrent
	}
	switch {
	case c.ConnectTimeout < 0:
		return c, wrap(fmt.Errorf("connect timeout must not be negative, got %s", c.ConnectTimeout))
	case c.ConnectTimeout == 0:
		c.ConnectTimeout = DefaultConnectTimeout
	}
	return c, nil
}
