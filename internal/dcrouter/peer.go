package dcrouter

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Peer is the certificate a datacenter's API presented to moxxie.
type Peer struct {
	Fingerprint string // SHA-256 of the leaf, AA:BB:... as PVE writes it
	Verified    bool   // false when only tls_insecure let the connection through
}

// PeerCertificate connects to the datacenter with the same TLS trust its client uses (pin, CA,
// or insecure) and returns the leaf certificate's fingerprint. remote_migrate needs it when the
// datacenter has no pinned fingerprint: PVE refuses a target whose certificate it cannot verify.
func PeerCertificate(ctx context.Context, cfg Config) (Peer, error) {
	tc, err := tlsConfig(cfg)
	if err != nil {
		return Peer{}, fmt.Errorf("datacenter %q: %w", cfg.Name, err)
	}
	norm, err := NormalizeURL(cfg.URL)
	if err != nil {
		return Peer{}, fmt.Errorf("datacenter %q: %w", cfg.Name, err)
	}
	u, _ := url.Parse(norm)
	if u.Scheme != "https" {
		return Peer{}, fmt.Errorf("datacenter %q: remote migration needs an https URL", cfg.Name)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	tc.ServerName = u.Hostname()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 30 * time.Second}, Config: tc}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return Peer{}, fmt.Errorf("datacenter %s: TLS connection to %s: %w", cfg.Name, u.Host, err)
	}
	defer conn.Close()
	tlsConn, ok := conn.(*tls.Conn)
	if !ok {
		return Peer{}, fmt.Errorf("datacenter %s: unexpected connection %T", cfg.Name, conn)
	}
	certs := tlsConn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return Peer{}, fmt.Errorf("datacenter %s presented no certificate", cfg.Name)
	}
	sum := sha256.Sum256(certs[0].Raw)
	return Peer{Fingerprint: formatFingerprint(sum[:]), Verified: cfg.TLSFingerprint != "" || !cfg.TLSInsecure}, nil
}
