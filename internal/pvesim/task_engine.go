package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// task is one worker as PVE's fork_worker runs it.
type task struct {
	upid, node, typ, id, user string
	pid, pstart               int
	start, end                time.Time
	exit                      string // "" while running
	done                      chan struct{}
}

// startTask registers a task and runs work once the cluster's task
// duration (plus injected TaskExtra) has passed, or Close fast-forwards it.
// work runs with c.mu held; its error becomes the exit status. Caller holds
// c.mu.
func (c *Cluster) startTask(node, typ, id, user string, work func() error) string {
	return c.startTaskRevert(node, typ, id, user, work, nil)
}

// startTaskRevert is startTask for callers that change state before the
// task runs: when TaskFailRate fails the task, work is skipped and revert
// (if any) undoes that change, as PVE's worker cleans up after itself.
func (c *Cluster) startTaskRevert(node, typ, id, user string, work func() error, revert func()) string {
	t := c.newTask(node, typ, id, user)

	fail, extra := c.faults.task()
	quit, d := c.quit, c.cfg.TaskDuration+extra
	go func() {
		defer close(t.done)
		c.taskTime(typ, id, d, quit)
		c.mu.Lock()
		defer c.mu.Unlock()
		t.end = time.Now()
		if fail {
			t.exit = TaskFailureExit
			if revert != nil {
				revert()
			}
			return
		}
		t.exit = "OK"
		if err := work(); err != nil {
			t.exit = err.Error()
		}
	}()
	return t.upid
}

// taskTime is a task's life before it ends: the OnTask hook as it begins, then its duration,
// cut short when Close fast-forwards the cluster's tasks (quit). Runs without c.mu.
func (c *Cluster) taskTime(typ, id string, d time.Duration, quit <-chan struct{}) {
	if f := c.onTask.Load(); f != nil {
		(*f)(typ, id)
	}
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-quit:
		}
	}
}

// newTask registers a task in the cluster's one task table, with a UPID as PVE's
// fork_worker forms it; startTask and startWorker then run it. Caller holds c.mu.
func (c *Cluster) newTask(node, typ, id, user string) *task {
	c.lastPID++
	now := time.Now()
	t := &task{
		node: node, typ: typ, id: id, user: user,
		pid:    c.lastPID,
		pstart: int(now.Sub(c.boot).Seconds()*100) + 0x100000,
		start:  now,
		done:   make(chan struct{}),
	}
	t.upid = fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", node, t.pid, t.pstart, now.Unix(), typ, id, user)
	c.tasks[t.upid] = t
	return t
}

// Close finishes every running task now and waits for their goroutines,
// so nothing outlives the simulator. The cluster stays usable.
func (c *Cluster) Close() {
	c.mu.Lock()
	close(c.quit)
	c.quit = make(chan struct{})
	var waits []chan struct{}
	for _, t := range c.tasks {
		if t.exit == "" {
			waits = append(waits, t.done)
		}
	}
	c.mu.Unlock()
	for _, w := range waits {
		<-w
	}
}

var upidRe = regexp.MustCompile(`^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$`)

func taskRoutes() []route {
	return []route{{
		method: "GET", path: "/nodes/{node}/tasks/{upid}/status", proxyNode: true,
		params: []Param{nodeParam, strP("upid")},
		handle: (*Cluster).taskStatus,
		perm:   permAll,
	}}
}

// requestTask resolves the request's {upid} to a task of its {node}, with PVE's errors for a
// malformed UPID and an unknown task. Caller holds mu.
func (c *Cluster) requestTask(req *request) (*task, error) {
	upid := req.str("upid")
	if !upidRe.MatchString(upid) {
		return nil, paramErr("upid", "unable to parse worker upid")
	}
	t := c.tasks[upid]
	if t == nil || t.node != req.node {
		return nil, paramErr("upid", "no such task")
	}
	return t, nil
}

func (c *Cluster) taskStatus(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.requestTask(req)
	if err != nil {
		return nil, err
	}
	if aerr := c.checkTaskAccess(req.user, t.user, req.node); aerr != nil {
		return nil, aerr
	}
	out := taskFields(t)
	out["status"] = "running"
	if t.exit != "" {
		out["status"] = "stopped"
		out["exitstatus"] = t.exit
	}
	return out, nil
}

// vmidStr renders a VMID for task IDs.
func vmidStr(vmid int) string { return strconv.Itoa(vmid) }
