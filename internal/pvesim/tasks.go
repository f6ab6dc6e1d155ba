package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// task is one worker as PVE's fork_worker runs it.
type task struct {
	upid, node, typ, id, user string
	pid, pstart               int
	start                     time.Time
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

	fail, extra := c.faults.task()
	quit, d := c.quit, c.cfg.TaskDuration+extra
	go func() {
		defer close(t.done)
		if d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-timer.C:
			case <-quit:
				timer.Stop()
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
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
	}}
}

// requestTask resolves the request's {upid} to a task of its {node}, with PVE's errors for a
// malformed UPID and an unknown task. Caller holds mu.
func (c *Cluster) requestTask(req *request) (*task, error) {
	upid := req.str("upid")
	if !upidRe.MatchString(upid) {
		return nil, failf("unable to parse worker upid '%s'", upid)
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
	user, tokenID, isToken := strings.Cut(t.user, "!")
	out := map[string]any{
		"upid": t.upid, "node": t.node, "pid": t.pid, "pstart": t.pstart,
		"starttime": t.start.Unix(), "type": t.typ, "id": t.id, "user": user,
		"status": "running",
	}
	if isToken {
		out["tokenid"] = tokenID
	}
	if t.exit != "" {
		out["status"] = "stopped"
		out["exitstatus"] = t.exit
	}
	return out, nil
}

// vmidStr renders a VMID for task IDs.
func vmidStr(vmid int) string { return strconv.Itoa(vmid) }
