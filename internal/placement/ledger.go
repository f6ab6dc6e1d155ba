package placement

import (
	"sort"
	"sync"
)

// Planned is a VM seen in the current plan.
type Planned struct {
	ID       string // moxxie identity; "" for a VM not created yet
	Name     string
	DC       string
	Cores    int64
	MemoryMB int64
	Running  bool   // planned to run: whether it takes node capacity where stopped VMs do not
	Node     string // the node it must go on or, once Create chose, went on; "" lets placement choose
	Exists   bool   // already in the cluster (an update), so its size is in the cluster's figures
	Affinity Affinity
}

// key identifies the entry within its datacenter: the VM's identity when it has one, else its
// name, the one stable handle a VM not created yet has at plan time (two new VMs of one name in
// one datacenter share an entry).
func (p Planned) key() string {
	if p.ID != "" {
		return "id/" + p.ID
	}
	return "name/" + p.Name
}

// Ledger remembers the VMs planned in this provider process, so that capacity and affinity are
// judged against the whole plan, not one VM at a time. Terraform plans again during apply (a
// fresh process per walk), and a VM is counted once whatever it is called meanwhile: entries are
// keyed by datacenter and identity (see key), planning a VM again replaces its entry, Book moves a
// created VM's entry to its new identity, and callers skip entries the cluster already holds.
type Ledger struct {
	mu   sync.Mutex
	byDC map[string]map[string]Planned // datacenter, then key
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{byDC: map[string]map[string]Planned{}} }

// Record notes p, replacing an earlier entry of the same datacenter and identity.
func (l *Ledger) Record(p Planned) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries(p.DC)[p.key()] = p
}

// entries is dc's entries, made on first use. Caller holds l.mu.
func (l *Ledger) entries(dc string) map[string]Planned {
	m := l.byDC[dc]
	if m == nil {
		m = map[string]Planned{}
		l.byDC[dc] = m
	}
	return m
}

// Book notes that Create put p on node under identity id: the entry keeps counting on that node
// until the datacenter's listing shows the VM.
func (l *Ledger) Book(p Planned, id, node string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.entries(p.DC)
	delete(m, p.key())
	p.ID, p.Node = id, node
	m[p.key()] = p
}

// Others returns every entry except me's, sorted by name, then datacenter.
func (l *Ledger) Others(me Planned) []Planned {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Planned
	for dc, m := range l.byDC {
		for key, p := range m {
			if dc != me.DC || key != me.key() {
				out = append(out, p)
			}
		}
	}
	sortPlanned(out)
	return out
}

// InDC returns the entries of me's datacenter, except me's, that keep accepts, sorted by name.
// Checks of one VM against its neighbours ask for these: they visit one datacenter's entries and
// copy only those they use, where Others copies and sorts the whole plan for each VM planned.
func (l *Ledger) InDC(me Planned, keep func(Planned) bool) []Planned {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Planned
	for key, p := range l.byDC[me.DC] {
		if key != me.key() && keep(p) {
			out = append(out, p)
		}
	}
	sortPlanned(out)
	return out
}

func sortPlanned(ps []Planned) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Name != ps[j].Name {
			return ps[i].Name < ps[j].Name
		}
		if ps[i].DC != ps[j].DC {
			return ps[i].DC < ps[j].DC
		}
		return ps[i].ID < ps[j].ID
	})
}
