package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
)

// nets is the one network resolver (allocation ids, vlan<N>, bridges) of every resource.
func (d *providerData) nets() *migration.Networks {
	pools := map[string]*datacenter.Network{}
	for name, s := range d.dcs {
		pools[name] = s.Network
	}
	return &migration.Networks{Pools: pools, Addrs: d.addrs}
}

// engine is the move engine over every configured datacenter; progress goes to the log at INFO.
func (d *providerData) engine(progress func(migration.Phase)) (*migration.Engine, error) {
	dcs := map[string]migration.Datacenter{}
	for _, name := range d.dcs.Names() {
		c, err := d.router.Client(name)
		if err != nil {
			return nil, err
		}
		cfg, _ := d.router.Config(name)
		dcs[name] = migration.Datacenter{Client: c, Config: cfg, Storage: d.dcs[name].Storage}
	}
	return &migration.Engine{DCs: dcs, Nets: d.nets(), ReleaseHA: d.vms.DropNodeRules, Progress: func(ctx context.Context, p migration.Phase, msg string) {
		tflog.Info(ctx, msg, map[string]any{"phase": string(p)})
		if progress != nil {
			progress(p)
		}
	}}, nil
}

// forgetAll drops the cached inventories a move changed.
func (d *providerData) forgetAll(dcs ...string) {
	for _, dc := range dcs {
		d.snaps.Forget(dc)
	}
}

// preflightDiags puts a move's refusals on their attributes; fields maps the engine's fields to
// the resource's attribute paths (missing: the resource as a whole).
func preflightDiags(diags *diag.Diagnostics, summary string, err error, fields map[migration.Field]path.Path) {
	var pe *migration.PreflightError
	if !errors.As(err, &pe) {
		diags.AddError(summary, err.Error())
		return
	}
	for _, p := range pe.Problems {
		msg := fmt.Sprintf("%s cannot be moved (nothing was changed, the VM keeps running where it is): %s", pe.VM, p.Msg)
		if at, ok := fields[p.Field]; ok {
			diags.AddAttributeError(at, summary, msg)
		} else {
			diags.AddError(summary, msg)
		}
	}
}

// splitDiags reports one identity in several datacenters: an error when more than one copy
// runs, a warning when the others are stopped leftovers.
func splitDiags(diags *diag.Diagnostics, err error) bool {
	var se *migration.SplitError
	if !errors.As(err, &se) {
		return false
	}
	if se.BothRun() {
		diags.AddError("One VM identity runs in several places", se.Error())
	} else {
		diags.AddWarning("One VM identity has a stopped leftover copy", se.Error())
	}
	return true
}

// splitUnasked holds the clients (of this provider process) whose datacenter did not answer a
// search for copies: the search is a best-effort check on every refresh, and must not make each
// VM's refresh wait for a datacenter that is down.
var splitUnasked sync.Map

// copies finds every VM carrying the identity in the datacenters that answer (from the cached
// resource lists); a split is reported only when no move is in flight, since a migration
// briefly shows the VM in both datacenters.
func (d *providerData) copies(ctx context.Context, id string) (migration.Found, *migration.SplitError) {
	var clients []*dcrouter.Client
	for _, name := range d.dcs.Names() {
		if c, err := d.router.Client(name); err == nil {
			if _, down := splitUnasked.Load(c); !down {
				clients = append(clients, c)
			}
		}
	}
	f := migration.Find(ctx, clients, id)
	for _, c := range clients {
		if _, down := f.Down[c.DC()]; down {
			splitUnasked.Store(c, true)
		}
	}
	if len(f.Copies) < 2 {
		return f, nil
	}
	for _, c := range f.Copies {
		if c.Lock == "migrate" || c.Move != nil {
			return f, nil
		}
	}
	return f, &migration.SplitError{ID: id, Copies: f.Copies}
}
