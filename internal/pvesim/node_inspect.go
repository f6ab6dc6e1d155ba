package pvesim

import "fmt"

// SetNodeOnline takes a node offline or brings it back, as a node that stops answering corosync:
// /cluster/status and /cluster/resources report it offline, without its usage figures, and its
// guests' status as unknown.
func (c *Cluster) SetNodeOnline(name string, online bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node(name)
	if n == nil {
		return fmt.Errorf("no such cluster node '%s'", name)
	}
	n.online = online
	return nil
}
