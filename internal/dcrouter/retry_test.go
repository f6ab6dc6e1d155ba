package dcrouter

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/luthermonson/go-proxmox"
)

// step is one scripted answer of the fake; the last step repeats.
type step struct {
	status int
	reason string
	errs   map[string]string
	drop   bool
	sleep  time.Duration
}

func scripted(t *testing.T, rec *recorder, steps []step) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		i := int(n.Add(1)) - 1
		s := steps[min(i, len(steps)-1)]
		if s.sleep > 0 {
			select {
			case <-time.After(s.sleep):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case s.drop:
			dropConnection(w)
		case s.status >= 400:
			writeError(w, s.status, s.reason, s.errs)
		default:
			writeData(w, map[string]any{"version": "9.1.1", "release": "9.1", "repoid": "deadbeef"})
		}
	})
}

func TestRetryPolicy(t *testing.T) {
	ok := step{status: 200}
	tests := []struct {
		name      string
		method    string
		steps     []step
		wantCalls int
		// wantStatus 0 means success
		wantStatus int
		wantMsg    string
		wantErrs   map[string]string
		check      func(t *testing.T, err error)
	}{
		{name: "503 then 200", method: http.MethodGet, steps: []step{{status: 503, reason: "Service Unavailable"}, ok}, wantCalls: 2},
		{name: "502 then 200", method: http.MethodGet, steps: []step{{status: 502, reason: "Bad Gateway"}, ok}, wantCalls: 2},
		{name: "504 then 200", method: http.MethodGet, steps: []step{{status: 504, reason: "Gateway Timeout"}, ok}, wantCalls: 2},
		{name: "429 twice then 200", method: http.MethodGet, steps: []step{{status: 429, reason: "Too Many Requests"}, {status: 429, reason: "Too Many Requests"}, ok}, wantCalls: 3},
		{name: "dropped connection then 200", method: http.MethodGet, steps: []step{{drop: true}, ok}, wantCalls: 2},
		{name: "dropped connection on POST then 200", method: http.MethodPost, steps: []step{{drop: true}, ok}, wantCalls: 2},
		{name: "503 on POST then 200", method: http.MethodPost, steps: []step{{status: 503, reason: "Service Unavailable"}, ok}, wantCalls: 2},
		{
			name: "500 never retried, reason phrase kept", method: http.MethodPost,
			steps:      []step{{status: 500, reason: "unable to create VM 100 - VM 100 already exists on node 'pve1'"}, ok},
			wantCalls:  1,
			wantStatus: 500, wantMsg: "unable to create VM 100 - VM 100 already exists on node 'pve1'",
			check: func(t *testing.T, err error) {
				if !IsAlreadyExists(err) || IsNotFound(err) {
					t.Errorf("IsAlreadyExists/IsNotFound wrong for %v", err)
				}
				want := "DC1: POST /nodes/pve1/qemu: 500 unable to create VM 100 - VM 100 already exists on node 'pve1'"
				if err.Error() != want {
					t.Errorf("Error() = %q; want %q", err.Error(), want)
				}
			},
		},
		{
			name: "500 not found", method: http.MethodGet,
			steps:      []step{{status: 500, reason: "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist"}},
			wantCalls:  1,
			wantStatus: 500, wantMsg: "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist",
			check: func(t *testing.T, err error) {
				if !IsNotFound(err) {
					t.Errorf("IsNotFound false for %v", err)
				}
			},
		},
		{
			name: "400 parameter errors decoded", method: http.MethodPost,
			steps:      []step{{status: 400, reason: "Parameter verification failed.", errs: map[string]string{"vmid": "VM 100 already exists\n", "cores": "value must be at least 1"}}},
			wantCalls:  1,
			wantStatus: 400, wantMsg: "Parameter verification failed.",
			wantErrs: map[string]string{"vmid": "VM 100 already exists", "cores": "value must be at least 1"},
			check: func(t *testing.T, err error) {
				if !IsAlreadyExists(err) {
					t.Errorf("IsAlreadyExists false for %v", err)
				}
				if !strings.HasSuffix(err.Error(), "(cores: value must be at least 1; vmid: VM 100 already exists)") {
					t.Errorf("Error() = %q lacks sorted parameter errors", err.Error())
				}
			},
		},
		{
			name: "501 not retried", method: http.MethodGet,
			steps:     []step{{status: 501, reason: "Method 'GET /nodes/pve1/qemu' not implemented"}},
			wantCalls: 1, wantStatus: 501, wantMsg: "Method 'GET /nodes/pve1/qemu' not implemented",
		},
		{
			name: "401 not retried", method: http.MethodGet,
			steps:     []step{{status: 401, reason: "authentication failure"}},
			wantCalls: 1, wantStatus: 401, wantMsg: "authentication failure",
			check: func(t *testing.T, err error) {
				if !errors.Is(err, proxmox.ErrNotAuthorized) {
					t.Errorf("errors.Is(err, ErrNotAuthorized) false for %v", err)
				}
			},
		},
		{
			name: "404 is an error although go-proxmox accepts it", method: http.MethodGet,
			steps:     []step{{status: 404, reason: "Not Found"}},
			wantCalls: 1, wantStatus: 404, wantMsg: "Not Found",
			check: func(t *testing.T, err error) {
				if !IsNotFound(err) {
					t.Errorf("IsNotFound false for %v", err)
				}
			},
		},
		{
			name: "503 exhausted keeps last status and message", method: http.MethodGet,
			steps:     []step{{status: 503, reason: "too many connections"}},
			wantCalls: 5, wantStatus: 503, wantMsg: "too many connections",
		},
		{
			name: "dropped connection exhausted is a transport error", method: http.MethodGet,
			steps:     []step{{drop: true}},
			wantCalls: 5,
			check: func(t *testing.T, err error) {
				if err == nil || StatusCode(err) != 0 {
					t.Errorf("want transport error with StatusCode 0, got %v", err)
				}
				var ae *APIError
				if errors.As(err, &ae) {
					t.Errorf("transport error reported as APIError: %v", err)
				}
				if !strings.HasPrefix(err.Error(), "DC1: GET /nodes/pve1/qemu: ") {
					t.Errorf("error %q does not name DC, method and path", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			srv := newTestServer(t, scripted(t, rec, tt.steps))
			c := clientFor(t, tokenConfig("DC1", srv.URL), fastRetry)
			ctx := ctxTimeout(t, 10*time.Second)
			var out map[string]any
			var err error
			if tt.method == http.MethodPost {
				err = c.Post(ctx, "/nodes/pve1/qemu", map[string]any{"vmid": 100, "name": "web", "start": false}, &out)
			} else {
				err = c.Get(ctx, "/nodes/pve1/qemu", nil, &out)
			}
			if got := rec.count(); got != tt.wantCalls {
				t.Errorf("server saw %d requests; want %d", got, tt.wantCalls)
			}
			if tt.wantStatus == 0 && tt.check == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if out["version"] != "9.1.1" {
					t.Fatalf("decoded %v", out)
				}
			}
			if tt.wantStatus != 0 {
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("want *APIError, got %T %v", err, err)
				}
				if ae.Status != tt.wantStatus || ae.Message != tt.wantMsg || ae.DC != "DC1" || ae.Method != tt.method || ae.Path != "/nodes/pve1/qemu" {
					t.Errorf("APIError = %+v; want status %d message %q", ae, tt.wantStatus, tt.wantMsg)
				}
				if StatusCode(err) != tt.wantStatus {
					t.Errorf("StatusCode = %d", StatusCode(err))
				}
				if len(tt.wantErrs) != len(ae.Errors) {
					t.Errorf("Errors = %v; want %v", ae.Errors, tt.wantErrs)
				}
				for k, v := range tt.wantErrs {
					if ae.Errors[k] != v {
						t.Errorf("Errors[%q] = %q; want %q", k, ae.Errors[k], v)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			// Retried POSTs must replay the same body.
			if tt.method == http.MethodPost {
				reqs := rec.all()
				for _, r := range reqs {
					var body map[string]any
					if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["vmid"] != float64(100) || body["start"] != float64(0) {
						t.Errorf("request body %q; want the JSON params with start=0", r.Body)
					}
				}
			}
		})
	}
}

func TestRetryOnTimeout(t *testing.T) {
	rec := &recorder{}
	srv := newTestServer(t, scripted(t, rec, []step{{sleep: 5 * time.Second}, {status: 200}}))
	c := clientFor(t, tokenConfig("DC1", srv.URL), fastRetry, WithHTTPTimeout(100*time.Millisecond))
	if err := probe(ctxTimeout(t, 10*time.Second), c); err != nil {
		t.Fatalf("Version: %v", err)
	}
	if got := rec.count(); got != 2 {
		t.Fatalf("server saw %d requests; want 2 (timeout retried)", got)
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	rec := &recorder{}
	srv := newTestServer(t, scripted(t, rec, []step{{status: 503, reason: "Service Unavailable"}}))
	// A long backoff: the cancel must interrupt it.
	c := clientFor(t, tokenConfig("DC1", srv.URL), WithRetry(4, 10*time.Second, 10*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for rec.count() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	err := probe(ctx, c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	if got := rec.count(); got != 1 {
		t.Fatalf("server saw %d requests; want 1", got)
	}
}

func TestConnectionRefusedIsTransportError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := clientFor(t, tokenConfig("DC1", "http://"+addr), WithRetry(2, time.Millisecond, 2*time.Millisecond))
	err = probe(ctxTimeout(t, 10*time.Second), c)
	if err == nil || StatusCode(err) != 0 || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v; want connection refused with StatusCode 0", err)
	}
}

func TestCheckRetryTable(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	tests := []struct {
		name string
		ctx  context.Context
		resp *http.Response
		err  error
		want bool
	}{
		{"200", live, resp(200), nil, false},
		{"400", live, resp(400), nil, false},
		{"500", live, resp(500), nil, false},
		{"501", live, resp(501), nil, false},
		{"429", live, resp(429), nil, true},
		{"502", live, resp(502), nil, true},
		{"503", live, resp(503), nil, true},
		{"504", live, resp(504), nil, true},
		{"reset", live, nil, &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, true},
		{"fingerprint", live, nil, &fingerprintError{expected: "A", got: "B"}, false},
		{"unreachable DC", live, nil, &url.Error{Op: "Get", URL: "https://x", Err: &UnreachableError{DC: "DC1", Cause: errors.New("i/o timeout")}}, false},
		{"refused after answering", live, nil, &connectError{phase: "TCP connect", err: syscall.ECONNREFUSED}, true},
		{"dns not found", live, nil, &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, false},
		{"cancelled", done, resp(503), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := checkRetry(tt.ctx, tt.resp, tt.err)
			if got != tt.want {
				t.Fatalf("checkRetry = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	minW, maxW := 100*time.Millisecond, 1*time.Second
	for attempt := 0; attempt < 8; attempt++ {
		ceil := min(minW<<attempt, maxW)
		for i := 0; i < 50; i++ {
			d := backoff(minW, maxW, attempt, nil)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, ceil/2, ceil)
			}
		}
	}
	r := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"30"}}}
	if d := backoff(minW, maxW, 0, r); d != maxW {
		t.Fatalf("Retry-After 30s capped: got %v; want %v", d, maxW)
	}
	r.Header.Set("Retry-After", "0")
	if d := backoff(minW, maxW, 3, r); d != 0 {
		t.Fatalf("Retry-After 0: got %v", d)
	}
}
