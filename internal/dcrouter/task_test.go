package dcrouter

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseUPID(t *testing.T) {
	tests := []struct {
		in      string
		want    UPID
		wantErr string
	}{
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam:",
			want: UPID{Node: "pve1", PID: 0xA1B2, PStart: 0x1C3D4, StartTime: 0x65F0A1B2, Type: "qmcreate", ID: "100", User: "root@pam"}},
		{in: "UPID:pve-node-2:00001234:123456789:65F0A1B2:qmstart:105:root@pam!moxxie:",
			want: UPID{Node: "pve-node-2", PID: 0x1234, PStart: 0x123456789, StartTime: 0x65F0A1B2, Type: "qmstart", ID: "105", User: "root@pam!moxxie"}},
		{in: "UPID:pve1:0000a1b2:0001c3d4:65f0a1b2:reloadnetworkall::terraform@pve!tf:",
			want: UPID{Node: "pve1", PID: 0xA1B2, PStart: 0x1C3D4, StartTime: 0x65F0A1B2, Type: "reloadnetworkall", User: "terraform@pve!tf"}},
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam", wantErr: "want"},
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam::", wantErr: "want"},
		{in: "upid:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam:", wantErr: "want"},
		{in: "", wantErr: "want"},
		{in: "UPID::0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam:", wantErr: "node"},
		{in: "UPID:pve_1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam:", wantErr: "node"},
		{in: "UPID:pve1:A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam:", wantErr: "pid"},
		{in: "UPID:pve1:0000A1BZ:0001C3D4:65F0A1B2:qmcreate:100:root@pam:", wantErr: "pid"},
		{in: "UPID:pve1:0000A1B2:1C3D4:65F0A1B2:qmcreate:100:root@pam:", wantErr: "pstart"},
		{in: "UPID:pve1:0000A1B2:0001C3D4AB:65F0A1B2:qmcreate:100:root@pam:", wantErr: "pstart"},
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B:qmcreate:100:root@pam:", wantErr: "starttime"},
		{in: "UPID:pve1:0000A1B2:0001C3D4:+5F0A1B2:qmcreate:100:root@pam:", wantErr: "starttime"},
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2::100:root@pam:", wantErr: "task type"},
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qm create:100:root@pam:", wantErr: "task type"},
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:1 0:root@pam:", wantErr: "task id"},
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100::", wantErr: "user"},
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root:", wantErr: "user"},
		{in: "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:ro/ot@pam:", wantErr: "user"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUPID(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseUPID = %+v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseUPID = %+v, %v; want %+v", got, err, tt.want)
			}
			if !strings.EqualFold(got.String(), tt.in) {
				t.Fatalf("String() = %q; want %q up to case", got.String(), tt.in)
			}
		})
	}
}

// FuzzParseUPID: parsing never panics, and anything accepted round-trips
// through String to the same value and a stable canonical text.
func FuzzParseUPID(f *testing.F) {
	for _, s := range []string{
		"UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam:",
		"UPID:pve1:00001234:123456789:65F0A1B2:qmstart:105:root@pam!moxxie:",
		"UPID:pve1:0000a1b2:0001c3d4:65f0a1b2:reloadnetworkall::root@pam:",
		"UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam",
		"UPID:::::::::",
		"UPID:pve1:FFFFFFFF:FFFFFFFFF:FFFFFFFF:x:y:a@b:",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUPID(s)
		if err != nil {
			if u != (UPID{}) {
				t.Fatalf("error with non-zero UPID %+v", u)
			}
			return
		}
		if u.Node == "" || u.Type == "" || !strings.Contains(u.User, "@") || u.PID < 0 || u.PStart < 0 || u.StartTime < 0 {
			t.Fatalf("accepted %q with implausible fields %+v", s, u)
		}
		canon := u.String()
		again, err := ParseUPID(canon)
		if err != nil {
			t.Fatalf("String() %q of accepted %q does not parse: %v", canon, s, err)
		}
		if again != u {
			t.Fatalf("round trip changed %+v to %+v", u, again)
		}
		if again.String() != canon {
			t.Fatalf("canonical form unstable: %q vs %q", canon, again.String())
		}
		if !strings.EqualFold(canon, s) && len(canon) == len(s) {
			t.Fatalf("same-length canonical %q differs from %q beyond case", canon, s)
		}
	})
}

// taskFake serves a scripted sequence of task states for one UPID.
func taskFake(t *testing.T, rec *recorder, states []map[string]any) string {
	var n atomic.Int64
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if !strings.HasSuffix(r.URL.Path, "/status") || !strings.Contains(r.URL.Path, "/tasks/") {
			writeError(w, 501, "Method '"+r.Method+" "+r.URL.Path+"' not implemented", nil)
			return
		}
		i := int(n.Add(1)) - 1
		writeData(w, states[min(i, len(states)-1)])
	}))
	return srv.URL
}

