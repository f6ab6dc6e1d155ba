package pvesim

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFaultsValidate(t *testing.T) {
	tests := []struct {
		name string
		f    Faults
		want []string // substrings of the error; none means valid
	}{
		{"zero", Faults{}, nil},
		{"typical", Faults{Latency: 50 * time.Millisecond, Jitter: time.Millisecond, Error503Rate: 0.1, DropBeforeRate: 0.05, DropAfterRate: 0.05, TaskFailRate: 1}, nil},
		{"rates sum to one", Faults{Error503Rate: 0.5, DropBeforeRate: 0.25, DropAfterRate: 0.25}, nil},
		{"rate above one", Faults{TaskFailRate: 1.5}, []string{"TaskFailRate must be within 0..1"}},
		{"negative rate", Faults{DropAfterRate: -0.1}, []string{"DropAfterRate must be within 0..1"}},
		{"NaN rate", Faults{Error503Rate: math.NaN()}, []string{"Error503Rate must be within 0..1"}},
		{"rates sum past one", Faults{Error503Rate: 0.6, DropBeforeRate: 0.6}, []string{"must not exceed 1"}},
		{"negative durations", Faults{Latency: -1, TaskExtra: -time.Second}, []string{"Latency must not be negative", "TaskExtra must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestSetFaultsClamps(t *testing.T) {
	c := New(Config{})
	c.SetFaults(Faults{Latency: -time.Second, Jitter: 5, Error503Rate: 2, DropBeforeRate: -1, DropAfterRate: math.NaN(), TaskFailRate: 0.25, Seed: 9, DuplicateNextID: true})
	want := Faults{Jitter: 5, Error503Rate: 1, TaskFailRate: 0.25, Seed: 9, DuplicateNextID: true}
	if got := c.Faults(); got != want {
		t.Errorf("Faults() = %+v, want %+v", got, want)
	}
	c.SetFaults(Faults{})
	if got := c.Faults(); got != (Faults{}) {
		t.Errorf("after reset Faults() = %+v", got)
	}
}

func TestPickFault(t *testing.T) {
	// Dyadic rates keep the band edges exact in floating point.
	f := Faults{Error503Rate: 0.125, DropBeforeRate: 0.25, DropAfterRate: 0.375}
	tests := []struct {
		f    Faults
		u    float64
		want faultKind
	}{
		{f, 0, faultUnavailable},
		{f, 0.1249, faultUnavailable},
		{f, 0.125, faultDropBefore},
		{f, 0.3749, faultDropBefore},
		{f, 0.375, faultDropAfter},
		{f, 0.7499, faultDropAfter},
		{f, 0.75, faultNone},
		{f, 0.9999, faultNone},
		{Faults{}, 0, faultNone},
		{Faults{DropAfterRate: 1}, 0.9999, faultDropAfter},
		{Faults{Error503Rate: 1, DropBeforeRate: 1}, 0.9999, faultUnavailable}, // bands saturate in order
	}
	for _, tt := range tests {
		if got := pickFault(tt.f, tt.u); got != tt.want {
			t.Errorf("pickFault(%+v, %v) = %v, want %v", tt.f, tt.u, got, tt.want)
		}
	}
}

// draw takes n request decisions from a fresh state seeded with f.
func draw(f Faults, n int) []requestFault {
	var s faultState
	s.set(f)
	out := make([]requestFault, n)
	for i := range out {
		out[i] = s.request()
	}
	return out
}

func TestRequestFaultShares(t *testing.T) {
	const n = 20000
	f := Faults{Error503Rate: 0.1, DropBeforeRate: 0.2, DropAfterRate: 0.3, Seed: 1}
	counts := map[faultKind]int{}
	for _, d := range draw(f, n) {
		counts[d.kind]++
	}
	want := map[faultKind]float64{faultUnavailable: 0.1, faultDropBefore: 0.2, faultDropAfter: 0.3, faultNone: 0.4}
	for k, share := range want {
		got := float64(counts[k]) / n
		if math.Abs(got-share) > 0.02 {
			t.Errorf("%v share = %.3f, want %.2f±0.02", k, got, share)
		}
	}
}

func TestRequestFaultsReproducible(t *testing.T) {
	f := Faults{Error503Rate: 0.3, Jitter: time.Millisecond, Seed: 42}
	a, b := draw(f, 500), draw(f, 500)
	f.Seed = 43
	other := draw(f, 500)
	differs := false
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs with the same seed: %+v vs %+v", i, a[i], b[i])
		}
		differs = differs || a[i] != other[i]
	}
	if !differs {
		t.Error("seeds 42 and 43 drew the same 500 outcomes")
	}
}

func TestJitterWithinBounds(t *testing.T) {
	f := Faults{Latency: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}
	seen := map[time.Duration]bool{}
	for _, d := range draw(f, 2000) {
		if d.delay < f.Latency || d.delay > f.Latency+f.Jitter {
			t.Fatalf("delay %v outside [%v, %v]", d.delay, f.Latency, f.Latency+f.Jitter)
		}
		seen[d.delay] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct delays: jitter is not spread", len(seen))
	}
}

func TestTaskFaultDraws(t *testing.T) {
	run := func(f Faults, n int) (fails int, seq []bool) {
		var s faultState
		s.set(f)
		for range n {
			fail, extra := s.task()
			if extra != f.TaskExtra {
				t.Fatalf("extra = %v, want %v", extra, f.TaskExtra)
			}
			if fail {
				fails++
			}
			seq = append(seq, fail)
		}
		return fails, seq
	}
	tests := []struct {
		rate     float64
		min, max int // failures out of 2000
	}{{0, 0, 0}, {1, 2000, 2000}, {0.25, 420, 580}}
	for _, tt := range tests {
		f := Faults{TaskFailRate: tt.rate, TaskExtra: time.Second, Seed: 5}
		fails, seq := run(f, 2000)
		if fails < tt.min || fails > tt.max {
			t.Errorf("rate %v: %d failures, want %d..%d", tt.rate, fails, tt.min, tt.max)
		}
		_, again := run(f, 2000)
		if !slices.Equal(seq, again) {
			t.Errorf("rate %v: same seed gave a different failure sequence", tt.rate)
		}
	}
}
