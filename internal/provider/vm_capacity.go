package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

// plannedVM is the ledger entry of a VM's plan. Its node is the one it is bound to: the node set
// in the configuration or the one it runs on (moxxie does not move VMs between nodes), or, for a
// clone, its template's node (the clone is made where the template is); "" lets packing choose.
func plannedVM(ctx context.Context, plan vmModel, prior *vmModel, snap *inventory.Snapshot) placement.Planned {
	me := placement.Planned{Name: plan.Name.ValueString(), DC: plan.runsIn(), Cores: plan.Cores.ValueInt64(),
		MemoryMB: plan.MemoryMB.ValueInt64(), Exists: prior != nil, Running: plan.Started.IsUnknown() || plan.Started.ValueBool()}
	if prior != nil {
		me.ID = prior.ID.ValueString()
	}
	if !plan.Node.IsUnknown() && !plan.Node.IsNull() {
		me.Node = plan.Node.ValueString()
	}
	if prior == nil && snap != nil {
		if cm, _ := plan.cloneSpec(ctx); cm != nil && !cm.Template.IsUnknown() {
			if t, err := findTemplate(*snap, cm.Template.ValueString()); err == nil {
				me.Node = t.Node
			}
		}
	}
	return me
}

// runsIn is the datacenter the VM runs in once the plan is applied: current_dc, which a failover
// or a moxxie_dc_migration sets apart from datacenter (and a datacenter change plans equal to
// it); datacenter while that is not known yet (a create). Its node and its capacity are that
// datacenter's.
func (m vmModel) runsIn() string {
	if !m.CurrentDC.IsUnknown() && m.CurrentDC.ValueString() != "" {
		return m.CurrentDC.ValueString()
	}
	return m.Datacenter.ValueString()
}

// packing is what a node choice in one datacenter is judged against: the nodes with what the
// listing shows on them plus what this process booked on them since (VMs it created that the
// listing does not show yet), and the VMs of this run still to be placed there, me among them.
type packing struct {
	nodes   []placement.Node
	me      placement.Request
	others  []placement.Request
	demands []placement.Demand // for the limits: me and every VM of the run the listing lacks
}

// packingFor gathers me's datacenter's packing; exclude is the VMID whose listed size the plan
// replaces (0: none).
func (r *vmResource) packingFor(snap inventory.Snapshot, me placement.Planned, exclude int) packing {
	policy := r.data.dcs[me.DC].Placement
	pk := packing{nodes: snap.NodeLoads(policy, exclude)}
	at := map[string]int{}
	for i, n := range pk.nodes {
		at[n.Name] = i
	}
	names := map[string]bool{me.Name: true}
	pk.me = placement.Request{Name: me.Name, Cores: me.Cores, MemoryMB: me.MemoryMB, Running: me.Running, Node: me.Node}
	pk.demands = []placement.Demand{{Key: me.Name, Cores: me.Cores, MemoryMB: me.MemoryMB}}
	for _, o := range r.data.ledger.InDC(me, func(placement.Planned) bool { return true }) {
		if v, ok := snap.ByID(o.ID); ok {
			// In the listing's figures already; but a create of this run that the listing caught
			// before it started takes the room it will run in.
			if i, on := at[v.Node]; on && !o.Exists && o.Running && !v.Running && !policy.Counts(false) {
				pk.nodes[i].AllocatedCores += o.Cores
				pk.nodes[i].AllocatedMemoryMB += o.MemoryMB
			}
			continue
		}
		pk.demands = append(pk.demands, placement.Demand{Key: o.Name, Cores: o.Cores, MemoryMB: o.MemoryMB})
		if !o.Exists && o.ID != "" {
			// Created by this process (Book): it takes its node whether or not the listing shows it.
			if i, ok := at[o.Node]; ok && policy.Counts(o.Running) {
				pk.nodes[i].AllocatedCores += o.Cores
				pk.nodes[i].AllocatedMemoryMB += o.MemoryMB
			}
			continue
		}
		name := o.Name
		if names[name] {
			name += " (" + o.ID + ")" // Pack tells VMs apart by name
		}
		names[name] = true
		pk.others = append(pk.others, placement.Request{Name: name, Cores: o.Cores, MemoryMB: o.MemoryMB, Running: o.Running, Node: o.Node})
	}
	return pk
}

