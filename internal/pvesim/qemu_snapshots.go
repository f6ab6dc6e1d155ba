package pvesim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// snapshot is one [snapname] section of a VM config: the config as it was
// plus the snapshot's own metadata.
type snapshot struct {
	name, description, parent string
	snaptime                  int64
	vmstate                   string // state volume when RAM was saved
	conf                      map[string]string
}

// section renders the snapshot's config-file section.
func (s *snapshot) section() map[string]string {
	out := copyMap(s.conf)
	delete(out, "parent")
	if s.parent != "" {
		out["parent"] = s.parent
	}
	if s.description != "" {
		out["description"] = s.description
	}
	if s.vmstate != "" {
		out["vmstate"] = s.vmstate
	}
	out["snaptime"] = strconv.FormatInt(s.snaptime, 10)
	return out
}

var configIDAnyCaseRe = regexp.MustCompile(`^(?i:[a-z][a-z0-9_-]+)$`)

// fmtConfigID is PVE's pve-configid (snapshot names, HA groups).
func fmtConfigID(v string) error {
	if !configIDAnyCaseRe.MatchString(v) {
		return fmt.Errorf("invalid configuration ID '%s'", v)
	}
	return nil
}

func snapshotRoutes() []route {
	snapname := strP("snapname").maxLen(40)
	return []route{
		{
			method: "GET", path: "/nodes/{node}/qemu/{vmid}/snapshot", proxyNode: true,
			params: []Param{nodeParam, vmidParam},
			handle: (*Cluster).listSnapshots,
			perm:   checked(needs("/vms/{vmid}", "VM.Audit")),
		},
		{
			method: "POST", path: "/nodes/{node}/qemu/{vmid}/snapshot", proxyNode: true,
			params: []Param{nodeParam, vmidParam, snapname, boolP("vmstate").opt(), strP("description").opt()},
			handle: (*Cluster).createSnapshot,
			perm:   checked(needs("/vms/{vmid}", "VM.Snapshot")),
		},
		{
			method: "DELETE", path: "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}", proxyNode: true,
			params: []Param{nodeParam, vmidParam, snapname, boolP("force").opt()},
			handle: (*Cluster).deleteSnapshot,
			perm:   checked(needs("/vms/{vmid}", "VM.Snapshot")),
		},
	}
}

func (c *Cluster) listSnapshots(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, aerr := c.vmOn(req.node, int(req.num("vmid", 0)))
	if aerr != nil {
		return nil, aerr
	}
	snaps := make([]*snapshot, 0, len(vm.snapshots))
	for _, s := range vm.snapshots {
		snaps = append(snaps, s)
	}
	sort.Slice(snaps, func(i, j int) bool {
		if snaps[i].snaptime != snaps[j].snaptime {
			return snaps[i].snaptime < snaps[j].snaptime
		}
		return snaps[i].name < snaps[j].name
	})
	out := []map[string]any{}
	for _, s := range snaps {
		item := map[string]any{"name": s.name, "snaptime": s.snaptime, "vmstate": boolNum(s.vmstate != ""), "description": s.description}
		if s.parent != "" {
			item["parent"] = s.parent
		}
		out = append(out, item)
	}
	current := map[string]any{"name": "current", "digest": vm.digest(), "running": boolNum(vm.running), "description": "You are here!"}
	if p := vm.conf["parent"]; p != "" {
		current["parent"] = p
	}
	return append(out, current), nil
}

