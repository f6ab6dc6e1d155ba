package dcrouter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

// frozenListener accepts TCP connections and never writes a byte, like a pveproxy whose process
// is stopped (the kernel still completes the TCP handshake). It counts the connections accepted.
type frozenListener struct {
	l       net.Listener
	accepts atomic.Int64
	mu      sync.Mutex
	conns   []net.Conn
}

func newFrozenListener(t *testing.T, addr string) *frozenListener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &frozenListener{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			f.accepts.Add(1)
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
		}
	}()
	t.Cleanup(f.close)
	return f
}

func (f *frozenListener) url() string { return "https://" + f.l.Addr().String() }

func (f *frozenListener) close() {
	_ = f.l.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		_ = c.Close()
	}
}

func versionHandler(rec *recorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		writeData(w, map[string]any{"version": "9.1.1"})
	})
}

func newTLSTestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

const testConnectTimeout = 300 * time.Millisecond

// A frozen DC costs one connection attempt and one connect timeout, however many calls reach it,
// concurrently or one after the other, and however many retries each call may make; the other
// DC is served as usual throughout.
func TestFrozenDCCostsOneHandshake(t *testing.T) {
	frozen := newFrozenListener(t, "127.0.0.1:0")
	rec := &recorder{}
	healthy := newTLSTestServer(t, versionHandler(rec))
	dc1 := tokenConfig("DC1", frozen.url())
	dc1.TLSInsecure, dc1.ConnectTimeout = true, testConnectTimeout
	dc2 := tokenConfig("DC2", healthy.URL)
	dc2.TLSInsecure = true
	r, err := New([]Config{dc1, dc2}, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := r.Client("DC1")
	c2, _ := r.Client("DC2")
	ctx := ctxTimeout(t, 30*time.Second)

	const concurrent, sequential = 12, 5
	errs := make([]error, concurrent)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = probe(ctx, c1)
		}()
	}
	// The healthy DC answers while DC1's first attempt hangs.
	if err := probe(ctx, c2); err != nil {
		t.Fatalf("DC2 while DC1 hangs: %v", err)
	}
	wg.Wait()
	for i := 0; i < sequential; i++ {
		err := probe(ctx, c1)
		errs = append(errs, err)
		if err := probe(ctx, c2); err != nil {
			t.Fatalf("DC2 after DC1 was marked: %v", err)
		}
	}
	for i, err := range errs {
		if !IsUnreachable(err) {
			t.Fatalf("call %d: err = %v; want UnreachableError", i, err)
		}
		want := "datacenter DC1 (" + frozen.url() + ") did not answer within 300ms (TLS handshake not completed)"
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "since ") {
			t.Fatalf("call %d: message %q does not say %q and since when", i, err, want)
		}
	}
	if got := frozen.accepts.Load(); got != 1 {
		t.Fatalf("frozen DC saw %d connections for %d calls; want 1", got, len(errs))
	}
	if got := c1.reach.attempts.Load(); got != 1 {
		t.Fatalf("%d connection attempts to DC1; want 1", got)
	}
	if got := c1.reach.timeoutsPaid.Load(); got != 1 {
		t.Fatalf("DC1's connect timeout was paid %d times; want 1", got)
	}
	if got := rec.count(); got != 1+sequential {
		t.Fatalf("DC2 served %d requests; want %d", got, 1+sequential)
	}
	if c2.reach.err() != nil {
		t.Fatalf("DC2 marked: %v", c2.reach.err())
	}
}

// Nothing listening: the first refused connection marks the DC; retries and later calls do not
// try again. Ticket login goes the same way.
func TestRefusedDCTriedOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	for _, cfg := range []Config{
		tokenConfig("DC1", "https://"+addr),
		{Name: "DC1", URL: "https://" + addr, Username: "root@pam", Password: "secret"},
	} {
		c := clientFor(t, cfg, fastRetry)
		ctx := ctxTimeout(t, 10*time.Second)
		for i := 0; i < 4; i++ {
			err := probe(ctx, c)
			if !IsUnreachable(err) || !strings.Contains(err.Error(), "datacenter DC1 (https://"+addr+") could not be reached (TCP connect failed)") ||
				!strings.Contains(err.Error(), "connection refused") {
				t.Fatalf("call %d: err = %v", i, err)
			}
		}
		if got := c.reach.attempts.Load(); got != 1 {
			t.Fatalf("user %q: %d connection attempts for 4 calls with retries; want 1", cfg.Username, got)
		}
	}
}

