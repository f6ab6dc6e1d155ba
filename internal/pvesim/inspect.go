package pvesim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// VM is a snapshot of one guest for tests. Config holds raw config-file
// values; Pending holds pending values plus "delete" (comma list) when
// deletions are pending.
type VM struct {
	VMID     int
	Node     string
	Name     string
	Status   string // running | stopped
	Lock     string
	Tags     []string
	Config   map[string]string
	Pending  map[string]string
	Template bool
}

func (c *Cluster) snapshot(vm *vmState) VM {
	pending := copyMap(vm.pending)
	if len(vm.pendingDel) > 0 {
		pending["delete"] = strings.Join(sortedKeys(vm.pendingDel), ",")
	}
	return VM{
		VMID: vm.vmid, Node: vm.node, Name: vm.conf["name"], Status: vm.status(),
		Lock: vm.conf["lock"], Tags: vm.tagList(), Config: copyMap(vm.conf),
		Pending: pending, Template: vm.template(),
	}
}

// OnTask calls f as each task begins, before its work and without the
// cluster's lock, so f may inspect the guest the task is about (id is a
// VMID for guest tasks). Tests use it to see states too brief to poll.
func (c *Cluster) OnTask(f func(typ, id string)) {
	if f == nil {
		c.onTask.Store(nil)
		return
	}
	c.onTask.Store(&f)
}

// VMs returns every guest, sorted by VMID.
func (c *Cluster) VMs() []VM {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]VM, 0, len(c.vms))
	for _, id := range c.sortedVMIDs() {
		out = append(out, c.snapshot(c.vms[id]))
	}
	return out
}

// VM returns one guest.
func (c *Cluster) VM(vmid int) (VM, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm := c.vms[vmid]
	if vm == nil {
		return VM{}, false
	}
	return c.snapshot(vm), true
}

// AddVM places a guest out of band (as if created outside moxxie). Config
// values are stored as given (raw config-file syntax); volumes they name
// on known storages are registered so resize/destroy see them.
func (c *Cluster) AddVM(node string, vmid int, config map[string]string, running bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.node(node) == nil {
		return fmt.Errorf("no such cluster node '%s'", node)
	}
	if vmid < 100 || vmid > 999999999 {
		return fmt.Errorf("invalid VMID %d", vmid)
	}
	if other := c.vms[vmid]; other != nil {
		return fmt.Errorf("VM %d already exists on node '%s'", vmid, other.node)
	}
	vm := newVMState(vmid, node)
	vm.conf = copyMap(config)
	if _, ok := vm.conf["smbios1"]; !ok {
		vm.conf["smbios1"] = "uuid=" + randomUUID()
	}
	for k, v := range vm.conf {
		c.registerVolume(vm, k, v)
	}
	c.vms[vmid] = vm
	if running {
		c.lastPID++
		vm.running, vm.started, vm.pid = true, time.Now(), c.lastPID
	}
	return nil
}

// registerVolume records an out-of-band disk so its space is accounted.
func (c *Cluster) registerVolume(vm *vmState, key, value string) {
	var file string
	var size int64
	switch {
	case isDiskKey(key):
		d, err := driveFormats[busOf(key)].parse(value)
		if err != nil || d["media"] == "cdrom" {
			return
		}
		file, size = d["file"], parseSize(d["size"])
	case isFamilyKey(key, "unused"):
		file = strings.TrimPrefix(value, "file=")
	default:
		return
	}
	storage, _, ok := strings.Cut(file, ":")
	s, known := c.storage(storage)
	if !ok || !known || c.volumes[file] != nil {
		return
	}
	owner := vm.node
	if s.Shared {
		owner = ""
	}
	c.volumes[file] = &volume{id: file, storage: storage, node: owner, vmid: vm.vmid, size: size}
}

// RemoveVM deletes a guest out of band (drift tests); false if unknown.
func (c *Cluster) RemoveVM(vmid int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vms[vmid] == nil {
		return false
	}
	c.freeVolumes(vmid)
	delete(c.vms, vmid)
	return true
}

// UpdateVM changes config values out of band (drift tests); an empty value
// deletes the key. The digest changes like after any edit.
func (c *Cluster) UpdateVM(vmid int, set map[string]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm := c.vms[vmid]
	if vm == nil {
		return fmt.Errorf("VM %d does not exist", vmid)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if set[k] == "" {
			delete(vm.conf, k)
			continue
		}
		vm.conf[k] = set[k]
		c.registerVolume(vm, k, set[k])
	}
	return nil
}