// createSnapshot is POST .../snapshot: reserved names fail at once, the
// rest (lock, duplicate name, storage support) in the qmsnapshot task,
// which holds lock "snapshot" while it runs.
func (c *Cluster) createSnapshot(req *request) (any, error) {
	name := req.str("snapname")
	if name == "current" {
		return nil, failf("unable to use snapshot name 'current' (reserved name)")
	}
	if strings.EqualFold(name, "pending") {
		return nil, failf("unable to use snapshot name 'pending' (reserved name)")
	}
	vmid := int(req.num("vmid", 0))
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, aerr := c.vmOn(req.node, vmid)
	if aerr != nil {
		return nil, aerr
	}
	fail := func(err error) (any, error) {
		return c.startTask(req.node, "qmsnapshot", vmidStr(vmid), req.user, func() error { return err }), nil
	}
	if aerr := vm.checkLock(false); aerr != nil {
		return fail(aerr)
	}
	if vm.snapshots[name] != nil {
		return fail(fmt.Errorf("snapshot name '%s' already used", name))
	}
	if err := c.checkSnapshotFeature(vm); err != nil {
		return fail(err)
	}
	saveState := req.flag("vmstate") && vm.running
	description := req.str("description")
	vm.conf["lock"] = "snapshot"
	return c.startTaskRevert(req.node, "qmsnapshot", vmidStr(vmid), req.user, func() error {
		if c.vms[vmid] != vm {
			return fmt.Errorf("Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", req.node, vmid)
		}
		delete(vm.conf, "lock")
		s := &snapshot{name: name, description: description, parent: vm.conf["parent"],
			snaptime: time.Now().Unix(), conf: copyMap(vm.conf)}
		if saveState {
			s.vmstate = c.stateVolumeID(vm, name)
		}
		vm.snapshots[name] = s
		vm.conf["parent"] = name
		return nil
	}, func() { delete(vm.conf, "lock") }), nil
}

// checkSnapshotFeature fails like PVE when a disk's storage cannot take
// snapshots (thick LVM, raw files on directory storages).
func (c *Cluster) checkSnapshotFeature(vm *vmState) error {
	for _, key := range diskKeysInOrder(vm.conf) {
		d, err := driveFormats[busOf(key)].parse(vm.conf[key])
		if err != nil || d["media"] == "cdrom" {
			continue
		}
		storage, volname, ok := strings.Cut(d["file"], ":")
		s, known := c.storage(storage)
		if !ok || !known {
			continue
		}
		switch s.Type {
		case "lvmthin", "zfspool", "rbd", "btrfs":
		case "lvm":
			return fmt.Errorf("snapshot feature is not available")
		default:
			if !strings.HasSuffix(volname, ".qcow2") {
				return fmt.Errorf("snapshot feature is not available")
			}
		}
	}
	return nil
}

// stateVolumeID names the RAM state volume of a snapshot taken with
// vmstate, on the VM's vmstatestorage or its first disk's storage.
func (c *Cluster) stateVolumeID(vm *vmState, snap string) string {
	storage := vm.conf["vmstatestorage"]
	if storage == "" {
		for _, key := range diskKeysInOrder(vm.conf) {
			if st, _, ok := strings.Cut(volumeOf(key, vm.conf[key]), ":"); ok {
				storage = st
				break
			}
		}
	}
	return fmt.Sprintf("%s:vm-%d-state-%s", storage, vm.vmid, snap)
}

// deleteSnapshot is DELETE .../snapshot/{snapname} (a qmdelsnapshot task).
func (c *Cluster) deleteSnapshot(req *request) (any, error) {
	vmid, name, force := int(req.num("vmid", 0)), req.str("snapname"), req.flag("force")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.startTask(req.node, "qmdelsnapshot", vmidStr(vmid), req.user, func() error {
		vm, aerr := c.vmOn(req.node, vmid)
		if aerr != nil {
			return aerr
		}
		s := vm.snapshots[name]
		if s == nil {
			return fmt.Errorf("snapshot '%s' does not exist", name)
		}
		if aerr := vm.checkLock(force); aerr != nil {
			return aerr
		}
		delete(vm.snapshots, name)
		for _, other := range vm.snapshots {
			if other.parent == name {
				other.parent = s.parent
			}
		}
		if vm.conf["parent"] == name {
			if s.parent == "" {
				delete(vm.conf, "parent")
			} else {
				vm.conf["parent"] = s.parent
			}
		}
		return nil
	}), nil
}
