package pvesim

import (
	"strings"
	"time"
)

func nodeRoutes() []route {
	return []route{
		{method: "GET", path: "/nodes", handle: (*Cluster).listNodes, perm: permAll},
		{
			method: "GET", path: "/nodes/{node}/status", proxyNode: true,
			params: []Param{nodeParam},
			handle: (*Cluster).nodeStatus,
			perm:   checked(needs("/nodes/{node}", "Sys.Audit")),
		},
		{
			method: "GET", path: "/nodes/{node}/storage", proxyNode: true,
			params: []Param{
				nodeParam,
				strP("content").opt(),
				boolP("enabled").opt(),
				boolP("format").opt(),
				strP("storage").opt(),
				strP("target").opt(),
			},
			handle: (*Cluster).nodeStorage,
			perm:   permAll,
		},
	}
}

func (c *Cluster) uptimeSeconds() int64 { return int64(time.Since(c.boot).Seconds()) }

func (c *Cluster) listNodes(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []map[string]any{}
	for _, n := range c.nodes {
		r := c.auditedNode(req.user, c.nodeResource(n))
		delete(r, "cgroup-mode")
		r["ssl_fingerprint"] = c.endpoints[n.Name].fingerprint
		out = append(out, r)
	}
	return out, nil
}

func (c *Cluster) nodeStatus(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node(req.node)
	total := n.MemoryMB << 20
	used := c.nodeUsedMem(n)
	return map[string]any{
		"cpu": 0.02, "wait": 0, "idle": 0,
		"uptime":     c.uptimeSeconds(),
		"loadavg":    []string{"0.12", "0.10", "0.08"},
		"kversion":   "Linux 6.14.11-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4",
		"pveversion": "pve-manager/" + pveVersion + "/" + pveRepoID,
		"cpuinfo": map[string]any{
			"cpus": n.Cores, "cores": n.Cores, "sockets": 1, "model": "Simulated CPU @ 2.40GHz",
			"mhz": "2400.000", "hvm": "1", "user_hz": 100, "flags": "fpu vme de pse tsc msr pae",
		},
		"memory":    map[string]any{"total": total, "used": used, "free": total - used, "available": total - used},
		"boot-info": map[string]any{"mode": "efi", "secureboot": 0},
		"current-kernel": map[string]any{
			"sysname": "Linux", "release": "6.14.11-4-pve", "machine": "x86_64",
			"version": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4",
		},
		"swap":   map[string]any{"total": 8 * gib, "used": 0, "free": 8 * gib},
		"rootfs": map[string]any{"total": 100 * gib, "used": 8 * gib, "avail": 92 * gib, "free": 92 * gib},
		"ksm":    map[string]any{"shared": 0},
	}, nil
}

func (c *Cluster) nodeStorage(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node(req.node)
	if want := req.str("storage"); want != "" {
		if _, ok := c.storage(want); !ok {
			return nil, paramErr("storage", "No such storage.")
		}
	}
	out := []map[string]any{}
	for _, s := range c.cfg.Storages {
		if want := req.str("storage"); want != "" && want != s.Name {
			continue
		}
		if want := req.str("content"); want != "" && !contentAllows(s.Content, want) {
			continue
		}
		if !c.acl.HasAny(req.user, "/storage/"+s.Name, "Datastore.Audit", "Datastore.AllocateSpace") {
			continue
		}
		used := c.storageUsed(s.Name, storageOwner(n, s))
		out = append(out, map[string]any{
			"storage": s.Name, "type": s.Type, "content": s.Content,
			"total": s.TotalBytes, "used": used, "avail": s.TotalBytes - used,
			"used_fraction": float64(used) / float64(s.TotalBytes),
			"active":        1, "enabled": 1, "shared": boolNum(s.Shared),
		})
	}
	return out, nil
}

// contentAllows reports whether a storage's content list has every type
// asked for.
func contentAllows(have, want string) bool {
	list := strings.Split(have, ",")
	for _, w := range splitList(want) {
		if !contains(list, w) {
			return false
		}
	}
	return true
}
