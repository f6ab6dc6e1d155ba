package dcrouter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// UPID identifies a PVE task:
// "UPID:<node>:<pid 8 hex>:<pstart 8-9 hex>:<starttime 8 hex>:<type>:<id>:<user>:".
type UPID struct {
	Node      string
	PID       int64
	PStart    int64
	StartTime int64
	Type      string
	ID        string // may be empty (e.g. reloadnetworkall)
	User      string // "root@pam" or a token "root@pam!moxxie"
}

// String renders the UPID in PVE's canonical form (upper-case hex).
func (u UPID) String() string {
	return fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", u.Node, u.PID, u.PStart, u.StartTime, u.Type, u.ID, u.User)
}

// ParseUPID parses a UPID strictly, trailing colon included.
func ParseUPID(s string) (UPID, error) {
	bad := func(why string) (UPID, error) {
		return UPID{}, fmt.Errorf("invalid UPID %q: %s", s, why)
	}
	parts := strings.Split(s, ":")
	if len(parts) != 9 || parts[0] != "UPID" || parts[8] != "" {
		return bad(`want "UPID:node:pid:pstart:starttime:type:id:user:"`)
	}
	var u UPID
	u.Node, u.Type, u.ID, u.User = parts[1], parts[5], parts[6], parts[7]
	if !validNodeName(u.Node) {
		return bad("node must be a host name")
	}
	var err error
	if u.PID, err = parseHexField(parts[2], 8, 8); err != nil {
		return bad("pid: " + err.Error())
	}
	if u.PStart, err = parseHexField(parts[3], 8, 9); err != nil {
		return bad("pstart: " + err.Error())
	}
	if u.StartTime, err = parseHexField(parts[4], 8, 8); err != nil {
		return bad("starttime: " + err.Error())
	}
	if u.Type == "" || !plainField(u.Type) {
		return bad("task type must be non-empty without whitespace")
	}
	if !plainField(u.ID) {
		return bad("task id must not contain whitespace")
	}
	if u.User == "" || !plainField(u.User) || !strings.Contains(u.User, "@") {
		return bad("user must look like user@realm")
	}
	return u, nil
}

func parseHexField(s string, minLen, maxLen int) (int64, error) {
	if len(s) < minLen || len(s) > maxLen {
		if minLen == maxLen {
			return 0, fmt.Errorf("want %d hex digits, got %q", minLen, s)
		}
		return 0, fmt.Errorf("want %d-%d hex digits, got %q", minLen, maxLen, s)
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return 0, fmt.Errorf("%q is not hex", s)
		}
	}
	return strconv.ParseInt(s, 16, 64)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// plainField: no whitespace, no control bytes, nothing that would break the
// status URL; the UPID goes into a path segment verbatim.
func plainField(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '%' || c == '\\' {
			return false
		}
	}
	return true
}

// validNodeName matches PVE's pve-node: a host name label.
func validNodeName(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// TaskError reports a PVE task that ended with a failing exit status.
type TaskError struct {
	DC         string
	UPID       string
	Type       string
	ID         string
	ExitStatus string
}

func (e *TaskError) Error() string {
	what := e.Type
	if e.ID != "" {
		what += " " + e.ID
	}
	return fmt.Sprintf("%s: task %s failed: %s", e.DC, what, e.ExitStatus)
}

// taskSucceeded: PVE tasks end "OK" or, still successful, "WARNINGS: n".
func taskSucceeded(exit string) bool {
	return exit == "OK" || strings.HasPrefix(exit, "WARNINGS:")
}

// WaitTask polls the task's status on the node named in the UPID until it
// stops, returning nil for "OK" or "WARNINGS: n" and a *TaskError otherwise.
// No PVE task is over the moment its POST returns (a create or start takes
// from a fraction of a second to seconds), so the first poll comes after the
// router's poll minimum, and the interval grows x1.5 to its maximum: a task
// costs a few polls whatever its length. Cancelling ctx ends the wait at once
// with ctx's error.
func (c *Client) WaitTask(ctx context.Context, upid string) error {
	u, err := ParseUPID(upid)
	if err != nil {
		return fmt.Errorf("%s: %w", c.dc, err)
	}
	path := "/nodes/" + pathSegment(u.Node) + "/tasks/" + pathSegment(upid) + "/status"
	delay := c.pollMin
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		timer.Reset(delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for task %s: %w", c.dc, upid, ctx.Err())
		case <-timer.C:
		}
		delay = min(delay*3/2, c.pollMax)
		var st struct {
			Status     flexString   `json:"status"`
			ExitStatus optionalText `json:"exitstatus"`
			Type       flexString   `json:"type"`
			ID         flexString   `json:"id"`
		}
		if err := c.Get(ctx, path, nil, &st); err != nil {
			if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				return fmt.Errorf("%s: waiting for task %s: %w", c.dc, upid, ctx.Err())
			}
			return err
		}
		if st.Status == "stopped" {
			exit := strings.TrimSpace(st.ExitStatus.val)
			if taskSucceeded(exit) {
				if exit != "OK" {
					tflog.SubsystemWarn(c.logContext(ctx), c.subsystem, "Proxmox VE task finished with warnings",
						map[string]any{"upid": upid, "exitstatus": exit})
				}
				return nil
			}
			if exit == "" {
				exit = "stopped without exit status"
			}
			return &TaskError{DC: c.dc, UPID: upid, Type: firstNonEmpty(string(st.Type), u.Type),
				ID: firstNonEmpty(string(st.ID), u.ID), ExitStatus: exit}
		}
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
