package placement

import (
	"sort"
	"sync"
)

// Planned is a VM seen in the current plan.
type Planned struct {
	Name     string
	DC       string
	Cores    int64
	MemoryMB int64
	Exists   bool // already in the cluster (an update), so its size is in the cluster's figures
	Affinity Affinity
}

// Ledger remembers the VMs planned in this provider process, so that capacity and affinity are
// judged against the whole plan, not one VM at a time. Terraform plans again during apply (a
// fresh process per walk), so entries are keyed by name: planning a VM twice replaces its entry,
// and callers skip entries the cluster already holds rather than counting them twice.
type Ledger struct {
	mu      sync.Mutex
	entries map[string]Planned
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{entries: map[string]Planned{}} }

// Record notes p, replacing an earlier entry of the same name.
func (l *Ledger) Record(p Planned) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[p.Name] = p
}

// Others returns every entry except the one named, sorted by name.
func (l *Ledger) Others(name string) []Planned {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Planned, 0, len(l.entries))
	for n, p := range l.entries {
		if n != name {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
