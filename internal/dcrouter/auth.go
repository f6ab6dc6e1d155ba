package dcrouter

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/luthermonson/go-proxmox"
)

// ticketRenewAfter is below go-proxmox's 1h session horizon and PVE's 2h
// ticket lifetime, so a ticket is renewed before either side drops it.
const ticketRenewAfter = 50 * time.Minute

const ticketPath = "/access/ticket"

// ticketAuth serializes ticket logins against requests. go-proxmox reads its
// session without a lock, so the session is only (re)written while no request
// of this client is in flight: requests hold the read lock, logins the write lock.
type ticketAuth struct {
	mu       sync.RWMutex
	creds    *proxmox.Credentials
	loggedIn time.Time // zero until the first successful login
	gen      uint64    // bumped by every login
	stale    bool      // PVE rejected the current ticket
}

func (t *ticketAuth) fresh(now time.Time) bool {
	return !t.loggedIn.IsZero() && !t.stale && now.Sub(t.loggedIn) < ticketRenewAfter
}

// authorize makes sure a valid ticket exists and returns its generation and
// the function that ends the request's hold on it. Token auth needs nothing.
func (c *Client) authorize(ctx context.Context) (uint64, func(), error) {
	t := c.ticket
	if t == nil {
		return 0, func() {}, nil
	}
	t.mu.RLock()
	if t.fresh(time.Now()) {
		return t.gen, t.mu.RUnlock, nil
	}
	t.mu.RUnlock()

	t.mu.Lock()
	if !t.fresh(time.Now()) {
		if err := c.login(ctx); err != nil {
			t.mu.Unlock()
			return 0, nil, err
		}
	}
	t.mu.Unlock()
	t.mu.RLock()
	return t.gen, t.mu.RUnlock, nil
}

// invalidate marks the ticket of generation gen as rejected, so the next
// request logs in again; a newer ticket (another request already re-logged
// in) is left alone.
func (c *Client) invalidate(gen uint64) {
	t := c.ticket
	t.mu.Lock()
	if t.gen == gen {
		t.stale = true
	}
	t.mu.Unlock()
}

// login gets a ticket; the caller holds ticketAuth's write lock.
func (c *Client) login(ctx context.Context) error {
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.releaseSlot()
	ex := &exchange{subsystem: c.subsystem}
	rctx := withExchange(ctx, ex)
	start := time.Now()
	var err error
	if c.ticket.loggedIn.IsZero() {
		// CreateSession also starts go-proxmox's session clock, which keeps
		// its own re-login path (on 401) from racing with our requests.
		err = c.api.CreateSession(rctx)
	} else {
		_, err = c.api.Ticket(rctx, c.ticket.creds)
	}
	c.reach.exhausted(ctx, err)
	err = c.convert(ctx, http.MethodPost, ticketPath, ex, err)
	c.logRequest(ctx, http.MethodPost, ticketPath, ex, time.Since(start), err)
	c.logUnreachable(ctx)
	if err != nil {
		return err
	}
	c.ticket.loggedIn = time.Now()
	c.ticket.gen++
	c.ticket.stale = false
	return nil
}
