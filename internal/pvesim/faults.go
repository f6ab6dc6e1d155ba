package pvesim

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Faults are the failures a WAN link and a loaded cluster produce, injected
// per cluster. The zero value injects nothing.
type Faults struct {
	Latency         time.Duration // added before handling every request
	Jitter          time.Duration // uniform extra 0..Jitter on top of Latency
	Error503Rate    float64       // share of requests answered 503 before any change is applied
	DropBeforeRate  float64       // share of requests whose connection is closed before the change is applied
	DropAfterRate   float64       // share of requests applied, then the connection closed without a response
	TaskFailRate    float64       // share of tasks that stop with a failure exitstatus, having done nothing
	TaskExtra       time.Duration // added to every task's duration
	DuplicateNextID bool          // /cluster/nextid also hands out ids whose create is still in flight
	Seed            int64         // seeds the cluster's fault RNG; same seed, same sequence of outcomes
}

// TaskFailureExit is the exitstatus of a task failed by TaskFailRate.
const TaskFailureExit = "task aborted: injected failure (pvesim)"

// Validate reports settings SetFaults would have to clamp.
func (f Faults) Validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"Error503Rate", f.Error503Rate}, {"DropBeforeRate", f.DropBeforeRate},
		{"DropAfterRate", f.DropAfterRate}, {"TaskFailRate", f.TaskFailRate},
	} {
		if !(r.v >= 0 && r.v <= 1) { // also catches NaN
			errs = append(errs, errors.New(r.name+" must be within 0..1"))
		}
	}
	if f.Error503Rate+f.DropBeforeRate+f.DropAfterRate > 1 {
		errs = append(errs, errors.New("Error503Rate+DropBeforeRate+DropAfterRate must not exceed 1"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Latency", f.Latency}, {"Jitter", f.Jitter}, {"TaskExtra", f.TaskExtra}} {
		if d.v < 0 {
			errs = append(errs, errors.New(d.name+" must not be negative"))
		}
	}
	return errors.Join(errs...)
}

// normalized clamps rates into 0..1 and durations to >= 0. Request rates
// summing past 1 are not scaled: the bands saturate in the order 503,
// drop-before, drop-after.
func (f Faults) normalized() Faults {
	rate := func(v float64) float64 {
		if !(v > 0) {
			return 0
		}
		return min(v, 1)
	}
	f.Error503Rate, f.DropBeforeRate = rate(f.Error503Rate), rate(f.DropBeforeRate)
	f.DropAfterRate, f.TaskFailRate = rate(f.DropAfterRate), rate(f.TaskFailRate)
	f.Latency, f.Jitter, f.TaskExtra = max(f.Latency, 0), max(f.Jitter, 0), max(f.TaskExtra, 0)
	return f
}

// faultKind is what happens to one request besides its latency.
type faultKind int

const (
	faultNone        faultKind = iota
	faultUnavailable           // 503 from the "proxy", handler not run
	faultDropBefore            // connection closed, handler not run
	faultDropAfter             // handler run, connection closed
)

func (k faultKind) String() string {
	return [...]string{"", "503", "drop-before", "drop-after"}[k]
}

// requestFault is the decision for one request.
type requestFault struct {
	delay time.Duration
	kind  faultKind
}

// faultState holds a cluster's faults and RNGs under its own mutex, so
// drawing never waits for (or holds) the cluster mutex.
type faultState struct {
	mu sync.Mutex
	f  Faults
	// Requests and tasks draw from separate streams so that tasks started
	// by a test do not shift which requests fail, and vice versa.
	reqRNG, taskRNG *rand.Rand
	counts          [numCounts]atomic.Int64 // by countKind; never reset
}

// FaultCounts is how often each fault was acted out since the cluster was
// built, so tests can show that the faults they configured really fired.
// SetFaults does not reset them.
type FaultCounts struct {
	Delayed         int64 `json:"delayed"`         // requests held for Latency/Jitter
	Error503        int64 `json:"error503"`        // requests answered 503, not applied
	DropBefore      int64 `json:"dropBefore"`      // connections reset before the request was applied
	DropAfter       int64 `json:"dropAfter"`       // requests applied, then their connection reset
	TaskFailed      int64 `json:"taskFailed"`      // tasks failed by TaskFailRate
	TaskExtended    int64 `json:"taskExtended"`    // tasks run TaskExtra longer
	DuplicateNextID int64 `json:"duplicateNextID"` // nextid answers naming a VMID whose create was in flight
	// VMIDTaken is not injected: it counts creates and clones refused
	// because their VMID exists, the collision a duplicate nextid (or a
	// real race between writers) leads to.
	VMIDTaken int64 `json:"vmidTaken"`
}

// countKind indexes faultState.counts.
type countKind int

const (
	countDelayed countKind = iota
	countError503
	countDropBefore
	countDropAfter
	countTaskFailed
	countTaskExtended
	countDuplicateNextID
	countVMIDTaken
	numCounts
)

func (s *faultState) count(k countKind) { s.counts[k].Add(1) }

func (s *faultState) snapshot() FaultCounts {
	n := func(k countKind) int64 { return s.counts[k].Load() }
	return FaultCounts{
		Delayed: n(countDelayed), Error503: n(countError503), DropBefore: n(countDropBefore),
		DropAfter: n(countDropAfter), TaskFailed: n(countTaskFailed), TaskExtended: n(countTaskExtended),
		DuplicateNextID: n(countDuplicateNextID), VMIDTaken: n(countVMIDTaken),
	}
}

// set replaces the faults and reseeds both streams.
func (s *faultState) set(f Faults) {
	f = f.normalized()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f = f
	s.reseed()
}

func (s *faultState) reseed() {
	seed := uint64(s.f.Seed)
	s.reqRNG = rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	s.taskRNG = rand.New(rand.NewPCG(seed, 0xbf58476d1ce4e5b9))
}

func (s *faultState) get() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f
}

