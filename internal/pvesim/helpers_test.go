package pvesim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

const (
	testTokenID = "root@pam!moxxie"
	testSecret  = "SECRET"
)

func testConfig() Config {
	return Config{
		Name: "DC1",
		Nodes: []NodeConfig{
			{Name: "pve1", Cores: 32, MemoryMB: 131072},
			{Name: "pve2", Cores: 16, MemoryMB: 65536},
			{Name: "pve3", Cores: 8, MemoryMB: 32768},
		},
		Tokens: map[string]string{testTokenID: testSecret, "ops@pve!ci": "other"},
		Users:  map[string]string{"root@pam": "rootpass"},
	}
}

// sim is a started simulator plus clients that trust its certificate.
type sim struct {
	srv    *Server
	http   *http.Client
	client *proxmox.Client
}

func startSim(t *testing.T, cfg Config) *sim {
	t.Helper()
	srv, err := Start(New(cfg), "127.0.0.1:0", ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(srv.CertPEM)) {
		t.Fatal("certificate PEM not usable")
	}
	hc := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	t.Cleanup(hc.CloseIdleConnections)
	client := proxmox.NewClient(srv.URL+"/api2/json",
		proxmox.WithAPIToken(testTokenID, testSecret), proxmox.WithHTTPClient(hc))
	return &sim{srv: srv, http: hc, client: client}
}

// rawResult is a response read without go-proxmox.
type rawResult struct {
	status int
	line   string // status line after the code, i.e. the reason phrase
	body   map[string]any
}

func (r rawResult) errors() map[string]any {
	m, _ := r.body["errors"].(map[string]any)
	return m
}

// raw sends a request with the API token unless headers set Authorization
// or Cookie themselves.
func (s *sim) raw(t *testing.T, method, path, contentType, body string, headers map[string]string) rawResult {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+"/api2/json"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if headers == nil {
		req.Header.Set("Authorization", "PVEAPIToken="+testTokenID+"="+testSecret)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	out := rawResult{status: res.StatusCode, line: strings.TrimSpace(res.Status[3:])}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out.body); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, data, err)
		}
	}
	return out
}

func (s *sim) node(t *testing.T, name string) *proxmox.Node {
	t.Helper()
	n, err := s.client.Node(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// wait waits for a task and returns its final state.
func wait(t *testing.T, task *proxmox.Task) *proxmox.Task {
	t.Helper()
	if task == nil {
		t.Fatal("no task")
	}
	if err := task.Wait(context.Background(), 5*time.Millisecond, 10*time.Second); err != nil {
		t.Fatalf("waiting for %s: %v", task.UPID, err)
	}
	return task
}

// createVM creates a VM through go-proxmox and waits for success.
func (s *sim) createVM(t *testing.T, node string, vmid int, opts ...proxmox.VirtualMachineOption) {
	t.Helper()
	task, err := s.node(t, node).NewVirtualMachine(context.Background(), vmid, opts...)
	if err != nil {
		t.Fatalf("create %d: %v", vmid, err)
	}
	if st := wait(t, task); st.ExitStatus != "OK" {
		t.Fatalf("create %d: task %s", vmid, st.ExitStatus)
	}
}

func (s *sim) vm(t *testing.T, node string, vmid int) *proxmox.VirtualMachine {
	t.Helper()
	vm, err := s.node(t, node).VirtualMachine(context.Background(), vmid)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func opt(name string, value any) proxmox.VirtualMachineOption {
	return proxmox.VirtualMachineOption{Name: name, Value: value}
}
