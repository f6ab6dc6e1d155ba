package dcrouter

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A datacenter declared failed gets no request at all, whatever the call and however it
// authenticates, while a healthy DC next to it is asked as usual.
func TestDeclaredFailed_sendsNoRequest(t *testing.T) {
	var failedRec, okRec recorder
	failedSrv := newTestServer(t, versionHandler(&failedRec))
	okSrv := newTestServer(t, versionHandler(&okRec))
	ticket := Config{Name: "DC3", URL: failedSrv.URL, Username: "root@pam", Password: "secret", Failed: true}
	failed := tokenConfig("DC1", failedSrv.URL)
	failed.Failed = true
	r, err := New([]Config{failed, tokenConfig("DC2", okSrv.URL), ticket}, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 10*time.Second)
	for _, dc := range []string{"DC1", "DC3"} {
		c, err := r.Client(dc)
		if err != nil {
			t.Fatal(err)
		}
		calls := map[string]func() error{
			"GET":    func() error { return probe(ctx, c) },
			"POST":   func() error { return c.Post(ctx, "/nodes/pve1/qemu", map[string]any{"vmid": 100}, nil) },
			"PUT":    func() error { return c.Put(ctx, "/nodes/pve1/qemu/100/config", map[string]any{"cores": 2}, nil) },
			"DELETE": func() error { return c.Delete(ctx, "/nodes/pve1/qemu/100", nil, nil) },
		}
		for m, call := range calls {
			err := call()
			if !IsDeclaredFailed(err) || !IsUnreachable(err) {
				t.Errorf("%s %s: want a declared-failed error, got %v", dc, m, err)
				continue
			}
			if !strings.Contains(err.Error(), "declared failed") || !strings.Contains(err.Error(), dc) {
				t.Errorf("%s %s: error should say the DC is declared failed: %v", dc, m, err)
			}
		}
	}
	res := FanOut(ctx, r, nil, func(ctx context.Context, c *Client) (bool, error) { return true, probe(ctx, c) })
	for _, x := range res {
		if want := x.DC != "DC2"; IsDeclaredFailed(x.Err) != want {
			t.Errorf("FanOut %s: declared failed = %v, want %v (%v)", x.DC, !want, want, x.Err)
		}
	}
	if n := failedRec.count(); n != 0 {
		t.Errorf("the failed datacenter received %d requests, want 0", n)
	}
	if n := okRec.count(); n != 1 {
		t.Errorf("the healthy datacenter received %d requests, want 1 (FanOut's probe)", n)
	}
	c1, _ := r.Client("DC1")
	if n := c1.reach.attempts.Load(); n != 0 {
		t.Errorf("%d connection attempts to the failed datacenter, want 0", n)
	}
}

// The same server, not declared failed, answers: the test above is not passing because the
// server never answers.
func TestDeclaredFailed_offAnswers(t *testing.T) {
	var rec recorder
	srv := newTestServer(t, versionHandler(&rec))
	c := clientFor(t, tokenConfig("DC1", srv.URL))
	if err := probe(ctxTimeout(t, 10*time.Second), c); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 1 {
		t.Fatalf("requests = %d, want 1", rec.count())
	}
}