// request draws the fault of the next request: one uniform roll picks the
// outcome from consecutive bands, so each rate is exactly its share.
func (s *faultState) request() requestFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reqRNG == nil {
		s.reseed()
	}
	f := s.f
	out := requestFault{delay: f.Latency}
	if f.Jitter > 0 {
		out.delay += time.Duration(s.reqRNG.Int64N(int64(f.Jitter) + 1))
	}
	out.kind = pickFault(f, s.reqRNG.Float64())
	return out
}

// pickFault maps a roll u in [0,1) to an outcome.
func pickFault(f Faults, u float64) faultKind {
	switch {
	case u < f.Error503Rate:
		return faultUnavailable
	case u < f.Error503Rate+f.DropBeforeRate:
		return faultDropBefore
	case u < f.Error503Rate+f.DropBeforeRate+f.DropAfterRate:
		return faultDropAfter
	}
	return faultNone
}

// task draws whether the next task fails and how much longer it runs.
func (s *faultState) task() (fail bool, extra time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taskRNG == nil {
		s.reseed()
	}
	fail, extra = s.taskRNG.Float64() < s.f.TaskFailRate, s.f.TaskExtra
	if fail {
		s.count(countTaskFailed)
	}
	if extra > 0 {
		s.count(countTaskExtended)
	}
	return fail, extra
}

// SetFaults replaces the cluster's faults (zero value: none) and restarts
// its RNG from f.Seed. Out-of-range values are clamped; see Validate.
func (c *Cluster) SetFaults(f Faults) { c.faults.set(f) }

// Faults returns the faults in force, as clamped by SetFaults.
func (c *Cluster) Faults() Faults { return c.faults.get() }

// FaultCounts returns how often each fault has fired so far.
func (c *Cluster) FaultCounts() FaultCounts { return c.faults.snapshot() }
