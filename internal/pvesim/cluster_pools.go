package pvesim

import "sort"

// Resource pools come from Config.Pools; guests join one at create or
// clone (pool=) and leave it when destroyed. Storage members are not
// simulated.

func poolRoutes() []route {
	return []route{
		{
			method: "GET", path: "/pools",
			params: []Param{strP("poolid").opt(), strP("type").opt().oneOf("qemu", "lxc", "storage").requiring("poolid")},
			handle: (*Cluster).listPools,
			perm:   permAll, // the list is filtered by Pool.Audit

		},
		{
			method: "GET", path: "/pools/{poolid}",
			params: []Param{strP("poolid"), strP("type").opt().oneOf("qemu", "lxc", "storage")},
			handle: (*Cluster).readPool,
			perm:   checked(needs("/pool/{poolid}", "Pool.Audit")),
		},
	}
}

func (c *Cluster) poolConfig(id string) (PoolConfig, bool) {
	for _, p := range c.cfg.Pools {
		if p.ID == id {
			return p, true
		}
	}
	return PoolConfig{}, false
}

// checkPool is create's and clone's check of a pool= parameter.
func (c *Cluster) checkPool(id string) *apiError {
	if _, ok := c.poolConfig(id); id != "" && !ok {
		return failf("pool '%s' does not exist", id)
	}
	return nil
}

// poolMembers lists a pool's guests as extract_vm_stats does (their
// /cluster/resources entries). Caller holds c.mu.
func (c *Cluster) poolMembers(id, typ string) []map[string]any {
	out := []map[string]any{}
	if typ != "" && typ != "qemu" {
		return out
	}
	for _, vmid := range c.sortedVMIDs() {
		if vm := c.vms[vmid]; vm.pool == id {
			out = append(out, c.vmResource(vm))
		}
	}
	return out
}

func (c *Cluster) poolEntry(p PoolConfig, typ string) map[string]any {
	out := map[string]any{"members": c.poolMembers(p.ID, typ)}
	if p.Comment != "" {
		out["comment"] = p.Comment
	}
	return out
}

// listPools is GET /pools: the pools the caller may audit (Pool.Audit on
// /pool/<id>) without members, or the one named by poolid with them.
// With poolid, Pool.pm runs the Pool.Audit check with noerr and ignores
// its answer, so any caller reads the named pool.
func (c *Cluster) listPools(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []map[string]any{}
	if id := req.str("poolid"); id != "" {
		p, ok := c.poolConfig(id)
		if !ok {
			return nil, failf("pool '%s' does not exist", id)
		}
		entry := c.poolEntry(p, req.str("type"))
		entry["poolid"] = id
		return append(out, entry), nil
	}
	pools := append([]PoolConfig(nil), c.cfg.Pools...)
	sort.Slice(pools, func(i, j int) bool { return pools[i].ID < pools[j].ID })
	for _, p := range pools {
		if !c.can(req.user, "/pool/"+p.ID, "Pool.Audit") {
			continue
		}
		entry := map[string]any{"poolid": p.ID}
		if p.Comment != "" {
			entry["comment"] = p.Comment
		}
		out = append(out, entry)
	}
	return out, nil
}

func (c *Cluster) readPool(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := req.str("poolid")
	p, ok := c.poolConfig(id)
	if !ok {
		return nil, failf("pool '%s' does not exist", id)
	}
	return c.poolEntry(p, req.str("type")), nil
}
