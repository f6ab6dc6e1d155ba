package dcrouter

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTokenHeader(t *testing.T) {
	rec := &recorder{}
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeData(w, map[string]any{"version": "9.1.1"})
	}))
	c := clientFor(t, tokenConfig("DC1", srv.URL))
	if err := probe(ctxTimeout(t, 5*time.Second), c); err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if len(reqs) != 1 {
		t.Fatalf("%d requests; want 1 (no login with a token)", len(reqs))
	}
	h := reqs[0].Header
	if got, want := h.Get("Authorization"), "PVEAPIToken="+testTokenID+"="+testTokenSecret; got != want {
		t.Fatalf("Authorization = %q; want %q", got, want)
	}
	if h.Get("Cookie") != "" || h.Get("CSRFPreventionToken") != "" {
		t.Fatalf("token request carries ticket headers: %v", h)
	}
	if reqs[0].Path != "/api2/json/version" {
		t.Fatalf("path = %q", reqs[0].Path)
	}
}

// ticketFake is a PVE that accepts one user and checks ticket headers.
type ticketFake struct {
	logins   atomic.Int64
	attempts atomic.Int64 // logins including failed ones
	epoch    atomic.Int64 // bumping it revokes every issued ticket
	inFlight gauge
	mu       sync.Mutex
	problems []string
}

const (
	fakeTicket = "PVE:root@pam:65F0A1B2::c2lnbmF0dXJl"
	fakeCSRF   = "65F0A1B2:Y3NyZg"
	fakePass   = "correct horse battery staple"
)

func (f *ticketFake) ticket() string {
	return fmt.Sprintf("%s%d", fakeTicket, f.epoch.Load())
}

func (f *ticketFake) problem(s string) {
	f.mu.Lock()
	f.problems = append(f.problems, s)
	f.mu.Unlock()
}

func (f *ticketFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api2/json/access/ticket" {
		f.attempts.Add(1)
		var creds struct{ Username, Password string }
		if err := json.NewDecoder(r.Body).Decode(&creds); err != nil || r.Method != http.MethodPost {
			f.problem("bad login request")
		}
		if creds.Username != "root@pam" || creds.Password != fakePass {
			writeError(w, 401, "authentication failure", nil)
			return
		}
		// A login must not overlap requests that read the session.
		if f.inFlight.cur.Load() != 0 {
			f.problem("login while requests in flight")
		}
		f.logins.Add(1)
		writeData(w, map[string]any{"ticket": f.ticket(), "CSRFPreventionToken": fakeCSRF, "username": "root@pam", "clustername": "dc1"})
		return
	}
	// The request counts as in flight until just before its answer is
	// written: once the client has the answer it may log in again.
	f.inFlight.enter()
	cookie, err := r.Cookie("PVEAuthCookie")
	ticketOK := err == nil && cookie.Value == f.ticket()
	csrfOK := r.Method == http.MethodGet || r.Header.Get("CSRFPreventionToken") == fakeCSRF
	if r.Header.Get("Authorization") != "" {
		f.problem("ticket request carries Authorization")
	}
	if ticketOK && csrfOK {
		time.Sleep(5 * time.Millisecond)
	}
	f.inFlight.leave()
	switch {
	case !ticketOK:
		writeError(w, 401, "No ticket", nil)
	case !csrfOK:
		writeError(w, 401, "Permission denied - invalid csrf token", nil)
	default:
		writeData(w, "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmstart:100:root@pam:")
	}
}

func TestTicketLogin(t *testing.T) {
	f := &ticketFake{}
	srv := newTestServer(t, f)
	c := clientFor(t, Config{Name: "DC1", URL: srv.URL, Username: "root@pam", Password: fakePass})
	ctx := ctxTimeout(t, 10*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 10; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); errs <- c.Get(ctx, "/cluster/status", nil, nil) }()
		go func() { defer wg.Done(); _, err := c.StartVM(ctx, "pve1", 100); errs <- err }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("request failed: %v", err)
		}
	}
	if n := f.logins.Load(); n != 1 {
		t.Fatalf("%d logins; want exactly 1 shared by concurrent requests", n)
	}

	// An old ticket is renewed before PVE would drop it.
	c.ticket.mu.Lock()
	c.ticket.loggedIn = time.Now().Add(-ticketRenewAfter)
	c.ticket.mu.Unlock()
	if err := c.Get(ctx, "/cluster/status", nil, nil); err != nil {
		t.Fatalf("after renewal window: %v", err)
	}
	if n := f.logins.Load(); n != 2 {
		t.Fatalf("%d logins; want a renewal", n)
	}

	// PVE revoking the ticket costs one re-login, not a failed request.
	f.epoch.Add(1)
	if _, err := c.StartVM(ctx, "pve1", 100); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := f.logins.Load(); n != 3 {
		t.Fatalf("%d logins; want one re-login after revocation", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.problems) > 0 {
		t.Fatalf("fake saw problems: %v", f.problems)
	}
}

func TestTicketLoginFailure(t *testing.T) {
	f := &ticketFake{}
	srv := newTestServer(t, f)
	const wrong = "wrong-password-value"
	c := clientFor(t, Config{Name: "DC1", URL: srv.URL, Username: "root@pam", Password: wrong}, fastRetry)
	err := c.Get(ctxTimeout(t, 5*time.Second), "/version", nil, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Path != "/access/ticket" || ae.Message != "authentication failure" {
		t.Fatalf("err = %v; want 401 authentication failure on /access/ticket", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("error leaks the password: %v", err)
	}
	// PVE delays every failed login by 3s: a bad password is tried once.
	if n := f.attempts.Load(); n != 1 {
		t.Fatalf("%d login attempts; want 1", n)
	}
}
