// Package placement decides where VMs go: which node of a datacenter, whether a datacenter has
// room under its limits, and whether affinity rules hold. It works on plain figures so that it
// can be tested without a cluster.
package placement

import (
	"errors"
	"sort"
)

// NodeUsage is one node of a cluster as /cluster/resources reports it.
type NodeUsage struct {
	Name        string
	Online      bool
	Cores       int64
	MemoryBytes int64
	UsedBytes   int64
}

// ErrNoOnlineNode means the cluster has no node that could take a VM.
var ErrNoOnlineNode = errors.New("no online node")

// ChooseNode picks the online node with the most free memory; ties go to the lowest name so
// that the choice is deterministic.
func ChooseNode(nodes []NodeUsage) (string, error) {
	online := make([]NodeUsage, 0, len(nodes))
	for _, n := range nodes {
		if n.Online {
			online = append(online, n)
		}
	}
	if len(online) == 0 {
		return "", ErrNoOnlineNode
	}
	sort.Slice(online, func(i, j int) bool {
		fi, fj := online[i].MemoryBytes-online[i].UsedBytes, online[j].MemoryBytes-online[j].UsedBytes
		if fi != fj {
			return fi > fj
		}
		return online[i].Name < online[j].Name
	})
	return online[0].Name, nil
}
