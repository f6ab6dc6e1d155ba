package pvesim

import (
	"fmt"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
	"strconv"
	"strings"
)

// restoreVM is create_vm with archive: a qmrestore worker brings back the
// backed-up config (tags, NICs, options) with fresh disks on this cluster.
func (c *Cluster) restoreVM(req *request) (any, error) {
	vmid := int(req.num("vmid", 0))
	archive, pool, storage := req.str("archive"), req.str("pool"), req.str("storage")
	force, unique, start := req.flag("force"), req.flag("unique"), req.flag("start")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkPool(pool); err != nil {
		return nil, err
	}
	if storage != "" {
		if err := c.checkPath(req.user, "/storage/"+storage, "Datastore.AllocateSpace"); err != nil {
			return nil, err
		}
	}
	if start {
		if err := c.vmPerm(req.user, vmid, "VM.PowerMgmt"); err != nil {
			return nil, err
		}
	}
	existing := c.vms[vmid]
	switch {
	case c.can(req.user, "/vms/"+vmidStr(vmid), "VM.Allocate"):
	case pool != "" && c.can(req.user, "/pool/"+pool, "VM.Allocate"):
	case force && existing != nil && existing.node == req.node && c.can(req.user, "/vms/"+vmidStr(vmid), "VM.Backup"):
		// restoring over an existing guest needs only VM.Backup
	default:
		return nil, denied("")
	}
	overrides := map[string]string{}
	for k, v := range req.params {
		if _, isSetting := qemuConfigParamSet.byKey[k]; isSetting {
			if isDiskKey(k) {
				return nil, paramErr(k, "option conflicts with option 'archive'")
			}
			overrides[k] = v
		}
	}
	sid, volname, ok := strings.Cut(archive, ":")
	if !ok || strings.HasPrefix(archive, "/") {
		if req.user != access.Root {
			return nil, failf("Only root can pass arbitrary filesystem paths.")
		}
		return nil, failf("the simulator restores storage backup volumes only")
	}
	if err := fmtVolumeID(archive); err != nil {
		return nil, paramErr("archive", err.Error())
	}
	if _, ok := c.storage(sid); !ok {
		return nil, failf("storage '%s' does not exist", sid)
	}
	ds := c.datastore(sid)
	if ds == nil || !strings.HasPrefix(volname, "backup/") {
		return nil, failf("unable to use volume %s - content type needs to be 'backup'", archive)
	}
	if err := c.checkVolumeAccess(req.user, vmid, archive); err != nil {
		return nil, err
	}
	if err := c.checkSettingsPerms(req.user, vmid, overrides); err != nil {
		return nil, err
	}
	if err := normalizeSettings(overrides); err != nil {
		return nil, err
	}

	// create_and_lock_config($vmid, $force)
	emsg := fmt.Sprintf("unable to restore VM %d -", vmid)
	vm := existing
	switch {
	case existing != nil && !force:
		c.faults.count(countVMIDTaken)
		return nil, failf("%s VM %d already exists on node '%s'", emsg, vmid, existing.node)
	case existing != nil && existing.node != req.node:
		return nil, failf("%s Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", emsg, req.node, vmid)
	case existing != nil && existing.conf["lock"] != "":
		return nil, failf("%s VM is locked (%s)", emsg, existing.conf["lock"])
	case existing != nil:
		existing.conf["lock"] = "create"
	default:
		vm = newVMState(vmid, req.node)
		vm.conf["lock"] = "create"
		vm.pool = pool
		c.vms[vmid] = vm
	}
	revert := func() {
		if existing == nil && c.vms[vmid] == vm {
			delete(c.vms, vmid)
		} else if vm.conf["lock"] == "create" {
			delete(vm.conf, "lock")
		}
	}
	return c.startTaskRevert(req.node, "qmrestore", vmidStr(vmid), req.user, func() error {
		if c.vms[vmid] != vm {
			return fmt.Errorf("VM %d was removed during restore", vmid)
		}
		if vm.running {
			revert()
			return fmt.Errorf("%s vm is running", emsg)
		}
		snap, ok := ds.get(volname)
		if !ok {
			revert()
			return fmt.Errorf("%s snapshot '%s' does not exist", emsg, volname)
		}
		// check_restore_permissions on the backed-up config merged with the
		// overrides: the bridges the restored NICs will use
		merged := map[string]string{}
		for k, v := range snap.Conf {
			merged[k] = v
		}
		for k, v := range overrides {
			merged[k] = v
		}
		if err := c.checkBridgeAccess(req.user, merged); err != nil {
			revert()
			return fmt.Errorf("%s %s", emsg, err.message)
		}
		// restore_allocate_devices: space on every target storage
		for k, v := range snap.Conf {
			if isDiskKey(k) && !strings.Contains(v, "media=cdrom") || strings.Contains(v, "cloudinit") {
				if err := c.checkPath(req.user, "/storage/"+restoreTarget(v, storage), "Datastore.AllocateSpace"); err != nil {
					revert()
					return fmt.Errorf("%s %s", emsg, err.message)
				}
			}
		}
		if err := c.finishRestore(vm, snap, storage, unique, overrides); err != nil {
			c.freeVolumes(vmid)
			delete(c.vms, vmid)
			return fmt.Errorf("%s %s", emsg, err.Error())
		}
		if start {
			c.forkStart(req, vm) // as after a create
		}
		return nil
	}, revert), nil
}

// restoreTarget is the storage a backed-up drive is restored to: the
// restore's storage, else the drive's own.
func restoreTarget(value, storage string) string {
	if storage != "" {
		return storage
	}
	sid, _, _ := strings.Cut(value, ":")
	return sid
}

// finishRestore replaces vm's config and disks by the snapshot's: old disks
// are freed (a forced restore destroys the guest first), each backed-up
// disk gets a fresh volume of its size.
func (c *Cluster) finishRestore(vm *vmState, snap PBSSnapshot, storage string, unique bool, overrides map[string]string) error {
	c.freeVolumes(vm.vmid)
	vm.pending, vm.pendingDel, vm.snapshots = map[string]string{}, map[string]bool{}, map[string]*snapshot{}
	conf := map[string]string{}
	for _, k := range sortedKeys(snap.Conf) {
		v := snap.Conf[k]
		switch {
		case k == "lock" || strings.HasPrefix(k, "unused") || k == "parent":
			continue
		case isDiskKey(k):
			d, err := driveFormats[busOf(k)].parse(v)
			if err != nil {
				return err
			}
			target := restoreTarget(v, storage)
			switch {
			case strings.Contains(d["file"], "cloudinit"):
				d["file"] = target + ":cloudinit"
			case d["media"] == "cdrom" || !strings.Contains(d["file"], ":"):
			default:
				d["file"] = target + ":" + strconv.FormatFloat(float64(snap.Disks[k])/float64(gib), 'f', -1, 64)
				delete(d, "size")
			}
			nv, err := c.materializeDrive(vm, k, driveFormats[busOf(k)].print(d))
			if err != nil {
				return err
			}
			v = nv
		case unique && isFamilyKey(k, "net"):
			v = netWithMAC(v, randomMAC())
		}
		conf[k] = v
	}
	for k, v := range overrides {
		conf[k] = v
	}
	vm.conf = conf
	return nil
}

// netWithMAC replaces a NIC's MAC, kept under its model key (virtio=MAC).
func netWithMAC(v, mac string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		if k, val, ok := strings.Cut(p, "="); ok && k != "bridge" && fmtMAC(val) == nil {
			parts[i] = k + "=" + mac
		}
	}
	return strings.Join(parts, ",")
}
