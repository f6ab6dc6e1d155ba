package dcrouter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultConnectTimeout bounds TCP connect plus TLS handshake when a datacenter sets no
// connect timeout. A healthy pveproxy completes both in a few round trips (well under a second
// even across continents, a few seconds when its workers are busy); Go's own handshake default is
// the same 10 s. A DC that does not answer costs this once per provider process.
const DefaultConnectTimeout = 10 * time.Second

// UnreachableError says that a datacenter did not answer a connection attempt. Once a Client
// has seen it, every later call to that DC fails with the same error without touching the
// network, for the rest of the process (one Terraform walk): a DC that does not answer costs one
// connect timeout per provider process, not one per call and retry.
type UnreachableError struct {
	DC      string
	URL     string        // the DC's endpoint, without /api2/json
	Since   time.Time     // when the failed attempt ended
	Timeout time.Duration // the connect timeout that ran out; 0 when the connection was refused
	Phase   string        // "TCP connect" or "TLS handshake": where the attempt stopped
	Cause   error
	// Declared: the provider block sets failed = true; nothing was attempted.
	Declared bool
}

func (e *UnreachableError) Error() string {
	if e.Declared {
		return fmt.Sprintf("datacenter %s (%s) is declared failed (failed = true in the provider block): moxxie sends it no request", e.DC, e.URL)
	}
	var what string
	if e.Timeout > 0 {
		what = fmt.Sprintf("did not answer within %s (%s not completed)", e.Timeout, e.Phase)
	} else {
		what = fmt.Sprintf("could not be reached (%s failed)", e.Phase)
	}
	return fmt.Sprintf("datacenter %s (%s) %s: %v; treated as unreachable since %s for the rest of this provider run",
		e.DC, e.URL, what, e.Cause, e.Since.UTC().Format("15:04:05 UTC"))
}

func (e *UnreachableError) Unwrap() error { return e.Cause }

// IsUnreachable reports whether err says a datacenter did not answer.
func IsUnreachable(err error) bool {
	var ue *UnreachableError
	return errors.As(err, &ue)
}

// IsDeclaredFailed reports whether err says a datacenter is declared failed, as opposed to one
// that did not answer.
func IsDeclaredFailed(err error) bool {
	var ue *UnreachableError
	return errors.As(err, &ue) && ue.Declared
}

// connectError is a refused or unroutable connection to a DC that has answered before in this
// process: likely pveproxy restarting, so the call retries it; a call whose every attempt ends
// here marks the DC unreachable (see Client.send).
type connectError struct {
	phase string
	err   error
}

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// reach opens every connection of one Client and remembers whether the DC answers.
//
// Until the DC has answered once, connection attempts go one at a time (gate), so N concurrent
// first calls to a DC that does not answer cost one attempt and one timeout; the others then
// fail at once. After the DC has answered, connections are opened freely.
type reach struct {
	dc      string
	url     string
	timeout time.Duration
	tls     *tls.Config // nil: plain HTTP
	gate    chan struct{}

	answered  atomic.Bool
	mu        sync.Mutex
	down      *UnreachableError
	announced bool // the mark has been logged

	// for tests: connection attempts made, and those that ran into the connect timeout
	attempts, timeoutsPaid atomic.Int64
}

func newReach(cfg Config, tc *tls.Config) *reach {
	r := &reach{
		dc:      cfg.Name,
		url:     strings.TrimSuffix(cfg.URL, apiPath),
		timeout: cfg.ConnectTimeout,
		tls:     tc,
		gate:    make(chan struct{}, 1),
	}
	if cfg.Failed {
		// Marked down from the start and never announced as an outage: the operator said so.
		r.down = &UnreachableError{DC: r.dc, URL: r.url, Since: time.Now(), Declared: true}
		r.announced = true
	}
	return r
}

// err is the DC's UnreachableError once it has been marked, else nil.
func (r *reach) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down == nil {
		return nil
	}
	return r.down
}

// markDown records the first failure; later ones keep the first's cause and time.
func (r *reach) markDown(e *UnreachableError) *UnreachableError {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down == nil {
		r.down = e
	}
	return r.down
}

// announce returns the mark once, the first time it is asked after the DC was marked, so that
// it is logged once per process.
func (r *reach) announce() *UnreachableError {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down == nil || r.announced {
		return nil
	}
	r.announced = true
	return r.down
}

// dialPlain is http.Transport's DialContext (http:// URLs, and the hop to a proxy).
func (r *reach) dialPlain(ctx context.Context, network, addr string) (net.Conn, error) {
	return r.dial(ctx, network, addr, nil)
}

// dialTLS is http.Transport's DialTLSContext: connect and handshake under one deadline.
func (r *reach) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	return r.dial(ctx, network, addr, r.tls)
}

func (r *reach) dial(ctx context.Context, network, addr string, tc *tls.Config) (net.Conn, error) {
	if err := r.err(); err != nil {
		return nil, err
	}
	if !r.answered.Load() {
		select {
		case r.gate <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := r.err(); err != nil {
			<-r.gate
			return nil, err
		}
		if r.answered.Load() {
			<-r.gate // another attempt got through meanwhile: no need to queue
		} else {
			defer func() { <-r.gate }()
		}
	}
	conn, phase, err := r.connect(ctx, network, addr, tc)
	if err != nil {
		return nil, r.failed(ctx, phase, err)
	}
	r.answered.Store(true)
	return conn, nil
}

func (r *reach) connect(ctx context.Context, network, addr string, tc *tls.Config) (net.Conn, string, error) {
	r.attempts.Add(1)
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	d := net.Dialer{KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(cctx, network, addr)
	if err != nil {
		return nil, "TCP connect", err
	}
	if tc == nil {
		return conn, "", nil
	}
	cfg := tc.Clone()
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	tconn := tls.Client(conn, cfg)
	if err := tconn.HandshakeContext(cctx); err != nil {
		_ = conn.Close()
		return nil, "TLS handshake", err
	}
	return tconn, "", nil
}

// failed classifies a failed attempt. A timeout marks the DC unreachable at once, whether or
// not it answered before: a frozen process does not recover within a retry's backoff. A refused
// or unroutable connection marks it only if the DC never answered in this process; otherwise it
// is retried like any network error (pveproxy restarts refuse for a second or two). Everything
// else (certificate trouble, a connection closed mid-handshake, the caller's own cancellation)
// is returned as it is, for the retry policy to judge.
func (r *reach) failed(ctx context.Context, phase string, err error) error {
	if ctx.Err() != nil {
		return err // the caller gave up; says nothing about the DC
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		r.timeoutsPaid.Add(1)
		return r.markDown(&UnreachableError{DC: r.dc, URL: r.url, Since: time.Now(), Timeout: r.timeout, Phase: phase, Cause: err})
	}
	if refused(err) {
		if !r.answered.Load() {
			return r.markDown(&UnreachableError{DC: r.dc, URL: r.url, Since: time.Now(), Phase: phase, Cause: err})
		}
		return &connectError{phase: phase, err: err}
	}
	return err
}

// exhausted marks the DC unreachable when a call's last attempt could not connect (and the
// caller did not give up first).
func (r *reach) exhausted(ctx context.Context, err error) {
	var ce *connectError
	if ctx.Err() == nil && errors.As(err, &ce) {
		_ = r.markDown(&UnreachableError{DC: r.dc, URL: r.url, Since: time.Now(), Phase: ce.phase, Cause: ce.err})
	}
}

func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}
