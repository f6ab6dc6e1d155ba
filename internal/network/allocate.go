package network

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
)

// lockWait bounds how long an allocation waits for another writer's SDN lock; apply in another
// workspace usually holds it for a second or two. A variable so tests can shorten it.
var lockWait = 2 * time.Minute

// LockHeldError means the datacenter's SDN lock stayed with another holder for as long as moxxie
// could wait: another apply, a person in the PVE GUI, or a lock an interrupted run left behind.
// PVE does not say who holds it or since when; Since is when moxxie first found it held.
type LockHeldError struct {
	DC    string
	Since time.Time
	Err   error // the last refusal, or the context's error when the operation's timeout ended
}

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("the SDN lock of datacenter %s is held by another writer: moxxie found it held at %s and it still was %s later, when moxxie stopped waiting. "+
		"If nothing else is changing SDN there, it is a lock an interrupted run left behind, which blocks every writer: release it on a node of that cluster with "+
		"`pvesh delete /cluster/sdn/lock --force 1`, then apply again",
		e.DC, e.Since.UTC().Format(time.RFC3339), time.Since(e.Since).Round(100*time.Millisecond))
}

func (e *LockHeldError) Unwrap() error { return e.Err }

// Allocate takes the datacenter's SDN lock, computes the next free VLAN and subnet from what the
// cluster holds, creates zone (if missing), vnet and subnet, and applies them, releasing the lock.
func Allocate(ctx context.Context, c *dcrouter.Client, n datacenter.Network, req Request) (Allocation, error) {
	token, err := lock(ctx, c)
	if err != nil {
		return Allocation{}, &refusedError{err}
	}
	released := false
	defer func() {
		if !released {
			// Leave no lock behind: other workspaces would wait on it.
			_ = c.SDNUnlock(context.WithoutCancel(ctx), token)
		}
	}()

	view, err := readSDN(ctx, c)
	if err != nil {
		return Allocation{}, &refusedError{err}
	}
	if err := ensureZone(ctx, c, n, view, token); err != nil {
		return Allocation{}, &refusedError{err} // the zone is shared; nothing of this allocation exists
	}
	if v := findVnet(view.vnets, Ref{ClientID: req.ClientID, Name: req.Name}); v != nil {
		return Allocation{}, &refusedError{&TakenError{DC: c.DC(), ClientID: req.ClientID, Name: req.Name, Vnet: v.Vnet}}
	}
	got, err := n.Pool.Allocate(view.used(n), ipam.Request{VLAN: req.VLAN, PrefixLen: req.PrefixLen})
	if err != nil {
		return Allocation{}, &refusedError{err}
	}
	a := Allocation{DC: c.DC(), Zone: Zone, Vnet: VnetName(got.VLAN), VLAN: got.VLAN, ServiceVLAN: got.ServiceVLAN,
		CIDR: got.Subnet, Gateway: got.Gateway, ClientID: req.ClientID, Name: req.Name}
	if err := createVnet(ctx, c, a, token); err != nil {
		return Allocation{}, err
	}
	if err := createSubnet(ctx, c, a, token); err != nil {
		return Allocation{}, err
	}
	if err := apply(ctx, c, token, func(ctx context.Context) (bool, error) { return vnetState(ctx, c, a.Vnet, "") }); err != nil {
		return Allocation{}, err
	}
	released = true
	return a, nil
}

