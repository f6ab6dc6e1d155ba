package provider

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

type affinityModel struct {
	PreferSameDC           types.Set `tfsdk:"prefer_same_dc"`
	RequireDifferentDC     types.Set `tfsdk:"require_different_dc"`
	PreferSameDCTags       types.Set `tfsdk:"prefer_same_dc_tags"`
	RequireDifferentDCTags types.Set `tfsdk:"require_different_dc_tags"`
	PreferSameNode         types.Set `tfsdk:"prefer_same_node"`
	RequireDifferentNode   types.Set `tfsdk:"require_different_node"`
}

func affinitySchema() schema.SingleNestedAttribute {
	set := func(desc string) schema.SetAttribute {
		return schema.SetAttribute{MarkdownDescription: desc, ElementType: types.StringType, Optional: true}
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: "Placement rules relative to other moxxie VMs, checked at plan time against the VMs " +
			"that exist and those planned in the same run. Datacenter rules name VMs of any datacenter, by name or by tag " +
			"(a tag group also reaches VMs other workspaces manage); node rules name VMs of this VM's own datacenter and are " +
			"written to PVE as HA resource-affinity rules, so the cluster keeps enforcing them. A name or tag that matches " +
			"no VM is a warning. Reference the other VM's `name` attribute (`[moxxie_vm.db.name]`) rather than a literal: " +
			"the reference makes Terraform plan and create that VM first, so the check and the HA rule see it whatever the " +
			"order of the configuration.",
		Optional: true,
		Attributes: map[string]schema.Attribute{
			"prefer_same_dc":            set("VMs this one should share a datacenter with; a violation is a warning."),
			"require_different_dc":      set("VMs this one must never share a datacenter with; a violation is an error."),
			"prefer_same_dc_tags":       set("Tags: this VM should share a datacenter with the VMs carrying them; a violation is a warning."),
			"require_different_dc_tags": set("Tags: this VM must never share a datacenter with another VM carrying one of them; a violation is an error."),
			"prefer_same_node": set("VMs of this datacenter this one should run on the same node with: written as a positive PVE HA " +
				"resource-affinity rule (the VMs become HA resources). A new VM is created on their node."),
			"require_different_node": set("VMs of this datacenter this one must never share a node with: written as a negative PVE HA " +
				"resource-affinity rule (the VMs become HA resources). A new VM is created on a node none of them runs on; " +
				"the plan fails when the datacenter has fewer online nodes than the VMs to keep apart, or when `node` sets " +
				"this VM onto the node of one of them."),
		},
	}
}

// affinity reads the rules, with the VM's pinned node and tags (which rules of other VMs are
// judged against); known is false when any name is not known yet (the check is skipped then,
// not failed).
func (m vmModel) affinity(ctx context.Context) (placement.Affinity, bool, diag.Diagnostics) {
	var a placement.Affinity
	var diags diag.Diagnostics
	if !m.Node.IsUnknown() {
		a.Node = m.Node.ValueString()
	}
	if !m.Tags.IsNull() && !m.Tags.IsUnknown() {
		diags.Append(m.Tags.ElementsAs(ctx, &a.Tags, false)...)
	}
	if m.Affinity.IsNull() {
		return a, true, diags
	}
	if m.Affinity.IsUnknown() {
		return a, false, diags
	}
	var am affinityModel
	diags.Append(m.Affinity.As(ctx, &am, basetypes.ObjectAsOptions{})...)
	for _, s := range []struct {
		set types.Set
		out *[]string
	}{
		{am.PreferSameDC, &a.PreferSameDC}, {am.RequireDifferentDC, &a.RequireDifferentDC},
		{am.PreferSameDCTags, &a.PreferSameDCTags}, {am.RequireDifferentDCTags, &a.RequireDifferentDCTags},
		{am.PreferSameNode, &a.PreferSameNode}, {am.RequireDifferentNode, &a.RequireDifferentNode},
	} {
		if s.set.IsUnknown() {
			return a, false, diags
		}
		for _, e := range s.set.Elements() {
			if e.IsUnknown() {
				return a, false, diags
			}
		}
		if !s.set.IsNull() {
			diags.Append(s.set.ElementsAs(ctx, s.out, false)...)
		}
	}
	return a, true, diags
}

