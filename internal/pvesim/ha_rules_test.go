package pvesim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// HA rules as pve-ha-manager's API2::HA::Rules answers them: members must be HA resources, a
// rule must be feasible to be written, and listings carry digest, order and errors.
func TestHARules(t *testing.T) {
	s := startSim(t, storageTestConfig())
	for _, id := range []int{100, 101, 102} {
		mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": id, "scsi0": "local-lvm:1"}))
	}
	for _, sid := range []string{"vm:100", "vm:101"} {
		s.jok(t, "POST", "/cluster/ha/resources", map[string]any{"sid": sid})
	}
	neg := map[string]any{"rule": "apart", "type": "resource-affinity", "affinity": "negative", "resources": "vm:100,vm:101", "comment": "keep apart"}
	tests := []struct {
		name   string
		params map[string]any
		status int
		want   string
	}{
		{"missing affinity", map[string]any{"rule": "r1", "type": "resource-affinity", "resources": "vm:100,vm:101"}, 500, "missing value for required option 'affinity'"},
		{"option of the other type", map[string]any{"rule": "r1", "type": "resource-affinity", "affinity": "negative", "resources": "vm:100,vm:101", "nodes": "pve1"}, 500, "unexpected property 'nodes'"},
		{"unmanaged", map[string]any{"rule": "r1", "type": "resource-affinity", "affinity": "negative", "resources": "vm:100,vm:102,vm:103"}, 500, "create ha rule failed: cannot use unmanaged resource(s) vm:102, vm:103."},
		{"bad resource id", map[string]any{"rule": "r1", "type": "resource-affinity", "affinity": "negative", "resources": "100"}, 400, "Parameter verification failed."},
		{"bad rule id", map[string]any{"rule": "1 x", "type": "resource-affinity", "affinity": "negative", "resources": "vm:100,vm:101"}, 400, "Parameter verification failed."},
		{"one resource", map[string]any{"rule": "r1", "type": "resource-affinity", "affinity": "positive", "resources": "vm:100"}, 500, "create ha rule failed: 400 Rule 'r1' is invalid."},
		{"unknown node", map[string]any{"rule": "r1", "type": "node-affinity", "nodes": "pve1:2,nosuch", "resources": "vm:100"}, 500, "create ha rule failed: cannot use non-existent node(s) nosuch."},
		{"negative", neg, 200, ""},
		{"again", neg, 500, "create ha rule failed: HA rule 'apart' already defined"},
		{"positive against the negative", map[string]any{"rule": "together", "type": "resource-affinity", "affinity": "positive", "resources": "vm:101,vm:100"}, 500, "create ha rule failed: 400 Rule 'together' is invalid."},
		{"node affinity", map[string]any{"rule": "pin", "type": "node-affinity", "nodes": "pve1:2,pve2", "resources": "vm:100", "strict": 1}, 200, ""},
	}
	for _, tt := range tests {
		r := s.jcall(t, "POST", "/cluster/ha/rules", tt.params)
		if r.status != tt.status || (tt.want != "" && r.line != tt.want) {
			t.Errorf("%s: %d %q %v, want %d %q", tt.name, r.status, r.line, r.errors(), tt.status, tt.want)
		}
	}
	if r := s.jcall(t, "POST", "/cluster/ha/rules", map[string]any{"rule": "r2", "type": "resource-affinity", "affinity": "positive", "resources": "vm:100"}); !strings.Contains(r.body["message"].(string), "resources: rule is ineffective as there are less than two resources") {
		t.Errorf("one-resource rule: %v", r.body["message"])
	}

	got := s.jok(t, "GET", "/cluster/ha/rules/apart", nil).(map[string]any)
	if got["type"] != "resource-affinity" || got["affinity"] != "negative" || got["resources"] != "vm:100,vm:101" || got["comment"] != "keep apart" || got["digest"] == "" {
		t.Errorf("rule = %v", got)
	}
	if _, ok := got["disable"]; ok {
		t.Errorf("disable listed though never set: %v", got)
	}
	list := s.jok(t, "GET", "/cluster/ha/rules", map[string]any{"type": "resource-affinity"}).([]any)
	if len(list) != 1 || list[0].(map[string]any)["rule"] != "apart" {
		t.Errorf("resource-affinity rules = %v", list)
	}
	if list := s.jok(t, "GET", "/cluster/ha/rules", map[string]any{"resource": "vm:101"}).([]any); len(list) != 1 {
		t.Errorf("rules of vm:101 = %v", list)
	}
	if list := s.jok(t, "GET", "/cluster/ha/rules", nil).([]any); len(list) != 2 {
		t.Errorf("rules = %v", list)
	}

	// Updates: type is required and must match, digests guard, required options stay.
	digest := got["digest"].(string)
	for _, tt := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"other type", map[string]any{"type": "node-affinity", "comment": "x"}, "update HA rules failed: unexpected property 'type'"},
		{"delete required", map[string]any{"type": "resource-affinity", "delete": "affinity"}, "update HA rules failed: unable to delete required option 'affinity'"},
		{"stale digest", map[string]any{"type": "resource-affinity", "comment": "x", "digest": strings.Repeat("0", 40)}, "update HA rules failed: detected modified configuration - file changed by other user? Try again."},
		{"unmanaged", map[string]any{"type": "resource-affinity", "resources": "vm:100,vm:102"}, "update HA rules failed: cannot use unmanaged resource(s) vm:102."},
	} {
		if r := s.jcall(t, "PUT", "/cluster/ha/rules/apart", tt.params); r.status != 500 || r.line != tt.want {
			t.Errorf("%s: %d %q, want %q", tt.name, r.status, r.line, tt.want)
		}
	}
	s.jok(t, "POST", "/cluster/ha/resources", map[string]any{"sid": "vm:102"})
	s.jok(t, "PUT", "/cluster/ha/rules/apart", map[string]any{"type": "resource-affinity", "resources": "vm:100,vm:101,vm:102", "delete": "comment", "digest": digest})
	got = s.jok(t, "GET", "/cluster/ha/rules/apart", nil).(map[string]any)
	if got["resources"] != "vm:100,vm:101,vm:102" || got["comment"] != nil || got["digest"] == digest {
		t.Errorf("updated rule = %v", got)
	}
	if r := s.jcall(t, "PUT", "/cluster/ha/rules/nosuch", map[string]any{"type": "resource-affinity", "comment": "x"}); r.line != "update HA rules failed: HA rule 'nosuch' does not exist" {
		t.Errorf("update unknown: %q", r.line)
	}

	// Removing an HA resource purges it from rules (default), dropping rules left empty;
	// destroying a VM does not touch rules.
	s.jok(t, "DELETE", "/cluster/ha/resources/vm:102", nil)
	if got := s.jok(t, "GET", "/cluster/ha/rules/apart", nil).(map[string]any); got["resources"] != "vm:100,vm:101" {
		t.Errorf("after purge: %v", got)
	}
	s.jok(t, "DELETE", "/cluster/ha/resources/vm:100", map[string]any{"purge": 0})
	if got := s.jok(t, "GET", "/cluster/ha/rules/pin", nil).(map[string]any); got["resources"] != "vm:100" {
		t.Errorf("purge=0 changed rule: %v", got)
	}
	s.jok(t, "DELETE", "/cluster/ha/rules/pin", nil)
	s.jok(t, "DELETE", "/cluster/ha/rules/pin", nil) // unknown: no error
	if r := s.jcall(t, "GET", "/cluster/ha/rules/pin", nil); r.status != 500 || r.line != "no such ha rule 'pin'" {
		t.Errorf("read deleted: %d %q", r.status, r.line)
	}
}

