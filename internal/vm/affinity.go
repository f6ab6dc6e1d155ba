package vm

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// NodeRules are a VM's node affinity within its datacenter, as the VMIDs of the other VMs: those
// it must not share a node with (require_different_node) and those it prefers to share one with
// (prefer_same_node).
type NodeRules struct {
	Apart    []int
	Together []int
}

// HAComment marks the HA resources moxxie added only so that its node rules can name them
// (PVE's rules take HA resources only). moxxie removes such a resource once no rule names it,
// and before it moves the VM to another datacenter (remote migration refuses HA resources).
const HAComment = "moxxie: node affinity"

// RuleID is the id of the VM's rule of one kind ("apart" or "together"): one per VM and kind, so
// that a VM's rules are found again without state and two VMs never write the same rule.
func RuleID(vmid int, kind string) string { return "moxxie-" + strconv.Itoa(vmid) + "-" + kind }

// SyncNodeRules makes the datacenter hold the VM's rules as PVE 9 HA resource-affinity rules
// (negative for Apart, positive for Together) so that the cluster keeps enforcing them. Every
// member is made an HA resource first (in the state it is in, so HA neither starts nor stops it);
// a rule without another member is deleted rather than written, which PVE would refuse. HA
// resources moxxie added that no rule names any more are removed afterwards.
func (m *Manager) SyncNodeRules(ctx context.Context, c *dcrouter.Client, vmid int, r NodeRules) error {
	p := m.pool(c.DC())
	p.ruleMu.Lock() // one writer of a datacenter's rules per process: the sweep below must not race a rule being written
	defer p.ruleMu.Unlock()
	c.ForgetResources()
	res, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return err
	}
	running := map[int]bool{}
	exists := map[int]bool{}
	for _, x := range res {
		exists[x.VMID] = true
		running[x.VMID] = x.Status == "running"
	}
	ha, err := c.HAResources(ctx)
	if err != nil {
		return err
	}
	managed := map[string]bool{}
	for _, h := range ha {
		managed[h.SID] = true
	}
	rules, err := c.HARules(ctx)
	if err != nil {
		return err
	}
	have := map[string]dcrouter.HARule{}
	for _, x := range rules {
		have[x.ID] = x
	}
	for _, k := range []struct {
		kind, affinity string
		peers          []int
	}{{"apart", "negative", r.Apart}, {"together", "positive", r.Together}} {
		id := RuleID(vmid, k.kind)
		members := []int{vmid}
		for _, peer := range k.peers {
			if peer != vmid && exists[peer] {
				members = append(members, peer)
			}
		}
		members = uniqueInts(members)
		_, present := have[id]
		if len(members) < 2 {
			if present {
				if err := c.DeleteHARule(ctx, id); err != nil {
					return err
				}
			}
			continue
		}
		sids := ruleSIDs(members)
		for _, v := range members {
			sid := "vm:" + strconv.Itoa(v)
			if managed[sid] {
				continue
			}
			state := "stopped"
			if running[v] {
				state = "started"
			}
			if err := c.AddHAResource(ctx, v, state, HAComment); err != nil {
				return fmt.Errorf("VM %d cannot become an HA resource, which PVE's node rules need: %w", v, err)
			}
			managed[sid] = true
		}
		rule := dcrouter.HARule{ID: id, Affinity: k.affinity, Resources: sids, Comment: "moxxie: " + k.kind + " rule of VM " + strconv.Itoa(vmid)}
		if old := have[id]; present && old.Affinity == rule.Affinity && old.Comment == rule.Comment && !old.Disabled && slices.Equal(old.Resources, sids) {
			continue // as it should be; sids are sorted as PVE lists them
		}
		if present {
			err = c.UpdateHARule(ctx, rule)
		} else {
			err = c.CreateHARule(ctx, rule)
		}
		if err != nil {
			return err
		}
	}
	return sweepHA(ctx, c)
}

// WantedRules are the HA rules SyncNodeRules keeps for the VM when r names VMs that exist, in the
// form HeldRules reads them back: rule id -> its resources, sorted and comma-joined.
func WantedRules(vmid int, r NodeRules) map[string]string {
	out := map[string]string{}
	for kind, peers := range map[string][]int{"apart": r.Apart, "together": r.Together} {
		members := uniqueInts(append([]int{vmid}, peers...))
		if len(members) >= 2 {
			out[RuleID(vmid, kind)] = strings.Join(ruleSIDs(members), ",")
		}
	}
	return out
}

// HeldRules are the VM's own rules among a datacenter's HA rules; a rule PVE does not enforce
// (disabled) is marked so, as it is not what moxxie wrote.
func HeldRules(rules []dcrouter.HARule, vmid int) map[string]string {
	out := map[string]string{}
	for _, r := range rules {
		if r.ID != RuleID(vmid, "apart") && r.ID != RuleID(vmid, "together") {
			continue
		}
		sids := slices.Sorted(slices.Values(r.Resources))
		out[r.ID] = strings.Join(sids, ",")
		if r.Disabled {
			out[r.ID] += " (disabled)"
		}
	}
	return out
}

// ruleSIDs are the HA resource ids of the VMIDs, sorted as PVE lists them.
func ruleSIDs(vmids []int) []string {
	sids := make([]string, len(vmids))
	for i, v := range vmids {
		sids[i] = "vm:" + strconv.Itoa(v)
	}
	sort.Strings(sids)
	return sids
}

// DropNodeRules removes the VM from PVE's HA rules before it is destroyed or leaves the
// datacenter: its own rules go, and the HA resource moxxie added for it goes with purge, which
// takes it out of other VMs' rules too (destroying a VM leaves its id in rules). It only reads
// when there is nothing to remove, so VMs without node rules need no write privilege for it.
func (m *Manager) DropNodeRules(ctx context.Context, c *dcrouter.Client, vmid int) error {
	p := m.pool(c.DC())
	p.ruleMu.Lock()
	defer p.ruleMu.Unlock()
	rules, err := c.HARules(ctx)
	if err != nil {
		return err
	}
	changed := false
	for _, r := range rules {
		if r.ID == RuleID(vmid, "apart") || r.ID == RuleID(vmid, "together") {
			if err := c.DeleteHARule(ctx, r.ID); err != nil {
				return err
			}
			changed = true
		}
	}
	ha, err := c.HAResources(ctx)
	if err != nil {
		return err
	}
	for _, h := range ha {
		if h.SID == "vm:"+strconv.Itoa(vmid) && h.Comment == HAComment {
			if err := c.RemoveHAResource(ctx, vmid); err != nil {
				return err
			}
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return sweepHA(ctx, c)
}

// sweepHA removes the HA resources moxxie added that no rule names any more.
func sweepHA(ctx context.Context, c *dcrouter.Client) error {
	ha, err := c.HAResources(ctx)
	if err != nil {
		return err
	}
	rules, err := c.HARules(ctx)
	if err != nil {
		return err
	}
	named := map[string]bool{}
	for _, r := range rules {
		for _, sid := range r.Resources {
			named[sid] = true
		}
	}
	for _, h := range ha {
		if h.Comment != HAComment || named[h.SID] {
			continue
		}
		vmid, err := strconv.Atoi(h.SID[len("vm:"):])
		if err != nil {
			continue // not a VM; moxxie never adds those
		}
		if err := c.RemoveHAResource(ctx, vmid); err != nil {
			return err
		}
	}
	return nil
}

func uniqueInts(in []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Ints(out)
	return out
}
