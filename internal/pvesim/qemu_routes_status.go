package pvesim

import (
	"fmt"
	"time"
)

func qemuStatusRoutes() []route {
	vmPath := "/nodes/{node}/qemu/{vmid}/status/"
	return []route{
		{
			method: "GET", path: vmPath + "current", proxyNode: true,
			params: []Param{nodeParam, vmidParam},
			handle: (*Cluster).currentStatus,
			perm:   checked(needs("/vms/{vmid}", "VM.Audit")),
		},
		{
			method: "POST", path: vmPath + "start", proxyNode: true,
			params: []Param{nodeParam, vmidParam, boolP("skiplock").opt(), intP("timeout").opt().atLeast(0)},
			handle: (*Cluster).startVM,
			perm:   checked(needs("/vms/{vmid}", "VM.PowerMgmt")),
		},
		{
			method: "POST", path: vmPath + "stop", proxyNode: true,
			params: []Param{nodeParam, vmidParam, boolP("skiplock").opt(), intP("timeout").opt().atLeast(0),
				boolP("keepActive").opt(), boolP("overrule-shutdown").opt()},
			handle: func(c *Cluster, req *request) (any, error) { return c.stopVM(req, "qmstop") },
			perm:   checked(needs("/vms/{vmid}", "VM.PowerMgmt")),
		},
		{
			method: "POST", path: vmPath + "shutdown", proxyNode: true,
			params: []Param{nodeParam, vmidParam, boolP("skiplock").opt(), intP("timeout").opt().atLeast(0),
				boolP("forceStop").opt(), boolP("keepActive").opt()},
			handle: func(c *Cluster, req *request) (any, error) { return c.stopVM(req, "qmshutdown") },
			perm:   checked(needs("/vms/{vmid}", "VM.PowerMgmt")),
		},
		{
			method: "POST", path: vmPath + "reboot", proxyNode: true,
			params: []Param{nodeParam, vmidParam, intP("timeout").opt().atLeast(0)},
			handle: (*Cluster).rebootVM,
			perm:   checked(needs("/vms/{vmid}", "VM.PowerMgmt")),
		},
	}
}

// start boots the VM with its pending changes applied. Caller holds c.mu.
func (vm *vmState) start(c *Cluster) {
	vm.applyPending(c)
	vm.regenerateCloudInit()
	c.lastPID++
	vm.running, vm.started, vm.pid = true, time.Now(), c.lastPID
}

// stop powers the VM off and applies pending changes. Caller holds c.mu.
func (vm *vmState) stop(c *Cluster) {
	vm.running, vm.pid = false, 0
	vm.applyPending(c)
}

func (c *Cluster) currentStatus(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, aerr := c.vmOn(req.node, int(req.num("vmid", 0)))
	if aerr != nil {
		return nil, aerr
	}
	s := c.vmStatus(vm, true)
	s["ha"] = map[string]any{"managed": 0}
	if r := c.haManaged(vm.vmid); r != nil {
		s["ha"] = map[string]any{"managed": 1, "state": r.state}
	}
	if agent, err := agentFormat.parse(vm.conf["agent"]); err == nil && agent["enabled"] == "1" {
		s["agent"] = 1
	}
	if vm.running {
		s["running-machine"] = "pc-i440fx-9.2+pve1"
		s["running-qemu"] = "9.2.0"
	}
	return s, nil
}

// vmTask runs a power task whose checks happen in the worker, as PVE's
// vm_start/vm_stop do under the config lock.
func (c *Cluster) vmTask(req *request, typ string, sync func(*vmState) *apiError, work func(*vmState) error) (any, error) {
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
	if sync != nil {
		if aerr := sync(vm); aerr != nil {
			return nil, aerr
		}
	}
	skiplock := req.flag("skiplock")
	return c.startTask(req.node, typ, vmidStr(vmid), req.user, func() error {
		if c.vms[vmid] != vm {
			return fmt.Errorf("Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", req.node, vmid)
		}
		if aerr := vm.checkLock(skiplock); aerr != nil {
			return aerr
		}
		return work(vm)
	}), nil
}

func (c *Cluster) startVM(req *request) (any, error) {
	if c.isHAManaged(int(req.num("vmid", 0))) {
		return c.haRequest(req, "hastart", "started", "qmstart", func(vm *vmState) error {
			if vm.running {
				return nil
			}
			return c.startChecked(vm)
		})
	}
	return c.vmTask(req, "qmstart", nil, func(vm *vmState) error {
		if vm.template() {
			return fmt.Errorf("you can't start a vm if it's a template")
		}
		if vm.running {
			return fmt.Errorf("VM %d already running", vm.vmid)
		}
		if err := c.checkNICBridges(vm.effective()); err != nil {
			return err
		}
		return c.startChecked(vm)
	})
}

// stopVM serves stop and shutdown: stopping a stopped VM succeeds.
func (c *Cluster) stopVM(req *request, typ string) (any, error) {
	if c.isHAManaged(int(req.num("vmid", 0))) {
		return c.haRequest(req, "hastop", "stopped", typ, func(vm *vmState) error {
			if vm.running {
				vm.stop(c)
			}
			return nil
		})
	}
	return c.vmTask(req, typ, nil, func(vm *vmState) error {
		if vm.running {
			vm.stop(c)
		}
		return nil
	})
}

func (c *Cluster) rebootVM(req *request) (any, error) {
	notRunning := func(vm *vmState) *apiError {
		if !vm.running {
			return failf("VM %d not running", vm.vmid)
		}
		return nil
	}
	return c.vmTask(req, "qmreboot", notRunning, func(vm *vmState) error {
		if !vm.running {
			return fmt.Errorf("VM %d not running", vm.vmid)
		}
		vm.stop(c)
		return c.startChecked(vm)
	})
}
