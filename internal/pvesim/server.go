package pvesim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ServerOptions tunes Start.
type ServerOptions struct {
	PlainHTTP bool // serve http:// instead of https:// with a self-signed cert
}

// Server serves a Cluster on one address. Closing it stops listening;
// the cluster keeps its state and Restart listens again on the same port.
// Down and Up do the same abruptly, as a datacenter dropping off the
// network and coming back.
type Server struct {
	Cluster     *Cluster
	URL         string // https://127.0.0.1:port (without /api2/json)
	Fingerprint string // SHA-256 of the certificate, AA:BB:... ("" for plain HTTP)
	CertPEM     string

	addr string
	tls  *tls.Config

	life sync.Mutex // serialises Close, Restart, Down and Up
	mu   sync.Mutex // guards the fields below
	srv  *http.Server
	done chan struct{}
	gate *gate
}

// Start listens on addr ("127.0.0.1:0" picks a port) and serves c.
func Start(c *Cluster, addr string, opts ServerOptions) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Cluster: c, addr: ln.Addr().String()}
	scheme := "http"
	if !opts.PlainHTTP {
		cert, certPEM, fp, err := selfSignedCert()
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
		s.CertPEM, s.Fingerprint, scheme = certPEM, fp, "https"
	}
	s.URL = scheme + "://" + s.addr
	c.mu.Lock()
	c.fingerprint = s.Fingerprint
	c.mu.Unlock()
	s.serve(ln)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	g := &gate{}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !g.enter() { // accepted just before Down: it never arrived
				dropConnection(w)
				return
			}
			defer g.leave()
			s.Cluster.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		// pveproxy speaks HTTP/1.1 only; HTTP/2 would drop the reason phrase.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.srv, s.done, s.gate = srv, done, g
	s.mu.Unlock()
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
}

// stop takes the running server out of service; graceful lets requests
// in flight finish first (up to a deadline). It reports whether one ran.
func (s *Server) stop(graceful bool) bool {
	s.mu.Lock()
	srv, done, g := s.srv, s.done, s.gate
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return false
	}
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	} else {
		_ = srv.Close()
	}
	<-done
	// Closed connections cancel their requests' contexts, so handlers still
	// running (sleeping latency, say) end promptly; none applies a change
	// after this returns.
	g.close()
	return true
}

// Close stops listening, drops connections and finishes running tasks.
func (s *Server) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.stop(true) {
		s.Cluster.Close()
	}
	return nil
}

// Restart listens again on the same address after Close.
func (s *Server) Restart() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.running() {
		return errors.New("pvesim: server is running")
	}
	return s.listen()
}

// Down takes the datacenter off the network: it stops accepting (clients
// get connection refused) and closes open connections at once, without
// waiting for requests in flight. Tasks keep running and all state is kept.
// Down on a stopped server does nothing.
func (s *Server) Down() error {
	s.life.Lock()
	defer s.life.Unlock()
	s.stop(false)
	return nil
}

// Up listens again on the same address after Down (or Close); on a running
// server it does nothing.
func (s *Server) Up() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.running() {
		return nil
	}
	return s.listen()
}

func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv != nil
}

func (s *Server) listen() error {
	var ln net.Listener
	var err error
	for range 50 { // the old socket may linger for a moment
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	s.serve(ln)
	return nil
}

// gate counts a server generation's handlers: close waits for those
// running and turns away any that arrive later.
type gate struct {
	mu     sync.RWMutex // handlers hold it shared while they run
	closed bool
}

func (g *gate) enter() bool {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return false
	}
	return true
}

func (g *gate) leave() { g.mu.RUnlock() }

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// selfSignedCert makes an ECDSA certificate for 127.0.0.1 and localhost.
func selfSignedCert() (tls.Certificate, string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", "", err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "127.0.0.1", Organization: []string{"PVE Cluster Node (pvesim)"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, "", "", err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, "", "", err
	}
	return cert, string(certPEM), Fingerprint(der), nil
}

// Fingerprint formats the SHA-256 of a DER certificate as PVE shows it:
// upper-case hex pairs joined by ':'.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
