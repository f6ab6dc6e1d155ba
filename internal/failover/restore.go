package failover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// RestoreSpec is one restore of a backup into a new guest.
type RestoreSpec struct {
	Node    string          // where the guest is restored
	Storage string          // where its disks are restored (PVE's "storage"); every disk goes there
	Backup  dcrouter.Backup // the archive: Backup.VolID
	// Override sets config keys at restore time (PVE >= 7.2 merges them over the backed-up
	// config): netN, tags, onboot, name. Disk keys conflict with the archive (PVE refuses them).
	Override map[string]string
	Unique   bool // fresh MACs for every NIC the override does not set
	Start    bool // start the guest once restored

	// Tag is the moxxie tag the restored guest carries (its identity tag, or a drill's tag):
	// a restore whose answer was lost is found by it and adopted, never sent twice. When
	// Override sets tags, they must include it.
	Tag string
	// VMIDs chooses the free VMID (vm.Manager.Claim, as creates do); nil uses a Manager of its
	// own. Pass the provider's Manager so parallel creates and restores never pick one VMID.
	VMIDs *vm.Manager
}

// Restore brings Backup back as a new guest on Node under a free VMID, waits for PVE's
// qmrestore task and starts the guest when asked. It returns the VMID, also with an error once
// the guest exists (a failed start leaves it restored and stopped), so the caller can find or
// remove it. Errors quote PVE.
func Restore(ctx context.Context, c *dcrouter.Client, s RestoreSpec) (int, error) {
	if err := s.check(); err != nil {
		return 0, fmt.Errorf("%s: restore: %w", c.DC(), err)
	}
	m := s.VMIDs
	if m == nil {
		m = vm.NewManager()
	}
	what := func(vmid int) string {
		return fmt.Sprintf("restoring %s into VM %d on %s", s.Backup.VolID, vmid, s.Node)
	}
	vmid, err := m.Claim(ctx, c, s.Tag, func(vmid int) (string, error) {
		upid, err := c.CreateVM(ctx, s.Node, s.params(vmid))
		if err != nil {
			return "", fmt.Errorf("%s: %w", what(vmid), err)
		}
		return upid, nil
	}, what)
	if err != nil {
		return vmid, err
	}
	if s.Start {
		if err := vm.Start(ctx, c, s.Node, vmid); err != nil {
			return vmid, fmt.Errorf("VM %d was restored from %s on %s but did not start: %w", vmid, s.Backup.VolID, s.Node, err)
		}
	}
	return vmid, nil
}

func (s RestoreSpec) check() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"node", s.Node}, {"storage", s.Storage}, {"backup volid", s.Backup.VolID}, {"tag", s.Tag}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s missing", strings.Join(missing, ", "))
	}
	if tags, ok := s.Override["tags"]; ok && !slices.Contains(vm.ParseTags(tags), s.Tag) {
		return fmt.Errorf("override tags %q lack the restore's tag %s", tags, s.Tag)
	}
	for k := range s.Override {
		if isDiskKey(k) {
			return errors.New("override " + k + ": disks come from the archive")
		}
	}
	return nil
}

// params is create_vm with archive: overrides travel as plain config keys.
func (s RestoreSpec) params(vmid int) map[string]any {
	p := map[string]any{"vmid": vmid, "archive": s.Backup.VolID, "storage": s.Storage}
	if s.Unique {
		p["unique"] = true
	}
	keys := make([]string, 0, len(s.Override))
	for k := range s.Override {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p[k] = s.Override[k]
	}
	return p
}

// isDiskKey is a drive key PVE refuses next to an archive (is_valid_drivename).
func isDiskKey(k string) bool {
	for _, bus := range []string{"ide", "sata", "scsi", "virtio", "efidisk", "tpmstate"} {
		if n, ok := strings.CutPrefix(k, bus); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return true
		}
	}
	return false
}