// lock takes the SDN lock, waiting with jittered backoff while another writer holds it.
func lock(ctx context.Context, c *dcrouter.Client) (string, error) {
	var heldSince time.Time // zero until the lock is first found held
	deadline := time.Now().Add(lockWait)
	wait := 50 * time.Millisecond
	for {
		// allow-pending: a writer that died between write and apply must not block everyone;
		// its pending objects are applied with ours.
		token, err := c.SDNLock(ctx, true)
		if err == nil {
			return token, nil
		}
		if dcrouter.IsSDNLocked(err) && dcrouter.Resent(err) && time.Now().Before(deadline) {
			// Our first attempt took the lock and its answer (the token) was lost on the way;
			// the resent request then found the lock taken, by us. Without the token only a
			// forced unlock frees it. Another writer could have taken the lock in the
			// milliseconds between our attempts; that narrow race is the price of never leaving
			// a lock behind that blocks every workspace.
			if ferr := c.SDNForceUnlock(ctx); ferr != nil {
				return "", fmt.Errorf("releasing the SDN lock of datacenter %s that a lost answer left behind: %w", c.DC(), ferr)
			}
			continue
		}
		if dcrouter.IsSDNLocked(err) && heldSince.IsZero() {
			heldSince = time.Now()
		}
		if dcrouter.IsSDNLocked(err) && time.Now().After(deadline) {
			return "", &LockHeldError{DC: c.DC(), Since: heldSince, Err: err}
		}
		if !dcrouter.IsSDNLocked(err) {
			if !heldSince.IsZero() && ctx.Err() != nil {
				return "", &LockHeldError{DC: c.DC(), Since: heldSince, Err: ctx.Err()}
			}
			return "", fmt.Errorf("taking the SDN lock of datacenter %s: %w", c.DC(), err)
		}
		t := time.NewTimer(wait + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			if !heldSince.IsZero() {
				return "", &LockHeldError{DC: c.DC(), Since: heldSince, Err: ctx.Err()}
			}
			return "", ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, time.Second)
	}
}

// apply makes the pending changes live and releases the lock. applied says whether the change
// is live already: when the answer to an apply was lost and the resent apply is refused (its
// lock is gone), the first one may have done the work.
func apply(ctx context.Context, c *dcrouter.Client, token string, applied func(context.Context) (bool, error)) error {
	upid, err := c.SDNApply(ctx, token, true)
	if err != nil && dcrouter.Resent(err) {
		if ok, cerr := applied(ctx); cerr == nil && ok {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("applying SDN changes in datacenter %s: %w", c.DC(), err)
	}
	if err := c.WaitTask(ctx, upid); err != nil {
		return fmt.Errorf("applying SDN changes in datacenter %s: %w", c.DC(), err)
	}
	return nil
}

// sdnView is the datacenter's SDN config including pending changes, objects pending deletion left
// out.
type sdnView struct {
	zones   []dcrouter.SDNZone
	vnets   []dcrouter.SDNVnet
	subnets []dcrouter.SDNSubnet
}

func readSDN(ctx context.Context, c *dcrouter.Client) (sdnView, error) {
	var v sdnView
	zones, err := c.SDNZones(ctx, true)
	if err != nil {
		return v, err
	}
	vnets, err := c.SDNVnets(ctx, true)
	if err != nil {
		return v, err
	}
	for _, z := range zones {
		if z.State != "deleted" {
			v.zones = append(v.zones, z)
		}
	}
	for _, n := range vnets {
		if n.State != "deleted" {
			v.vnets = append(v.vnets, n)
		}
	}
	// PVE lists subnets per vnet only; ask for all of them at once, bounded by the client's
	// per-datacenter concurrency limit.
	subs := make([][]dcrouter.SDNSubnet, len(v.vnets))
	errs := make([]error, len(v.vnets))
	var wg sync.WaitGroup
	for i, n := range v.vnets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			subs[i], errs[i] = c.SDNSubnets(ctx, n.Vnet, true)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return v, err
	}
	for _, list := range subs {
		for _, s := range list {
			if s.State != "deleted" {
				v.subnets = append(v.subnets, s)
			}
		}
	}
	return v, nil
}

// used is what this datacenter's pools cannot hand out: every subnet in the cluster, and the
// VLAN tags of vnets that share the wire with moxxie's zone (same bridge, same outer tag).
func (v sdnView) used(n datacenter.Network) ipam.Used {
	var u ipam.Used
	sameWire := map[string]bool{}
	for _, z := range v.zones {
		if z.Bridge != n.Bridge {
			continue
		}
		switch {
		case n.QinQ && z.Type == "qinq" && z.Tag == n.Pool.ServiceVLAN:
			sameWire[z.Zone] = true
		case !n.QinQ && z.Type == "vlan":
			sameWire[z.Zone] = true
		}
	}
	sameWire[Zone] = true
	for _, vn := range v.vnets {
		if sameWire[vn.Zone] && vn.Tag > 0 {
			u.VLANs = append(u.VLANs, vn.Tag)
		}
	}
	for _, s := range v.subnets {
		if p, err := netip.ParsePrefix(s.CIDR); err == nil {
			u.Subnets = append(u.Subnets, p.Masked())
		}
	}
	return u
}

