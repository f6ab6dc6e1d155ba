package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// haRule is one section of ha/rules.cfg (PVE 9, pve-ha-manager's PVE::HA::Rules).
type haRule struct {
	id, typ   string
	resources map[string]bool // "vm:100"
	affinity  string          // resource-affinity: positive|negative
	nodes     string          // node-affinity: "<node>[:<pri>],..."
	strict    *bool           // node-affinity; unset unless given (its default 0 is not filled in)
	disable   bool
	comment   string
	order     int
}

var haRuleTypes = []string{"node-affinity", "resource-affinity"}

// haRuleOptions are each type's options (the plugins' options()): true means required.
var haRuleOptions = map[string]map[string]bool{
	"resource-affinity": {"resources": true, "affinity": true, "disable": false, "comment": false},
	"node-affinity":     {"resources": true, "nodes": true, "strict": false, "disable": false, "comment": false},
}

var haResourceIDRe = regexp.MustCompile(`^[a-z]+:\S+$`)

// fmtHAResourceID is pve_verify_ha_resource_id.
func fmtHAResourceID(v string) error {
	if !haResourceIDRe.MatchString(v) {
		return fmt.Errorf("value does not look like a valid ha resource id")
	}
	return nil
}

var haNodeRe = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)(:\d+)?$`)

// fmtHANode is pve_verify_ha_node: a node name with an optional priority.
func fmtHANode(v string) error {
	if !haNodeRe.MatchString(v) {
		return fmt.Errorf("value does not look like a valid ha node")
	}
	return nil
}

func haRuleRoutes() []route {
	rule := strP("rule")
	ruleProps := func(create bool) []Param {
		res := strP("resources")
		if !create {
			res = res.opt()
		}
		return []Param{
			rule, res, strP("type").oneOf(haRuleTypes...),
			strP("affinity").opt().oneOf("positive", "negative"),
			strP("comment").opt().maxLen(4096),
			boolP("disable").opt(),
			strP("nodes").opt(),
			boolP("strict").opt(),
		}
	}
	return []route{
		{
			method: "GET", path: "/cluster/ha/rules", since: 9,
			params: []Param{strP("type").opt().oneOf(haRuleTypes...), strP("resource").opt()},
			handle: (*Cluster).listHARules,
			perm:   checked(needs("/", "Sys.Audit")),
		},
		{
			method: "POST", path: "/cluster/ha/rules", since: 9,
			params: ruleProps(true),
			handle: (*Cluster).createHARule,
			perm:   checked(needs("/", "Sys.Console")),
		},
		{
			method: "GET", path: "/cluster/ha/rules/{rule}", since: 9,
			params: []Param{rule},
			handle: (*Cluster).getHARule,
			perm:   checked(needs("/", "Sys.Audit")),
		},
		{
			method: "PUT", path: "/cluster/ha/rules/{rule}", since: 9,
			params: append(ruleProps(false), strP("delete").opt().maxLen(4096), strP("digest").opt().maxLen(64)),
			handle: (*Cluster).updateHARule,
			perm:   checked(needs("/", "Sys.Console")),
		},
		{
			method: "DELETE", path: "/cluster/ha/rules/{rule}", since: 9,
			params: []Param{rule},
			handle: (*Cluster).deleteHARule,
			perm:   checked(needs("/", "Sys.Console")),
		},
	}
}

// haRulesDigest is the digest of rules.cfg as written: sections in order.
func (c *Cluster) haRulesDigest() string {
	var b strings.Builder
	for _, r := range c.haRulesSorted() {
		fmt.Fprintf(&b, "%s: %s\n", r.typ, r.id)
		for _, k := range []string{"affinity", "comment", "disable", "nodes", "resources", "strict"} {
			if v, ok := r.option(k); ok {
				fmt.Fprintf(&b, "\t%s %s\n", k, v)
			}
		}
		b.WriteString("\n")
	}
	sum := sha1.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// option is one option's value as written; ok is false when unset.
func (r *haRule) option(k string) (string, bool) {
	switch k {
	case "resources":
		return strings.Join(sortedKeys(r.resources), ","), true
	case "affinity":
		return r.affinity, r.affinity != ""
	case "nodes":
		return r.nodes, r.nodes != ""
	case "comment":
		return r.comment, r.comment != ""
	case "disable":
		return "1", r.disable
	case "strict":
		if r.strict == nil {
			return "", false
		}
		return strconv.Itoa(boolNum(*r.strict)), true
	}
	return "", false
}

// haRulesSorted is the rules by their order (foreach_rule with sorted), ties by id.
func (c *Cluster) haRulesSorted() []*haRule {
	out := make([]*haRule, 0, len(c.haRules))
	for _, r := range c.haRules {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].order != out[j].order {
			return out[i].order < out[j].order
		}
		return out[i].id < out[j].id
	})
	return out
}

func (c *Cluster) haRuleJSON(r *haRule, errs map[string][]string, digest string) map[string]any {
	out := map[string]any{"rule": r.id, "type": r.typ, "digest": digest, "order": r.order}
	for _, k := range []string{"affinity", "comment", "disable", "nodes", "resources", "strict"} {
		if v, ok := r.option(k); ok {
			if k == "disable" || k == "strict" {
				n, _ := strconv.Atoi(v)
				out[k] = n
			} else {
				out[k] = v
			}
		}
	}
	if len(errs) > 0 {
		e := map[string]any{}
		for k, list := range errs {
			e[k] = list
		}
		out["errors"] = e
	}
	return out
}

func (c *Cluster) listHARules(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs, digest := c.haRuleFeasibility(), c.haRulesDigest()
	out := []map[string]any{}
	for _, r := range c.haRulesSorted() {
		if t := req.str("type"); t != "" && r.typ != t {
			continue
		}
		if sid := req.str("resource"); req.has("resource") && !r.resources[sid] {
			continue
		}
		out = append(out, c.haRuleJSON(r, errs[r.id], digest))
	}
	return out, nil
}

func (c *Cluster) getHARule(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := req.str("rule")
	r := c.haRules[id]
	if r == nil {
		return nil, failf("no such ha rule '%s'", id)
	}
	return c.haRuleJSON(r, c.haRuleFeasibility()[id], c.haRulesDigest()), nil
}

// checkHARuleConfig is the plugin's check_config: every given option must be one of the type's,
// and on create every required one must be given. Options are visited sorted, where Perl's hash
// order is random; the messages are the same.
func checkHARuleConfig(typ string, params map[string]string, create bool) error {
	opts := haRuleOptions[typ]
	for _, k := range sortedKeys(params) {
		if k == "type" && params[k] == typ {
			continue
		}
		if _, ok := opts[k]; !ok {
			return fmt.Errorf("unexpected property '%s'", k)
		}
	}
	if create {
		for _, k := range sortedKeys(opts) {
			if _, given := params[k]; opts[k] && !given {
				return fmt.Errorf("missing value for required option '%s'", k)
			}
		}
	}
	return nil
}

// ruleParams are the request's rule options: rule, digest and delete left out, and a false
// disable dropped, as create_rule and update_rule do.
func ruleParams(req *request) map[string]string {
	p := map[string]string{}
	for k, v := range req.params {
		switch k {
		case "rule", "digest", "delete":
		case "disable":
			if v == "1" {
				p[k] = v
			}
		default:
			p[k] = v
		}
	}
	return p
}

// assertRuleMembers are $assert_valid_resources_param and $assert_valid_nodes_param; prefix is
// the lock's.
func (c *Cluster) assertRuleMembers(params map[string]string, prefix string) error {
	if raw, ok := params["resources"]; ok {
		res := splitList(raw)
		if len(res) == 0 {
			return failf("%sno resources were specified", prefix)
		}
		var unmanaged []string
		for _, sid := range sortedUnique(res) {
			if c.ha[sid] == nil {
				unmanaged = append(unmanaged, sid)
			}
		}
		if len(unmanaged) > 0 {
			return failf("%scannot use unmanaged resource(s) %s.", prefix, strings.Join(unmanaged, ", "))
		}
	}
	if raw, ok := params["nodes"]; ok {
		list := splitList(raw)
		if len(list) == 0 {
			return failf("%sno nodes were specified", prefix)
		}
		var missing []string
		for _, n := range list {
			name, _, _ := strings.Cut(n, ":")
			if c.node(name) == nil {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return failf("%scannot use non-existent node(s) %s.", prefix, strings.Join(missing, ", "))
		}
	}
	return nil
}

func sortedUnique(in []string) []string {
	set := map[string]bool{}
	for _, s := range in {
		set[s] = true
	}
	return sortedKeys(set)
}

// apply sets the options of params on r.
func (r *haRule) apply(params map[string]string) {
	for k, v := range params {
		switch k {
		case "resources":
			r.resources = map[string]bool{}
			for _, sid := range splitList(v) {
				r.resources[sid] = true
			}
		case "affinity":
			r.affinity = v
		case "nodes":
			r.nodes = v
		case "comment":
			r.comment = v
		case "disable":
			r.disable = v == "1"
		case "strict":
			s := v == "1"
			r.strict = &s
		}
	}
}

func (c *Cluster) createHARule(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, typ := req.str("rule"), req.str("type")
	params := ruleParams(req)
	if err := checkHARuleConfig(typ, params, true); err != nil {
		return nil, failf("%v", err)
	}
	// The rest runs under lock_ha_domain, which prefixes whatever dies there.
	const prefix = "create ha rule failed: "
	if c.haRules[id] != nil {
		return nil, failf("%sHA rule '%s' already defined", prefix, id)
	}
	if err := c.assertRuleMembers(params, prefix); err != nil {
		return nil, err
	}
	r := &haRule{id: id, typ: typ, order: c.nextRuleOrdinal()}
	r.apply(params)
	c.haRules[id] = r
	if err := c.assertRuleFeasible(id, prefix); err != nil {
		delete(c.haRules, id)
		return nil, err
	}
	return nil, nil
}

// nextRuleOrdinal is get_next_ordinal, which takes the lowest order in use plus one (not the
// highest: new rules can share an order with an old one; listings then order those by id).
func (c *Cluster) nextRuleOrdinal() int {
	lowest := 0
	for _, r := range c.haRules {
		if lowest == 0 || r.order < lowest {
			lowest = r.order
		}
	}
	return lowest + 1
}

func (c *Cluster) updateHARule(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := req.str("rule")
	params := ruleParams(req)
	const prefix = "update HA rules failed: "
	if d := req.str("digest"); d != "" && d != c.haRulesDigest() {
		return nil, failf("%sdetected modified configuration - file changed by other user? Try again.", prefix)
	}
	old := c.haRules[id]
	if old == nil {
		return nil, failf("%sHA rule '%s' does not exist", prefix, id)
	}
	if err := checkHARuleConfig(old.typ, params, false); err != nil {
		return nil, failf("%s%v", prefix, err)
	}
	if err := c.assertRuleMembers(params, prefix); err != nil {
		return nil, err
	}
	next := *old
	next.resources = old.resources
	opts := haRuleOptions[old.typ]
	for _, k := range splitList(req.str("delete")) {
		required, ok := opts[k]
		switch {
		case !ok:
			return nil, failf("%sno such option '%s'", prefix, k)
		case required:
			return nil, failf("%sunable to delete required option '%s'", prefix, k)
		}
		if _, set := params[k]; set {
			return nil, failf("%scannot set and delete property '%s' at the same time!", prefix, k)
		}
		switch k {
		case "comment":
			next.comment = ""
		case "disable":
			next.disable = false
		case "strict":
			next.strict = nil
		}
	}
	next.apply(params)
	c.haRules[id] = &next
	if err := c.assertRuleFeasible(id, prefix); err != nil {
		c.haRules[id] = old
		return nil, err
	}
	return nil, nil
}

func (c *Cluster) deleteHARule(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.haRules, req.str("rule")) // an unknown rule is no error in PVE
	return nil, nil
}

// assertRuleFeasible is $assert_feasibility: the new or changed rule must pass the checks. PVE
// raises a 400 exception with per-option errors inside lock_ha_domain, which turns it into a
// plain die of its text (code, message, then one "option: errors" line each).
func (c *Cluster) assertRuleFeasible(id, prefix string) error {
	errs := c.haRuleFeasibility()[id]
	if len(errs) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s400 Rule '%s' is invalid.", prefix, id)
	for _, k := range sortedKeys(errs) {
		fmt.Fprintf(&b, "\n%s: %s", k, strings.Join(errs[k], ", "))
	}
	return failf("%s", b.String())
}

// haRuleFeasibility runs the resource-affinity checks of PVE::HA::Rules::ResourceAffinity over
// the enabled rules: errors by rule, then option. Node-affinity rules are stored and listed;
// their interplay checks with resource affinity are not simulated.
func (c *Cluster) haRuleFeasibility() map[string]map[string][]string {
	errs := map[string]map[string][]string{}
	add := func(id, msg string) {
		if errs[id] == nil {
			errs[id] = map[string][]string{}
		}
		errs[id]["resources"] = append(errs[id]["resources"], msg)
	}
	var positive, negative []*haRule
	for _, r := range c.haRulesSorted() {
		if r.typ != "resource-affinity" || r.disable {
			continue
		}
		if len(r.resources) < 2 {
			add(r.id, "rule is ineffective as there are less than two resources")
		}
		if r.affinity == "negative" {
			negative = append(negative, r)
			if len(r.resources) > len(c.nodes) {
				add(r.id, "rule defines more resources than available nodes")
			}
		} else {
			positive = append(positive, r)
		}
	}
	// Positive rules sharing a resource keep all their resources together: a negative rule
	// holding two of one such set asks the impossible.
	for _, set := range positiveSets(positive) {
		for _, n := range negative {
			common := 0
			for sid := range n.resources {
				if set.resources[sid] {
					common++
				}
			}
			if common < 2 {
				continue
			}
			add(n.id, "rule shares two or more resources with a positive resource affinity rule")
			for _, id := range set.ids {
				add(id, "rule shares two or more resources with a negative resource affinity rule")
			}
		}
	}
	return errs
}

type ruleSet struct {
	ids       []string
	resources map[string]bool
}

// positiveSets merges positive rules that share resources (find_disjoint_rules_resource_sets).
func positiveSets(rules []*haRule) []ruleSet {
	var sets []ruleSet
	for _, r := range rules {
		merged := ruleSet{ids: []string{r.id}, resources: map[string]bool{}}
		for sid := range r.resources {
			merged.resources[sid] = true
		}
		var rest []ruleSet
		for _, s := range sets {
			overlap := false
			for sid := range s.resources {
				overlap = overlap || merged.resources[sid]
			}
			if !overlap {
				rest = append(rest, s)
				continue
			}
			merged.ids = append(merged.ids, s.ids...)
			for sid := range s.resources {
				merged.resources[sid] = true
			}
		}
		rest = append(rest, merged)
		sets = rest
	}
	return sets
}

// purgeFromRules drops sid from every rule and the rules left without resources, as
// delete_service_from_config does with purge. Caller holds c.mu.
func (c *Cluster) purgeFromRules(sid string) {
	for id, r := range c.haRules {
		if r.resources[sid] {
			next := *r
			next.resources = map[string]bool{}
			for s := range r.resources {
				if s != sid {
					next.resources[s] = true
				}
			}
			c.haRules[id] = &next
			if len(next.resources) == 0 {
				delete(c.haRules, id)
			}
		}
	}
}
