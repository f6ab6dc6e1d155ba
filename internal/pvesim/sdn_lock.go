package pvesim

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"
)

// The global SDN lock, apply and rollback (PUT /cluster/sdn,
// /cluster/sdn/lock, /cluster/sdn/rollback).

// checkLockToken is lock_sdn_config's guard: while the lock is held, the
// caller must present its token. Without a lock any token passes, as in
// PVE. Caller holds mu.
func (s *sdnState) checkLockToken(token string) *apiError {
	if s.lockToken != "" && token != s.lockToken {
		return perlDie("invalid lock token provided!", perlSDN, 262)
	}
	return nil
}

// lockedWrite runs fn under the SDN config lock: token check first, then
// fn; any error is wrapped with op as pve-network does. Caller holds mu.
func (c *Cluster) lockedWrite(op string, req *request, fn func() *apiError) (any, error) {
	if err := c.sdn.checkLockToken(req.str("lock-token")); err != nil {
		return nil, sdnFailed(op, err)
	}
	if err := fn(); err != nil {
		return nil, sdnFailed(op, err)
	}
	return nil, nil
}

// releaseLockParam reads release-lock, whose schema default is 1.
func releaseLockParam(req *request) bool {
	return !req.has("release-lock") || req.flag("release-lock")
}

func (c *Cluster) sdnIndex(*request) (any, error) {
	out := []map[string]any{}
	for _, id := range []string{"vnets", "zones", "controllers", "ipams", "dns", "fabrics"} {
		out = append(out, map[string]any{"id": id})
	}
	return out, nil
}

// sdnLock takes the global lock and returns its token. A held lock makes
// the unauthenticated config lock fail, which is how PVE refuses a
// second locker.
func (c *Cluster) sdnLock(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	const op = "could not acquire lock for SDN config"
	if err := c.sdn.checkLockToken(""); err != nil {
		return nil, sdnFailed(op, err)
	}
	if !req.flag("allow-pending") && c.sdn.hasPendingChanges() {
		return nil, sdnFailed(op, perlDie("configuration has pending changes", perlSDNAPI, 135))
	}
	c.sdn.lockToken = uuidV7()
	return c.sdn.lockToken, nil
}

// sdnUnlock releases the lock: with force unconditionally, else only with
// the right token. Releasing a free lock succeeds.
func (c *Cluster) sdnUnlock(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !req.flag("force") {
		if err := c.sdn.checkLockToken(req.str("lock-token")); err != nil {
			return nil, sdnFailed("could not release lock", err)
		}
	}
	c.sdn.lockToken = ""
	return nil, nil
}

// sdnApply commits the edited configuration as the running one at once
// (PVE does so before forking) and reloads the network in a
// reloadnetworkall task on the local node.
func (c *Cluster) sdnApply(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	token := req.str("lock-token")
	if err := c.sdn.checkLockToken(token); err != nil {
		return nil, sdnFailed("could not commit SDN config", err)
	}
	c.sdn.running = c.sdn.pending.clone()
	c.sdn.version++
	if token != "" && releaseLockParam(req) {
		c.sdn.lockToken = ""
	}
	return c.startTask(c.localNode().Name, "reloadnetworkall", "", req.user, func() error { return nil }), nil
}

// sdnRollback discards the pending changes.
func (c *Cluster) sdnRollback(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	token := req.str("lock-token")
	if err := c.sdn.checkLockToken(token); err != nil {
		return nil, sdnFailed("could not rollback SDN configuration", err)
	}
	c.sdn.pending = c.sdn.running.clone()
	if token != "" && releaseLockParam(req) {
		c.sdn.lockToken = ""
	}
	return nil, nil
}

// uuidV7 renders a time-ordered UUID, the form PVE's lock tokens take.
func uuidV7() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(time.Now().UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(b[0:6], ts[2:8])
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
