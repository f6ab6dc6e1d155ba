package dcrouter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// SDN calls. PVE keeps SDN writes pending until PUT /cluster/sdn applies
// them; the global SDN lock (PVE 8.4+) makes a lock-write-apply sequence
// atomic against other writers, which is how concurrent workspaces avoid
// handing out the same VLAN or subnet. Listings with pending=true show
// the pending view: new and changed objects with their pending values and
// objects pending deletion with State "deleted" (still live until applied).

// SDNZone is one SDN zone. State is "", "new", "changed" or "deleted".
type SDNZone struct {
	Zone, Type, Bridge, VLANProtocol, State string
	Tag, MTU                                int // Tag: a qinq zone's service VLAN
}

// SDNVnet is one vnet; Tag is its (customer) VLAN in vlan and qinq zones.
type SDNVnet struct {
	Vnet, Zone, Alias, State string
	Tag                      int
	VLANAware                bool
}

// SDNSubnet is one subnet of a vnet; ID is SubnetID(Zone, CIDR).
type SDNSubnet struct {
	ID, CIDR, Vnet, Zone, Gateway, State string
	SNAT                                 bool
}

// SubnetID is the ID PVE gives a subnet: "<zone>-<cidr with / as ->", e.g.
// SubnetID("z1", "10.0.0.0/24") == "z1-10.0.0.0-24".
func SubnetID(zone, cidr string) string {
	return zone + "-" + strings.ReplaceAll(cidr, "/", "-")
}

// IsSDNLocked reports whether PVE refused an SDN call because the global
// SDN lock is held under another token (or none was given). Lockers retry.
func IsSDNLocked(err error) bool {
	return StatusCode(err) == http.StatusInternalServerError && apiErrorContains(err, "invalid lock token provided")
}

// IsSDNPendingChanges reports whether SDNLock(ctx, false) was refused
// because the SDN configuration has unapplied changes.
func IsSDNPendingChanges(err error) bool {
	return StatusCode(err) == http.StatusInternalServerError && apiErrorContains(err, "configuration has pending changes")
}

// SDNLock takes the global SDN lock and returns its token, to be passed to
// every SDN write and to SDNApply. Without allowPending PVE refuses while
// unapplied changes exist (see IsSDNPendingChanges); while another holder
// has the lock it fails with IsSDNLocked.
func (c *Client) SDNLock(ctx context.Context, allowPending bool) (string, error) {
	var token flexString
	if err := c.Post(ctx, "/cluster/sdn/lock", map[string]any{"allow-pending": allowPending}, &token); err != nil {
		return "", err
	}
	if token == "" {
		return "", fmt.Errorf("%s: POST /cluster/sdn/lock: empty lock token", c.dc)
	}
	return string(token), nil
}

// SDNUnlock releases the global SDN lock held under token.
func (c *Client) SDNUnlock(ctx context.Context, token string) error {
	if token == "" {
		return fmt.Errorf("%s: SDN unlock: empty lock token", c.dc)
	}
	return c.Delete(ctx, "/cluster/sdn/lock", map[string]any{"lock-token": token}, nil)
}

// SDNForceUnlock breaks the global SDN lock whoever holds it. Only for a lock moxxie itself took
// and lost the token of (the answer to its lock request never arrived).
func (c *Client) SDNForceUnlock(ctx context.Context) error {
	return c.Delete(ctx, "/cluster/sdn/lock", map[string]any{"force": true}, nil)
}

// SDNApply makes the pending SDN configuration live (PUT /cluster/sdn) and
// returns the reloadnetworkall task's UPID (see WaitTask). With a
// lockToken and releaseLock the lock is released once committed.
func (c *Client) SDNApply(ctx context.Context, lockToken string, releaseLock bool) (string, error) {
	var params map[string]any
	if lockToken != "" {
		params = map[string]any{"lock-token": lockToken, "release-lock": releaseLock}
	}
	var upid flexString
	if err := c.Put(ctx, "/cluster/sdn", params, &upid); err != nil {
		return "", err
	}
	if _, err := ParseUPID(string(upid)); err != nil {
		return "", fmt.Errorf("%s: PUT /cluster/sdn: %w", c.dc, err)
	}
	return string(upid), nil
}

// SDNZones lists the zones: the edited configuration, or with pending the
// pending view (see the State field).
func (c *Client) SDNZones(ctx context.Context, pending bool) ([]SDNZone, error) {
	items, err := c.sdnList(ctx, "/cluster/sdn/zones", pending)
	if err != nil {
		return nil, err
	}
	out := make([]SDNZone, len(items))
	for i, it := range items {
		out[i] = SDNZone{
			Zone: it.str("zone"), Type: it.str("type"), Bridge: it.str("bridge"),
			VLANProtocol: it.str("vlan-protocol"), State: it.str("state"),
			Tag: it.num("tag"), MTU: it.num("mtu"),
		}
	}
	return out, nil
}

// SDNVnets lists the vnets: the edited configuration, or with pending the
// pending view (see the State field).
func (c *Client) SDNVnets(ctx context.Context, pending bool) ([]SDNVnet, error) {
	items, err := c.sdnList(ctx, "/cluster/sdn/vnets", pending)
	if err != nil {
		return nil, err
	}
	out := make([]SDNVnet, len(items))
	for i, it := range items {
		out[i] = SDNVnet{
			Vnet: it.str("vnet"), Zone: it.str("zone"), Alias: it.str("alias"), State: it.str("state"),
			Tag: it.num("tag"), VLANAware: it.flag("vlanaware"),
		}
	}
	return out, nil
}

