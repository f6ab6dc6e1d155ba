package dcrouter

import (
	"context"
	"slices"
	"sync"
	"time"
)

// stateCache is this client's one view of the datacenter's cluster-wide state: the answers of
// GET /cluster/resources, /version and /cluster/status. Each is read once and then serves every
// caller until this client writes (any POST, PUT or DELETE drops the whole view, before and after
// the write), so a walk over 300 VMs reads each once per datacenter and a read after one of
// moxxie's own writes sees it. Nothing here expires by time: what other writers (another
// workspace, a user in the PVE GUI) changed is seen at the next walk, because Terraform starts a
// fresh provider process, and so a fresh client, for each plan and each apply. Changes this client
// did not make but must see at once (a VM arriving through another datacenter's remote_migrate)
// call ForgetResources.
type stateCache struct {
	mu      sync.Mutex
	gen     uint64 // bumped by every write; an answer fetched before a write is not kept
	entries map[string]*stateEntry
	// last is each key's latest good answer, kept across writes for readers that account for
	// this process's own writes themselves (ClusterResourcesOfWalk).
	last  map[string]*stateEntry
	epoch uint64 // bumped by forget: an answer fetched before it is not kept in last either
}

type stateEntry struct {
	done  chan struct{}
	gen   uint64
	epoch uint64
	val   any
	took  time.Duration // the request's round trip
	err   error
}

// get returns key's answer, sharing one fetch among concurrent callers. The fetch runs detached
// from any one caller's cancellation, so a caller giving up does not fail the others waiting for
// it; errors are not kept: the next caller tries again.
func (sc *stateCache) get(ctx context.Context, key string, fetch func(context.Context) (any, error)) (any, time.Duration, error) {
	sc.mu.Lock()
	if sc.entries == nil {
		sc.entries = map[string]*stateEntry{}
	}
	e := sc.entries[key]
	if e != nil {
		select {
		case <-e.done:
			if e.err != nil || e.gen != sc.gen {
				e = nil
			}
		default: // a fetch is under way: share it
		}
	}
	if e == nil {
		e = &stateEntry{done: make(chan struct{}), gen: sc.gen, epoch: sc.epoch}
		sc.entries[key] = e
		go func(fctx context.Context) {
			start := time.Now()
			e.val, e.err = fetch(fctx)
			e.took = time.Since(start)
			if e.err == nil {
				sc.mu.Lock()
				if sc.last == nil {
					sc.last = map[string]*stateEntry{}
				}
				if old := sc.last[key]; e.epoch == sc.epoch && (old == nil || old.gen <= e.gen) {
					sc.last[key] = e
				}
				sc.mu.Unlock()
			}
			close(e.done)
		}(context.WithoutCancel(ctx))
	}
	sc.mu.Unlock()
	select {
	case <-e.done:
		return e.val, e.took, e.err
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

// seen returns key's latest good answer even if this client wrote since, or nil when there is none.
func (sc *stateCache) seen(key string) *stateEntry {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.last[key]
}

// invalidate forgets the whole view: called on each write.
func (sc *stateCache) invalidate() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.gen++
	sc.entries = nil
}

// forget drops the whole view and the answers kept across writes.
func (sc *stateCache) forget() {
	sc.invalidate()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.last = nil
	sc.epoch++
}

// resources returns /cluster/resources filtered to typ. One unfiltered answer serves every type,
// so a walk that lists nodes for placement and VMs for refresh reads the datacenter once.
func (sc *stateCache) resources(ctx context.Context, fetch func(context.Context) ([]Resource, error)) (*Listing, error) {
	v, _, err := sc.get(ctx, "resources", func(ctx context.Context) (any, error) {
		res, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		return newListing(res), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Listing), nil
}

// Listing is one /cluster/resources answer, filtered by type and indexed by tag once when it is
// read: every resource of a walk asks it, and copying or scanning the whole answer for each would
// make a plan of n VMs cost n*n. A Listing and the slices it returns are shared by every caller
// and must not be modified (ClusterResources and GuestsTagged hand out copies). A new read gives a
// new Listing, so callers may key what they derive from one on its address.
type Listing struct {
	byType map[string][]Resource // every type ClusterResources accepts, "" for all
	tagged map[string][]Resource // guests (qemu) by each of their tags
}

func newListing(all []Resource) *Listing {
	l := &Listing{byType: map[string][]Resource{}, tagged: map[string][]Resource{}}
	for _, typ := range resourceTypes {
		var of []Resource
		for _, r := range all {
			if resourceOfType(r, typ) {
				of = append(of, r)
			}
		}
		l.byType[typ] = of
	}
	for _, r := range all {
		if r.Type != "qemu" {
			continue
		}
		for _, t := range r.TagList() {
			l.tagged[t] = append(l.tagged[t], r)
		}
	}
	return l
}

// resourceTypes are the filters ClusterResources accepts.
var resourceTypes = []string{"", "vm", "node", "storage", "sdn"}

// Of returns the entries of type typ, as ClusterResources' filter selects them.
func (l *Listing) Of(typ string) []Resource { return l.byType[typ] }

// Tagged returns the guests (qemu) that carry tag, in the answer's order.
func (l *Listing) Tagged(tag string) []Resource { return l.tagged[tag] }

// resourceOfType is PVE's ?type= filter of /cluster/resources (PVE::API2::Cluster::resources).
func resourceOfType(r Resource, typ string) bool {
	switch typ {
	case "":
		return true
	case "vm":
		return r.Type == "qemu" || r.Type == "lxc"
	default:
		return r.Type == typ
	}
}

// ClusterResourcesOfWalk is ClusterResources for readers that account for this process's own
// writes themselves, such as plan-time capacity checks, which add the VMs planned in this run from
// their ledger: it answers from the latest /cluster/resources this client read even when the
// client wrote since, and reads only when it has none (or after ForgetResources). During an apply
// that creates 100 VMs, the plan Terraform makes again before each create then costs nothing,
// where a fresh read would cost one request per VM.
func (c *Client) ClusterResourcesOfWalk(ctx context.Context, typ string) ([]Resource, error) {
	l, err := c.ListingOfWalk(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(l.Of(typ)), nil
}

// ListingOfWalk is the Listing ClusterResourcesOfWalk answers from.
func (c *Client) ListingOfWalk(ctx context.Context) (*Listing, error) {
	if e := c.state.seen("resources"); e != nil {
		return e.val.(*Listing), nil
	}
	return c.Listing(ctx)
}

// ForgetResources drops this client's cached view of the cluster (/cluster/resources, /version,
// /cluster/status): for changes this client did not make itself, such as a VM arriving through
// another datacenter's remote_migrate.
func (c *Client) ForgetResources() { c.state.forget() }
