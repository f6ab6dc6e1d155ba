package dcrouter

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// newHTTPClient builds the stack go-proxmox sends through:
// captureTransport -> retryablehttp (moxxie's policy) -> pooled *http.Transport (TLS, HTTP/1.1),
// which opens its connections through reach.
func newHTTPClient(cfg Config, set settings) (*http.Client, *reach, error) {
	tc, err := tlsConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	rch := newReach(cfg, tc)
	rc := retryablehttp.NewClient()
	rc.Logger = nil // its default logger writes to stderr; we log through tflog
	rc.RetryMax = set.retryMax
	rc.RetryWaitMin = set.retryWaitMin
	rc.RetryWaitMax = set.retryWaitMax
	rc.CheckRetry = checkRetry
	rc.Backoff = backoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.RequestLogHook = countAttempt
	rc.ResponseLogHook = noteAttemptStatus

	tr, ok := rc.HTTPClient.Transport.(*http.Transport)
	if !ok {
		return nil, nil, fmt.Errorf("unexpected retryablehttp transport %T", rc.HTTPClient.Transport)
	}
	// Connect and handshake share the DC's connect timeout, apart from the request timeout
	// (which must leave room for slow synchronous calls). The TLS settings below only serve
	// connections through a proxy (HTTPS_PROXY), where the transport does the handshake itself.
	tr.DialContext = rch.dialPlain
	tr.DialTLSContext = rch.dialTLS
	tr.TLSHandshakeTimeout = cfg.ConnectTimeout
	tr.TLSClientConfig = tc
	// pveproxy speaks HTTP/1.1 only, and HTTP/2 would drop PVE's reason phrase.
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	tr.MaxIdleConnsPerHost = cfg.MaxConcurrent
	rc.HTTPClient.Timeout = set.httpTimeout

	std := rc.StandardClient()
	std.Transport = &captureTransport{base: std.Transport}
	return std, rch, nil
}

// tlsConfig: fingerprint pinning wins over everything, then insecure, then
// system roots plus the configured CA PEM.
func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case cfg.TLSFingerprint != "":
		// PVE certificates are self-signed: the pin replaces chain and
		// hostname verification, so only the leaf's hash is checked.
		tc.InsecureSkipVerify = true //nolint:gosec // replaced by VerifyConnection below
		tc.VerifyConnection = pinLeaf(cfg.TLSFingerprint)
	case cfg.TLSInsecure:
		tc.InsecureSkipVerify = true //nolint:gosec // explicitly requested by the user
	case cfg.TLSCAPEM != "":
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(cfg.TLSCAPEM)) {
			return nil, errors.New("TLS CA PEM contains no valid certificate")
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// fingerprintError is returned by the TLS handshake when the pin does not match.
type fingerprintError struct {
	expected, got string
}

func (e *fingerprintError) Error() string {
	return fmt.Sprintf("TLS certificate fingerprint mismatch: expected %s, got %s", e.expected, e.got)
}

func pinLeaf(expected string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return &fingerprintError{expected: expected, got: "no certificate"}
		}
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if got := formatFingerprint(sum[:]); got != expected {
			return &fingerprintError{expected: expected, got: got}
		}
		return nil
	}
}

// checkRetry retries network errors and 429/502/503/504 only. A 500 is how
// PVE reports ordinary failures and is never retried; neither are TLS trust
// failures nor the caller's own cancellation.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close() // the error handler passes err on, so nobody else closes it
		}
		return false, ctx.Err()
	}
	if err != nil {
		return retryableNetError(err), nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

// retryableNetError is false for errors that a retry cannot fix, a DC that did not answer
// among them: retrying it would pay its connect timeout again.
func retryableNetError(err error) bool {
	var (
		downErr *UnreachableError
		fpErr   *fingerprintError
		verErr  *tls.CertificateVerificationError
		authErr x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		dnsErr  *net.DNSError
	)
	switch {
	case errors.As(err, &downErr), errors.As(err, &fpErr), errors.As(err, &verErr), errors.As(err, &authErr),
		errors.As(err, &hostErr), errors.As(err, &invErr), errors.As(err, &recErr),
		errors.As(err, &alert):
		return false
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return false
	}
	return true
}

// backoff is capped exponential with jitter in [d/2, d]; a Retry-After on
// 429/503 is honoured up to the cap.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, maxWait)
		}
	}
	d := minWait
	for i := 0; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1) //nolint:gosec // jitter needs no crypto randomness
}

// countAttempt runs before every attempt: it counts attempts for the
// request log and logs each retry with what the previous attempt got
// (status 0: a network error).
func countAttempt(_ retryablehttp.Logger, req *http.Request, i int) {
	ex := exchangeFrom(req.Context())
	if ex == nil {
		return
	}
	ex.mu.Lock()
	ex.attempts = i + 1
	prev := ex.attemptStatus
	ex.attemptStatus = 0
	ex.mu.Unlock()
	if i > 0 && ex.subsystem != "" {
		tflog.SubsystemDebug(req.Context(), ex.subsystem, "retrying Proxmox VE request", map[string]any{
			"method":      req.Method,
			"path":        req.URL.Path,
			"attempt":     i + 1,
			"prev_status": prev,
		})
	}
}

// noteAttemptStatus records each attempt's status for the next retry line.
func noteAttemptStatus(_ retryablehttp.Logger, resp *http.Response) {
	if resp == nil || resp.Request == nil {
		return
	}
	if ex := exchangeFrom(resp.Request.Context()); ex != nil {
		ex.mu.Lock()
		ex.attemptStatus = resp.StatusCode
		ex.mu.Unlock()
	}
}
