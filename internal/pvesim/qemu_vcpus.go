package pvesim

import "fmt"

// PVE checks a VM's CPU count against the node only when it builds the
// QEMU command line (config_to_command), i.e. at every start, after the
// pending changes are applied; create and config writes accept any count.

// checkVCPULimit refuses sockets*cores above the node's logical CPUs, as
// config_to_command does (vcpus cannot exceed sockets*cores anyway).
// Caller holds c.mu.
func (c *Cluster) checkVCPULimit(vm *vmState) error {
	sockets := atoiDef(vm.conf["smp"], 1)
	if s := atoiDef(vm.conf["sockets"], 0); s > 0 {
		sockets = s
	}
	maxcpus := sockets * atoiDef(vm.conf["cores"], 1)
	if allowed := c.node(vm.node).Cores; allowed < maxcpus {
		return fmt.Errorf("MAX %d vcpus allowed per VM on this node", allowed)
	}
	return nil
}

// startChecked is a start as qmstart runs it: pending changes applied,
// then the command-line checks, then the VM runs. Caller holds c.mu.
func (c *Cluster) startChecked(vm *vmState) error {
	vm.applyPending(c)
	if err := c.checkVCPULimit(vm); err != nil {
		return err
	}
	vm.start(c)
	return nil
}