// place packs me with the others and returns me's node: the packing of the whole run when there
// is one; else, a node that takes me alone, the error of which is returned when there is none.
// together is the error of the whole run's packing, nil when it packs.
func (pk packing) place(dc string, p placement.Policy) (node string, alone, together error) {
	single, err := placement.Pack(dc, pk.nodes, p, []placement.Request{pk.me})
	if err != nil {
		return "", err, nil
	}
	// VMs that fit nowhere even alone had their own plan refused; they would only repeat that
	// error on every VM planned after them.
	reqs := []placement.Request{pk.me}
	for _, o := range pk.others {
		if _, err := placement.Pack(dc, pk.nodes, p, []placement.Request{o}); err == nil {
			reqs = append(reqs, o)
		}
	}
	all, err := placement.Pack(dc, pk.nodes, p, reqs)
	if err != nil {
		return single[pk.me.Name], nil, err
	}
	return all[pk.me.Name], nil, nil
}

// checkCapacity refuses a plan that the datacenter's limits or nodes cannot take: the limits count
// the VMs planned with me; every VM must fit whole on one online node, and the VMs of the run must
// pack onto the nodes together.
func (r *vmResource) checkCapacity(snap inventory.Snapshot, me placement.Planned, prior *vmModel, userNode bool, diags *diag.Diagnostics) {
	policy := r.data.dcs[me.DC].Placement
	exclude := 0
	if prior != nil && prior.CurrentDC.ValueString() == me.DC {
		if v, ok := snap.ByID(prior.ID.ValueString()); ok {
			exclude = v.VMID // its current size is replaced by the planned one
			if me.Cores <= v.Cores && me.MemoryMB <= v.MemoryMB && (v.Running || !me.Running || policy.CountStopped) {
				return // a VM that neither grows nor starts needs no room
			}
			me.Node = v.Node
		}
	}
	pk := r.packingFor(snap, me, exclude)
	if err := placement.Fit(snap.Capacity(r.data.dcs[me.DC].Limits, exclude), pk.demands); err != nil {
		diags.AddAttributeError(path.Root("datacenter"), "Not enough capacity", err.Error())
		return
	}
	_, alone, together := pk.place(me.DC, policy)
	switch {
	case alone != nil:
		diags.AddAttributeError(fitPath(alone, userNode), "VM fits no node", alone.Error())
	case together != nil:
		diags.AddAttributeError(fitPath(together, userNode), "Planned VMs do not fit together", together.Error())
	}
}

// fitPath is the attribute a node-fit error belongs on.
func fitPath(err error, userNode bool) path.Path {
	var fe *placement.NodeFitError
	if !errors.As(err, &fe) {
		return path.Root("datacenter")
	}
	switch {
	case fe.Resource == "cores":
		return path.Root("cores")
	case fe.Resource == "memory":
		return path.Root("memory_mb")
	case fe.Node != "" && userNode:
		return path.Root("node")
	}
	return path.Root("datacenter")
}

// chooseNode is the node Create puts a new VM on, by the packing the plan checked: the node set in
// the configuration, else the whole run's best fit in the datacenter (me's share of it). It books
// the choice in the ledger under the VM's new identity before the VM is made, so that the creates
// after it pack around it whether or not the listing they read shows it yet. Clones are made on
// their template's node whatever this returns. avoid and prefer steer the choice by node
// affinity (steerNode).
func (r *vmResource) chooseNode(ctx context.Context, c *dcrouter.Client, plan vmModel, id string, avoid, prefer []string) (string, error) {
	r.data.placing.Lock()
	defer r.data.placing.Unlock()
	snap, err := r.data.snaps.Get(ctx, c)
	if err != nil {
		return "", err
	}
	me := plannedVM(ctx, plan, nil, &snap)
	node := me.Node
	if cm, _ := plan.cloneSpec(ctx); node == "" && cm == nil {
		var alone error
		pk := r.packingFor(snap, me, 0)
		pk.me.Avoid, pk.me.Prefer = avoid, prefer
		node, alone, _ = pk.place(c.DC(), r.data.dcs[c.DC()].Placement)
		if alone != nil {
			return "", fmt.Errorf("no node of datacenter %s takes the VM any more: %w", c.DC(), alone)
		}
	}
	r.data.ledger.Book(me, id, node)
	return node, nil
}
