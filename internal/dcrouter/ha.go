package dcrouter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// HARule is a PVE 9 HA rule (/cluster/ha/rules) of type resource-affinity: its resources
// ("vm:100") kept on one node (positive) or on different nodes (negative).
type HARule struct {
	ID        string
	Affinity  string // positive | negative
	Resources []string
	Comment   string
	Disabled  bool
	Errors    []string // feasibility errors PVE reports for the rule; non-empty: not enforced
}

// AddHAResource makes the VM an HA resource in state (started, stopped, ...).
func (c *Client) AddHAResource(ctx context.Context, vmid int, state, comment string) error {
	p := map[string]any{"sid": vmSID(vmid), "state": state}
	if comment != "" {
		p["comment"] = comment
	}
	return c.Post(ctx, "/cluster/ha/resources", p, nil)
}

// RemoveHAResource ends HA management of the VM and, as PVE's purge does, takes it out of every
// rule (deleting rules it was the last member of).
func (c *Client) RemoveHAResource(ctx context.Context, vmid int) error {
	return c.Delete(ctx, "/cluster/ha/resources/"+vmSID(vmid), map[string]any{"purge": 1}, nil)
}

// HARules lists the resource-affinity rules. Proxmox VE before 9 has no HA rules (its API
// answers 501 for the path): none are listed there.
func (c *Client) HARules(ctx context.Context) ([]HARule, error) {
	var items []struct {
		Rule      flexString              `json:"rule"`
		Affinity  flexString              `json:"affinity"`
		Resources flexString              `json:"resources"`
		Comment   flexString              `json:"comment"`
		Disable   flexBool                `json:"disable"`
		Errors    map[string][]flexString `json:"errors"`
	}
	if err := c.Get(ctx, "/cluster/ha/rules", map[string]any{"type": "resource-affinity"}, &items); err != nil {
		if StatusCode(err) == http.StatusNotImplemented {
			return nil, nil
		}
		return nil, err
	}
	out := make([]HARule, 0, len(items))
	for _, it := range items {
		r := HARule{ID: string(it.Rule), Affinity: string(it.Affinity), Comment: string(it.Comment), Disabled: bool(it.Disable)}
		for _, sid := range strings.Split(string(it.Resources), ",") {
			if sid != "" {
				r.Resources = append(r.Resources, sid)
			}
		}
		opts := make([]string, 0, len(it.Errors))
		for opt := range it.Errors {
			opts = append(opts, opt)
		}
		sort.Strings(opts)
		for _, opt := range opts {
			for _, e := range it.Errors[opt] {
				r.Errors = append(r.Errors, opt+": "+string(e))
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// CreateHARule writes a new resource-affinity rule.
func (c *Client) CreateHARule(ctx context.Context, r HARule) error {
	p := ruleParams(r)
	p["rule"] = r.ID
	return needsRules(c.Post(ctx, "/cluster/ha/rules", p, nil))
}

// needsRules explains a 501 of the rules API: the datacenter runs Proxmox VE before 9.
func needsRules(err error) error {
	if StatusCode(err) == http.StatusNotImplemented {
		return fmt.Errorf("node affinity needs Proxmox VE 9 or later (HA rules): %w", err)
	}
	return err
}

// UpdateHARule replaces an existing rule's affinity, resources and comment.
func (c *Client) UpdateHARule(ctx context.Context, r HARule) error {
	p := ruleParams(r)
	if r.Comment == "" {
		delete(p, "comment")
		p["delete"] = "comment"
	}
	return needsRules(c.Put(ctx, "/cluster/ha/rules/"+url.PathEscape(r.ID), p, nil))
}

// DeleteHARule removes a rule; PVE answers success for a rule that does not exist.
func (c *Client) DeleteHARule(ctx context.Context, id string) error {
	return c.Delete(ctx, "/cluster/ha/rules/"+url.PathEscape(id), nil, nil)
}

func ruleParams(r HARule) map[string]any {
	res := append([]string(nil), r.Resources...)
	sort.Strings(res)
	p := map[string]any{"type": "resource-affinity", "affinity": r.Affinity, "resources": strings.Join(res, ",")}
	if r.Comment != "" {
		p["comment"] = r.Comment
	}
	return p
}

func vmSID(vmid int) string { return "vm:" + strconv.Itoa(vmid) }
