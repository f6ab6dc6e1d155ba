package pvesim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The remote side of cross-cluster migration: the proxmox-remote endpoint
// format, id maps, and an API client that behaves like PVE::APIClient::LWP
// (token header, pinned fingerprint, its error texts).

var remoteFormat = &propFormat{keys: map[string]Param{
	"host":        strP("host").format(fmtAddress),
	"port":        intP("port").opt().between(1, 65535),
	"apitoken":    strP("apitoken"),
	"fingerprint": strP("fingerprint").opt().matching(`([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}`),
}}

func fmtAddress(v string) error {
	if net.ParseIP(v) == nil && !dnsNameRe.MatchString(v) {
		return fmt.Errorf("value does not look like a valid address: %s", v)
	}
	return nil
}

// remoteEndpoint is a parsed target-endpoint.
type remoteEndpoint struct {
	host, apitoken, fingerprint string
	port                        int
}

func parseRemote(v string) (remoteEndpoint, error) {
	m, err := remoteFormat.parse(v)
	if err != nil {
		return remoteEndpoint{}, err
	}
	ep := remoteEndpoint{host: m["host"], apitoken: m["apitoken"], fingerprint: strings.ToUpper(m["fingerprint"]), port: 8006}
	if p := m["port"]; p != "" {
		ep.port, _ = strconv.Atoi(p)
	}
	return ep, nil
}

// idMap is PVE's parse_idmap result: "src:dst" entries, one default
// target, or identity ("1").
type idMap struct {
	identity bool
	def      string
	entries  map[string]string
}

func parseIDMap(v string, check func(string) error) (idMap, error) {
	m := idMap{entries: map[string]string{}}
	for _, entry := range splitList(v) {
		if entry == "1" {
			m.identity = true
			continue
		}
		if src, dst, pair := strings.Cut(entry, ":"); pair {
			for _, id := range []string{src, dst} {
				if err := check(id); err != nil {
					return m, fmt.Errorf("entry '%s' contains invalid ID - %v", entry, err)
				}
			}
			if _, dup := m.entries[src]; dup {
				return m, fmt.Errorf("duplicate mapping for source '%s'", src)
			}
			m.entries[src] = dst
			continue
		}
		if err := check(entry); err != nil {
			return m, fmt.Errorf("entry '%s' contains invalid ID - %v", entry, err)
		}
		if m.def != "" {
			return m, errors.New("default target ID can only be provided once")
		}
		m.def = entry
	}
	if m.identity && (m.def != "" || len(m.entries) > 0) {
		return m, errors.New("identity mapping cannot be combined with other mappings")
	}
	return m, nil
}

// mapID is PVE's map_id: an entry, else the default, else the source.
func (m idMap) mapID(src string) string {
	if dst, ok := m.entries[src]; ok {
		return dst
	}
	if m.def != "" {
		return m.def
	}
	return src
}

func fmtStoragePairList(v string) error { _, err := parseIDMap(v, fmtStorageID); return err }
func fmtBridgePairList(v string) error  { _, err := parseIDMap(v, fmtBridge); return err }

// remoteError is an error answer of the remote API, rendered as
// PVE::APIClient's exception: "CODE message" plus parameter errors.
type remoteError struct {
	code   int
	msg    string
	errors map[string]string
}

func (e *remoteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.code, e.msg)
	for _, k := range sortedKeys(e.errors) {
		fmt.Fprintf(&b, "\n%s: %s", k, strings.TrimSpace(e.errors[k]))
	}
	return b.String()
}

// fingerprintError is LWP's refusal of an unverified certificate.
type fingerprintError struct{ fp string }

func (e *fingerprintError) Error() string {
	return fmt.Sprintf("fingerprint '%s' not verified, abort!", e.fp)
}

// remoteClient calls one remote PVE API with an API token.
type remoteClient struct {
	ep   remoteEndpoint
	base string
	tls  *tls.Config
	http *http.Client
}

func newRemoteClient(ep remoteEndpoint) *remoteClient {
	rc := &remoteClient{ep: ep, base: "https://" + net.JoinHostPort(ep.host, strconv.Itoa(ep.port)) + apiBase}
	rc.tls = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		NextProtos:         []string{"http/1.1"},
		InsecureSkipVerify: true, //nolint:gosec // replaced by verify below, as LWP's callback does
		VerifyConnection:   rc.verify,
	}
	rc.http = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:     loopbackDialer().DialContext,
			TLSClientConfig: rc.tls,
			TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
		},
	}
	return rc
}

