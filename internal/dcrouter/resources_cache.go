package dcrouter

import (
	"context"
	"sync"
	"time"
)

// resourcesTTL bounds how long one /cluster/resources answer serves every resource of a
// Terraform walk. Any write through the same client drops it at once, so moxxie always sees its
// own changes; other writers' changes show within the TTL.
const resourcesTTL = 3 * time.Second

// resourcesCache keeps the last /cluster/resources answer per type and lets concurrent callers
// share one request: a refresh of 300 VMs makes one call per datacenter, not 300.
type resourcesCache struct {
	mu      sync.Mutex
	gen     uint64 // bumped by every write; an answer fetched before a write is not kept
	entries map[string]*resourcesEntry
}

type resourcesEntry struct {
	done chan struct{}
	at   time.Time
	gen  uint64
	res  []Resource
	err  error
}

func (rc *resourcesCache) get(ctx context.Context, typ string, fetch func() ([]Resource, error)) ([]Resource, error) {
	rc.mu.Lock()
	if rc.entries == nil {
		rc.entries = map[string]*resourcesEntry{}
	}
	e := rc.entries[typ]
	if e != nil {
		select {
		case <-e.done:
			if e.err != nil || e.gen != rc.gen || time.Since(e.at) > resourcesTTL {
				e = nil
			}
		default: // a fetch is under way: share it
		}
	}
	if e == nil {
		e = &resourcesEntry{done: make(chan struct{}), gen: rc.gen}
		rc.entries[typ] = e
		rc.mu.Unlock()
		e.res, e.err = fetch()
		e.at = time.Now()
		close(e.done)
		return clone(e.res), e.err
	}
	rc.mu.Unlock()
	select {
	case <-e.done:
		return clone(e.res), e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// invalidate forgets every answer: called on each write.
func (rc *resourcesCache) invalidate() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.gen++
	rc.entries = nil
}

func clone(in []Resource) []Resource {
	if in == nil {
		return nil
	}
	return append([]Resource(nil), in...)
}

// ForgetResources drops the cached /cluster/resources answers: for changes this client did not
// make itself, such as a VM arriving through another datacenter's remote_migrate.
func (c *Client) ForgetResources() { c.resources.invalidate() }
