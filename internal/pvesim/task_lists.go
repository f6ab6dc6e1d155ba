package pvesim

import (
	"fmt"
	"sort"
	"strings"
)

// Task lists as PVE's Tasks.pm and the cluster task list give them.

func taskListRoutes() []route {
	return []route{
		{
			method: "GET", path: "/nodes/{node}/tasks", proxyNode: true,
			params: []Param{
				nodeParam,
				boolP("errors").opt(),
				intP("limit").opt().atLeast(0),
				intP("since").opt(),
				strP("source").opt().oneOf("archive", "active", "all"),
				intP("start").opt().atLeast(0),
				strP("statusfilter").opt().format(fmtTaskStatusList),
				strP("typefilter").opt(),
				intP("until").opt(),
				strP("userfilter").opt(),
				vmidParam.opt(),
			},
			handle: (*Cluster).nodeTasks,
			perm:   permAll, // own tasks, or all with Sys.Audit on the node
		},
		{method: "GET", path: "/cluster/tasks", handle: (*Cluster).clusterTasks, perm: permAll},
	}
}

// fmtTaskStatusList is pve-task-status-type-list.
func fmtTaskStatusList(v string) error {
	for _, s := range splitList(v) {
		if !contains([]string{"ok", "error", "warning", "unknown"}, strings.ToLower(s)) {
			return fmt.Errorf("invalid task status type '%s'", s)
		}
	}
	return nil
}

// statusType is upid_normalize_status_type.
func statusType(exit string) string {
	switch {
	case exit == "":
		return "unknown"
	case exit == "OK":
		return "ok"
	case strings.HasPrefix(exit, "WARNINGS:"):
		return "warning"
	}
	return "error"
}

// taskFields is a task as upid_decode gives it, tokens split off the user.
func taskFields(t *task) map[string]any {
	user, tokenID, isToken := strings.Cut(t.user, "!")
	out := map[string]any{
		"upid": t.upid, "node": t.node, "pid": t.pid, "pstart": t.pstart,
		"starttime": t.start.Unix(), "type": t.typ, "id": t.id, "user": user,
	}
	if isToken {
		out["tokenid"] = tokenID
	}
	return out
}

// taskEntry is a task list entry: finished ones carry status and endtime.
func taskEntry(t *task) map[string]any {
	out := taskFields(t)
	if t.exit != "" {
		out["status"] = t.exit
		out["endtime"] = t.end.Unix()
	}
	return out
}

// nodeTasks is GET /nodes/{node}/tasks: running tasks (source active or
// all) first, then finished ones newest first (archive, the default),
// filtered and paged as Tasks.pm does.
func (c *Cluster) nodeTasks(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	statuses := map[string]bool{"ok": true, "warning": true, "error": true, "unknown": true}
	if req.has("statusfilter") && !req.flag("errors") {
		statuses = map[string]bool{}
		for _, s := range splitList(req.str("statusfilter")) {
			statuses[strings.ToLower(s)] = true
		}
	} else if req.flag("errors") {
		statuses["ok"] = false
	}
	auditor := c.can(req.user, "/nodes/"+req.node, "Sys.Audit")
	var running, done []*task
	for _, t := range c.tasks {
		if t.node != req.node || !auditor && !ownsTask(req.user, t.user) {
			continue
		}
		if t.exit == "" {
			running = append(running, t)
		} else {
			done = append(done, t)
		}
	}
	sort.Slice(running, func(i, j int) bool { return running[i].start.After(running[j].start) })
	sort.Slice(done, func(i, j int) bool { return done[i].end.After(done[j].end) })
	var candidates []*task
	switch source := req.str("source"); source {
	case "active":
		candidates = running
	case "all":
		candidates = append(append(candidates, running...), done...)
	default:
		candidates = done
	}

	start, limit := int(req.num("start", 0)), int(req.num("limit", 50))
	vmid, user := req.str("vmid"), strings.ToLower(req.str("userfilter"))
	out := []map[string]any{}
	count := 0
	for _, t := range candidates {
		if user != "" && !strings.Contains(strings.ToLower(t.user), user) ||
			req.has("typefilter") && req.str("typefilter") != "" && t.typ != req.str("typefilter") ||
			vmid != "" && t.id != vmid ||
			req.has("since") && t.start.Unix() < req.num("since", 0) ||
			req.has("until") && t.start.Unix() > req.num("until", 0) ||
			!statuses[statusType(t.exit)] {
			continue
		}
		count++
		if count <= start || limit <= 0 {
			continue
		}
		entry := taskEntry(t)
		if t.exit == "" {
			entry["status"] = "RUNNING"
		}
		out = append(out, entry)
		limit--
	}
	return out, nil
}

// clusterTasks is GET /cluster/tasks: the recent tasks of every node,
// newest first; without Sys.Audit on / only those whose user (tokens
// split off, as Cluster.pm does) is the caller, so a token sees none.
func (c *Cluster) clusterTasks(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	every := c.can(req.user, "/", "Sys.Audit")
	all := make([]*task, 0, len(c.tasks))
	for _, t := range c.tasks {
		if user, _, _ := strings.Cut(t.user, "!"); every || user == req.user {
			all = append(all, t)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].start.After(all[j].start) })
	if len(all) > 50 {
		all = all[:50]
	}
	out := make([]map[string]any, 0, len(all))
	for _, t := range all {
		out = append(out, taskEntry(t))
	}
	return out, nil
}