// ensureZone creates moxxie's zone on first use and refuses to use one that no longer matches the
// datacenter's configuration (changing a zone's type under live vnets would cut VMs off).
func ensureZone(ctx context.Context, c *dcrouter.Client, n datacenter.Network, v sdnView, token string) error {
	want := dcrouter.SDNZone{Zone: Zone, Type: "vlan", Bridge: n.Bridge}
	if n.QinQ {
		want.Type, want.Tag, want.VLANProtocol = "qinq", n.Pool.ServiceVLAN, QinQProtocol
	}
	for _, z := range v.zones {
		if z.Zone != Zone {
			continue
		}
		if z.Type != want.Type || z.Bridge != want.Bridge || z.Tag != want.Tag {
			return fmt.Errorf("SDN zone %q in datacenter %s is type %s on bridge %s (tag %d), but the provider configuration asks for type %s on bridge %s (tag %d); moxxie does not change a zone that carries networks",
				Zone, c.DC(), z.Type, z.Bridge, z.Tag, want.Type, want.Bridge, want.Tag)
		}
		return nil
	}
	err := c.CreateSDNZone(ctx, want, token)
	if dcrouter.IsAlreadyExists(err) {
		return nil // a retried request that had already gone through
	}
	if err != nil {
		return fmt.Errorf("creating SDN zone %q in datacenter %s: %w", Zone, c.DC(), err)
	}
	return nil
}

func createVnet(ctx context.Context, c *dcrouter.Client, a Allocation, token string) error {
	want := dcrouter.SDNVnet{Vnet: a.Vnet, Zone: a.Zone, Tag: a.VLAN, Alias: alias(a.ClientID, a.Name)}
	err := c.CreateSDNVnet(ctx, want, token)
	if dcrouter.IsAlreadyExists(err) {
		// Ours if a retried request went through before the connection broke.
		vnets, lerr := c.SDNVnets(ctx, true)
		if lerr == nil {
			for _, v := range vnets {
				if v.Vnet == want.Vnet && v.Zone == want.Zone && v.Tag == want.Tag && v.Alias == want.Alias {
					return nil
				}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("creating vnet %s in datacenter %s: %w", a.Vnet, c.DC(), err)
	}
	return nil
}

func createSubnet(ctx context.Context, c *dcrouter.Client, a Allocation, token string) error {
	err := c.CreateSDNSubnet(ctx, dcrouter.SDNSubnet{Vnet: a.Vnet, Zone: a.Zone, CIDR: a.CIDR.String(), Gateway: a.Gateway.String()}, token)
	if dcrouter.IsAlreadyExists(err) {
		subs, lerr := c.SDNSubnets(ctx, a.Vnet, true)
		if lerr == nil {
			for _, s := range subs {
				if s.CIDR == a.CIDR.String() {
					return nil
				}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("creating subnet %s on vnet %s in datacenter %s: %w", a.CIDR, a.Vnet, c.DC(), err)
	}
	return nil
}

// refusedError is an Allocate failure from before anything of the allocation was written: a lock
// that could not be taken, a pool that refused the request, a name already taken.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// NothingCreated reports whether Allocate failed before it wrote any part of the allocation, so
// that no state needs to remember it.
func NothingCreated(err error) bool {
	var r *refusedError
	return errors.As(err, &r)
}

// TakenError means the client already holds a network of that name in the datacenter, perhaps
// from another Terraform state.
type TakenError struct {
	DC, ClientID, Name, Vnet string
}

func (e *TakenError) Error() string {
	return fmt.Sprintf("client %q already has a network named %q in datacenter %s (vnet %s); choose another name, or import it with terraform import using the ID %s",
		e.ClientID, e.Name, e.DC, e.Vnet, ID(e.DC, e.ClientID, e.Name))
}

// vnetState reports whether vnet's pending state is want: "" applied, "new", "deleted", or
// "gone" when the vnet does not exist at all.
func vnetState(ctx context.Context, c *dcrouter.Client, vnet, want string) (bool, error) {
	vnets, err := c.SDNVnets(ctx, true)
	if err != nil {
		return false, err
	}
	for _, v := range vnets {
		if v.Vnet == vnet {
			return v.State == want, nil
		}
	}
	return want == "gone", nil
}
