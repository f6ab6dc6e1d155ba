// Package migration moves a VM between datacenters with PVE's remote_migrate: the target
// endpoint is built from the target datacenter's own configuration, bridges and storages are
// mapped, and afterwards the NICs are rewritten onto the target's networks (a vnet of a Q-in-Q
// zone included), so the VM keeps one identity and answers from one datacenter only.
package migration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// NICTarget is where one NIC of the VM goes in the target datacenter.
type NICTarget struct {
	Bridge  string       // a vnet or a plain bridge
	VLAN    int          // tag on a plain bridge; 0 on a vnet
	IP      netip.Prefix // new cloud-init address; invalid: drop the ipconfig
	Gateway netip.Addr
}

// Request is one move.
type Request struct {
	ID           string // the VM's identity
	Source       *dcrouter.Client
	Target       *dcrouter.Client
	TargetConfig dcrouter.Config // normalized, for the endpoint
	Live         bool
	NICs         []NICTarget       // by NIC index; every NIC must have one
	Storage      map[string]string // source storage -> target storage
	StorageAll   string            // target storage for storages not in Storage
	TargetNode   string            // optional: connect to (and so land on) this node
	BandwidthKiB int
}

// Result says where the VM is now.
type Result struct {
	SourceVMID  int
	TargetVMID  int
	TargetNode  string
	StartedAt   time.Time
	CompletedAt time.Time
}

// ErrNotFound means the VM is in neither datacenter.
var ErrNotFound = errors.New("VM not found in the source datacenter")

// Check is what can be known before moving: PVE's refusals (snapshots, HA, live migration of a
// stopped VM) and NICs without a target.
func Check(ctx context.Context, src *dcrouter.Client, id string, live bool, nicCount int) (vm.Location, vm.VM, error) {
	loc, found, err := vm.Locate(ctx, src, id)
	if err != nil {
		return loc, vm.VM{}, err
	}
	if !found {
		return loc, vm.VM{}, fmt.Errorf("%w: no VM with identity %s in datacenter %s", ErrNotFound, id, src.DC())
	}
	_, cur, err := vm.Observe(ctx, src, loc.Node, loc.VMID, loc.Status)
	if err != nil {
		return loc, cur, err
	}
	if live && !cur.Running {
		return loc, cur, fmt.Errorf("VM %d in %s is stopped; a live migration needs a running VM (use migration_type = \"offline\")", loc.VMID, src.DC())
	}
	snaps, err := src.Snapshots(ctx, loc.Node, loc.VMID)
	if err != nil {
		return loc, cur, err
	}
	if len(snaps) > 0 {
		names := make([]string, len(snaps))
		for i, s := range snaps {
			names[i] = s.Name
		}
		return loc, cur, fmt.Errorf("VM %d in %s has snapshots (%s); PVE cannot migrate a VM with snapshots to another cluster: remove them first", loc.VMID, src.DC(), strings.Join(names, ", "))
	}
	ha, err := src.HAResources(ctx)
	if err != nil {
		return loc, cur, err
	}
	for _, h := range ha {
		if h.SID == "vm:"+strconv.Itoa(loc.VMID) {
			return loc, cur, fmt.Errorf("VM %d in %s is managed by HA (%s); PVE cannot migrate HA-managed VMs to another cluster: remove it from HA first", loc.VMID, src.DC(), h.SID)
		}
	}
	if nicCount >= 0 && nicCount != len(cur.NICs) {
		return loc, cur, fmt.Errorf("VM %d has %d network interfaces but %d have a target network", loc.VMID, len(cur.NICs), nicCount)
	}
	return loc, cur, nil
}

