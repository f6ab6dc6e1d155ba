package failover

import (
	"context"
	"fmt"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// Stale are the copies to fence once the VM runs in liveDC after a failover: every other copy
// of the identity (the one left in the datacenter that came back), and fenced copies that run
// all the same (started by hand, or a fence cut short between its tag and its stop).
func Stale(f migration.Found, liveDC string) []migration.Copy {
	var out []migration.Copy
	for _, c := range f.Copies {
		if c.DC != liveDC {
			out = append(out, c)
		}
	}
	for _, c := range f.Fenced {
		if c.Status == "running" {
			out = append(out, c)
		}
	}
	return out
}

// Fence makes a stale copy harmless: tagged vm.FencedTag and onboot=0 first (from then on no
// identity search finds it and moxxie never starts it, even if the stop below is cut short),
// then stopped at once if it runs (a forced stop: the copy's data is older than the live VM's,
// nothing in it is worth a clean shutdown), and its datacenter's backup job for the identity
// removed, so it backs up nothing more under the VM's identity.
func Fence(ctx context.Context, c *dcrouter.Client, cp migration.Copy, identityTag string) error {
	cfg, err := c.VMConfig(ctx, cp.Node, cp.VMID, true)
	if err != nil {
		return fenceErr(cp, "reading its config", err)
	}
	tags := vm.ParseTags(cfg["tags"])
	if !vm.IsFenced(tags) || cfg["onboot"] != "0" {
		p := map[string]any{"onboot": 0}
		if !vm.IsFenced(tags) {
			p["tags"] = joinTags(append(tags, vm.FencedTag))
		}
		if err := c.UpdateVMConfig(ctx, cp.Node, cp.VMID, p); err != nil {
			return fenceErr(cp, "tagging it "+vm.FencedTag, err)
		}
	}
	st, err := c.VMStatus(ctx, cp.Node, cp.VMID)
	if err != nil {
		return fenceErr(cp, "reading its power state", err)
	}
	if st.Status == "running" {
		upid, err := c.StopVM(ctx, cp.Node, cp.VMID)
		if err == nil {
			err = c.WaitTask(ctx, upid)
		}
		if err != nil {
			return fenceErr(cp, "stopping it", err)
		}
	}
	if err := RemoveJob(ctx, c, identityTag); err != nil {
		return fenceErr(cp, "removing its backup job", err)
	}
	c.ForgetResources()
	return nil
}

func fenceErr(cp migration.Copy, what string, err error) error {
	return fmt.Errorf("fencing the stale copy %s: %s: %w", cp, what, err)
}

// joinTags renders tags as PVE stores them, ';'-separated, each once.
func joinTags(tags []string) string {
	seen := map[string]bool{}
	out := ""
	for _, t := range tags {
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		if out != "" {
			out += ";"
		}
		out += t
	}
	return out
}
