package dcrouter

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// PVE's VMID range (pve-vmid).
const (
	minVMID = 100
	maxVMID = 999999999
)

// VMConfig is a VM's configuration as PVE stores it: every value as text,
// numbers without decimals ("cores": "4"), plus the "digest" to pass back
// on updates for optimistic locking.
type VMConfig map[string]string

// PendingItem is one entry of GET .../pending. Value is the current value,
// Pending the value waiting for a reboot; Delete is 1 (or 2, forced) when the
// key is pending removal.
type PendingItem struct {
	Key     string
	Value   *string
	Pending *string
	Delete  int
}

// VMStatus is GET .../status/current.
type VMStatus struct {
	Status    string // "running" or "stopped"
	QMPStatus string
	Name      string
	Lock      string
	Tags      string
	VMID      int
	CPUs      int
	MaxMem    int64
	Mem       int64
	Uptime    int64
}

func vmPath(node string, vmid int) (string, error) {
	if err := checkNode(node); err != nil {
		return "", err
	}
	if vmid < minVMID || vmid > maxVMID {
		return "", fmt.Errorf("VMID %d is outside %d-%d", vmid, minVMID, maxVMID)
	}
	return "/nodes/" + pathSegment(node) + "/qemu/" + strconv.Itoa(vmid), nil
}

// CreateVM sends POST /nodes/{node}/qemu and returns the qmcreate task's
// UPID. params must include "vmid": a fixed id is what makes a retried
// create fail with "already exists" instead of creating a second VM.
func (c *Client) CreateVM(ctx context.Context, node string, params map[string]any) (string, error) {
	if err := checkNode(node); err != nil {
		return "", fmt.Errorf("%s: %w", c.dc, err)
	}
	if params["vmid"] == nil {
		return "", fmt.Errorf("%s: create VM on %s: params must include vmid", c.dc, node)
	}
	return c.postTask(ctx, "/nodes/"+pathSegment(node)+"/qemu", params)
}

// VMConfig returns GET .../config; current selects the running values
// instead of the ones with pending changes applied.
func (c *Client) VMConfig(ctx context.Context, node string, vmid int, current bool) (VMConfig, error) {
	p, err := vmPath(node, vmid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.dc, err)
	}
	var query map[string]any
	if current {
		query = map[string]any{"current": 1}
	}
	var raw map[string]json.RawMessage
	if err := c.Get(ctx, p+"/config", query, &raw); err != nil {
		return nil, err
	}
	cfg := make(VMConfig, len(raw))
	for k, v := range raw {
		if string(v) == "null" {
			continue
		}
		s, err := scalarText(v)
		if err != nil {
			return nil, fmt.Errorf("%s: GET %s/config: key %q: %w", c.dc, p, k, err)
		}
		cfg[k] = s
	}
	return cfg, nil
}

// UpdateVMConfig sends PUT .../config, which PVE applies synchronously.
// Include "digest" to make the write conditional on the config read.
func (c *Client) UpdateVMConfig(ctx context.Context, node string, vmid int, params map[string]any) error {
	p, err := vmPath(node, vmid)
	if err != nil {
		return fmt.Errorf("%s: %w", c.dc, err)
	}
	return c.Put(ctx, p+"/config", params, nil)
}

// VMPending returns GET .../pending.
func (c *Client) VMPending(ctx context.Context, node string, vmid int) ([]PendingItem, error) {
	p, err := vmPath(node, vmid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.dc, err)
	}
	var items []struct {
		Key     flexString   `json:"key"`
		Value   optionalText `json:"value"`
		Pending optionalText `json:"pending"`
		Delete  flexInt      `json:"delete"`
	}
	if err := c.Get(ctx, p+"/pending", nil, &items); err != nil {
		return nil, err
	}
	out := make([]PendingItem, len(items))
	for i, it := range items {
		out[i] = PendingItem{Key: string(it.Key), Value: it.Value.ptr(), Pending: it.Pending.ptr(), Delete: int(it.Delete)}
	}
	return out, nil
}

