package failover

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// Spec is one failover of a protected VM into its failover datacenter.
type Spec struct {
	ID      string           // the VM's identity (16 hex); the restored copy keeps its tag
	Client  *dcrouter.Client // the failover datacenter
	Node    string           // where to restore; "" picks the online node with the most free memory
	Storage string           // the failover datacenter's disk storage
	// Backup is the recovery point the plan named; its VolID is what is restored.
	Backup dcrouter.Backup
	// NICs are the VM's interfaces as last seen (model and MAC are kept), Targets where each
	// goes in the failover datacenter (resolved by migration.Networks as a move resolves them);
	// Nets assigns allocation addresses. NICs beyond Targets keep their network.
	NICs    []vm.NIC
	Targets []migration.NICTarget
	Nets    *migration.Networks
	VMIDs   *vm.Manager // the provider's, so restores and creates never pick one VMID
}

// Result is where the VM runs after the failover.
type Result struct {
	VMID    int
	Node    string
	Resumed bool // a copy an earlier, interrupted failover restored was found and finished
}

// DataLossWindow is what a failover from b at at loses: the time since the backup was made.
func DataLossWindow(b dcrouter.Backup, at time.Time) time.Duration {
	return at.Sub(b.CTime).Truncate(time.Second)
}

// Run restores Backup in the failover datacenter with the VM's identity, its NICs on the
// failover datacenter's networks, and starts it. It is resumable: a copy of the identity there
// (an earlier run cut short after PVE took the restore) is waited for, never restored twice,
// and started.
func Run(ctx context.Context, s Spec) (Result, error) {
	c := s.Client
	// A restore of an earlier run may still be under way: PVE shows its tags (the identity) only
	// once it ends, so first wait for every guest being created to be done.
	if err := waitCreates(ctx, c); err != nil {
		return Result{}, err
	}
	loc, found, err := vm.Locate(ctx, c, s.ID)
	if err != nil {
		return Result{}, fmt.Errorf("looking for an earlier failover's copy in %s: %w", c.DC(), err)
	}
	if found {
		return resume(ctx, c, loc)
	}
	if s.Backup.VolID == "" {
		return Result{}, fmt.Errorf("no backup of identity %s to restore in datacenter %s", vm.IdentityTag(s.ID), c.DC())
	}
	node := s.Node
	if node == "" {
		if node, err = vm.ChooseNode(ctx, c); err != nil {
			return Result{}, err
		}
	}
	override, err := s.nicOverride(ctx)
	if err != nil {
		return Result{}, err
	}
	// The restored copy is the VM: never a fenced one (a backup the old datacenter's job took of
	// a copy already fenced carries the tag), and it boots with its host like the original.
	override["onboot"] = "1"
	tag := vm.IdentityTag(s.ID)
	vmid, err := Restore(ctx, c, RestoreSpec{Node: node, Storage: s.Storage, Backup: s.Backup, Override: override,
		Tag: tag, VMIDs: s.VMIDs})
	if err != nil {
		return Result{VMID: vmid, Node: node}, err
	}
	if err := unfence(ctx, c, node, vmid); err != nil {
		return Result{VMID: vmid, Node: node}, err
	}
	if err := vm.Start(ctx, c, node, vmid); err != nil {
		return Result{VMID: vmid, Node: node}, fmt.Errorf("VM %d was restored from %s in %s but did not start (the next apply starts it): %w", vmid, s.Backup.VolID, c.DC(), err)
	}
	c.ForgetResources()
	return Result{VMID: vmid, Node: node}, nil
}

// waitCreates waits until no guest of c's datacenter is locked by a create or restore.
func waitCreates(ctx context.Context, c *dcrouter.Client) error {
	c.ForgetResources()
	res, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Type == "qemu" && r.Lock == "create" {
			if err := vm.WaitCreated(ctx, c, vm.Location{Node: r.Node, VMID: r.VMID, Lock: r.Lock}); err != nil {
				return fmt.Errorf("waiting for the create or restore of VM %d in %s to end: %w", r.VMID, c.DC(), err)
			}
		}
	}
	c.ForgetResources()
	return nil
}

// resume finishes a failover whose restore PVE took: waits for the restore, starts the copy.
func resume(ctx context.Context, c *dcrouter.Client, loc vm.Location) (Result, error) {
	res := Result{VMID: loc.VMID, Node: loc.Node, Resumed: true}
	if err := vm.WaitCreated(ctx, c, loc); err != nil {
		return res, fmt.Errorf("waiting for the restore of VM %d in %s: %w", loc.VMID, c.DC(), err)
	}
	c.ForgetResources()
	if err := unfence(ctx, c, loc.Node, loc.VMID); err != nil {
		return res, err
	}
	st, err := c.VMStatus(ctx, loc.Node, loc.VMID)
	if err != nil {
		return res, err
	}
	if st.Status != "running" {
		if err := vm.Start(ctx, c, loc.Node, loc.VMID); err != nil {
			return res, fmt.Errorf("starting VM %d, restored in %s by an earlier failover: %w", loc.VMID, c.DC(), err)
		}
	}
	c.ForgetResources()
	return res, nil
}

// unfence drops a fenced tag the backup may have carried from the restored copy (restore
// overrides can set tags but the identity's own user tags are only in the archive).
func unfence(ctx context.Context, c *dcrouter.Client, node string, vmid int) error {
	cfg, err := c.VMConfig(ctx, node, vmid, true)
	if err != nil {
		return err
	}
	tags := vm.ParseTags(cfg["tags"])
	if !vm.IsFenced(tags) {
		return nil
	}
	var keep []string
	for _, t := range tags {
		if t != vm.FencedTag {
			keep = append(keep, t)
		}
	}
	return c.UpdateVMConfig(ctx, node, vmid, map[string]any{"tags": joinTags(keep)})
}

// nicOverride is netN (and ipconfigN) for every NIC with a target: the NIC's model and MAC on
// the target network, the address assigned in the target allocation.
func (s Spec) nicOverride(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for i, n := range s.NICs {
		if i >= len(s.Targets) {
			break
		}
		t := s.Targets[i]
		if s.Nets != nil {
			if err := s.Nets.Address(ctx, s.Client, &t, n.IP.Addr(), 0); err != nil {
				return nil, fmt.Errorf("address for net%d in %s: %w", i, s.Client.DC(), err)
			}
		}
		want := n
		want.Bridge, want.VLAN, want.IP, want.Gateway = t.Bridge, t.VLAN, t.IP, t.Gateway
		key := strconv.Itoa(i)
		out["net"+key] = vm.NetValue(want)
		if ipc := vm.IPConfigValue(want); ipc != "" {
			out["ipconfig"+key] = ipc
		}
	}
	return out, nil
}
