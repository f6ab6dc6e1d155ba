package dcrouter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestTLS(t *testing.T) {
	var conns, handled atomic.Int64
	var proto atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled.Add(1)
		proto.Store(r.Proto)
		writeData(w, map[string]any{"version": "9.1.1"})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	// The server offers HTTP/2; the client must still speak HTTP/1.1 like pveproxy.
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	sum := sha256.Sum256(srv.Certificate().Raw)
	rightFP := formatFingerprint(sum[:])
	wrongSum := sha256.Sum256([]byte("some other certificate"))
	wrongFP := formatFingerprint(wrongSum[:])
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	tests := []struct {
		name    string
		mut     func(*Config)
		wantErr []string
	}{
		{name: "default verification fails", mut: func(*Config) {}, wantErr: []string{"certificate signed by unknown authority"}},
		{name: "insecure", mut: func(c *Config) { c.TLSInsecure = true }},
		{name: "right fingerprint, any case, no colons", mut: func(c *Config) {
			c.TLSFingerprint = strings.ToLower(hex.EncodeToString(sum[:]))
		}},
		{name: "wrong fingerprint", mut: func(c *Config) { c.TLSFingerprint = wrongFP },
			wantErr: []string{"fingerprint mismatch", "expected " + wrongFP, "got " + rightFP}},
		{name: "wrong fingerprint beats insecure", mut: func(c *Config) { c.TLSFingerprint = wrongFP; c.TLSInsecure = true },
			wantErr: []string{"fingerprint mismatch"}},
		{name: "ca pem", mut: func(c *Config) { c.TLSCAPEM = caPEM }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conns.Store(0)
			handled.Store(0)
			cfg := tokenConfig("DC1", srv.URL)
			tt.mut(&cfg)
			c := clientFor(t, cfg, fastRetry)
			v, err := c.Version(ctxTimeout(t, 10*time.Second))
			if len(tt.wantErr) == 0 {
				if err != nil || v.Version != "9.1.1" {
					t.Fatalf("Version = %+v, %v", v, err)
				}
				if p, _ := proto.Load().(string); p != "HTTP/1.1" {
					t.Fatalf("protocol = %q; want HTTP/1.1", p)
				}
				return
			}
			if err == nil {
				t.Fatal("want TLS error, got none")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if StatusCode(err) != 0 {
				t.Errorf("StatusCode = %d; want 0", StatusCode(err))
			}
			// Certificate errors are final: one handshake, never retried.
			if n := conns.Load(); n != 1 {
				t.Errorf("%d connections; want 1 (no retry)", n)
			}
			if n := handled.Load(); n != 0 {
				t.Errorf("handler ran %d times through a refused certificate", n)
			}
		})
	}
}