// VMStatus returns GET .../status/current.
func (c *Client) VMStatus(ctx context.Context, node string, vmid int) (VMStatus, error) {
	p, err := vmPath(node, vmid)
	if err != nil {
		return VMStatus{}, fmt.Errorf("%s: %w", c.dc, err)
	}
	var st struct {
		Status    flexString `json:"status"`
		QMPStatus flexString `json:"qmpstatus"`
		Name      flexString `json:"name"`
		Lock      flexString `json:"lock"`
		Tags      flexString `json:"tags"`
		VMID      flexInt    `json:"vmid"`
		CPUs      flexInt    `json:"cpus"`
		MaxMem    flexInt    `json:"maxmem"`
		Mem       flexInt    `json:"mem"`
		Uptime    flexInt    `json:"uptime"`
	}
	if err := c.Get(ctx, p+"/status/current", nil, &st); err != nil {
		return VMStatus{}, err
	}
	return VMStatus{
		Status: string(st.Status), QMPStatus: string(st.QMPStatus), Name: string(st.Name),
		Lock: string(st.Lock), Tags: string(st.Tags), VMID: int(st.VMID), CPUs: int(st.CPUs),
		MaxMem: int64(st.MaxMem), Mem: int64(st.Mem), Uptime: int64(st.Uptime),
	}, nil
}

// StartVM sends POST .../status/start and returns the qmstart UPID.
func (c *Client) StartVM(ctx context.Context, node string, vmid int) (string, error) {
	return c.vmAction(ctx, node, vmid, "/status/start", nil)
}

// StopVM sends POST .../status/stop (hard stop) and returns the qmstop UPID.
func (c *Client) StopVM(ctx context.Context, node string, vmid int) (string, error) {
	return c.vmAction(ctx, node, vmid, "/status/stop", nil)
}

// ShutdownVM asks the guest to shut down (POST .../status/shutdown), waiting
// at most timeoutSec seconds (0: PVE's default) and then hard-stopping it if
// forceStop. Returns the qmshutdown UPID.
func (c *Client) ShutdownVM(ctx context.Context, node string, vmid int, timeoutSec int, forceStop bool) (string, error) {
	params := map[string]any{}
	if timeoutSec > 0 {
		params["timeout"] = timeoutSec
	}
	if forceStop {
		params["forceStop"] = true
	}
	return c.vmAction(ctx, node, vmid, "/status/shutdown", params)
}

// DeleteVM sends DELETE /nodes/{node}/qemu/{vmid} and returns the qmdestroy
// UPID. purge also removes the VMID from backup/replication/HA configuration
// and destroys unreferenced disks carrying the VMID.
func (c *Client) DeleteVM(ctx context.Context, node string, vmid int, purge bool) (string, error) {
	p, err := vmPath(node, vmid)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.dc, err)
	}
	var query map[string]any
	if purge {
		query = map[string]any{"purge": 1, "destroy-unreferenced-disks": 1}
	}
	var upid string
	if err := c.Delete(ctx, p, query, &upid); err != nil {
		return "", err
	}
	return c.checkUPID("DELETE", p, upid)
}

func (c *Client) vmAction(ctx context.Context, node string, vmid int, suffix string, params map[string]any) (string, error) {
	p, err := vmPath(node, vmid)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.dc, err)
	}
	return c.postTask(ctx, p+suffix, params)
}

// postTask POSTs and expects a task UPID back.
func (c *Client) postTask(ctx context.Context, path string, params map[string]any) (string, error) {
	var upid string
	if err := c.Post(ctx, path, params, &upid); err != nil {
		return "", err
	}
	return c.checkUPID("POST", path, upid)
}

func (c *Client) checkUPID(method, path, upid string) (string, error) {
	if _, err := ParseUPID(upid); err != nil {
		return "", fmt.Errorf("%s: %s %s: expected a task id: %w", c.dc, method, path, err)
	}
	return upid, nil
}
