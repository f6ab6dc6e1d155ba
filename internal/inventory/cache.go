package inventory

import (
	"context"
	"sync"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// Cache hands the resources of one Terraform walk their datacenters' snapshots. It keeps no
// answers of its own: each dcrouter.Client already holds the one view of its cluster that the
// process shares (read once, dropped by the client's own writes; see dcrouter's stateCache), so a
// snapshot is built from that view and planning 300 VMs reads each datacenter once. What the Cache
// remembers is derived from that view: which client serves a datacenter, so that Forget can drop
// its view, and the snapshot built from the client's current listing, which every resource of a
// walk shares until the client reads the listing again (building one per resource would cost a
// plan of n VMs n*n).
type Cache struct {
	mu      sync.Mutex
	clients map[string]*dcrouter.Client
	built   map[string]built
}

type built struct {
	from *dcrouter.Listing
	snap Snapshot
}

// NewCache returns an empty Cache.
func NewCache() *Cache {
	return &Cache{clients: map[string]*dcrouter.Client{}, built: map[string]built{}}
}

// Get returns the datacenter's TakeResources snapshot from its client's current view of the
// cluster: what plan-time checks need.
func (c *Cache) Get(ctx context.Context, client *dcrouter.Client) (Snapshot, error) {
	c.mu.Lock()
	c.clients[client.DC()] = client
	c.mu.Unlock()
	l, err := client.ListingOfWalk(ctx)
	if err != nil {
		return Snapshot{DC: client.DC()}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.built[client.DC()]; ok && b.from == l {
		return b.snap, nil
	}
	s := fromListing(client.DC(), l)
	c.built[client.DC()] = built{from: l, snap: s}
	return s, nil
}

// Forget drops a datacenter's view after a change its client did not make itself (writes through
// the client drop it already), so later checks read the datacenter again.
func (c *Cache) Forget(dc string) {
	c.mu.Lock()
	client := c.clients[dc]
	delete(c.built, dc)
	c.mu.Unlock()
	if client != nil {
		client.ForgetResources()
	}
}
