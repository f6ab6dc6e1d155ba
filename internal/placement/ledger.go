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
// fresh process per walk), so entries are keyed by datacenter and name: planning a VM twice
// replaces its entry, same-named VMs of different datacenters stay apart, and callers skip
// entries the cluster already holds rather than counting them twice.
type Ledger struct {
	mu      sync.Mutex
	entries map[string]Planned
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{entries: map[string]Planned{}} }

func (p Planned) key() string { return p.DC + "/" + p.Name }

// Record notes p, replacing an earlier entry of the same datacenter and name.
func (l *Ledger) Record(p Planned) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[p.key()] = p
}

// Others returns every entry except me's, sorted by name, then datacenter.
func (l *Ledger) Others(me Planned) []Planned {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Planned, 0, len(l.entries))
	for k, p := range l.entries {
		if k != me.key() {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].DC < out[j].DC
	})
	return out
}
