package pvesim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// storageTestConfig adds small storages whose capacity is enforced.
func storageTestConfig() Config {
	cfg := testConfig()
	cfg.Storages = []StorageConfig{
		{Name: "local-lvm", Type: "lvmthin", Content: "images,rootdir", TotalBytes: tib},
		{Name: "local", Type: "dir", Content: "iso,vztmpl,backup", TotalBytes: 100 * gib},
		{Name: "thick", Type: "lvm", Content: "images", TotalBytes: 40 * gib},
		{Name: "files", Type: "dir", Content: "images", TotalBytes: 50 * gib},
		{Name: "ceph", Type: "rbd", Content: "images", TotalBytes: tib, Shared: true},
	}
	return cfg
}

// jcall sends params as a JSON body (query for GET and DELETE).
func (s *sim) jcall(t *testing.T, method, path string, params map[string]any) rawResult {
	t.Helper()
	if method == "GET" || method == "DELETE" {
		var q []string
		for k, v := range params {
			b, _ := json.Marshal(v)
			q = append(q, k+"="+strings.Trim(string(b), `"`))
		}
		if len(q) > 0 {
			path += "?" + strings.Join(q, "&")
		}
		return s.raw(t, method, path, "", "", nil)
	}
	body, _ := json.Marshal(params)
	return s.raw(t, method, path, "application/json", string(body), nil)
}

// jok is jcall that must succeed; it returns the "data" value.
func (s *sim) jok(t *testing.T, method, path string, params map[string]any) any {
	t.Helper()
	r := s.jcall(t, method, path, params)
	if r.status != 200 {
		t.Fatalf("%s %s: %d %s %v", method, path, r.status, r.line, r.errors())
	}
	return r.body["data"]
}

// runTask starts a task, waits for it and returns its exit status.
func (s *sim) runTask(t *testing.T, method, path string, params map[string]any) string {
	t.Helper()
	upid, _ := s.jok(t, method, path, params).(string)
	return s.waitExit(t, upid)
}

// waitExit polls a task until it stops and returns its exit status.
func (s *sim) waitExit(t *testing.T, upid string) string {
	t.Helper()
	m := upidRe.FindStringSubmatch(upid)
	if m == nil {
		t.Fatalf("not a UPID: %q", upid)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := s.jok(t, "GET", "/nodes/"+m[1]+"/tasks/"+upid+"/status", nil).(map[string]any)
		if st["status"] == "stopped" {
			exit, _ := st["exitstatus"].(string)
			return exit
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still running", upid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mustOK fails unless a task ended OK.
func mustOK(t *testing.T, what, exit string) {
	t.Helper()
	if exit != "OK" {
		t.Fatalf("%s: task exit %q", what, exit)
	}
}

// config reads the VM's config as raw strings.
func (s *sim) config(t *testing.T, vmid int) map[string]string {
	t.Helper()
	vm, ok := s.srv.Cluster.VM(vmid)
	if !ok {
		t.Fatalf("VM %d does not exist", vmid)
	}
	return vm.Config
}

// storageUsed reads used bytes of a storage from GET /nodes/{node}/storage.
func (s *sim) storageUsed(t *testing.T, node, storage string) int64 {
	t.Helper()
	list := s.jok(t, "GET", "/nodes/"+node+"/storage", map[string]any{"storage": storage}).([]any)
	if len(list) != 1 {
		t.Fatalf("storage %s: %v", storage, list)
	}
	st := list[0].(map[string]any)
	used, total, avail := int64(st["used"].(float64)), int64(st["total"].(float64)), int64(st["avail"].(float64))
	if used+avail != total {
		t.Errorf("storage %s: used %d + avail %d != total %d", storage, used, avail, total)
	}
	return used
}

// volumeSize returns the size of a registered volume (-1 if unknown).
func (s *sim) volumeSize(volid string) int64 {
	c := s.srv.Cluster
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.volumes[volid]; v != nil {
		return v.size
	}
	return -1
}

// drive parses a drive value of the VM's config.
func drive(t *testing.T, conf map[string]string, key string) map[string]string {
	t.Helper()
	d, err := driveFormats[busOf(key)].parse(conf[key])
	if err != nil {
		t.Fatalf("%s = %q: %v", key, conf[key], err)
	}
	return d
}

// startedBy waits for the qmstart task that a create with start=1 forks (qemu-server's create
// worker calls vm_start, a task of its own) and returns its exit status.
func (s *sim) startedBy(t *testing.T, node string, vmid int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tasks, _ := s.jok(t, "GET", "/nodes/"+node+"/tasks", map[string]any{"vmid": vmid, "typefilter": "qmstart", "source": "all"}).([]any)
		if len(tasks) > 0 {
			upid, _ := tasks[0].(map[string]any)["upid"].(string)
			return s.waitExit(t, upid)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no qmstart task for VM %d", vmid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// createStarted creates a VM with start=1 and waits for both its tasks: the create must end OK,
// the start's exit is returned.
func (s *sim) createStarted(t *testing.T, node string, params map[string]any) string {
	t.Helper()
	params["start"] = 1
	mustOK(t, "create", s.runTask(t, "POST", "/nodes/"+node+"/qemu", params))
	vmid, _ := params["vmid"].(int)
	return s.startedBy(t, node, vmid)
}
