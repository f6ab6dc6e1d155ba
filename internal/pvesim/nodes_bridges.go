package pvesim

import (
	"fmt"
	"strconv"
)

// bridgeExists reports whether a NIC's bridge exists on the node at VM
// start: a node bridge or a vnet of the applied SDN configuration.
// Caller holds mu.
func (c *Cluster) bridgeExists(name string) bool {
	if contains(c.cfg.Bridges, name) {
		return true
	}
	_, ok := c.sdn.running.vnets[name]
	return ok
}

// checkNICBridges fails a start the way tap_plug does when a NIC's bridge
// is missing. Caller holds mu.
func (c *Cluster) checkNICBridges(conf map[string]string) error {
	for i := 0; i <= 31; i++ {
		v, ok := conf["net"+strconv.Itoa(i)]
		if !ok {
			continue
		}
		nic, err := netFormat.parse(v)
		if err != nil || nic["bridge"] == "" {
			continue
		}
		if !c.bridgeExists(nic["bridge"]) {
			return fmt.Errorf("bridge '%s' does not exist", nic["bridge"])
		}
	}
	return nil
}
