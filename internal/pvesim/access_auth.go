package pvesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ticketLifetime is PVE's ticket validity (2 hours).
const ticketLifetime = 2 * time.Hour

// authenticate is pveproxy's auth_handler: an API token header, else the
// PVEAuthCookie ticket plus, for writes, the CSRF token. It returns the
// caller as PVE names it (user@realm or user@realm!token).
func (c *Cluster) authenticate(r *http.Request) (string, *apiError) {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "PVEAPIToken") {
		return c.verifyToken(strings.TrimLeft(strings.TrimPrefix(h, "PVEAPIToken"), "= "))
	}
	ticket := ""
	if ck, err := r.Cookie("PVEAuthCookie"); err == nil {
		ticket, _ = url.PathUnescape(ck.Value) // like uri_unescape: "+" stays "+"
	}
	if ticket == "" {
		return "", authError("No ticket")
	}
	user, ok := c.verifyTicket(ticket)
	if !ok {
		return "", authError("permission denied - invalid PVE ticket")
	}
	if r.Method != http.MethodGet && !c.verifyCSRF(user, r.Header.Get("CSRFPreventionToken")) {
		return "", authError("Permission denied - invalid csrf token")
	}
	return user, nil
}

// verifyToken checks "USER@REALM!TOKENID=SECRET" with PVE's messages.
func (c *Cluster) verifyToken(value string) (string, *apiError) {
	tokenID, secret, ok := strings.Cut(value, "=")
	if !ok {
		return "", authError("no tokenid specified")
	}
	id, err := c.acl.VerifyToken(tokenID, secret, secretsEqual)
	if err != nil {
		return "", authError(err.Error())
	}
	return id, nil
}

func secretsEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (c *Cluster) sign(parts ...string) string {
	mac := hmac.New(sha256.New, c.secret)
	mac.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawStdEncoding.EncodeToString(mac.Sum(nil))
}

// newTicket returns a PVE-shaped ticket "PVE:user:HEXTIME::signature".
func (c *Cluster) newTicket(user string, now time.Time) string {
	ts := fmt.Sprintf("%08X", now.Unix())
	return "PVE:" + user + ":" + ts + "::" + c.sign("ticket", user, ts)
}

func (c *Cluster) verifyTicket(ticket string) (string, bool) {
	rest, ok := strings.CutPrefix(ticket, "PVE:")
	if !ok {
		return "", false
	}
	head, sig, ok := strings.Cut(rest, "::")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(head, ":")
	if i < 0 {
		return "", false
	}
	user, ts := head[:i], head[i+1:]
	if !hmac.Equal([]byte(sig), []byte(c.sign("ticket", user, ts))) {
		return "", false
	}
	issued, err := strconv.ParseInt(ts, 16, 64)
	if err != nil || time.Since(time.Unix(issued, 0)) > ticketLifetime {
		return "", false
	}
	return user, true
}

func (c *Cluster) newCSRF(user string, now time.Time) string {
	ts := fmt.Sprintf("%08X", now.Unix())
	return ts + ":" + c.sign("csrf", user, ts)
}

func (c *Cluster) verifyCSRF(user, token string) bool {
	ts, sig, ok := strings.Cut(token, ":")
	return ok && hmac.Equal([]byte(sig), []byte(c.sign("csrf", user, ts)))
}

func accessRoutes() []route {
	return []route{{
		method: "POST", path: "/access/ticket",
		params: []Param{
			strP("username").maxLen(64),
			strP("password"),
			strP("realm").opt().maxLen(32),
			strP("otp").opt(),
			strP("path").opt().maxLen(64),
			strP("privs").opt().maxLen(64),
			boolP("new-format").opt(),
			strP("tfa-challenge").opt(),
		},
		handle: (*Cluster).createTicket,
		perm:   permWorld,
	}}
}

// createTicket is POST /access/ticket: a password, or a valid ticket of
// the same user (renewal), yields a new ticket and CSRF token.
func (c *Cluster) createTicket(req *request) (any, error) {
	user := req.str("username")
	if realm := req.str("realm"); realm != "" && !strings.Contains(user, "@") {
		user += "@" + realm
	}
	password := req.str("password")
	renewed, isTicket := c.verifyTicket(password)
	if !c.acl.VerifyPassword(user, password, secretsEqual) && !(isTicket && renewed == user) {
		return nil, authError("authentication failure")
	}
	now := time.Now()
	return map[string]any{
		"username":            user,
		"ticket":              c.newTicket(user, now),
		"CSRFPreventionToken": c.newCSRF(user, now),
		"clustername":         c.cfg.Name,
		"cap":                 map[string]any{},
	}, nil
}
