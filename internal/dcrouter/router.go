package dcrouter

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// settings are the router-wide knobs set through Options.
type settings struct {
	retryMax     int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	httpTimeout  time.Duration
	pollMin      time.Duration
	pollMax      time.Duration
}

func defaultSettings() settings {
	return settings{
		retryMax:     4,
		retryWaitMin: 200 * time.Millisecond,
		retryWaitMax: 3 * time.Second,
		httpTimeout:  2 * time.Minute,
		pollMin:      250 * time.Millisecond,
		pollMax:      time.Second,
	}
}

// Option adjusts a Router built by New.
type Option func(*Router)

// WithRetry sets how many times a request is retried (0 disables retries) and
// the bounds of the exponential backoff between attempts.
func WithRetry(retries int, minWait, maxWait time.Duration) Option {
	return func(r *Router) {
		r.set.retryMax = max(retries, 0)
		r.set.retryWaitMin = max(minWait, 0)
		r.set.retryWaitMax = max(maxWait, r.set.retryWaitMin)
	}
}

// WithHTTPTimeout bounds each HTTP attempt (connect to end of body). 0 means none.
func WithHTTPTimeout(d time.Duration) Option {
	return func(r *Router) { r.set.httpTimeout = max(d, 0) }
}

// WithTaskPoll sets WaitTask's first polling interval and the cap it grows to.
func WithTaskPoll(first, limit time.Duration) Option {
	return func(r *Router) {
		first = max(first, time.Millisecond)
		r.set.pollMin = first
		r.set.pollMax = max(limit, first)
	}
}

// Router holds one lazily built Client per configured datacenter.
type Router struct {
	set   settings
	names []string
	dcs   map[string]*dcSlot
}

// dcSlot builds its Client at most once, on first use.
type dcSlot struct {
	cfg    Config
	once   sync.Once
	client *Client
	err    error
}

// New validates every configuration (URL, credentials, fingerprint, CA PEM)
// and returns a Router. No client is built and no network is touched yet.
func New(cfgs []Config, opts ...Option) (*Router, error) {
	r := &Router{set: defaultSettings(), dcs: make(map[string]*dcSlot, len(cfgs))}
	for _, o := range opts {
		o(r)
	}
	for _, c := range cfgs {
		nc, err := c.normalize()
		if err != nil {
			return nil, err
		}
		if _, dup := r.dcs[nc.Name]; dup {
			return nil, fmt.Errorf("datacenter %q is configured twice", nc.Name)
		}
		r.dcs[nc.Name] = &dcSlot{cfg: nc}
		r.names = append(r.names, nc.Name)
	}
	sort.Strings(r.names)
	return r, nil
}

// Names returns the configured datacenter names, sorted.
func (r *Router) Names() []string {
	return append([]string(nil), r.names...)
}

// Config returns the validated configuration of dc: URL normalized to
// ".../api2/json", fingerprint to "AA:BB:..." and MaxConcurrent defaulted.
func (r *Router) Config(dc string) (Config, bool) {
	s, ok := r.dcs[dc]
	if !ok {
		return Config{}, false
	}
	return s.cfg, true
}

// Client returns the client for dc, building it on first use; it is safe for
// concurrent use and always returns the same *Client for a DC.
func (r *Router) Client(dc string) (*Client, error) {
	s, ok := r.dcs[dc]
	if !ok {
		return nil, fmt.Errorf("unknown datacenter %q (configured: %s)", dc, strings.Join(r.names, ", "))
	}
	s.once.Do(func() { s.client, s.err = newClient(s.cfg, r.set) })
	return s.client, s.err
}

// Result is one datacenter's outcome in FanOut.
type Result[T any] struct {
	DC    string
	Value T
	Err   error
}

// FanOut runs fn against every DC in dcs (nil means all, sorted) concurrently
// and returns the results in the order of dcs. One DC failing, or panicking,
// never cancels or hides the others.
func FanOut[T any](ctx context.Context, r *Router, dcs []string, fn func(ctx context.Context, c *Client) (T, error)) []Result[T] {
	if dcs == nil {
		dcs = r.Names()
	}
	out := make([]Result[T], len(dcs))
	var wg sync.WaitGroup
	for i, dc := range dcs {
		out[i].DC = dc
		wg.Add(1)
		go func(res *Result[T]) {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					res.Err = fmt.Errorf("%s: panic: %v\n%s", res.DC, p, debug.Stack())
				}
			}()
			c, err := r.Client(res.DC)
			if err != nil {
				res.Err = err
				return
			}
			res.Value, res.Err = fn(ctx, c)
		}(&out[i])
	}
	wg.Wait()
	return out
}
