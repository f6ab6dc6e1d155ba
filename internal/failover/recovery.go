package failover

import (
	"context"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// RecoveryPoint is the newest backup of the VM carrying identityTag that node sees on storage:
// what a failover to that datacenter would restore. Backups are matched by the identity in
// their notes (the backup job's notes template writes it), never by VMID, since VMIDs of two
// datacenters collide. found is false when there is none.
func RecoveryPoint(ctx context.Context, c *dcrouter.Client, node, storage, identityTag string) (dcrouter.Backup, bool, error) {
	list, err := c.Backups(ctx, node, storage, 0)
	if err != nil {
		return dcrouter.Backup{}, false, err
	}
	var best dcrouter.Backup
	found := false
	for _, b := range list {
		if !notesCarry(b.Notes, identityTag) {
			continue
		}
		// oldest first; of two with one time, the later in the listing (PVE lists by volid)
		if !found || !b.CTime.Before(best.CTime) {
			best, found = b, true
		}
	}
	return best, found, nil
}

// notesCarry reports whether a backup's notes name tag as a word of their own: the identity of
// VM "web" must not match one whose identity only starts the same way.
func notesCarry(notes, tag string) bool {
	for _, w := range strings.Fields(notes) {
		if w == tag {
			return true
		}
	}
	return false
}