func TestWaitTask(t *testing.T) {
	const upid = "UPID:pve2:0000A1B2:0001C3D4:65F0A1B2:qmstart:100:root@pam!moxxie:"
	running := map[string]any{"status": "running", "type": "qmstart", "id": "100", "upid": upid}
	stopped := func(exit string) map[string]any {
		return map[string]any{"status": "stopped", "exitstatus": exit, "type": "qmstart", "id": "100", "upid": upid}
	}
	tests := []struct {
		name      string
		states    []map[string]any
		wantPolls int
		wantErr   []string
	}{
		{name: "running then OK", states: []map[string]any{running, running, stopped("OK")}, wantPolls: 3},
		{name: "warnings are success", states: []map[string]any{stopped("WARNINGS: 2")}, wantPolls: 1},
		{name: "failure", states: []map[string]any{running, stopped("VM 100 already running")}, wantPolls: 2,
			wantErr: []string{"DC1: task qmstart 100 failed: VM 100 already running"}},
		{name: "stopped without exit status", states: []map[string]any{{"status": "stopped", "type": "qmstart", "id": "100"}}, wantPolls: 1,
			wantErr: []string{"qmstart 100", "without exit status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := clientFor(t, tokenConfig("DC1", taskFake(t, rec, tt.states)), WithTaskPoll(time.Millisecond, 4*time.Millisecond))
			err := c.WaitTask(ctxTimeout(t, 10*time.Second), upid)
			if got := rec.count(); got != tt.wantPolls {
				t.Errorf("%d polls; want %d", got, tt.wantPolls)
			}
			for _, r := range rec.all() {
				if want := "/api2/json/nodes/pve2/tasks/" + upid + "/status"; r.Path != want {
					t.Errorf("polled %q; want %q", r.Path, want)
				}
				if !strings.Contains(r.RequestURI, "root@pam!moxxie:/status") {
					t.Errorf("UPID was escaped on the wire: %q", r.RequestURI)
				}
			}
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("WaitTask: %v", err)
				}
				return
			}
			var te *TaskError
			if !errors.As(err, &te) || te.UPID != upid || te.Type != "qmstart" || te.ID != "100" {
				t.Fatalf("err = %#v; want *TaskError for %s", err, upid)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestWaitTaskErrors(t *testing.T) {
	t.Run("bad upid makes no request", func(t *testing.T) {
		rec := &recorder{}
		c := clientFor(t, tokenConfig("DC1", taskFake(t, rec, []map[string]any{{}})))
		if err := c.WaitTask(context.Background(), "UPID:nope"); err == nil {
			t.Fatal("want error")
		}
		if rec.count() != 0 {
			t.Fatal("request sent for an invalid UPID")
		}
	})
	t.Run("unknown task", func(t *testing.T) {
		srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, 400, "Parameter verification failed.", map[string]string{"upid": "no such task"})
		}))
		c := clientFor(t, tokenConfig("DC1", srv.URL))
		err := c.WaitTask(ctxTimeout(t, 5*time.Second), "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmstart:100:root@pam:")
		if StatusCode(err) != 400 || !IsNotFound(err) {
			t.Fatalf("err = %v; want 400 not-found", err)
		}
	})
	t.Run("cancel while sleeping returns promptly", func(t *testing.T) {
		rec := &recorder{}
		url := taskFake(t, rec, []map[string]any{{"status": "running", "type": "qmstart", "id": "100"}})
		c := clientFor(t, tokenConfig("DC1", url), WithTaskPoll(100*time.Millisecond, 10*time.Second))
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for rec.count() == 0 { // the first poll, then a 150ms sleep
				time.Sleep(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
			cancel()
		}()
		start := time.Now()
		err := c.WaitTask(ctx, "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmstart:100:root@pam:")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v; want context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("WaitTask took %v after cancel", d)
		}
		if n := rec.count(); n != 1 {
			t.Fatalf("%d polls; want 1", n)
		}
	})
	t.Run("poll interval grows and is capped", func(t *testing.T) {
		rec := &recorder{}
		url := taskFake(t, rec, []map[string]any{{"status": "running"}})
		c := clientFor(t, tokenConfig("DC1", url), WithTaskPoll(20*time.Millisecond, 45*time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		_ = c.WaitTask(ctx, "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmstart:100:root@pam:")
		// 20, 30, 45, 45, ... ms: far fewer polls than at a fixed 20ms, more than at 1s.
		if n := rec.count(); n < 5 || n > 12 {
			t.Fatalf("%d polls in 400ms; want 5-12 with 20ms growing to a 45ms cap", n)
		}
	})
	t.Run("first poll waits for the task to run", func(t *testing.T) {
		rec := &recorder{}
		url := taskFake(t, rec, []map[string]any{{"status": "stopped", "exitstatus": "OK"}})
		c := clientFor(t, tokenConfig("DC1", url), WithTaskPoll(60*time.Millisecond, time.Second))
		start := time.Now()
		if err := c.WaitTask(ctxTimeout(t, 5*time.Second), "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmstart:100:root@pam:"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 60*time.Millisecond || rec.count() != 1 {
			t.Fatalf("first poll after %v, %d polls; want one poll after the 60ms minimum", d, rec.count())
		}
	})
}
