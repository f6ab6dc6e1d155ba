package dcrouter

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

func TestRequestLoggingMasksSecrets(t *testing.T) {
	const password = "s3cr3t-Pa55w0rd"
	tests := []struct {
		name   string
		cfg    func(url string) Config
		secret string
	}{
		{name: "token", cfg: func(url string) Config { return tokenConfig("DC1", url) }, secret: testTokenSecret},
		{name: "password", cfg: func(url string) Config {
			return Config{Name: "DC1", URL: url, Username: "root@pam", Password: password}
		}, secret: password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api2/json/access/ticket" {
					writeData(w, map[string]any{"ticket": "T", "CSRFPreventionToken": "C", "username": "root@pam"})
					return
				}
				if calls.Add(1) == 1 {
					writeError(w, 503, "Service Unavailable", nil)
					return
				}
				// A server echoing the secret must not get it into the logs.
				writeError(w, 500, "credential "+tt.secret+" rejected", nil)
			}))
			var buf bytes.Buffer
			ctx := tflogtest.RootLogger(context.Background(), &buf)
			c := clientFor(t, tt.cfg(srv.URL), fastRetry)
			err := c.Get(ctx, "/cluster/resources", map[string]any{"type": "vm"}, nil)
			if StatusCode(err) != 500 {
				t.Fatalf("err = %v; want the 500", err)
			}
			if strings.Contains(buf.String(), tt.secret) {
				t.Fatalf("log contains the secret:\n%s", buf.String())
			}
			entries, err := tflogtest.MultilineJSONDecode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			var request, retry map[string]any
			for _, e := range entries {
				if e["@module"] != "provider.dc.DC1" {
					continue
				}
				switch e["@message"] {
				case "Proxmox VE request":
					if e["path"] == "/cluster/resources?type=vm" {
						request = e
					}
				case "retrying Proxmox VE request":
					retry = e
				}
			}
			if request == nil {
				t.Fatalf("no request line in subsystem dc.DC1:\n%v", entries)
			}
			if request["@level"] != "debug" || request["method"] != "GET" || request["status"] != 500.0 ||
				request["attempts"] != 2.0 || request["dc"] != "DC1" || request["duration_ms"] == nil {
				t.Errorf("request line = %v", request)
			}
			if msg, _ := request["error"].(string); !strings.Contains(msg, "***") {
				t.Errorf("error field not masked: %q", msg)
			}
			if retry == nil || retry["attempt"] != 2.0 || retry["prev_status"] != 503.0 {
				t.Errorf("retry line = %v", retry)
			}
		})
	}
}