// SDNSubnets lists the subnets of vnet: the edited configuration, or with
// pending the pending view (see the State field).
func (c *Client) SDNSubnets(ctx context.Context, vnet string, pending bool) ([]SDNSubnet, error) {
	if err := checkSDNName("vnet", vnet); err != nil {
		return nil, fmt.Errorf("%s: %w", c.dc, err)
	}
	items, err := c.sdnList(ctx, "/cluster/sdn/vnets/"+pathSegment(vnet)+"/subnets", pending)
	if err != nil {
		return nil, err
	}
	out := make([]SDNSubnet, len(items))
	for i, it := range items {
		out[i] = SDNSubnet{
			ID: it.str("subnet"), CIDR: it.str("cidr"), Vnet: it.str("vnet"), Zone: it.str("zone"),
			Gateway: it.str("gateway"), State: it.str("state"), SNAT: it.flag("snat"),
		}
	}
	return out, nil
}

// CreateSDNZone creates z (pending until applied). Zero Tag, MTU and empty
// Bridge, VLANProtocol are left out.
func (c *Client) CreateSDNZone(ctx context.Context, z SDNZone, lockToken string) error {
	if err := checkSDNName("zone", z.Zone); err != nil {
		return fmt.Errorf("%s: %w", c.dc, err)
	}
	if z.Type == "" {
		return fmt.Errorf("%s: SDN zone %q: type is required", c.dc, z.Zone)
	}
	params := map[string]any{"zone": z.Zone, "type": z.Type}
	setIf(params, "bridge", z.Bridge, z.Bridge != "")
	setIf(params, "vlan-protocol", z.VLANProtocol, z.VLANProtocol != "")
	setIf(params, "tag", z.Tag, z.Tag != 0)
	setIf(params, "mtu", z.MTU, z.MTU != 0)
	setIf(params, "lock-token", lockToken, lockToken != "")
	return c.Post(ctx, "/cluster/sdn/zones", params, nil)
}

// CreateSDNVnet creates v (pending until applied). A zero Tag, an empty
// Alias and a false VLANAware are left out.
func (c *Client) CreateSDNVnet(ctx context.Context, v SDNVnet, lockToken string) error {
	if err := checkSDNName("vnet", v.Vnet); err != nil {
		return fmt.Errorf("%s: %w", c.dc, err)
	}
	if err := checkSDNName("zone", v.Zone); err != nil {
		return fmt.Errorf("%s: vnet %q: %w", c.dc, v.Vnet, err)
	}
	params := map[string]any{"vnet": v.Vnet, "zone": v.Zone}
	setIf(params, "tag", v.Tag, v.Tag != 0)
	setIf(params, "alias", v.Alias, v.Alias != "")
	setIf(params, "vlanaware", true, v.VLANAware)
	setIf(params, "lock-token", lockToken, lockToken != "")
	return c.Post(ctx, "/cluster/sdn/vnets", params, nil)
}

// CreateSDNSubnet creates subnet s.CIDR in vnet s.Vnet with s.Gateway and
// s.SNAT (pending until applied). PVE names it SubnetID(<vnet's zone>, CIDR).
func (c *Client) CreateSDNSubnet(ctx context.Context, s SDNSubnet, lockToken string) error {
	if err := checkSDNName("vnet", s.Vnet); err != nil {
		return fmt.Errorf("%s: %w", c.dc, err)
	}
	if !strings.Contains(s.CIDR, "/") {
		return fmt.Errorf("%s: subnet of vnet %q: CIDR %q is not address/prefix", c.dc, s.Vnet, s.CIDR)
	}
	params := map[string]any{"subnet": s.CIDR, "type": "subnet"}
	setIf(params, "gateway", s.Gateway, s.Gateway != "")
	setIf(params, "snat", true, s.SNAT)
	setIf(params, "lock-token", lockToken, lockToken != "")
	return c.Post(ctx, "/cluster/sdn/vnets/"+pathSegment(s.Vnet)+"/subnets", params, nil)
}

// DeleteSDNVnet deletes vnet (pending until applied). PVE refuses while
// the vnet still has subnets; a missing vnet fails IsNotFound.
func (c *Client) DeleteSDNVnet(ctx context.Context, vnet, lockToken string) error {
	if err := checkSDNName("vnet", vnet); err != nil {
		return fmt.Errorf("%s: %w", c.dc, err)
	}
	return c.Delete(ctx, "/cluster/sdn/vnets/"+pathSegment(vnet), lockQuery(lockToken), nil)
}

// DeleteSDNSubnet deletes a subnet of vnet by ID (pending until applied).
// Like PVE, deleting an unknown subnet of an existing vnet succeeds.
func (c *Client) DeleteSDNSubnet(ctx context.Context, vnet, subnetID, lockToken string) error {
	if err := checkSDNName("vnet", vnet); err != nil {
		return fmt.Errorf("%s: %w", c.dc, err)
	}
	if err := checkSDNName("subnet", subnetID); err != nil {
		return fmt.Errorf("%s: %w", c.dc, err)
	}
	return c.Delete(ctx, "/cluster/sdn/vnets/"+pathSegment(vnet)+"/subnets/"+pathSegment(subnetID), lockQuery(lockToken), nil)
}

func lockQuery(token string) map[string]any {
	if token == "" {
		return nil
	}
	return map[string]any{"lock-token": token}
}

func setIf(params map[string]any, key string, value any, ok bool) {
	if ok {
		params[key] = value
	}
}

// checkSDNName rejects IDs that cannot be a PVE SDN object, before any
// request (they would otherwise change the request path).
func checkSDNName(kind, id string) error {
	if id == "" {
		return fmt.Errorf("SDN %s ID is empty", kind)
	}
	if strings.ContainsAny(id, "/?#% \t\r\n") {
		return fmt.Errorf("invalid SDN %s ID %q", kind, id)
	}
	return nil
}
