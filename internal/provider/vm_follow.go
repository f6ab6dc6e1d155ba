package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// searchOrder is where a VM is looked for: where it was last seen, where it was created, where it
// fails over to, then everywhere else.
func (d *providerData) searchOrder(current, primary, failover string) []string {
	seen := map[string]bool{}
	var out []string
	for _, dc := range append([]string{current, primary, failover}, d.dcs.Names()...) {
		if _, ok := d.dcs[dc]; ok && !seen[dc] {
			seen[dc] = true
			out = append(out, dc)
		}
	}
	return out
}

// unreachableError says a datacenter could not be asked, as opposed to answering "not here".
type unreachableError struct {
	dcs []string
	err error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("datacenter %s could not be reached: %v", strings.Join(e.dcs, ", "), e.err)
}

// isUnreachable tells transport failures (no HTTP answer at all) from errors PVE reported.
func isUnreachable(err error) bool {
	var apiErr *dcrouter.APIError
	if errors.As(err, &apiErr) && apiErr.Status > 0 {
		return false
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// findVM looks for the VM with identity id in order; it is not found only when every datacenter
// answered without it, so a datacenter outage never removes a VM from state.
func (d *providerData) findVM(ctx context.Context, id string, order []string) (string, vm.Location, bool, error) {
	var down []string
	var lastErr error
	for _, dc := range order {
		c, err := d.router.Client(dc)
		if err != nil {
			return "", vm.Location{}, false, err
		}
		loc, found, err := vm.Locate(ctx, c, id)
		if err != nil {
			if isUnreachable(err) {
				down, lastErr = append(down, dc), err
				continue
			}
			return "", vm.Location{}, false, err
		}
		if found && loc.Lock != "migrate" {
			return dc, loc, true, nil
		}
	}
	if len(down) > 0 {
		return "", vm.Location{}, false, &unreachableError{dcs: down, err: lastErr}
	}
	return "", vm.Location{}, false, nil
}

// nicKeys are the names a network_mapping may use for a NIC: its allocation id, "vlan<tag>",
// or its bridge.
func (d *providerData) nicKeys(ctx context.Context, c *dcrouter.Client, n vm.NIC) []string {
	var keys []string
	if s := d.dcs[c.DC()]; s.Network != nil {
		if a, found, err := network.Get(ctx, c, *s.Network, network.Ref{Vnet: n.Bridge}); err == nil && found {
			if a.ClientID != "" {
				keys = append(keys, a.ID())
			}
			keys = append(keys, fmt.Sprintf("vlan%d", a.VLAN))
		}
	}
	if n.VLAN > 0 {
		keys = append(keys, fmt.Sprintf("vlan%d", n.VLAN))
	}
	return append(keys, n.Bridge)
}

// mapNICs resolves network_mapping for every NIC of a VM into target networks; an unmapped NIC
// is an error naming it and the keys that would map it.
// With assign false (plan time) no address is reserved.
func (d *providerData) mapNICs(ctx context.Context, src, dst *dcrouter.Client, nics []vm.NIC, mapping map[string]string, assign bool) ([]migration.NICTarget, error) {
	out := make([]migration.NICTarget, len(nics))
	for i, n := range nics {
		keys := d.nicKeys(ctx, src, n)
		target, ok := "", false
		for _, k := range keys {
			if target, ok = mapping[k]; ok {
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("network interface net%d (bridge %s) has no entry in network_mapping; map one of: %s", i, n.Bridge, strings.Join(quoteAll(keys), ", "))
		}
		t, err := d.resolveTarget(ctx, dst, target, assign)
		if err != nil {
			return nil, fmt.Errorf("network_mapping of net%d: %w", i, err)
		}
		out[i] = t
	}
	return out, nil
}

// resolveTarget turns a mapping value into a network of the target datacenter: an allocation
// (its vnet and a fresh address), "vlan<N>" on the datacenter's bridge, or a bridge name.
func (d *providerData) resolveTarget(ctx context.Context, dst *dcrouter.Client, target string, assign bool) (migration.NICTarget, error) {
	dc := dst.DC()
	if ref, err := network.ParseID(target); err == nil {
		if ref.DC != dc {
			return migration.NICTarget{}, fmt.Errorf("allocation %s belongs to datacenter %s, not the target %s", target, ref.DC, dc)
		}
		n, err := d.networkOf(dc)
		if err != nil {
			return migration.NICTarget{}, err
		}
		a, found, err := network.Get(ctx, dst, n, ref)
		if err != nil {
			return migration.NICTarget{}, err
		}
		if !found {
			return migration.NICTarget{}, fmt.Errorf("allocation %s does not exist in datacenter %s", target, dc)
		}
		t := migration.NICTarget{Bridge: a.Vnet, Gateway: a.Gateway}
		if assign {
			if t.IP, err = d.addrs.Assign(ctx, dst, a, netip.Addr{}, 0); err != nil {
				return migration.NICTarget{}, err
			}
		}
		return t, nil
	}
	if tag, ok := strings.CutPrefix(target, "vlan"); ok {
		var v int
		if _, err := fmt.Sscanf(tag, "%d", &v); err == nil && v >= 1 && v <= 4094 {
			bridge := "vmbr0"
			if n := d.dcs[dc].Network; n != nil {
				bridge = n.Bridge
			}
			return migration.NICTarget{Bridge: bridge, VLAN: v}, nil
		}
	}
	return migration.NICTarget{Bridge: target}, nil
}

func quoteAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
