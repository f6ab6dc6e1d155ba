package pvesim

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

func qemuRoutes() []route {
	return []route{
		{
			method: "GET", path: "/nodes/{node}/qemu", proxyNode: true,
			params: []Param{nodeParam, boolP("full").opt()},
			handle: (*Cluster).listVMs,
			perm:   permAll,
		},
		{
			method: "POST", path: "/nodes/{node}/qemu", proxyNode: true,
			params: withParams(qemuConfigParams, nodeParam, vmidParam,
				boolP("start").opt(),
				strP("storage").opt(),
				strP("pool").opt(),
				strP("archive").opt().maxLen(255),
				boolP("force").opt().requiring("archive"),
				boolP("unique").opt().requiring("archive"),
			),
			handle: (*Cluster).createVM,
			perm:   permAll,
		},
		{
			method: "DELETE", path: "/nodes/{node}/qemu/{vmid}", proxyNode: true,
			params: []Param{nodeParam, vmidParam,
				boolP("purge").opt(),
				boolP("destroy-unreferenced-disks").opt(),
				boolP("skiplock").opt(),
			},
			handle: (*Cluster).destroyVM,
			perm:   checked(needs("/vms/{vmid}", "VM.Allocate")),
		},
	}
}

func (c *Cluster) listVMs(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []map[string]any{}
	for _, id := range c.sortedVMIDs() {
		if vm := c.vms[id]; vm.node == req.node && c.can(req.user, "/vms/"+vmidStr(id), "VM.Audit") {
			out = append(out, c.vmStatus(vm, req.flag("full")))
		}
	}
	return out, nil
}

// vmStatus is the per-guest status PVE's vmstatus reports.
func (c *Cluster) vmStatus(vm *vmState, full bool) map[string]any {
	s := vm.usage()
	s["cpus"] = vm.cpus()
	if vm.template() {
		s["template"] = 1
	}
	if vm.running {
		s["pid"] = vm.pid
	}
	if full {
		s["qmpstatus"] = vm.status()
	}
	return s
}

// skiplockAllowed mirrors PVE: only root@pam itself may skip locks.
func skiplockAllowed(req *request) *apiError {
	if req.flag("skiplock") && req.user != "root@pam" {
		return paramErr("skiplock", "Only root may use this option.")
	}
	return nil
}

// createVM is POST /nodes/{node}/qemu: synchronous checks, a config with
// lock "create", then a qmcreate task that allocates disks and writes the
// final config.
func (c *Cluster) createVM(req *request) (any, error) {
	if req.str("archive") != "" {
		return c.restoreVM(req)
	}
	vmid := int(req.num("vmid", 0))
	c.mu.Lock()
	defer c.mu.Unlock()

	pool := req.str("pool")
	if err := c.checkPool(pool); err != nil {
		return nil, err
	}
	settings := map[string]string{}
	for k, v := range req.params {
		if _, isSetting := qemuConfigParamSet.byKey[k]; isSetting {
			settings[k] = v
		}
	}
	if err := c.checkCreatePerms(req, vmid, settings); err != nil {
		return nil, err
	}
	if st := req.str("storage"); st != "" {
		if _, ok := c.storage(st); !ok {
			return nil, failf("storage '%s' does not exist", st)
		}
	}
	for _, k := range sortedKeys(settings) {
		if isDiskKey(k) {
			if err := c.checkDriveStorage(k, settings[k]); err != nil {
				return nil, err
			}
		}
	}
	if err := normalizeSettings(settings); err != nil {
		return nil, err
	}
	if other := c.vms[vmid]; other != nil {
		c.faults.count(countVMIDTaken)
		return nil, failf("unable to create VM %d - VM %d already exists on node '%s'", vmid, vmid, other.node)
	}

	vm := newVMState(vmid, req.node)
	vm.conf["lock"] = "create"
	vm.pool = pool
	c.vms[vmid] = vm
	start := req.flag("start")
	upid := c.startTaskRevert(req.node, "qmcreate", vmidStr(vmid), req.user, func() error {
		if c.vms[vmid] != vm {
			return fmt.Errorf("VM %d was removed during creation", vmid)
		}
		if err := c.finishCreate(vm, settings); err != nil {
			c.freeVolumes(vmid)
			delete(c.vms, vmid)
			return fmt.Errorf("unable to create VM %d - %s", vmid, err.Error())
		}
		if start {
			c.forkStart(req, vm)
		}
		return nil
	}, func() {
		if c.vms[vmid] == vm { // a failed qmcreate removes its config
			delete(c.vms, vmid)
		}
	})
	return upid, nil
}

