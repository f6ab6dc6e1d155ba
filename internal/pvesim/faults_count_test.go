package pvesim

import (
	"context"
	"testing"
	"time"
)

// Tests in this file prove that FaultCounts counts each fault exactly when
// it fires, so tests elsewhere can rely on it to show their faults fired.

func TestFaultCountsRequests(t *testing.T) {
	const n = 300
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	f := Faults{Latency: time.Millisecond, Error503Rate: 0.2, DropBeforeRate: 0.1, DropAfterRate: 0.1, Seed: 11}
	c.SetFaults(f)
	var seen503 int64
	for range n {
		res, _, err := s.try(context.Background(), "GET", "/version", "")
		if err == nil && res.StatusCode == 503 {
			seen503++
		}
	}
	got := c.FaultCounts()
	// net/http resends some dropped GETs by itself, so the cluster may have
	// drawn more than n outcomes: replay exactly as many.
	total := c.RequestTotal()
	var want FaultCounts
	for _, d := range draw(f, int(total)) {
		want.Delayed++
		switch d.kind {
		case faultUnavailable:
			want.Error503++
		case faultDropBefore:
			want.DropBefore++
		case faultDropAfter:
			want.DropAfter++
		}
	}
	if got != want {
		t.Errorf("after %d requests: counts %+v, want %+v", total, got, want)
	}
	if got.Error503 != seen503 {
		t.Errorf("counted %d 503s, the client saw %d", got.Error503, seen503)
	}
	// Each rate fired about as often as configured (expected 60, 30, 30).
	if got.Error503 < 40 || got.DropBefore < 15 || got.DropAfter < 15 {
		t.Errorf("counts %+v: a configured fault barely fired", got)
	}

	// SetFaults changes what fires from now on, not what was counted.
	c.SetFaults(Faults{})
	if after := c.FaultCounts(); after != got {
		t.Errorf("SetFaults changed the counts: %+v, was %+v", after, got)
	}
}

func TestFaultCountsTasks(t *testing.T) {
	const n = 40
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	c.SetFaults(Faults{TaskFailRate: 0.5, TaskExtra: time.Millisecond, Seed: 5})
	var failed int64
	for i := range n {
		task, err := s.node(t, "pve1").NewVirtualMachine(context.Background(), 100+i)
		if err != nil {
			t.Fatal(err)
		}
		if wait(t, task).ExitStatus == TaskFailureExit {
			failed++
		}
	}
	got := c.FaultCounts()
	if got.TaskFailed != failed || got.TaskExtended != n {
		t.Errorf("counts %+v; %d of %d tasks failed, all were extended", got, failed, n)
	}
	if failed < 10 || failed > 30 {
		t.Errorf("%d of %d tasks failed at rate 0.5", failed, n)
	}
}

// With every rate zero and no latency nothing is counted, however much
// traffic and how many tasks pass.
func TestFaultCountsZeroRates(t *testing.T) {
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	c.SetFaults(Faults{Seed: 3})
	ctx := context.Background()
	for i := range 5 {
		task, err := s.node(t, "pve1").NewVirtualMachine(ctx, 100+i)
		if err != nil {
			t.Fatal(err)
		}
		if st := wait(t, task); st.ExitStatus != "OK" {
			t.Fatalf("exitstatus %q", st.ExitStatus)
		}
		if r := s.raw(t, "GET", "/cluster/nextid", "", "", nil); r.status != 200 {
			t.Fatalf("nextid: %d", r.status)
		}
	}
	for range 100 {
		if res, _, err := s.try(ctx, "GET", "/version", ""); err != nil || res.StatusCode != 200 {
			t.Fatalf("GET /version without faults: %v %v", res, err)
		}
	}
	if got := c.FaultCounts(); got != (FaultCounts{}) {
		t.Errorf("counts %+v without faults, want none", got)
	}
}