// checkAffinity judges the rules in both directions: this VM's own rules against every other VM,
// and the rules of VMs planned in this run against this VM, so the outcome does not depend on
// which of two VMs Terraform plans first.
func (r *vmResource) checkAffinity(ctx context.Context, me placement.Planned, diags *diag.Diagnostics) {
	if me.Exists {
		// An existing VM stays on the node it runs on (or PVE's HA manager moves it to keep a
		// rule); only a new VM's node is the configuration's to collide.
		me.Affinity.Node = ""
	}
	var v placement.Verdict
	// Only this VM's own rules need to know where every other VM is; without them, reading
	// every datacenter's VMs for each resource of a plan would make planning n VMs cost n*n.
	if me.Affinity.HasRules() {
		v = r.ownAffinity(ctx, me, r.data.ledger.Others(me), diags)
	}
	ruled := r.data.ledger.InDC(me, func(p placement.Planned) bool { return p.Affinity.HasRules() })
	on := placement.CheckRulesOn(placement.Placed{Name: me.Name, DC: me.DC, Tags: me.Affinity.Tags}, me.Affinity, ruled)
	v.Errors = append(v.Errors, on.Errors...)
	for _, e := range v.Errors {
		diags.AddAttributeError(path.Root("affinity"), "Affinity rule violated", e)
	}
	for _, w := range v.Warnings {
		diags.AddAttributeWarning(path.Root("affinity"), "Affinity preference not met", w)
	}
}

// ownAffinity judges me's rules against every VM, existing and planned.
func (r *vmResource) ownAffinity(ctx context.Context, me placement.Planned, planned []placement.Planned, diags *diag.Diagnostics) placement.Verdict {
	where := map[string][]placement.Placed{}
	allRead, online, version := true, 0, ""
	for _, name := range r.data.dcs.Names() {
		c, err := r.data.client(name)
		if err != nil {
			allRead = false
			continue
		}
		snap, err := r.data.snaps.Get(ctx, c)
		if err != nil {
			allRead = false
			continue // an unreachable datacenter's VMs cannot be judged; the capacity check warned
		}
		if name == me.DC {
			online = snap.NodesOnline()
			if me.Affinity.HasNodeRules() {
				if ver, err := c.Version(ctx); err == nil {
					version = ver.Version
				}
			}
		}
		for _, v := range snap.Live() {
			if v.ID != "" {
				where[v.Name] = append(where[v.Name], placement.Placed{Name: v.Name, DC: name, Node: v.Node, Tags: v.Tags})
			}
		}
	}
	plannedAt := map[string][]placement.Placed{}
	for _, p := range planned {
		plannedAt[p.Name] = append(plannedAt[p.Name], placement.Placed{Name: p.Name, DC: p.DC, Node: p.Affinity.Node, Tags: p.Affinity.Tags})
	}
	for name, list := range plannedAt {
		where[name] = list // the plan puts them there, wherever they are now
	}
	var others []placement.Placed
	for _, list := range where {
		others = append(others, list...)
	}
	v := placement.CheckAffinity(placement.Placed{Name: me.Name, DC: me.DC, Node: me.Affinity.Node, Tags: me.Affinity.Tags}, me.Affinity, others, online)
	if major, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0]); me.Affinity.HasNodeRules() && err == nil && major < 9 {
		v.Errors = append(v.Errors, fmt.Sprintf("require_different_node and prefer_same_node are written as HA rules, which Proxmox VE has from version 9; %s runs %s", me.DC, version))
	}
	if allRead {
		for _, u := range v.Unmatched {
			diags.AddAttributeWarning(path.Root("affinity"), "Affinity rule names nothing",
				fmt.Sprintf("%s, and none is planned before %q in this run, so the rule has no effect. "+
					"Check the name; referencing the other VM's name attribute (moxxie_vm.x.name) makes Terraform plan it first.", u, me.Name))
		}
	}
	return v
}