// finishCreate is the qmcreate worker: allocate disks, add the generated
// settings PVE adds, and drop the create lock.
func (c *Cluster) finishCreate(vm *vmState, settings map[string]string) error {
	conf := map[string]string{}
	for _, k := range sortedKeys(settings) {
		v := settings[k]
		if isDiskKey(k) {
			var err error
			if v, err = c.materializeDrive(vm, k, v); err != nil {
				return err
			}
		}
		conf[k] = v
	}
	if conf["smbios1"] == "" {
		conf["smbios1"] = "uuid=" + randomUUID()
	}
	if g := conf["vmgenid"]; g == "" || g == "1" {
		conf["vmgenid"] = randomUUID()
	} else if g == "0" {
		delete(conf, "vmgenid")
	}
	conf["meta"] = fmt.Sprintf("creation-qemu=9.2.0,ctime=%d", time.Now().Unix())
	if _, ok := conf["boot"]; !ok {
		if order := defaultBootOrder(conf); order != "" {
			conf["boot"] = "order=" + order
		}
	}
	vm.conf = conf
	return nil
}

// defaultBootOrder is PVE's default: first disk, first CD-ROM, first NIC.
func defaultBootOrder(conf map[string]string) string {
	var order []string
	var disk, cdrom string
	for _, k := range diskKeysInOrder(conf) {
		d, err := driveFormats[busOf(k)].parse(conf[k])
		if err != nil || strings.Contains(d["file"], "cloudinit") {
			continue
		}
		if d["media"] == "cdrom" {
			if cdrom == "" {
				cdrom = k
			}
		} else if disk == "" {
			disk = k
		}
	}
	for _, k := range []string{disk, cdrom} {
		if k != "" {
			order = append(order, k)
		}
	}
	for i := 0; i <= 31; i++ {
		if k := fmt.Sprintf("net%d", i); conf[k] != "" {
			order = append(order, k)
			break
		}
	}
	return strings.Join(order, ";")
}

// normalizeSettings rewrites values the way PVE stores them: MACs added,
// tags deduplicated and sorted, ssh keys re-escaped, passwords hashed.
func normalizeSettings(settings map[string]string) *apiError {
	errs := map[string]string{}
	for k, v := range settings {
		switch {
		case isFamilyKey(k, "net"):
			nv, err := withMAC(v)
			if err != nil {
				errs[k] = err.Error()
				continue
			}
			settings[k] = nv
		case k == "tags":
			settings[k] = normalizeTags(v)
		case k == "sshkeys":
			settings[k] = reescape(v)
		case k == "cipassword":
			settings[k] = hashPassword(v)
		}
	}
	if len(errs) > 0 {
		return paramError(errs)
	}
	return nil
}

// isFamilyKey reports whether k is prefix followed by digits only.
func isFamilyKey(k, prefix string) bool {
	rest := strings.TrimPrefix(k, prefix)
	if rest == "" || rest == k {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// forkStart is start=1 of a create or restore: qemu-server's worker calls the vm_start API,
// which forks a qmstart task of its own (fork_worker runs in line only for the CLI), so the
// create ends OK before the VM runs, and a start that fails fails that task, leaving the VM
// stopped. Caller holds c.mu.
func (c *Cluster) forkStart(req *request, vm *vmState) {
	c.startTask(req.node, "qmstart", vmidStr(vm.vmid), req.user, func() error {
		if c.vms[vm.vmid] != vm {
			return fmt.Errorf("Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", req.node, vm.vmid)
		}
		return c.startChecked(vm)
	})
}

// destroyVM is DELETE /nodes/{node}/qemu/{vmid}.
func (c *Cluster) destroyVM(req *request) (any, error) {
	if err := skiplockAllowed(req); err != nil {
		return nil, err
	}
	vmid := int(req.num("vmid", 0))
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, aerr := c.vmOn(req.node, vmid)
	if aerr != nil {
		return nil, aerr
	}
	if vm.conf["protection"] == "1" {
		return nil, failf("can't remove VM %d - protection mode enabled", vmid)
	}
	if vm.running {
		return nil, failf("VM %d is running - destroy failed", vmid)
	}
	if aerr := vm.checkLock(req.flag("skiplock")); aerr != nil {
		return nil, aerr
	}
	purge := req.flag("purge")
	if c.haManaged(vmid) != nil && !purge {
		return nil, failf("unable to remove VM %d - used in HA resources and purge parameter not set.", vmid)
	}
	prevLock, hadLock := vm.conf["lock"] // only set here under skiplock
	vm.conf["lock"] = "destroyed"
	restoreLock := func() {
		if hadLock {
			vm.conf["lock"] = prevLock
		} else {
			delete(vm.conf, "lock")
		}
	}
	upid := c.startTaskRevert(req.node, "qmdestroy", vmidStr(vmid), req.user, func() error {
		if c.vms[vmid] != vm {
			return errors.New("Configuration file 'nodes/" + req.node + "/qemu-server/" + vmidStr(vmid) + ".conf' does not exist")
		}
		if base := c.baseVolumeInUse(vm); base != "" {
			restoreLock()
			return fmt.Errorf("base volume '%s' is still in use by linked cloned", base)
		}
		c.freeVolumes(vmid)
		delete(c.vms, vmid)
		if purge {
			delete(c.ha, "vm:"+vmidStr(vmid))
		}
		return nil
	}, restoreLock)
	return upid, nil
}
