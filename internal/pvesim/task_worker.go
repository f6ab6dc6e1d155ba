package pvesim

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Long-running workers (migration, migration tunnel) talk to other
// servers, so unlike startTask's work they run without c.mu and write a
// task log as they go, which GET .../tasks/{upid}/log serves.

// taskLogger appends timestamped lines to a task's log.
type taskLogger func(format string, args ...any)

// startWorker registers a task and runs run in its own goroutine without
// c.mu; run's error becomes the exit status (newlines flattened as PVE's
// fork_worker does). ctx ends when the cluster is closed. When TaskFailRate
// fails the task, abort (if any) runs instead of run, also without c.mu.
// Caller holds c.mu.
func (c *Cluster) startWorker(node, typ, id, user string, run func(ctx context.Context, log taskLogger) error, abort func()) string {
	t := c.newTask(node, typ, id, user)
	c.taskLogs[t.upid] = nil

	fail, extra := c.faults.task()
	quit, d := c.quit, c.cfg.TaskDuration+extra
	ctx, cancel := context.WithCancel(context.Background())
	if typ == "qmigrate" {
		// PVE's qmigrate locks the VM at once and spends its time copying disks: the
		// migration sleeps inside its phase 1, holding lock "migrate" (see copyTime).
		ctx, d = context.WithValue(ctx, copyTimeKey{}, d), 0
	}
	go func() {
		select {
		case <-quit:
			cancel()
		case <-t.done:
		}
	}()
	log := func(format string, args ...any) {
		line := time.Now().Format("2006-01-02 15:04:05") + " " + fmt.Sprintf(format, args...)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.taskLogs[t.upid] = append(c.taskLogs[t.upid], strings.Split(strings.TrimRight(line, "\n"), "\n")...)
	}
	go func() {
		defer close(t.done)
		defer cancel()
		c.taskTime(typ, id, d, quit)
		var err error
		if fail {
			err = fmt.Errorf("%s", TaskFailureExit)
			if abort != nil {
				abort()
			}
		} else {
			err = run(ctx, log)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		t.end = time.Now()
		t.exit = "OK"
		if err != nil {
			t.exit = strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
		}
		c.taskLogs[t.upid] = append(c.taskLogs[t.upid], taskEndLine(t.exit))
	}()
	return t.upid
}

func taskEndLine(exit string) string {
	switch {
	case exit == "OK":
		return "TASK OK"
	case strings.HasPrefix(exit, "WARNINGS:"):
		return "TASK " + exit
	}
	return "TASK ERROR: " + exit
}

func workerRoutes() []route {
	return []route{
		{
			method: "GET", path: "/nodes/{node}/tasks/{upid}/log", proxyNode: true,
			params: []Param{nodeParam, strP("upid"), boolP("download").opt(),
				intP("limit").opt().atLeast(0), intP("start").opt().atLeast(0)},
			handle: (*Cluster).taskLog,
			perm:   permAll,
		},
		{
			method: "GET", path: "/nodes/{node}/certificates/info", proxyNode: true,
			params: []Param{nodeParam},
			handle: (*Cluster).certificateInfo,
			perm:   permAll,
		},
	}
}

// taskLog serves a task's log as {n, t} lines; tasks without a log of
// their own show just their end line, as a quiet PVE worker does.
func (c *Cluster) taskLog(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.requestTask(req)
	if err != nil {
		return nil, err
	}
	if aerr := c.checkTaskAccess(req.user, t.user, req.node); aerr != nil {
		return nil, aerr
	}
	lines, ok := c.taskLogs[t.upid]
	if !ok && t.exit != "" {
		lines = []string{taskEndLine(t.exit)}
	}
	start, limit := int(req.num("start", 0)), int(req.num("limit", 50))
	if req.flag("download") {
		start, limit = 0, len(lines)
	}
	out := []map[string]any{}
	for i := start; i < len(lines) && len(out) < limit; i++ {
		out = append(out, map[string]any{"n": i + 1, "t": lines[i]})
	}
	if len(out) == 0 {
		out = append(out, map[string]any{"n": 0, "t": "no content"})
	}
	return out, nil
}

// certificateInfo lists the node's serving certificate as pveproxy-ssl.pem
// (only its fingerprint: that is what remote migration reads from it).
func (c *Cluster) certificateInfo(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []map[string]any{}
	if fp := c.endpoints[req.node].fingerprint; fp != "" {
		out = append(out, map[string]any{"filename": "pveproxy-ssl.pem", "fingerprint": fp,
			"subject": "/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=" + req.node})
	}
	return out, nil
}