// A rule that became infeasible after it was written is listed with its errors.
func TestHARulesListErrors(t *testing.T) {
	s := startSim(t, storageTestConfig())
	for _, id := range []string{"100", "101"} {
		mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": id, "scsi0": "local-lvm:1"}))
		s.jok(t, "POST", "/cluster/ha/resources", map[string]any{"sid": "vm:" + id})
	}
	s.jok(t, "POST", "/cluster/ha/rules", map[string]any{"rule": "apart", "type": "resource-affinity", "affinity": "negative", "resources": "vm:100,vm:101"})
	if got := s.jok(t, "GET", "/cluster/ha/rules/apart", nil).(map[string]any); got["errors"] != nil {
		t.Errorf("feasible rule has errors: %v", got)
	}
	s.jok(t, "DELETE", "/cluster/ha/resources/vm:101", nil)
	got := s.jok(t, "GET", "/cluster/ha/rules", nil).([]any)[0].(map[string]any)
	errs, _ := got["errors"].(map[string]any)
	if got["resources"] != "vm:100" || fmt.Sprint(errs["resources"]) != "[rule is ineffective as there are less than two resources]" {
		t.Errorf("rule = %v", got)
	}
}

func TestHARulesReturnSchemaShapes(t *testing.T) {
	s := startSim(t, storageTestConfig())
	for _, id := range []string{"100", "101"} {
		mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": id, "scsi0": "local-lvm:1"}))
		s.jok(t, "POST", "/cluster/ha/resources", map[string]any{"sid": "vm:" + id})
	}
	s.jok(t, "POST", "/cluster/ha/rules", map[string]any{"rule": "apart", "type": "resource-affinity", "affinity": "negative", "resources": "vm:100,vm:101"})
	for _, tt := range []struct{ path, pattern string }{
		{"/cluster/ha/rules", "/cluster/ha/rules"},
		{"/cluster/ha/rules/apart", "/cluster/ha/rules/{rule}"},
	} {
		got := s.jok(t, "GET", tt.path, nil)
		for _, p := range returnsProblems("GET "+tt.path, loadReturns(t, "GET", tt.pattern), got) {
			t.Error(p)
		}
	}
}

