package pvesim

import (
	"fmt"
	"strings"
)

// templateVM is POST .../template: checked before and again inside the
// qmtemplate task, which sets template: 1 and turns the disks into base
// volumes (vm-100-disk-0 becomes base-100-disk-0).
func (c *Cluster) templateVM(req *request) (any, error) {
	vmid, disk := int(req.num("vmid", 0)), req.str("disk")
	c.mu.Lock()
	defer c.mu.Unlock()
	check := func() (*vmState, *apiError) {
		vm, aerr := c.vmOn(req.node, vmid)
		if aerr != nil {
			return nil, aerr
		}
		if aerr := vm.checkLock(false); aerr != nil {
			return nil, aerr
		}
		if len(vm.snapshots) > 0 {
			return nil, failf("unable to create template, because VM contains snapshots")
		}
		if vm.template() && disk == "" {
			return nil, failf("you can't convert a template to a template")
		}
		if vm.running {
			return nil, failf("you can't convert a VM to template if VM is running")
		}
		return vm, nil
	}
	if _, aerr := check(); aerr != nil {
		return nil, aerr
	}
	return c.startTask(req.node, "qmtemplate", vmidStr(vmid), req.user, func() error {
		vm, aerr := check()
		if aerr != nil {
			return aerr
		}
		vm.conf["template"] = "1"
		for _, key := range diskKeysInOrder(vm.conf) {
			if disk != "" && key != disk {
				continue
			}
			if err := c.makeBase(vm, key); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

// makeBase renames a disk's volume to its base-<vmid>-disk-<n> name.
func (c *Cluster) makeBase(vm *vmState, key string) error {
	f := driveFormats[busOf(key)]
	d, err := f.parse(vm.conf[key])
	if err != nil || d["media"] == "cdrom" {
		return nil
	}
	vol := c.volumes[d["file"]]
	if vol == nil || vol.vmid != vm.vmid {
		return nil
	}
	storage, volname, _ := strings.Cut(vol.id, ":")
	if s, _ := c.storage(storage); s.Type == "lvm" {
		return fmt.Errorf("can't create base images in lvm storage")
	}
	prefix, name := "", volname
	if i := strings.LastIndex(volname, "/"); i >= 0 {
		prefix, name = volname[:i+1], volname[i+1:]
	}
	if !strings.HasPrefix(name, "vm-") {
		return nil // already a base volume
	}
	newID := storage + ":" + prefix + "base-" + strings.TrimPrefix(name, "vm-")
	delete(c.volumes, vol.id)
	vol.id = newID
	c.volumes[newID] = vol
	d["file"] = newID
	vm.conf[key] = f.print(d)
	return nil
}
