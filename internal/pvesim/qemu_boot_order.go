package pvesim

import "fmt"

// checkBootOrder is the config write's check of a new boot order
// (update_vm_api): every device it names must be configured, pending, or
// set by the same write, and not deleted by it. The format check has
// already passed. Caller holds c.mu.
func checkBootOrder(vm *vmState, upd configUpdate) error {
	v, ok := upd.set["boot"]
	if !ok {
		return nil
	}
	boot, err := bootFormat.parse(v)
	if err != nil {
		return err
	}
	for _, dev := range splitList(boot["order"]) {
		_, set := upd.set[dev]
		exists := vm.conf[dev] != "" || vm.pending[dev] != "" || set
		if !exists || contains(upd.delete, dev) {
			return fmt.Errorf("invalid bootorder: device '%s' does not exist'", dev)
		}
	}
	return nil
}