// verify trusts a pinned fingerprint, else the system's verification of
// chain and host name; anything else is an unverified fingerprint.
func (rc *remoteClient) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return &fingerprintError{fp: "(none)"}
	}
	leaf := cs.PeerCertificates[0]
	fp := Fingerprint(leaf.Raw)
	if rc.ep.fingerprint != "" {
		if fp == rc.ep.fingerprint {
			return nil
		}
		return &fingerprintError{fp: fp}
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: rc.ep.host, Intermediates: inter}); err != nil {
		return &fingerprintError{fp: fp}
	}
	return nil
}

// loopbackDialer refuses anything but loopback addresses: the simulator
// must never reach out of the machine it tests on.
func loopbackDialer() *net.Dialer {
	return &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("pvesim connects to loopback addresses only, not %s", address)
			}
			return nil
		},
	}
}

// call performs one API request and returns its "data".
func (rc *remoteClient) call(ctx context.Context, method, path string, params url.Values) (json.RawMessage, error) {
	target := rc.base + path
	var body io.Reader
	if method == http.MethodGet && len(params) > 0 {
		target += "?" + params.Encode()
	} else if len(params) > 0 {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Authorization", rc.ep.apitoken)
	res, err := rc.http.Do(req)
	if err != nil {
		return nil, rc.transportError(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<24))
	if err != nil {
		return nil, rc.transportError(err)
	}
	var doc struct {
		Data   json.RawMessage   `json:"data"`
		Errors map[string]string `json:"errors"`
	}
	_ = json.Unmarshal(data, &doc)
	if res.StatusCode != http.StatusOK {
		reason := strings.TrimSpace(strings.TrimPrefix(res.Status, strconv.Itoa(res.StatusCode)))
		return nil, &remoteError{code: res.StatusCode, msg: reason, errors: doc.Errors}
	}
	return doc.Data, nil
}

// transportError words a failed connection the way LWP does.
func (rc *remoteClient) transportError(err error) error {
	var fpErr *fingerprintError
	if errors.As(err, &fpErr) {
		return fpErr
	}
	reason := err.Error()
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "Connection refused"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &opErr) && opErr.Timeout():
		reason = "Connection timed out"
	case errors.As(err, &opErr) && opErr.Err != nil:
		reason = opErr.Err.Error()
	}
	return &remoteError{code: 500, msg: fmt.Sprintf("Can't connect to %s (%s)", net.JoinHostPort(rc.ep.host, strconv.Itoa(rc.ep.port)), reason)}
}

// localNodeName asks the remote cluster for the node its API runs on.
func (rc *remoteClient) localNodeName(ctx context.Context) (string, error) {
	data, err := rc.call(ctx, http.MethodGet, "/cluster/status", nil)
	if err != nil {
		return "", err
	}
	var items []struct {
		Type  string `json:"type"`
		Name  string `json:"name"`
		Local int    `json:"local"`
	}
	if err := json.Unmarshal(data, &items); err != nil {
		return "", fmt.Errorf("unexpected /cluster/status answer: %v", err)
	}
	for _, it := range items {
		if it.Type == "node" && it.Local == 1 {
			return it.Name, nil
		}
	}
	return "", errors.New("couldn't determine endpoint's node name")
}

// pinFromCertificateInfo caches the endpoint's fingerprint from
// /nodes/localhost/certificates/info, as remote_migrate does when the
// endpoint names none (the call itself needs a trusted certificate).
func (rc *remoteClient) pinFromCertificateInfo(ctx context.Context) error {
	data, err := rc.call(ctx, http.MethodGet, "/nodes/localhost/certificates/info", nil)
	if err != nil {
		return err
	}
	var certs []struct {
		Filename    string `json:"filename"`
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal(data, &certs); err != nil {
		return fmt.Errorf("unexpected certificate info: %v", err)
	}
	for _, c := range certs {
		if c.Filename == "pveproxy-ssl.pem" || (c.Filename == "pve-ssl.pem" && rc.ep.fingerprint == "") {
			rc.ep.fingerprint = strings.ToUpper(c.Fingerprint)
		}
	}
	return nil
}

// tlsClient wraps a dialled connection with the endpoint's TLS checks.
func tlsClient(conn net.Conn, rc *remoteClient) *tls.Conn {
	cfg := rc.tls.Clone()
	cfg.ServerName = rc.ep.host
	return tls.Client(conn, cfg)
}
