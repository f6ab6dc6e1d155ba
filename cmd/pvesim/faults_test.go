package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

func TestFaultFlags(t *testing.T) {
	base := []string{"-dc", "DC1=127.0.0.1:0"}
	tests := []struct {
		args    []string
		want    pvesim.Faults
		wantErr string
	}{
		{nil, pvesim.Faults{}, ""},
		{[]string{"-latency", "50ms", "-jitter", "10ms", "-error-rate", "0.1", "-drop-before-rate", "0.05",
			"-drop-after-rate", "0.02", "-task-fail-rate", "0.5", "-task-extra", "1s", "-seed", "7", "-duplicate-nextid"},
			pvesim.Faults{Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Error503Rate: 0.1,
				DropBeforeRate: 0.05, DropAfterRate: 0.02, TaskFailRate: 0.5, TaskExtra: time.Second, Seed: 7, DuplicateNextID: true}, ""},
		{[]string{"-error-rate", "1.5"}, pvesim.Faults{}, "-error-rate must be within 0..1"},
		{[]string{"-drop-before-rate", "0.6", "-drop-after-rate", "0.6"}, pvesim.Faults{}, "must not exceed 1"},
		{[]string{"-latency", "-1s"}, pvesim.Faults{}, "-latency must not be negative"},
		{[]string{"-task-extra", "soon"}, pvesim.Faults{}, "invalid value"},
	}
	for _, tt := range tests {
		o, err := parseFlags(append(base, tt.args...), io.Discard)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseFlags(%q) = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("parseFlags(%q): %v", tt.args, err)
		}
		if o.faults != tt.want {
			t.Errorf("parseFlags(%q) faults = %+v, want %+v", tt.args, o.faults, tt.want)
		}
	}
}

func TestMergeFaults(t *testing.T) {
	cur := pvesim.Faults{Latency: 20 * time.Millisecond, Error503Rate: 0.1, Seed: 3}
	marshalled, _ := json.Marshal(pvesim.Faults{Jitter: 5 * time.Millisecond, TaskFailRate: 0.5})
	tests := []struct {
		body    string
		want    pvesim.Faults
		wantErr string
	}{
		{`{}`, cur, ""},
		{`{"jitter": "5ms", "dropAfterRate": 0.2}`,
			pvesim.Faults{Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Error503Rate: 0.1, DropAfterRate: 0.2, Seed: 3}, ""},
		{`{"latency": 0, "error503Rate": 0}`, pvesim.Faults{Seed: 3}, ""},
		{`{"TaskExtra": 1000000000, "DuplicateNextID": true}`,
			pvesim.Faults{Latency: 20 * time.Millisecond, Error503Rate: 0.1, Seed: 3, TaskExtra: time.Second, DuplicateNextID: true}, ""},
		{string(marshalled), pvesim.Faults{Jitter: 5 * time.Millisecond, TaskFailRate: 0.5}, ""},
		{`{"latency": "fast"}`, cur, "invalid duration"},
		{`{"latency": true}`, cur, "want \"50ms\" or nanoseconds"},
		{`{"errorRate": 0.5}`, cur, "unknown field"},
		{`{"error503Rate": 2}`, cur, "Error503Rate must be within 0..1"},
		{`not json`, cur, "invalid character"},
	}
	for _, tt := range tests {
		got, err := mergeFaults(cur, []byte(tt.body))
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("mergeFaults(%s) error = %v, want %q", tt.body, err, tt.wantErr)
		}
		if tt.wantErr == "" && err != nil {
			t.Errorf("mergeFaults(%s): %v", tt.body, err)
		}
		if got != tt.want {
			t.Errorf("mergeFaults(%s) = %+v, want %+v", tt.body, got, tt.want)
		}
	}
}

