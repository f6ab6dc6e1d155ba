package dcrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

func TestTargetEndpoint(t *testing.T) {
	fp := strings.Repeat("ab:", 31) + "ab"
	tests := []struct {
		name    string
		cfg     Config
		want    string
		wantErr string
	}{
		{name: "explicit port and pin", cfg: Config{Name: "DC2", URL: "https://pve.dc2.example.net:8006/api2/json",
			TokenID: "moxxie@pve!mig", TokenSecret: "s3cr3t", TLSFingerprint: fp},
			want: "host=pve.dc2.example.net,port=8006,apitoken=PVEAPIToken=moxxie@pve!mig=s3cr3t,fingerprint=" + strings.ToUpper(fp)},
		{name: "reverse proxy on 443", cfg: Config{Name: "DC2", URL: "https://pve.dc2.example.net:443", TokenID: "ops@pam!mig", TokenSecret: "c"},
			want: "host=pve.dc2.example.net,port=443,apitoken=PVEAPIToken=ops@pam!mig=c"},
		{name: "no port means https's 443", cfg: Config{Name: "DC2", URL: "https://pve.dc2.example.net/", TokenID: "ops@pam!mig", TokenSecret: "c"},
			want: "host=pve.dc2.example.net,port=443,apitoken=PVEAPIToken=ops@pam!mig=c"},
		{name: "IPv6 host", cfg: Config{Name: "DC2", URL: "https://[fd00::2]:8006", TokenID: "ops@pam!mig", TokenSecret: "c"},
			want: "host=fd00::2,port=8006,apitoken=PVEAPIToken=ops@pam!mig=c"},
		{name: "plain http", cfg: Config{Name: "DC2", URL: "http://127.0.0.1:8006", TokenID: "ops@pam!mig", TokenSecret: "c"},
			wantErr: "needs an https URL"},
		{name: "password auth", cfg: Config{Name: "DC2", URL: "https://h:8006", Username: "root@pam", Password: "pw"},
			wantErr: "needs an API token"},
		{name: "comma in secret", cfg: Config{Name: "DC2", URL: "https://h:8006", TokenID: "ops@pam!mig", TokenSecret: "x,y"},
			wantErr: "without ','"},
		{name: "bad fingerprint", cfg: Config{Name: "DC2", URL: "https://h:8006", TokenID: "ops@pam!mig", TokenSecret: "c", TLSFingerprint: "zz"},
			wantErr: "TLS fingerprint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TargetEndpoint(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "x,y") || strings.Contains(err.Error(), "pw") {
					t.Errorf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestEndpointSecret(t *testing.T) {
	for in, want := range map[string]string{
		"host=h,port=1,apitoken=PVEAPIToken=ops@pam!mig=s3cr3t,fingerprint=AA": "s3cr3t",
		"apitoken=ops@pam!mig=xyz": "xyz",
		"host=h":                   "",
	} {
		if got := endpointSecret(in); got != want {
			t.Errorf("endpointSecret(%q) = %q; want %q", in, got, want)
		}
	}
}

// twoDCs starts a source and a target simulator and returns a client of
// the source and the target's endpoint for remote_migrate.
func twoDCs(t *testing.T) (*Client, *pvesim.Cluster, *pvesim.Cluster, string) {
	t.Helper()
	src, srcCluster := simClient(t)
	// The target token needs rights there (mtunnel: VM.Allocate, Sys.Incoming, ...).
	dst := pvesim.New(pvesim.Config{Name: "DC2", PrivsepTokens: []pvesim.PrivsepToken{{ID: "moxxie@pve!mig", Secret: "t4rget-s3cret", Role: "Administrator"}},
		Bridges: []string{"vmbr0", "vmbr1"}})
	srv, err := pvesim.Start(dst, "127.0.0.1:0", pvesim.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ep, err := TargetEndpoint(Config{Name: "DC2", URL: srv.URL, TokenID: "moxxie@pve!mig", TokenSecret: "t4rget-s3cret",
		TLSFingerprint: srv.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	return src, srcCluster, dst, ep
}

func TestRemoteMigrateAgainstSimulators(t *testing.T) {
	c, src, dst, ep := twoDCs(t)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := src.AddVM("pve1", 100, map[string]string{"name": "web", "tags": "moxxie",
		"scsi0": "local-lvm:vm-100-disk-0,size=4G", "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=100"}, false); err != nil {
		t.Fatal(err)
	}
	upid, err := c.RemoteMigrate(ctx, "pve1", 100, map[string]any{
		"target-endpoint": ep, "target-storage": "local-lvm", "target-bridge": "vmbr0:vmbr1", "target-vmid": 200})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := ParseUPID(upid); u.Type != "qmigrate" || u.ID != "100" || u.Node != "pve1" {
		t.Errorf("UPID %q", upid)
	}
	if err := c.WaitTask(ctx, upid); err != nil {
		t.Fatal(err)
	}
	vm, ok := dst.VM(200)
	if !ok || vm.Config["net0"] != "virtio=BC:24:11:00:00:01,bridge=vmbr1,tag=100" || vm.Config["scsi0"] != "local-lvm:vm-200-disk-0,size=4G" {
		t.Errorf("target VM %+v", vm)
	}
	if st, _ := c.VMStatus(ctx, "pve1", 100); st.Lock != "migrate" || st.Status != "stopped" {
		t.Errorf("source status %+v", st)
	}

	// A failing migration: exit "migration aborted", the reason in the log.
	if err := src.AddVM("pve1", 101, map[string]string{"scsi0": "local-lvm:vm-101-disk-0,size=1G",
		"net0": "virtio=BC:24:11:00:00:02,bridge=vmbr0"}, false); err != nil {
		t.Fatal(err)
	}
	upid, err = c.RemoteMigrate(ctx, "pve1", 101, map[string]any{
		"target-endpoint": ep, "target-storage": "local-lvm", "target-bridge": "vmbr7"})
	if err != nil {
		t.Fatal(err)
	}
	var te *TaskError
	if err := c.WaitTask(ctx, upid); !errors.As(err, &te) || te.ExitStatus != "migration aborted" {
		t.Fatalf("WaitTask = %v; want migration aborted", err)
	}
	lines, err := c.TaskLog(ctx, upid)
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), "bridge 'vmbr7' does not exist") || lines[len(lines)-1] != "TASK ERROR: migration aborted" {
		t.Errorf("task log %q, %v", lines, err)
	}
}

func TestRemoteMigrateMasksTargetSecret(t *testing.T) {
	const secret = "t4rget-s3cret"
	ep := "host=127.0.0.1,port=8006,apitoken=PVEAPIToken=moxxie@pve!mig=" + secret
	// A server that echoes the endpoint in its error, status line included.
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		echo, _ := body["target-endpoint"].(string)
		writeError(w, 500, "refusing "+echo, map[string]string{"target-endpoint": echo})
	}))
	c := clientFor(t, tokenConfig("DC1", srv.URL))
	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(ctxTimeout(t, 10*time.Second), &buf)
	_, err := c.RemoteMigrate(ctx, "pve1", 100, map[string]any{"target-endpoint": ep, "target-storage": "local-lvm", "target-bridge": "1"})
	if StatusCode(err) != 500 || !strings.Contains(err.Error(), "refusing host=127.0.0.1") || !strings.Contains(err.Error(), "***") {
		t.Fatalf("err = %v; want the redacted 500", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error leaks the secret: %v", err)
	}
	if strings.Contains(buf.String(), secret) || !strings.Contains(buf.String(), "/remote_migrate") {
		t.Errorf("log leaks the secret or lacks the request:\n%s", buf.String())
	}
	if _, err := c.RemoteMigrate(context.Background(), "pve1", 100, map[string]any{"target-storage": "x"}); err == nil {
		t.Error("missing target-endpoint accepted")
	}
}

func TestRedactError(t *testing.T) {
	ae := &APIError{DC: "DC1", Method: "POST", Path: "/x", Status: 400, Message: "bad s3cret",
		Errors: map[string]string{"target-endpoint": "value s3cret rejected"}}
	err := redactError(ae, "s3cret")
	var got *APIError
	if !errors.As(err, &got) || got.Status != 400 || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "***") {
		t.Errorf("redacted APIError = %v", err)
	}
	if ae.Message != "bad s3cret" {
		t.Error("redaction modified the original error")
	}
	wrapped := redactError(errors.Join(context.Canceled, errors.New("s3cret")), "s3cret")
	if strings.Contains(wrapped.Error(), "s3cret") {
		t.Errorf("wrapped error leaks: %v", wrapped)
	}
	plain := errors.New("nothing secret")
	if !errors.Is(redactError(plain, "s3cret"), plain) {
		t.Error("error without the secret was replaced")
	}
}