// Migrate moves the VM. Offline moves stop it first and start it again in the target when it
// was running.
func Migrate(ctx context.Context, req Request) (Result, error) {
	res := Result{StartedAt: time.Now().UTC()}
	loc, cur, err := Check(ctx, req.Source, req.ID, req.Live, len(req.NICs))
	if err != nil {
		return res, err
	}
	res.SourceVMID = loc.VMID
	wasRunning := cur.Running
	if wasRunning && !req.Live {
		if err := vm.Shutdown(ctx, req.Source, loc.Node, loc.VMID); err != nil {
			return res, fmt.Errorf("stopping VM %d before an offline migration: %w", loc.VMID, err)
		}
	}
	endpoint, err := endpointFor(ctx, req)
	if err != nil {
		return res, err
	}
	bridges, err := bridgeMap(cur.NICs, req.NICs)
	if err != nil {
		return res, err
	}
	params := map[string]any{
		"target-endpoint": endpoint,
		"target-storage":  storageMap(cur.Disks, req.Storage, req.StorageAll),
		"target-bridge":   bridges,
		"delete":          true, // one identity answers from one datacenter only
	}
	if req.Live {
		params["online"] = true
	}
	if req.BandwidthKiB > 0 {
		params["bwlimit"] = req.BandwidthKiB
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		next, err := req.Target.NextID(ctx)
		if err != nil {
			return res, err
		}
		params["target-vmid"] = next
		upid, err := req.Source.RemoteMigrate(ctx, loc.Node, loc.VMID, params)
		if err == nil {
			if err = req.Source.WaitTask(ctx, upid); err != nil {
				err = withTaskLog(ctx, req.Source, upid, err)
			}
		}
		if err == nil {
			res.TargetVMID = next
			lastErr = nil
			break
		}
		lastErr = err
		if !dcrouter.IsAlreadyExists(err) {
			break
		}
	}
	if lastErr != nil {
		return res, fmt.Errorf("migrating VM %d from %s to %s: %w", loc.VMID, req.Source.DC(), req.Target.DC(), lastErr)
	}
	req.Target.ForgetResources() // the VM arrived through the source, not this client
	tloc, found, err := vm.LocateVMID(ctx, req.Target, res.TargetVMID)
	if err != nil || !found {
		return res, fmt.Errorf("VM %d was migrated to %s but cannot be found there as %d: %v", loc.VMID, req.Target.DC(), res.TargetVMID, err)
	}
	res.TargetNode = tloc.Node
	if err := rewriteNICs(ctx, req.Target, tloc.Node, res.TargetVMID, cur.NICs, req.NICs); err != nil {
		return res, fmt.Errorf("VM %d was migrated to %s but its networks could not be set: %w", loc.VMID, req.Target.DC(), err)
	}
	if wasRunning && !req.Live {
		if err := vm.Start(ctx, req.Target, tloc.Node, res.TargetVMID); err != nil {
			return res, fmt.Errorf("VM %d was migrated to %s but did not start there: %w", loc.VMID, req.Target.DC(), err)
		}
	}
	res.CompletedAt = time.Now().UTC()
	return res, nil
}

// endpointFor builds target-endpoint from the target datacenter's configuration; with a target
// node, the connection goes to that node, which is where PVE puts the VM.
func endpointFor(ctx context.Context, req Request) (string, error) {
	cfg := req.TargetConfig
	if req.TargetNode != "" {
		status, err := req.Target.ClusterStatus(ctx)
		if err != nil {
			return "", err
		}
		ip := ""
		for _, s := range status {
			if s.Type == "node" && s.Name == req.TargetNode {
				ip = s.IP
			}
		}
		if ip == "" {
			return "", fmt.Errorf("datacenter %s has no node %q", req.Target.DC(), req.TargetNode)
		}
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return "", err
		}
		if port := u.Port(); port != "" {
			u.Host = net.JoinHostPort(ip, port)
		} else {
			u.Host = ip
		}
		cfg.URL = u.String()
	}
	return dcrouter.TargetEndpoint(cfg)
}

// bridgeMap is target-bridge: each source bridge to its target. PVE maps bridges, not NICs, so
// two NICs on one source bridge must go to one target bridge.
func bridgeMap(nics []vm.NIC, targets []NICTarget) (string, error) {
	m := map[string]string{}
	for i, n := range nics {
		t := targets[i].Bridge
		if prev, ok := m[n.Bridge]; ok && prev != t {
			return "", fmt.Errorf("network interfaces on bridge %s map to both %s and %s; PVE moves a bridge to one target bridge", n.Bridge, prev, t)
		}
		m[n.Bridge] = t
	}
	return pairs(m), nil
}

func storageMap(disks []vm.Disk, mapping map[string]string, all string) string {
	m := map[string]string{}
	for _, d := range disks {
		if t, ok := mapping[d.Storage]; ok {
			m[d.Storage] = t
		} else {
			m[d.Storage] = all
		}
	}
	if len(m) == 0 {
		return all
	}
	return pairs(m)
}

func pairs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + ":" + m[k]
	}
	return strings.Join(out, ",")
}

// rewriteNICs puts each NIC on its target network: remote_migrate rewrote only the bridge and kept
// the source's VLAN tag, which is wrong on a vnet and may be wrong on a plain bridge.
func rewriteNICs(ctx context.Context, c *dcrouter.Client, node string, vmid int, src []vm.NIC, targets []NICTarget) error {
	p := map[string]any{}
	var del []string
	for i, n := range src {
		t := targets[i]
		key := strconv.Itoa(i)
		n.Bridge, n.VLAN, n.IP, n.Gateway = t.Bridge, t.VLAN, t.IP, t.Gateway
		p["net"+key] = vm.NetValue(n)
		if ipc := vm.IPConfigValue(n); ipc != "" {
			p["ipconfig"+key] = ipc
		} else if src[i].IP.IsValid() {
			del = append(del, "ipconfig"+key)
		}
	}
	if len(del) > 0 {
		p["delete"] = strings.Join(del, ",")
	}
	if len(p) == 0 {
		return nil
	}
	return c.UpdateVMConfig(ctx, node, vmid, p)
}

// withTaskLog adds the end of a failed task's log: PVE's task status says only "migration
// aborted", the reason is in the log.
func withTaskLog(ctx context.Context, c *dcrouter.Client, upid string, err error) error {
	lines, lerr := c.TaskLog(ctx, upid)
	if lerr != nil || len(lines) == 0 {
		return err
	}
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return fmt.Errorf("%w (task log: %s)", err, strings.Join(lines, " | "))
}
