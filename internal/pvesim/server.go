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
	"strconv"
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
//
// Served on 127.0.0.1, every further node answers on an address of its own,
// 127.0.0.2 for the second and so on, on the same port and with a
// certificate of its own, as each PVE node runs its own pveproxy:
// /cluster/status reports those addresses, "localhost" and local are the
// node a request reached, and remote migration to a node goes there.
type Server struct {
	Cluster     *Cluster
	URL         string // https://127.0.0.1:port (without /api2/json)
	Fingerprint string // SHA-256 of the first node's certificate, AA:BB:... ("" for plain HTTP)
	CertPEM     string

	addr  string   // the first node's
	addrs []string // every node's, the first node's first
	tls   *tls.Config
	local map[string]string // listening IP -> node name

	life sync.Mutex // serialises Close, Restart, Down and Up
	mu   sync.Mutex // guards the fields below
	srv  *http.Server
	done chan struct{}
	gate *gate
}

// localNodeKey carries the name of the node whose endpoint took a request.
type localNodeKey struct{}

// Start listens on addr ("127.0.0.1:0" picks a port) and serves c.
func Start(c *Cluster, addr string, opts ServerOptions) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Cluster: c, addr: ln.Addr().String(), local: map[string]string{}}
	lns := []net.Listener{ln}
	fail := func(err error) (*Server, error) {
		for _, l := range lns {
			l.Close()
		}
		return nil, err
	}
	c.mu.Lock()
	nodes := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		nodes[i] = n.Name
	}
	c.mu.Unlock()
	host, port, _ := net.SplitHostPort(s.addr)
	ips := []string{host}
	if host == "127.0.0.1" {
		for i := 1; i < len(nodes) && i < 250; i++ {
			ip := "127.0.0." + strconv.Itoa(i+1)
			l, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				return fail(fmt.Errorf("pvesim: node %s's endpoint: %w", nodes[i], err))
			}
			lns = append(lns, l)
			ips = append(ips, ip)
		}
	}
	endpoints := map[string]nodeEndpoint{}
	certs := map[string]tls.Certificate{}
	for i, ip := range ips {
		s.addrs = append(s.addrs, net.JoinHostPort(ip, port))
		s.local[ip] = nodes[i]
		ep := nodeEndpoint{ip: ip}
		if !opts.PlainHTTP {
			cert, certPEM, fp, err := selfSignedCert(ip)
			if err != nil {
				return fail(err)
			}
			certs[ip], ep.fingerprint = cert, fp
			if i == 0 {
				s.CertPEM, s.Fingerprint = certPEM, fp
			}
		}
		endpoints[nodes[i]] = ep
	}
	if len(ips) == 1 {
		// One address for the cluster: the other nodes share its certificate and have no address.
		for _, n := range nodes[1:] {
			endpoints[n] = nodeEndpoint{fingerprint: s.Fingerprint}
		}
	}
	scheme := "http"
	if !opts.PlainHTTP {
		scheme = "https"
		s.tls = &tls.Config{NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12,
			GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				cert, ok := certs[localIP(hello.Conn)]
				if !ok {
					cert = certs[ips[0]]
				}
				return &cert, nil
			}}
	}
	s.URL = scheme + "://" + s.addr
	c.mu.Lock()
	c.endpoints = endpoints
	c.mu.Unlock()
	s.serve(lns)
	return s, nil
}

// localIP is the address a connection was accepted on.
func localIP(conn net.Conn) string {
	if a, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ""
}

func (s *Server) serve(lns []net.Listener) {
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
		ConnContext: func(ctx context.Context, conn net.Conn) context.Context {
			if node, ok := s.local[localIP(conn)]; ok {
				return context.WithValue(ctx, localNodeKey{}, node)
			}
			return ctx
		},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		// pveproxy speaks HTTP/1.1 only; HTTP/2 would drop the reason phrase.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.srv, s.done, s.gate = srv, done, g
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, ln := range lns {
		if s.tls != nil {
			ln = tls.NewListener(ln, s.tls)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = srv.Serve(ln)
		}()
	}
	go func() {
		wg.Wait()
		close(done)
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
	var lns []net.Listener
	for _, addr := range s.addrs {
		var ln net.Listener
		var err error
		for range 50 { // the old socket may linger for a moment
			if ln, err = net.Listen("tcp", addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return err
		}
		lns = append(lns, ln)
	}
	s.serve(lns)
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

// selfSignedCert makes an ECDSA certificate for ip and localhost.
func selfSignedCert(ip string) (tls.Certificate, string, string, error) {
	addr := net.ParseIP(ip)
	if addr == nil {
		addr = net.ParseIP("127.0.0.1")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", "", err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: ip, Organization: []string{"PVE Cluster Node (pvesim)"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{addr, net.IPv6loopback},
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