// nodePeers resolves the node rules' names to the moxxie VMs of c's datacenter, as a fresh
// listing shows them (VMs created earlier in this apply included).
func (r *vmResource) nodePeers(ctx context.Context, c *dcrouter.Client, a placement.Affinity, self int) (apart, together []inventory.VM, err error) {
	r.data.snaps.Forget(c.DC())
	return r.walkPeers(ctx, c, a, self)
}

// walkPeers is nodePeers from the walk's listing, without reading the datacenter again: for plans.
func (r *vmResource) walkPeers(ctx context.Context, c *dcrouter.Client, a placement.Affinity, self int) (apart, together []inventory.VM, err error) {
	snap, err := r.data.snaps.Get(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	pick := func(names []string) []inventory.VM {
		var out []inventory.VM
		for _, v := range snap.Live() {
			if v.ID != "" && v.VMID != self && slices.Contains(names, v.Name) {
				out = append(out, v)
			}
		}
		return out
	}
	return pick(a.RequireDifferentNode), pick(a.PreferSameNode), nil
}

// steerNode is where a new VM without a node should go by its node rules: away from the nodes of
// the VMs it must not share one with, towards those of the VMs it prefers; the plan check has
// refused what cannot be met, and Create's packing only steers by them.
func (r *vmResource) steerNode(ctx context.Context, c *dcrouter.Client, plan vmModel) (avoid, prefer []string, err error) {
	a, _, _ := plan.affinity(ctx)
	if !plan.Node.IsNull() && !plan.Node.IsUnknown() || !a.HasNodeRules() {
		return nil, nil, nil
	}
	apart, together, err := r.nodePeers(ctx, c, a, 0)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range apart {
		avoid = append(avoid, v.Node)
	}
	for _, v := range together {
		prefer = append(prefer, v.Node)
	}
	return avoid, prefer, nil
}

// syncNodeRules writes the VM's node rules to its datacenter as PVE HA rules after a create,
// update or move; had says the prior state had node rules (to be removed when the plan has
// none). VMs that never had node rules cost nothing here.
func (r *vmResource) syncNodeRules(ctx context.Context, c *dcrouter.Client, plan vmModel, had bool, vmid int, diags *diag.Diagnostics) {
	a, _, d := plan.affinity(ctx)
	diags.Append(d...)
	if !a.HasNodeRules() && !had {
		return
	}
	apart, together, err := r.nodePeers(ctx, c, a, vmid)
	if err == nil {
		err = r.data.vms.SyncNodeRules(ctx, c, vmid, vm.NodeRules{Apart: vmids(apart), Together: vmids(together)})
	}
	if err == nil {
		var missing []string
		peers := slices.Concat(apart, together)
		for _, n := range slices.Concat(a.RequireDifferentNode, a.PreferSameNode) {
			if !slices.ContainsFunc(peers, func(v inventory.VM) bool { return v.Name == n }) {
				missing = append(missing, fmt.Sprintf("%q", n))
			}
		}
		if len(missing) > 0 {
			diags.AddAttributeWarning(path.Root("affinity"), "Node rule incomplete",
				fmt.Sprintf("Datacenter %s holds no moxxie VM named %s yet, so the HA rules of VM %d leave it out. "+
					"The next apply adds it (its plan shows ha_rules changing); referencing the other VM's name attribute makes Terraform create it first.",
					c.DC(), strings.Join(missing, ", "), vmid))
		}
	}
	r.data.snaps.Forget(c.DC())
	if err != nil {
		diags.AddAttributeError(path.Root("affinity"), "Cannot write node affinity",
			fmt.Sprintf("Writing the HA rules of VM %d in datacenter %s: %s", vmid, c.DC(), err))
	}
}

// hasNodeRules reports whether a state or plan asks for node rules.
func (m vmModel) hasNodeRules(ctx context.Context) bool {
	a, _, _ := m.affinity(ctx)
	return a.HasNodeRules()
}

func vmids(vs []inventory.VM) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.VMID
	}
	return out
}

