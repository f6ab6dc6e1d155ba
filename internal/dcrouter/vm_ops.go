package dcrouter

import (
	"context"
	"encoding/json"
	"fmt"
)

// Snapshot is one entry of GET .../snapshot other than PVE's "current"
// pseudo-entry. Parent is "" for the first snapshot.
type Snapshot struct {
	Name        string
	Description string
	Parent      string
	SnapTime    int64 // Unix seconds
	VMState     bool
}

// HAResource is one entry of GET /cluster/ha/resources, e.g. SID "vm:105",
// State "started".
type HAResource struct {
	SID     string
	State   string
	Comment string
}

// ResizeDisk grows disk ("scsi0", ...) with PUT .../resize; size is
// relative ("+10G") or absolute ("40G"), and PVE never shrinks. PVE 9 runs
// the resize as a task and returns its UPID (failures, such as shrinking,
// are the task's exit status); releases that answer null report "".
func (c *Client) ResizeDisk(ctx context.Context, node string, vmid int, disk, size string) (string, error) {
	p, err := vmPath(node, vmid)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.dc, err)
	}
	var raw json.RawMessage
	if err := c.Put(ctx, p+"/resize", map[string]any{"disk": disk, "size": size}, &raw); err != nil {
		return "", err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var upid string
	if err := json.Unmarshal(raw, &upid); err != nil {
		return "", fmt.Errorf("%s: PUT %s/resize: expected a task id, got %.60s", c.dc, p, raw)
	}
	return c.checkUPID("PUT", p+"/resize", upid)
}

// CloneVM sends POST .../clone for the source vmid and returns the qmclone
// task's UPID (its task id is the source VMID). params must include
// "newid"; the new VM holds lock "clone" until the task ends.
func (c *Client) CloneVM(ctx context.Context, node string, vmid int, params map[string]any) (string, error) {
	if params["newid"] == nil {
		return "", fmt.Errorf("%s: clone VM %d: params must include newid", c.dc, vmid)
	}
	return c.vmAction(ctx, node, vmid, "/clone", params)
}

// RebootVM sends POST .../status/reboot and returns the qmreboot UPID; PVE
// applies pending changes on the way. A stopped VM is an error.
func (c *Client) RebootVM(ctx context.Context, node string, vmid int) (string, error) {
	return c.vmAction(ctx, node, vmid, "/status/reboot", nil)
}

// Snapshots lists the VM's snapshots (GET .../snapshot) without "current".
func (c *Client) Snapshots(ctx context.Context, node string, vmid int) ([]Snapshot, error) {
	p, err := vmPath(node, vmid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.dc, err)
	}
	var items []struct {
		Name        flexString `json:"name"`
		Description flexString `json:"description"`
		Parent      flexString `json:"parent"`
		SnapTime    flexInt    `json:"snaptime"`
		VMState     flexBool   `json:"vmstate"`
	}
	if err := c.Get(ctx, p+"/snapshot", nil, &items); err != nil {
		return nil, err
	}
	out := []Snapshot{}
	for _, it := range items {
		if it.Name == "current" {
			continue
		}
		out = append(out, Snapshot{Name: string(it.Name), Description: string(it.Description),
			Parent: string(it.Parent), SnapTime: int64(it.SnapTime), VMState: bool(it.VMState)})
	}
	return out, nil
}

// CreateSnapshot sends POST .../snapshot and returns the qmsnapshot UPID.
func (c *Client) CreateSnapshot(ctx context.Context, node string, vmid int, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%s: snapshot of VM %d: name is empty", c.dc, vmid)
	}
	return c.vmAction(ctx, node, vmid, "/snapshot", map[string]any{"snapname": name})
}

// HAResources lists the cluster's HA resources. A VM listed here cannot be
// remote-migrated.
func (c *Client) HAResources(ctx context.Context) ([]HAResource, error) {
	var items []struct {
		SID     flexString `json:"sid"`
		State   flexString `json:"state"`
		Comment flexString `json:"comment"`
	}
	if err := c.Get(ctx, "/cluster/ha/resources", nil, &items); err != nil {
		return nil, err
	}
	out := make([]HAResource, len(items))
	for i, it := range items {
		out[i] = HAResource{SID: string(it.SID), State: string(it.State), Comment: string(it.Comment)}
	}
	return out, nil
}
