package pvesim

import (
	"cmp"
	"slices"
	"sync"
)

// UnknownPath is the pattern requests matching no route are counted under.
const UnknownPath = "(unknown)"

// RequestCount is how many requests one route received.
type RequestCount struct {
	Method string `json:"method"`
	Path   string `json:"path"` // route pattern, e.g. "/nodes/{node}/qemu/{vmid}/config"
	Count  int64  `json:"count"`
}

type requestKey struct{ method, path string }

// requestCounter counts every request that reaches the cluster, faulted
// or not, so tests see what clients really sent (retries included).
type requestCounter struct {
	mu     sync.Mutex
	counts map[requestKey]int64
	total  int64
}

func (rc *requestCounter) add(method, path string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.counts == nil {
		rc.counts = map[requestKey]int64{}
	}
	rc.counts[requestKey{method, path}]++
	rc.total++
}

// Requests returns the request counts per route pattern and method, sorted
// by pattern then method; paths no route matches count under UnknownPath.
func (c *Cluster) Requests() []RequestCount {
	rc := &c.requests
	rc.mu.Lock()
	out := make([]RequestCount, 0, len(rc.counts))
	for k, n := range rc.counts {
		out = append(out, RequestCount{Method: k.method, Path: k.path, Count: n})
	}
	rc.mu.Unlock()
	slices.SortFunc(out, func(a, b RequestCount) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method))
	})
	return out
}

// RequestTotal is the number of requests received since the last reset.
func (c *Cluster) RequestTotal() int64 {
	c.requests.mu.Lock()
	defer c.requests.mu.Unlock()
	return c.requests.total
}

// ResetRequests zeroes the counts.
func (c *Cluster) ResetRequests() {
	c.requests.mu.Lock()
	defer c.requests.mu.Unlock()
	c.requests.counts, c.requests.total = nil, 0
}
