package failover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// A drill proves a VM's newest backup boots in its failover datacenter without touching the VM:
// it restores a copy on a bridge without uplink, under a tag of its own (so neither identity
// search nor fencing ever mistakes it for the VM), waits for it to run and removes it.

// drillPrefix starts the tag of a drill's copy; what follows is the drill's own id.
const drillPrefix = "moxxie-drill-"

// DrillTag is the tag the copy of drill id carries.
func DrillTag(id string) string { return drillPrefix + id }

// Source is the backup a drill restores and where it is listed.
type Source struct {
	DC, Storage string
	Backup      dcrouter.Backup
}

// DrillSpec is one drill in the datacenter of the client it runs with.
type DrillSpec struct {
	ID      string // the drill's id (16 hex): its copy carries DrillTag(ID)
	Source  Source
	Node    string // where to restore; "" picks the node with most free memory
	Storage string // where the copy's disks go
	Bridge  string // the isolated bridge every NIC is put on
	VMIDs   *vm.Manager
	// BootTimeout bounds the wait for the copy to run; 0 means 5 minutes.
	BootTimeout time.Duration
}

// DrillResult is what a finished drill reports.
type DrillResult struct {
	Node       string
	VMID       int // the VMID the copy had; it is gone now
	Booted     bool
	FinishedAt time.Time
}

// cleanupTimeout bounds the removal of a copy after a failed or cancelled drill: it runs on a
// context of its own, since the drill's may be the one that was cancelled.
const cleanupTimeout = 2 * time.Minute

// RunDrill restores s.Source as an isolated copy, starts it, waits until it runs and removes it.
// Leftovers of an earlier, interrupted run of the same drill are removed first. On any failure
// the copy is removed before the error is returned, so a failed drill leaves nothing behind;
// an error that says otherwise names what is left.
func RunDrill(ctx context.Context, c *dcrouter.Client, s DrillSpec) (DrillResult, error) {
	if _, err := RemoveDrill(ctx, c, s.ID); err != nil {
		return DrillResult{}, fmt.Errorf("removing what an earlier run of the drill left: %w", err)
	}
	node := s.Node
	if node == "" {
		var err error
		if node, err = vm.ChooseNode(ctx, c); err != nil {
			return DrillResult{}, err
		}
	}
	if err := CheckIsolatedBridge(ctx, c, node, s.Bridge); err != nil {
		return DrillResult{}, err
	}
	conf, err := c.BackupConfig(ctx, node, s.Source.Backup.VolID)
	if err != nil {
		return DrillResult{}, fmt.Errorf("reading the config in %s: %w", s.Source.Backup.VolID, err)
	}
	res := DrillResult{Node: node}
	res.VMID, err = Restore(ctx, c, RestoreSpec{Node: node, Storage: s.Storage, Backup: s.Source.Backup,
		Override: drillOverrides(conf, DrillTag(s.ID), s.Bridge), Unique: true, Start: true, Tag: DrillTag(s.ID), VMIDs: s.VMIDs})
	if err == nil {
		res.Booted, err = waitBooted(ctx, c, node, res.VMID, s.BootTimeout)
	}
	// The copy goes whether the drill passed or not; a cancelled drill still removes it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if res.VMID > 0 {
		// A restore whose outcome is unknown may still hold the VMID: wait for it to end, then
		// remove what carries the drill's tag (never a VMID alone, which may be another's).
		_ = vm.WaitCreated(cctx, c, vm.Location{Node: node, VMID: res.VMID})
	}
	left, rerr := RemoveDrill(cctx, c, s.ID)
	if rerr != nil {
		err = errors.Join(err, fmt.Errorf("removing the drill's copy: %w", rerr))
	} else if len(left) > 0 && err != nil {
		err = fmt.Errorf("%w (the copy, VM %d, was removed)", err, left[0])
	}
	if err != nil {
		return res, fmt.Errorf("drill of %s in %s: %w", s.Source.Backup.VolID, c.DC(), err)
	}
	res.FinishedAt = time.Now().UTC()
	return res, nil
}

// drillOverrides puts every NIC of the backed-up config on bridge without VLAN or MAC (PVE
// draws a new one), and replaces moxxie's tags by the drill's; onboot is off so a node reboot
// never brings the copy up.
func drillOverrides(conf dcrouter.VMConfig, tag, bridge string) map[string]string {
	o := map[string]string{"onboot": "0"}
	tags := []string{tag}
	for _, t := range vm.ParseTags(conf["tags"]) {
		if !strings.HasPrefix(t, "moxxie-") {
			tags = append(tags, t)
		}
	}
	o["tags"] = strings.Join(tags, ";")
	for k, v := range conf {
		if strings.HasPrefix(k, "net") && strings.Trim(k[3:], "0123456789") == "" && k != "net" {
			o[k] = isolatedNIC(v, bridge)
		}
	}
	return o
}