// startRun runs the command with args until lines announcements are read
// and returns the URLs by name ("DC1", ..., "stats") and a stop func that
// ends the run and returns what it wrote to stderr.
func startRun(t *testing.T, args []string, lines int) (map[string]string, func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var stderr bytes.Buffer // written by run only, read after it returns
	var runErr error
	done := make(chan struct{}) // closed when run returns; runErr is then set
	go func() {
		runErr = run(ctx, args, outW, &stderr)
		outW.Close()
		close(done)
	}()
	lineRe := regexp.MustCompile(`^(\S+) (https?://127\.0\.0\.1:\d+)`)
	urls := map[string]string{}
	sc := bufio.NewScanner(outR)
	for len(urls) < lines && sc.Scan() {
		m := lineRe.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("unexpected line %q", sc.Text())
		}
		urls[m[1]] = m[2]
	}
	if len(urls) < lines {
		cancel()
		<-done
		t.Fatalf("announced %v: %v", urls, runErr)
	}
	stop := func() string {
		cancel()
		select {
		case <-done:
			if runErr != nil {
				t.Errorf("run returned %v", runErr)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("run did not stop")
		}
		return stderr.String()
	}
	t.Cleanup(func() { cancel(); <-done })
	return urls, stop
}

func TestStatsAndFaultsEndpoints(t *testing.T) {
	urls, stop := startRun(t, []string{
		"-dc", "DC1=127.0.0.1:0", "-dc", "DC2=127.0.0.1:0", "-plain-http", "-token", "root@pam!moxxie=SECRET",
		"-task-duration", "0s", "-latency", "1ms", "-seed", "9", "-stats-addr", "127.0.0.1:0",
	}, 3)
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	call := func(method, url, body string, auth bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "PVEAPIToken=root@pam!moxxie=SECRET")
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(data)
	}

	// Flags apply to every datacenter.
	var faults map[string]map[string]any
	_, body := call("GET", urls["stats"]+"/faults", "", false)
	if err := json.Unmarshal([]byte(body), &faults); err != nil {
		t.Fatal(err)
	}
	for _, dc := range []string{"DC1", "DC2"} {
		if f := faults[dc]; f["latency"] != "1ms" || f["seed"] != 9.0 || f["error503Rate"] != 0.0 {
			t.Errorf("%s faults = %v", dc, f)
		}
	}

	// A change for DC1 leaves DC2 alone.
	if status, body := call("POST", urls["stats"]+"/faults?dc=DC1", `{"error503Rate": 1}`, false); status != 200 || !strings.Contains(body, `"error503Rate": 1`) {
		t.Fatalf("POST /faults: %d %s", status, body)
	}
	if status, _ := call("GET", urls["DC1"]+"/api2/json/version", "", true); status != 503 {
		t.Errorf("DC1 after error503Rate=1: %d", status)
	}
	if status, _ := call("GET", urls["DC2"]+"/api2/json/version", "", true); status != 200 {
		t.Errorf("DC2: %d", status)
	}
	for _, bad := range []struct {
		url, body string
		status    int
	}{
		{"/faults?dc=DC9", `{}`, 404},
		{"/faults", `{"error503Rate": 5}`, 400},
		{"/faults?dc=DC2", `{"latency": "x"}`, 400},
	} {
		if status, body := call("POST", urls["stats"]+bad.url, bad.body, false); status != bad.status {
			t.Errorf("POST %s %s: %d %s, want %d", bad.url, bad.body, status, body, bad.status)
		}
	}

	var stats map[string]struct {
		Requests []pvesim.RequestCount `json:"requests"`
		Total    int64                 `json:"total"`
		Faults   pvesim.FaultCounts    `json:"faults"`
	}
	_, body = call("GET", urls["stats"]+"/stats", "", false)
	if err := json.Unmarshal([]byte(body), &stats); err != nil {
		t.Fatal(err)
	}
	want := []pvesim.RequestCount{{Method: "GET", Path: "/version", Count: 1}}
	for _, dc := range []string{"DC1", "DC2"} {
		if s := stats[dc]; s.Total != 1 || len(s.Requests) != 1 || s.Requests[0] != want[0] {
			t.Errorf("%s stats = %+v", dc, s)
		}
	}
	// Both /version calls were delayed (-latency); only DC1's was a 503.
	wantFaults := map[string]pvesim.FaultCounts{"DC1": {Delayed: 1, Error503: 1}, "DC2": {Delayed: 1}}
	for dc, want := range wantFaults {
		if got := stats[dc].Faults; got != want {
			t.Errorf("%s fault counts = %+v, want %+v", dc, got, want)
		}
	}

	summary := stop()
	for _, line := range []string{"DC1: 1 requests", "DC2: 1 requests"} {
		if !strings.Contains(summary, line) {
			t.Errorf("summary %q lacks %q", summary, line)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+1\s+GET\s+/version$`).MatchString(summary) {
		t.Errorf("summary %q lacks the /version count", summary)
	}
}
