package dcrouter

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Backup is one backup volume of a storage (GET .../storage/{storage}/content?content=backup).
type Backup struct {
	VolID  string // e.g. "pbs:backup/vm/100/2026-12-01T10:00:00Z", what a restore's archive names
	VMID   int
	CTime  time.Time
	Notes  string // first line only, as PVE lists it
	Size   int64
	Format string // "pbs-vm" on a Proxmox Backup Server storage
}

// Backups lists the backups on storage that node sees, of vmid only when vmid > 0, oldest
// first. PVE lists only the backups the caller may access (Datastore.Allocate on the storage,
// or Datastore.AllocateSpace plus VM.Backup on the guest), so a missing backup may be a
// missing privilege.
func (c *Client) Backups(ctx context.Context, node, storage string, vmid int) ([]Backup, error) {
	if err := checkNode(node); err != nil {
		return nil, fmt.Errorf("%s: %w", c.dc, err)
	}
	query := map[string]any{"content": "backup"}
	if vmid > 0 {
		query["vmid"] = vmid
	}
	var items []struct {
		VolID  flexString `json:"volid"`
		VMID   flexInt    `json:"vmid"`
		CTime  flexInt    `json:"ctime"`
		Notes  flexString `json:"notes"`
		Size   flexInt    `json:"size"`
		Format flexString `json:"format"`
	}
	if err := c.Get(ctx, "/nodes/"+pathSegment(node)+"/storage/"+pathSegment(storage)+"/content", query, &items); err != nil {
		return nil, err
	}
	out := make([]Backup, len(items))
	for i, it := range items {
		out[i] = Backup{VolID: string(it.VolID), VMID: int(it.VMID), CTime: time.Unix(int64(it.CTime), 0).UTC(),
			Notes: string(it.Notes), Size: int64(it.Size), Format: string(it.Format)}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CTime.Before(out[j].CTime) })
	return out, nil
}
