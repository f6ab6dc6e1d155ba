package pvesim

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Every node answers on an address of its own with a certificate of its own, as each PVE node
// runs pveproxy: /cluster/status gives the addresses and marks the node a request reached as
// local, /nodes and each node's certificates/info give that node's fingerprint, and the
// certificate a node's address serves is the one they name.
func TestEveryNodeHasItsOwnEndpoint(t *testing.T) {
	s := startSim(t, testConfig())
	port := s.srv.URL[strings.LastIndex(s.srv.URL, ":")+1:]
	seen := map[string]string{} // fingerprint -> node that served it
	for i, node := range []string{"pve1", "pve2", "pve3"} {
		ip := fmt.Sprintf("127.0.0.%d", i+1)
		var served string
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // the fingerprint is compared below, as PVE's clients pin it
			VerifyConnection: func(cs tls.ConnectionState) error {
				served = Fingerprint(cs.PeerCertificates[0].Raw)
				return nil
			},
		}}}
		get := func(path string, out any) {
			t.Helper()
			req, _ := http.NewRequest("GET", "https://"+ip+":"+port+"/api2/json"+path, nil)
			req.Header.Set("Authorization", "PVEAPIToken="+testTokenID+"="+testSecret)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", node, path, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: %s %s", node, path, resp.Status, body)
			}
			var env struct{ Data json.RawMessage }
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(env.Data, out); err != nil {
				t.Fatal(err)
			}
		}
		var status []struct {
			Type, Name, IP string
			Local          int
		}
		get("/cluster/status", &status)
		for _, st := range status {
			if st.Type != "node" {
				continue
			}
			if want := fmt.Sprintf("127.0.0.%d", map[string]int{"pve1": 1, "pve2": 2, "pve3": 3}[st.Name]); st.IP != want {
				t.Errorf("/cluster/status says %s is at %s, want %s", st.Name, st.IP, want)
			}
			if (st.Local == 1) != (st.Name == node) {
				t.Errorf("asked at %s (%s): %s has local=%d", ip, node, st.Name, st.Local)
			}
		}
		var certs []struct{ Filename, Fingerprint string }
		get("/nodes/localhost/certificates/info", &certs)
		if len(certs) != 1 || certs[0].Fingerprint != served {
			t.Errorf("%s: certificates/info %+v, its address served %s", node, certs, served)
		}
		var nodes []struct {
			Node           string
			SSLFingerprint string `json:"ssl_fingerprint"`
		}
		get("/nodes", &nodes)
		for _, n := range nodes {
			if n.Node == node && n.SSLFingerprint != served {
				t.Errorf("/nodes gives %s the fingerprint %s, its address served %s", node, n.SSLFingerprint, served)
			}
		}
		if other, dup := seen[served]; dup {
			t.Errorf("%s and %s serve the same certificate", other, node)
		}
		seen[served] = node
	}
	if s.srv.Fingerprint != s.srv.Cluster.endpoints["pve1"].fingerprint {
		t.Errorf("Server.Fingerprint %s is not the first node's", s.srv.Fingerprint)
	}

	// Down and Up take every node's endpoint away and back.
	if err := s.srv.Down(); err != nil {
		t.Fatal(err)
	}
	if _, err := (&http.Client{Timeout: time.Second}).Get("http://127.0.0.2:" + port + "/"); err == nil {
		t.Error("pve2's address answers while the datacenter is down")
	}
	if err := s.srv.Up(); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get("https://127.0.0.3:" + port + "/api2/json/version")
	if err != nil {
		t.Fatalf("pve3's address after Up: %v", err)
	}
	resp.Body.Close()
}