// isolatedNIC keeps a NIC's model and options but not its MAC, bridge, VLAN or trunks.
func isolatedNIC(v, bridge string) string {
	var model string
	var opts []string
	for i, p := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(p, "=")
		switch {
		case k == "bridge" || k == "tag" || k == "trunks" || k == "macaddr":
		case k == "model":
			model = val
		case i == 0 && (val == "" || isMAC(val)):
			model = k // "virtio=BC:24:...": the model with its MAC
		default:
			opts = append(opts, p)
		}
	}
	return strings.Join(append(append([]string{model}, opts...), "bridge="+bridge), ",")
}

func isMAC(s string) bool {
	return len(s) == 17 && strings.Count(s, ":") == 5
}

// waitBooted waits until the copy runs with an uptime above zero: its start task ended and the
// guest is up, not only spawned.
func waitBooted(ctx context.Context, c *dcrouter.Client, node string, vmid int, limit time.Duration) (bool, error) {
	if limit <= 0 {
		limit = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for wait := 100 * time.Millisecond; ; wait = min(wait*2, 2*time.Second) {
		st, err := c.VMStatus(ctx, node, vmid)
		if err == nil && st.Status == "running" && st.Uptime > 0 {
			return true, nil
		}
		if err == nil && st.Status != "running" {
			return false, fmt.Errorf("VM %d stopped after its start (status %s)", vmid, st.Status)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				err = ctx.Err()
			}
			return false, fmt.Errorf("VM %d did not boot within %s: %w", vmid, limit, err)
		case <-t.C:
		}
	}
}

// RemoveDrill destroys every guest tagged with drill id's tag in c's datacenter and returns
// their VMIDs: what an interrupted run left. Nothing else is touched.
func RemoveDrill(ctx context.Context, c *dcrouter.Client, id string) ([]int, error) {
	c.ForgetResources()
	res, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return nil, err
	}
	var removed []int
	for _, r := range vm.CarriersOf(res, DrillTag(id)) {
		if err := vm.Delete(ctx, c, r.Node, r.VMID); err != nil {
			return removed, fmt.Errorf("VM %d on %s: %w", r.VMID, r.Node, err)
		}
		removed = append(removed, r.VMID)
	}
	return removed, nil
}

// CheckIsolatedBridge requires bridge on node to be a Linux or OVS bridge without ports: a
// drill's copy boots with the primary's addresses and must not reach the tenant's network.
func CheckIsolatedBridge(ctx context.Context, c *dcrouter.Client, node, bridge string) error {
	ifaces, err := c.NodeNetwork(ctx, node, "any_bridge")
	if err != nil {
		return err
	}
	for _, n := range ifaces {
		if n.Iface != bridge {
			continue
		}
		switch {
		case n.Type == "vnet":
			return fmt.Errorf("%s is an SDN vnet of datacenter %s, not an isolated bridge: a drill needs a bridge without uplink", bridge, c.DC())
		case strings.TrimSpace(n.Ports) != "":
			return fmt.Errorf("bridge %s on node %s of datacenter %s has ports (%s): a drill needs a bridge without uplink", bridge, node, c.DC(), n.Ports)
		}
		return nil
	}
	return fmt.Errorf("bridge %s does not exist on node %s of datacenter %s", bridge, node, c.DC())
}

// NewestBackup finds the newest backup of identity id on the backup storages of c's datacenter,
// matched by the identity tag in the backup's notes (VMIDs differ between datacenters). The
// storages are those a node lists (shown with Datastore.AllocateSpace, unlike /cluster/resources).
func NewestBackup(ctx context.Context, c *dcrouter.Client, id string) (Source, bool, error) {
	node, err := vm.ChooseNode(ctx, c)
	if err != nil {
		return Source{}, false, err
	}
	storages, err := c.NodeStorages(ctx, node)
	if err != nil {
		return Source{}, false, err
	}
	var best Source
	found := false
	for _, st := range storages {
		if !st.Active || !st.Enabled || !st.Holds("backup") {
			continue
		}
		b, ok, err := RecoveryPoint(ctx, c, node, st.Storage, vm.IdentityTag(id))
		if err != nil {
			return Source{}, false, fmt.Errorf("listing backups on %s: %w", st.Storage, err)
		}
		if ok && (!found || b.CTime.After(best.Backup.CTime)) {
			best, found = Source{DC: c.DC(), Storage: st.Storage, Backup: b}, true
		}
	}
	return best, found, nil
}
