package inventory

import (
	"context"
	"sync"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// Cache shares snapshots among the resources of one Terraform walk: planning 300 VMs must not
// read the clusters 300 times. Concurrent callers for the same datacenter wait for one read.
type Cache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	done chan struct{}
	at   time.Time
	snap Snapshot
	err  error
}

// NewCache keeps snapshots for ttl.
func NewCache(ttl time.Duration) *Cache { return &Cache{ttl: ttl, entries: map[string]*cacheEntry{}} }

// Get returns a snapshot no older than the cache's ttl. Errors are not kept: the next caller tries
// again.
func (c *Cache) Get(ctx context.Context, client *dcrouter.Client) (Snapshot, error) {
	dc := client.DC()
	c.mu.Lock()
	e := c.entries[dc]
	if e != nil {
		select {
		case <-e.done:
			if e.err != nil || time.Since(e.at) > c.ttl {
				e = nil
			}
		default: // a read is under way: wait for it
		}
	}
	if e == nil {
		e = &cacheEntry{done: make(chan struct{})}
		c.entries[dc] = e
		c.mu.Unlock()
		e.snap, e.err = Take(ctx, client)
		e.at = time.Now()
		close(e.done)
		return e.snap, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.snap, e.err
	case <-ctx.Done():
		return Snapshot{}, ctx.Err()
	}
}

// Forget drops a datacenter's snapshot after moxxie changed it, so later checks see the change.
func (c *Cache) Forget(dc string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, dc)
}
