package dcrouter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestClientLazyOnceAndUnknown(t *testing.T) {
	var hits atomic.Int64
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeData(w, map[string]any{"version": "9.1.1"})
	}))
	r, err := New([]Config{tokenConfig("DC2", srv.URL), tokenConfig("DC1", srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]*Client, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = r.Client("DC1")
		}()
	}
	wg.Wait()
	for i, c := range got {
		if c == nil || c != got[0] {
			t.Fatalf("Client #%d = %p; want the same non-nil client %p", i, c, got[0])
		}
	}
	if got[0].DC() != "DC1" {
		t.Fatalf("DC() = %q", got[0].DC())
	}
	if c2, _ := r.Client("DC2"); c2 == got[0] {
		t.Fatal("DC2 shares DC1's client")
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("building clients made %d requests; want none", n)
	}

	_, err = r.Client("DC3")
	if want := `unknown datacenter "DC3" (configured: DC1, DC2)`; err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %s", err, want)
	}
}

// versionServer answers /version with its own version after a delay,
// tracking concurrency across all servers sharing g.
func versionServer(t *testing.T, version string, delay time.Duration, g *gauge) string {
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Leave before answering: once the client has the answer it may
		// send the next request, which must not count as overlapping.
		g.enter()
		time.Sleep(delay)
		g.leave()
		writeData(w, map[string]any{"version": version})
	}))
	return srv.URL
}

func TestFanOut(t *testing.T) {
	const n = 5
	var g gauge
	var cfgs []Config
	for i := 1; i <= n; i++ {
		cfgs = append(cfgs, tokenConfig(fmt.Sprintf("DC%d", i), versionServer(t, fmt.Sprintf("9.%d", i), 100*time.Millisecond, &g)))
	}
	failing := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 500, "pveproxy exploded", nil)
	}))
	cfgs = append(cfgs, tokenConfig("BAD", failing.URL))
	r, err := New(cfgs, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 10*time.Second)
	version := func(ctx context.Context, c *Client) (string, error) {
		v, err := c.Version(ctx)
		return v.Version, err
	}

	// Explicit order, with a failing DC and an unknown DC in the middle.
	dcs := []string{"DC3", "BAD", "DC1", "NOPE", "DC5", "DC2", "DC4"}
	res := FanOut(ctx, r, dcs, version)
	if len(res) != len(dcs) {
		t.Fatalf("%d results; want %d", len(res), len(dcs))
	}
	for i, rr := range res {
		if rr.DC != dcs[i] {
			t.Fatalf("result %d is %s; want %s (input order)", i, rr.DC, dcs[i])
		}
		switch rr.DC {
		case "BAD":
			if StatusCode(rr.Err) != 500 {
				t.Errorf("BAD: err = %v; want 500", rr.Err)
			}
		case "NOPE":
			if rr.Err == nil {
				t.Errorf("NOPE: want unknown datacenter error")
			}
		default:
			if want := "9." + rr.DC[2:]; rr.Err != nil || rr.Value != want {
				t.Errorf("%s: %q, %v; want %q", rr.DC, rr.Value, rr.Err, want)
			}
		}
	}
	// All slow DCs were in flight at the same time: one round trip, not five.
	if p := g.peak.Load(); p != n {
		t.Fatalf("peak concurrent requests across DCs = %d; want %d", p, n)
	}

	// nil means every DC, sorted.
	all := FanOut(ctx, r, nil, func(ctx context.Context, c *Client) (string, error) { return c.DC(), nil })
	want := r.Names()
	for i, rr := range all {
		if rr.DC != want[i] || rr.Value != want[i] || rr.Err != nil {
			t.Fatalf("FanOut(nil)[%d] = %+v; want %s", i, rr, want[i])
		}
	}

	// A panicking callback becomes that DC's error only.
	pr := FanOut(ctx, r, []string{"DC1", "DC2"}, func(ctx context.Context, c *Client) (int, error) {
		if c.DC() == "DC1" {
			panic("boom")
		}
		return 7, nil
	})
	if pr[0].Err == nil || pr[1].Err != nil || pr[1].Value != 7 {
		t.Fatalf("panic isolation: %+v", pr)
	}
}

func TestSemaphoreLimitsInFlight(t *testing.T) {
	var g gauge
	url := versionServer(t, "9.1", 30*time.Millisecond, &g)
	cfg := tokenConfig("DC1", url)
	cfg.MaxConcurrent = 2
	c := clientFor(t, cfg)
	ctx := ctxTimeout(t, 10*time.Second)
	var wg sync.WaitGroup
	var failures atomic.Int64
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := probe(ctx, c); err != nil {
				failures.Add(1)
			}
		}()
	}
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d requests failed", failures.Load())
	}
	if p := g.peak.Load(); p != 2 {
		t.Fatalf("peak in flight = %d; want exactly 2", p)
	}
}

func TestSemaphoreWaitHonoursContext(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int64
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		writeData(w, nil)
	}))
	defer close(release)
	cfg := tokenConfig("DC1", srv.URL)
	cfg.MaxConcurrent = 1
	c := clientFor(t, cfg)
	go func() { _ = c.Get(context.Background(), "/version", nil, nil) }()
	for hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Get(ctx, "/version", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want deadline exceeded while waiting for a slot", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("server saw %d requests; the waiting one must not be sent", n)
	}
}