// A DC that answered and then refuses (pveproxy restarting) is retried as before: a restart
// within the retry window costs nothing, and only a call whose every attempt is refused marks it.
func TestAnsweredDCRefusedIsRetried(t *testing.T) {
	rec := &recorder{}
	srv := newTLSTestServer(t, versionHandler(rec))
	addr := srv.Listener.Addr().String()
	cfg := tokenConfig("DC1", srv.URL)
	cfg.TLSInsecure = true
	c := clientFor(t, cfg, WithRetry(6, 20*time.Millisecond, 100*time.Millisecond))
	ctx := ctxTimeout(t, 20*time.Second)
	if err := probe(ctx, c); err != nil {
		t.Fatal(err)
	}
	srv.Close() // pveproxy goes away ...
	restarted := make(chan *httptest.Server)
	go func() {
		time.Sleep(150 * time.Millisecond) // ... and is back within the retries
		l, err := net.Listen("tcp", addr)
		if err != nil {
			restarted <- nil
			return
		}
		s := httptest.NewUnstartedServer(versionHandler(rec))
		s.Listener = l
		s.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.StartTLS()
		restarted <- s
	}()
	err := probe(ctx, c)
	s2 := <-restarted
	if s2 == nil {
		t.Skip("could not listen on the old port again")
	}
	if err != nil {
		t.Fatalf("a call across a restart failed: %v", err)
	}
	if c.reach.err() != nil {
		t.Fatalf("restart marked the DC: %v", c.reach.err())
	}
	if got := c.reach.attempts.Load(); got < 3 {
		t.Fatalf("%d connection attempts; want refused ones retried before the restart", got)
	}

	s2.Close() // gone for good: this call's retries all fail, then the DC is marked
	if err := probe(ctx, c); err == nil {
		t.Fatal("a call to a closed port succeeded")
	}
	if c.reach.err() == nil {
		t.Fatal("a call whose every attempt was refused did not mark the DC")
	}
	before := c.reach.attempts.Load()
	if err := probe(ctx, c); !IsUnreachable(err) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("after exhausted retries: err = %v; want UnreachableError", err)
	}
	if got := c.reach.attempts.Load(); got != before {
		t.Fatalf("a call after the DC was marked made %d attempts", got-before)
	}
}

// A DC that answered and then freezes is marked by its first connect timeout.
func TestAnsweredDCThenFrozen(t *testing.T) {
	rec := &recorder{}
	srv := newTLSTestServer(t, versionHandler(rec))
	addr := srv.Listener.Addr().String()
	cfg := tokenConfig("DC1", srv.URL)
	cfg.TLSInsecure, cfg.ConnectTimeout = true, testConnectTimeout
	c := clientFor(t, cfg, fastRetry)
	ctx := ctxTimeout(t, 20*time.Second)
	if err := probe(ctx, c); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	frozen := newFrozenListener(t, addr)
	for i := 0; i < 5; i++ {
		if err := probe(ctx, c); !IsUnreachable(err) || !strings.Contains(err.Error(), "did not answer within 300ms") {
			t.Fatalf("call %d: err = %v", i, err)
		}
	}
	if got := frozen.accepts.Load(); got != 1 {
		t.Fatalf("frozen DC saw %d connections; want 1", got)
	}
	if got := c.reach.timeoutsPaid.Load(); got != 1 {
		t.Fatalf("connect timeout paid %d times; want 1", got)
	}
}

// The caller's own deadline running out while the DC hangs says nothing about the DC.
func TestCallerDeadlineDoesNotMarkDC(t *testing.T) {
	frozen := newFrozenListener(t, "127.0.0.1:0")
	cfg := tokenConfig("DC1", frozen.url())
	cfg.TLSInsecure, cfg.ConnectTimeout = true, 5*time.Second
	c := clientFor(t, cfg, WithRetry(0, 0, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := probe(ctx, c)
	if !errors.Is(err, context.DeadlineExceeded) || IsUnreachable(err) {
		t.Fatalf("err = %v; want the caller's deadline", err)
	}
	if c.reach.err() != nil {
		t.Fatalf("caller's deadline marked the DC: %v", c.reach.err())
	}
}

func TestConnectTimeoutConfig(t *testing.T) {
	cfg := tokenConfig("DC1", "https://127.0.0.1:8006")
	n, err := cfg.normalize()
	if err != nil || n.ConnectTimeout != DefaultConnectTimeout {
		t.Fatalf("default: %v, %v", n.ConnectTimeout, err)
	}
	cfg.ConnectTimeout = -time.Second
	if _, err := cfg.normalize(); err == nil || !strings.Contains(err.Error(), "connect timeout") {
		t.Fatalf("negative: err = %v", err)
	}
}

// The mark is logged once at WARN, however many calls then fail on it.
func TestUnreachableLoggedOnce(t *testing.T) {
	frozen := newFrozenListener(t, "127.0.0.1:0")
	cfg := tokenConfig("DC1", frozen.url())
	cfg.TLSInsecure, cfg.ConnectTimeout = true, testConnectTimeout
	c := clientFor(t, cfg, fastRetry)
	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(ctxTimeout(t, 10*time.Second), &buf)
	for i := 0; i < 3; i++ {
		if err := probe(ctx, c); !IsUnreachable(err) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	entries, err := tflogtest.MultilineJSONDecode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var warns []map[string]any
	for _, e := range entries {
		if e["@level"] == "warn" {
			warns = append(warns, e)
		}
	}
	if len(warns) != 1 || warns[0]["@module"] != "provider.dc.DC1" || warns[0]["connect_timeout"] != "300ms" ||
		!strings.Contains(fmt.Sprint(warns[0]["error"]), "datacenter DC1 (") {
		t.Fatalf("warnings = %v; want one naming DC1", warns)
	}
}