// Starting or stopping an HA-managed VM only sets its requested HA state (task hastart, hastop);
// the HA stack then runs qmstart or qmshutdown as root@pam, so the VM reaches the state after the
// API's task has ended.
func TestHAManagedStartAndStop(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "scsi0": "local-lvm:1"}))
	s.jok(t, "POST", "/cluster/ha/resources", map[string]any{"sid": "vm:100", "state": "stopped"})
	release := make(chan struct{})
	lrm := make(chan string, 2)
	s.srv.Cluster.OnTask(func(typ, _ string) {
		if typ == "qmstart" || typ == "qmshutdown" {
			lrm <- typ
			<-release
		}
	})
	upid := s.jok(t, "POST", "/nodes/pve1/qemu/100/status/start", nil).(string)
	if !strings.Contains(upid, ":hastart:100:") {
		t.Errorf("start of an HA-managed VM ran %s, want a hastart task", upid)
	}
	mustOK(t, "hastart", s.waitExit(t, upid))
	if typ := <-lrm; typ != "qmstart" {
		t.Errorf("HA stack ran %s", typ)
	}
	st := s.jok(t, "GET", "/nodes/pve1/qemu/100/status/current", nil).(map[string]any)
	if st["status"] != "stopped" || st["ha"].(map[string]any)["state"] != "started" {
		t.Errorf("before the HA stack acted: status %v, ha %v", st["status"], st["ha"])
	}
	release <- struct{}{}
	waitStatus := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for s.jok(t, "GET", "/nodes/pve1/qemu/100/status/current", nil).(map[string]any)["status"] != want {
			if time.Now().After(deadline) {
				t.Fatalf("VM never became %s", want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitStatus("running")
	upid = s.jok(t, "POST", "/nodes/pve1/qemu/100/status/shutdown", nil).(string)
	if !strings.Contains(upid, ":hastop:100:") {
		t.Errorf("shutdown of an HA-managed VM ran %s, want a hastop task", upid)
	}
	mustOK(t, "hastop", s.waitExit(t, upid))
	if typ := <-lrm; typ != "qmshutdown" {
		t.Errorf("HA stack ran %s", typ)
	}
	release <- struct{}{}
	waitStatus("stopped")
}

// Before PVE 9 there are no HA rules: the routes answer 501 as pveproxy does for unknown paths.
func TestHARulesNeedPVE9(t *testing.T) {
	cfg := storageTestConfig()
	cfg.Version = "8.4.1"
	s := startSim(t, cfg)
	if v := s.jok(t, "GET", "/version", nil).(map[string]any); v["version"] != "8.4.1" || v["release"] != "8.4" {
		t.Errorf("version %v", v)
	}
	for _, tt := range []struct{ method, path string }{{"GET", "/cluster/ha/rules"}, {"GET", "/cluster/ha/rules/r"}, {"DELETE", "/cluster/ha/rules/r"}} {
		if r := s.jcall(t, tt.method, tt.path, nil); r.status != 501 || r.line != "Method '"+tt.method+" "+tt.path+"' not implemented" {
			t.Errorf("%s %s: %d %q", tt.method, tt.path, r.status, r.line)
		}
	}
	s.jok(t, "GET", "/cluster/ha/resources", nil)
}
