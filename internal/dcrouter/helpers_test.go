package dcrouter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testTokenID     = "root@pam!moxxie"
	testTokenSecret = "5f0b7e3c-1d2a-4c8e-9b7f-0a1b2c3d4e5f"
)

// fastRetry keeps retry tests quick while still exercising backoff.
var fastRetry = WithRetry(4, time.Millisecond, 5*time.Millisecond)

// newTestServer starts an HTTP/1.1 server whose handler error log is muted.
func newTestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func tokenConfig(name, url string) Config {
	return Config{Name: name, URL: url, TokenID: testTokenID, TokenSecret: testTokenSecret}
}

// clientFor builds a router with one DC "DC1" and returns its client.
func clientFor(t *testing.T, cfg Config, opts ...Option) *Client {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "DC1"
	}
	r, err := New([]Config{cfg}, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c, err := r.Client(cfg.Name)
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	return c
}

// writeData answers like PVE on success: {"data": ...}.
func writeData(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
}

// writeError answers like PVE on failure: the message in the status line
// (which net/http cannot write, hence the hijack) and in the body.
func writeError(w http.ResponseWriter, status int, reason string, errs map[string]string) {
	body := map[string]any{"data": nil, "message": reason + "\n"}
	if errs != nil {
		body["errors"] = errs
	}
	b, _ := json.Marshal(body)
	if reason == http.StatusText(status) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(b)
		return
	}
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", status, reason, len(b))
	_, _ = buf.Write(b)
	_ = buf.Flush()
}

// dropConnection closes the connection without any response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

// gauge tracks concurrent handlers and the maximum ever seen.
type gauge struct {
	cur, peak atomic.Int64
}

func (g *gauge) enter() {
	n := g.cur.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (g *gauge) leave() { g.cur.Add(-1) }

// recorder keeps the requests a fake received.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path, RawQuery, RequestURI string
	Header                             http.Header
	Body                               string
}

func (r *recorder) add(req *http.Request) recorded {
	b, _ := io.ReadAll(req.Body)
	rec := recorded{Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery,
		RequestURI: req.RequestURI, Header: req.Header.Clone(), Body: string(b)}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return rec
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// ctxTimeout gives each test a bound so a hang fails instead of stalling.
func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// probe makes one request that no cache answers (Version's answer is kept for the client's view
// of the cluster), for tests about the transport.
func probe(ctx context.Context, c *Client) error { return c.Get(ctx, "/version", nil, nil) }
