package pvesim

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"time"
)

// sleepCtx waits d, or less if ctx ends first (the client gave up or the
// server dropped the connection); it reports whether the full wait passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// unavailableBody is a small HTML page, as a reverse proxy in front of
// pveproxy sends when its backend does not answer: not PVE's JSON.
const unavailableBody = "<html><head><title>503 Service Unavailable</title></head>\n" +
	"<body><h1>503 Service Unavailable</h1><p>The API backend is unavailable.</p></body></html>\n"

// writeUnavailable answers 503 with the standard reason phrase. No
// Retry-After: retrying clients would otherwise wait whole seconds.
func writeUnavailable(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(unavailableBody)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(unavailableBody))
}

// dropConnection closes the client's connection without a response, the
// way a WAN link or middlebox loses it: the TCP connection is reset, and a
// TLS connection gets no close_notify.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// net/http closes the connection without answering on this panic.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // RST instead of an orderly FIN
	}
	_ = raw.Close()
}

// injectFault draws the request's fault, waits its latency and acts it
// out; it reports whether the request has been dealt with.
func (c *Cluster) injectFault(w http.ResponseWriter, r *http.Request, body []byte, m match) bool {
	fault := c.faults.request()
	if logf := c.logger.Load(); logf != nil {
		if fault.kind != faultNone {
			(*logf)("%s %s [fault: %s]", r.Method, r.URL.RequestURI(), fault.kind)
		} else {
			(*logf)("%s %s", r.Method, r.URL.RequestURI())
		}
	}
	// The delay runs before any lock is taken and ends early when the
	// client goes away; such a request is then neither applied nor
	// answered (returning without a write would send an empty 200).
	if fault.delay > 0 {
		c.faults.count(countDelayed)
	}
	if !sleepCtx(r.Context(), fault.delay) {
		dropConnection(w)
		return true
	}
	switch fault.kind {
	case faultUnavailable:
		c.faults.count(countError503)
		writeUnavailable(w)
	case faultDropBefore:
		c.faults.count(countDropBefore)
		dropConnection(w)
	case faultDropAfter:
		c.faults.count(countDropAfter)
		// serve returns the answer instead of writing it, so applying the
		// change and then losing the response needs no recorder.
		_, _ = c.serve(r, body, m)
		dropConnection(w)
	default:
		return false
	}
	return true
}