// readHARules records in m the HA rules the VM's datacenter holds for its node rules. Only a VM
// whose configuration or state has node rules asks PVE; a failed read records none, so the next
// plan writes them again rather than trust a guess.
func (r *vmResource) readHARules(ctx context.Context, c *dcrouter.Client, m *vmModel, vmid int) error {
	if !m.hasNodeRules(ctx) && len(m.HARules.Elements()) == 0 {
		m.HARules = stringMap(nil)
		return nil
	}
	rules, err := c.HARules(ctx)
	m.HARules = stringMap(vm.HeldRules(rules, vmid))
	return err
}

// planHARules plans ha_rules. A VM without node rules holds none. An apply that changes a VM with
// node rules writes them (known after apply). Otherwise the plan compares what the datacenter
// holds with what the rules want and keeps the state's value only when they agree, so a rule lost
// outside this VM's applies makes a plan that writes it again. keep says the prior value was kept,
// valid only as long as nothing else of the VM changes (ModifyPlan checks that).
func (r *vmResource) planHARules(ctx context.Context, plan *vmModel, prior *vmModel) (keep bool) {
	if !plan.hasNodeRules(ctx) && !plan.Affinity.IsUnknown() && (prior == nil || len(prior.HARules.Elements()) == 0) {
		plan.HARules = stringMap(nil)
		return false
	}
	plan.HARules = types.MapUnknown(types.StringType)
	if prior == nil || r.data == nil || !plan.Datacenter.Equal(prior.Datacenter) || prior.VMID.IsNull() {
		return false
	}
	a, known, _ := plan.affinity(ctx)
	if !known {
		return false
	}
	vmid := int(prior.VMID.ValueInt64())
	var apart, together []inventory.VM
	c, err := r.data.client(prior.CurrentDC.ValueString())
	if err == nil {
		apart, together, err = r.walkPeers(ctx, c, a, vmid) // fails for a datacenter declared failed
	}
	if err != nil {
		// The datacenter cannot be asked: Read kept the state, and so does the plan.
		plan.HARules = prior.HARules
		return true
	}
	want := stringMap(vm.WantedRules(vmid, vm.NodeRules{Apart: vmids(apart), Together: vmids(together)}))
	if !want.Equal(prior.HARules) {
		return false
	}
	plan.HARules = prior.HARules
	return true
}

func stringMap(m map[string]string) types.Map {
	vals := make(map[string]attr.Value, len(m))
	for k, v := range m {
		vals[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, vals)
}

// recordHARules is readHARules after an apply wrote the rules: a failed read is an error on
// ha_rules, and the value recorded is what the datacenter was found to hold (none when unread).
func (r *vmResource) recordHARules(ctx context.Context, c *dcrouter.Client, m *vmModel, vmid int, diags *diag.Diagnostics) {
	if err := r.readHARules(ctx, c, m, vmid); err != nil {
		diags.AddAttributeError(path.Root("ha_rules"), "Cannot read HA rules",
			fmt.Sprintf("Reading the HA rules of VM %d in datacenter %s: %s", vmid, c.DC(), err))
	}
}

// restoreNodeRules writes the node rules of the state again after a move that failed: the move
// took the VM out of them (remote migration refuses HA resources), and when the VM is back where
// it was (from), unlocked and unmarked, it gets them back in this apply rather than run unguarded
// until the next. A VM still on its way is left alone: its move is finished by the next apply.
func (r *vmResource) restoreNodeRules(ctx context.Context, state *vmModel, from string, diags *diag.Diagnostics) {
	if !state.hasNodeRules(ctx) {
		return
	}
	// The apply's own context may be what ran out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	r.data.snaps.Forget(from)
	_, v, found, err := r.locate(ctx, *state)
	if err != nil || !found || v.DC != from || v.Lock != "" || v.Move != "" {
		return
	}
	state.CurrentDC = types.StringValue(from) // the move's task may have begun, but the VM is back
	c, err := r.data.client(v.DC)
	if err != nil {
		return
	}
	r.syncNodeRules(ctx, c, *state, true, v.VMID, diags)
	r.recordHARules(ctx, c, state, v.VMID, diags)
}
