package pvesim

import (
	"sort"
	"strconv"
	"strings"
)

// Version reported by GET /version.
const (
	pveVersion = "9.1.1"
	pveRelease = "9.1"
	pveRepoID  = "b5f6e9f2a1c3d4e5"
)

func clusterRoutes() []route {
	return []route{
		{method: "GET", path: "/version", handle: (*Cluster).version, perm: permAll},
		{method: "GET", path: "/cluster/status", handle: (*Cluster).clusterStatus, perm: checked(needs("/", "Sys.Audit"))},
		{
			method: "GET", path: "/cluster/resources",
			params: []Param{strP("type").opt().oneOf("vm", "storage", "node", "sdn")},
			handle: (*Cluster).clusterResources,
			perm:   permAll,
		},
		{
			method: "GET", path: "/cluster/nextid",
			params: []Param{vmidParam.opt()},
			handle: (*Cluster).nextID,
			perm:   permAll,
		},
	}
}

func (c *Cluster) version(*request) (any, error) {
	if v := c.cfg.Version; v != "" {
		release, _, _ := strings.Cut(v, "-")
		if i := strings.LastIndex(release, "."); i > 0 && strings.Count(release, ".") > 1 {
			release = release[:i]
		}
		return map[string]any{"version": v, "release": release, "repoid": pveRepoID}, nil
	}
	return map[string]any{"version": pveVersion, "release": pveRelease, "repoid": pveRepoID}, nil
}

// major is the major PVE version the cluster plays.
func (c *Cluster) major() int {
	v := c.cfg.Version
	if v == "" {
		v = pveVersion
	}
	n, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return n
}

func boolNum(b bool) int {
	if b {
		return 1
	}
	return 0
}

// clusterStatus lists the cluster entry and one entry per node; numeric
// fields are JSON numbers (go-proxmox relies on it).
func (c *Cluster) clusterStatus(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	online := 0
	for _, n := range c.nodes {
		online += boolNum(n.online)
	}
	out := []map[string]any{{
		"type": "cluster", "id": "cluster", "name": c.cfg.Name,
		"version": len(c.nodes) + 1, "quorate": boolNum(online*2 > len(c.nodes)), "nodes": len(c.nodes),
	}}
	for _, n := range c.nodes {
		out = append(out, map[string]any{
			"type": "node", "id": "node/" + n.Name, "name": n.Name,
			"ip": c.nodeIP(n), "level": "",
			"local": boolNum(n == c.localFor(req.local)), "nodeid": n.id, "online": boolNum(n.online),
		})
	}
	return out, nil
}

func (c *Cluster) clusterResources(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	typ := req.str("type")
	out := []map[string]any{}
	if typ == "" || typ == "vm" {
		for _, vmid := range c.sortedVMIDs() {
			if !c.can(req.user, "/vms/"+vmidStr(vmid), "VM.Audit") {
				continue
			}
			out = append(out, c.vmResource(c.vms[vmid]))
		}
	}
	if typ == "" || typ == "node" {
		for _, n := range c.nodes {
			out = append(out, c.auditedNode(req.user, c.nodeResource(n)))
		}
	}
	if typ == "" || typ == "storage" {
		for _, n := range c.nodes {
			for _, s := range c.cfg.Storages {
				if !c.can(req.user, "/storage/"+s.Name, "Datastore.Audit") {
					continue
				}
				out = append(out, c.storageResource(n, s))
			}
		}
	}
	if typ == "" || typ == "sdn" {
		for _, r := range c.sdnZoneResources() {
			if c.can(req.user, "/sdn/zones/"+r["sdn"].(string), "SDN.Audit") {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func (c *Cluster) sortedVMIDs() []int {
	ids := make([]int, 0, len(c.vms))
	for id := range c.vms {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

func (c *Cluster) vmResource(vm *vmState) map[string]any {
	r := vm.usage()
	r["id"], r["type"], r["node"] = "qemu/"+strconv.Itoa(vm.vmid), "qemu", vm.node
	r["maxcpu"], r["template"] = vm.cpus(), boolNum(vm.template())
	if ha := c.haManaged(vm.vmid); ha != nil {
		r["hastate"] = ha.state
	}
	if n := c.node(vm.node); n != nil && !n.online {
		r["status"] = "unknown"
	}
	return r
}

// nodeUsedMem is host overhead plus the memory of running guests.
func (c *Cluster) nodeUsedMem(n *nodeState) int64 {
	used := gib
	for _, vm := range c.vms {
		if vm.node == n.Name && vm.running {
			used += vm.maxmem()
		}
	}
	return used
}

func (c *Cluster) nodeResource(n *nodeState) map[string]any {
	r := map[string]any{
		"id": "node/" + n.Name, "type": "node", "node": n.Name, "level": "",
		"status": "online", "maxcpu": n.Cores, "maxmem": n.MemoryMB << 20,
		"cpu": 0.02, "mem": c.nodeUsedMem(n), "disk": 8 * gib, "maxdisk": 100 * gib,
		"uptime": c.uptimeSeconds(), "cgroup-mode": 2,
	}
	if !n.online {
		r["status"] = "offline"
		for _, k := range []string{"cpu", "mem", "disk", "maxdisk", "uptime"} {
			delete(r, k)
		}
	}
	return r
}

// auditedNode drops a node entry's figures for callers without Sys.Audit
// on the node, as extract_node_stats does.
func (c *Cluster) auditedNode(user string, r map[string]any) map[string]any {
	if c.can(user, "/nodes/"+r["node"].(string), "Sys.Audit") {
		return r
	}
	for _, k := range []string{"cpu", "mem", "disk", "maxcpu", "maxmem", "maxdisk", "uptime"} {
		delete(r, k)
	}
	return r
}

func (c *Cluster) storageResource(n *nodeState, s StorageConfig) map[string]any {
	used := c.storageUsed(s.Name, storageOwner(n, s))
	return map[string]any{
		"id": "storage/" + n.Name + "/" + s.Name, "type": "storage", "storage": s.Name,
		"node": n.Name, "status": "available", "plugintype": s.Type, "content": s.Content,
		"shared": boolNum(s.Shared), "disk": used, "maxdisk": s.TotalBytes,
	}
}

// storageOwner is the node key volumes on s are accounted under.
func storageOwner(n *nodeState, s StorageConfig) string {
	if s.Shared {
		return ""
	}
	return n.Name
}

// nextID returns the lowest free VMID as a string, or checks a given one.
// Like PVE it reserves nothing: two callers may get the same ID. With the
// DuplicateNextID fault it also hands out ids whose create is in flight,
// so callers racing a create are certain to collide.
func (c *Cluster) nextID(req *request) (any, error) {
	dup := c.faults.get().DuplicateNextID
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.has("vmid") {
		vmid := int(req.num("vmid", 0))
		if c.vms[vmid] != nil {
			return nil, paramErr("vmid", "VM "+strconv.Itoa(vmid)+" already exists")
		}
		return strconv.Itoa(vmid), nil
	}
	for id := 100; id < 1000000; id++ {
		vm := c.vms[id]
		if vm == nil {
			return strconv.Itoa(id), nil
		}
		if dup && vm.creating() {
			c.faults.count(countDuplicateNextID)
			return strconv.Itoa(id), nil
		}
	}
	return nil, failf("unable to get any free VMID in range [100, 1000000]")
}

// creating reports whether the guest is still being created (or cloned
// into). Caller holds c.mu.
func (vm *vmState) creating() bool {
	l := vm.conf["lock"]
	return l == "create" || l == "clone"
}
