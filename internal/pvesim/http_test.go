package pvesim

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

// Tests in this file speak raw HTTP to check wire details go-proxmox hides.

const form = "application/x-www-form-urlencoded"

func TestParameterVerification(t *testing.T) {
	s := startSim(t, testConfig())
	tests := []struct {
		name, method, path, ctype, body string
		wantErrors                      map[string]string
	}{
		{"boolean true as form value", "POST", "/nodes/pve1/qemu", form, "vmid=200&onboot=true",
			map[string]string{"onboot": "type check ('boolean') failed - got 'true'"}},
		{"unknown parameter", "POST", "/nodes/pve1/qemu", form, "vmid=200&colour=red",
			map[string]string{"colour": "property is not defined in schema and the schema does not allow additional properties"}},
		{"missing required", "POST", "/nodes/pve1/qemu", form, "name=x",
			map[string]string{"vmid": "property is missing and it is not optional"}},
		{"integer type in path", "GET", "/nodes/pve1/qemu/abc/config", "", "",
			map[string]string{"vmid": "type check ('integer') failed - got 'abc'"}},
		// pve-vmid's format check runs before the bounds, as in check_prop.
		{"vmid format", "POST", "/nodes/pve1/qemu", "application/json", `{"vmid": 99}`,
			map[string]string{"vmid": "invalid format - value does not look like a valid VM ID"}},
		{"minimum", "POST", "/nodes/pve1/qemu", "application/json", `{"vmid": 200, "cores": 0}`,
			map[string]string{"cores": "value must have a minimum value of 1"}},
		{"enum", "POST", "/nodes/pve1/qemu", "application/json", `{"vmid": 200, "ostype": "beos"}`,
			map[string]string{"ostype": "value 'beos' does not have a value in the enumeration 'other, wxp, w2k, w2k3, w2k8, wvista, win7, win8, win10, win11, l24, l26, solaris'"}},
		{"property string sub-key", "POST", "/nodes/pve1/qemu", form, "vmid=200&net0=" + url.QueryEscape("virtio,bridge=vmbr0,tag=5000"),
			map[string]string{"net0": "invalid format - format error\nnet0.tag: value must have a maximum value of 4094"}},
		{"family index beyond schema", "POST", "/nodes/pve1/qemu", form, "vmid=200&ide4=" + url.QueryEscape("none,media=cdrom"),
			map[string]string{"ide4": "property is not defined in schema and the schema does not allow additional properties"}},
		{"query merged into checks", "GET", "/cluster/resources?type=lxc", "", "",
			map[string]string{"type": "value 'lxc' does not have a value in the enumeration 'vm, storage, node, sdn'"}},
		{"ssh keys must be url-encoded", "PUT", "/nodes/pve1/qemu/100/config", "application/json", `{"sshkeys": "ssh-ed25519 AAAA x@y"}`,
			map[string]string{"sshkeys": "invalid format - invalid urlencoded string: ssh-ed25519 AAAA x@y"}},
		{"tags charset", "PUT", "/nodes/pve1/qemu/100/config", "application/json", `{"tags": "ok;not ok!"}`,
			map[string]string{"tags": "invalid format - invalid characters in tag 'ok!'"}},
		{"path and body disagree", "PUT", "/nodes/pve1/qemu/100/config", form, "vmid=101&name=x",
			map[string]string{"vmid": "duplicate parameter (already defined in URI) with conflicting values!"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.raw(t, tt.method, tt.path, tt.ctype, tt.body, nil)
			if r.status != 400 || r.line != "Parameter verification failed." {
				t.Fatalf("status %d %q, body %v", r.status, r.line, r.body)
			}
			got := r.errors()
			if len(got) != len(tt.wantErrors) {
				t.Errorf("errors = %v", got)
			}
			for k, want := range tt.wantErrors {
				if got[k] != want {
					t.Errorf("errors[%s] = %q, want %q", k, got[k], want)
				}
			}
			if r.body["message"] != "Parameter verification failed.\n" || r.body["data"] != nil {
				t.Errorf("body = %v", r.body)
			}
		})
	}
}

func TestFormAndJSONBodiesAreEquivalent(t *testing.T) {
	s := startSim(t, testConfig())
	bodies := []struct{ ctype, body string }{
		{form, "vmid=300&name=f&onboot=1&cores=2&net0=" + url.QueryEscape("virtio=BC:24:11:00:00:AA,bridge=vmbr0")},
		{"application/json", `{"vmid":301,"name":"f","onboot":true,"cores":"2","net0":"virtio=BC:24:11:00:00:AA,bridge=vmbr0"}`},
	}
	for _, b := range bodies {
		r := s.raw(t, "POST", "/nodes/pve1/qemu", b.ctype, b.body, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s %v", b.ctype, r.status, r.line, r.body)
		}
	}
	s.srv.Cluster.Close() // finish the create tasks
	a, _ := s.srv.Cluster.VM(300)
	b, _ := s.srv.Cluster.VM(301)
	for _, k := range []string{"name", "onboot", "cores", "net0"} {
		if a.Config[k] != b.Config[k] || a.Config[k] == "" {
			t.Errorf("%s: form %q json %q", k, a.Config[k], b.Config[k])
		}
	}
}

func TestAuthentication(t *testing.T) {
	s := startSim(t, testConfig())
	login := s.raw(t, "POST", "/access/ticket", form, "username=root@pam&password=rootpass", map[string]string{})
	if login.status != 200 {
		t.Fatalf("login: %d %s", login.status, login.line)
	}
	data := login.body["data"].(map[string]any)
	cookie := "PVEAuthCookie=" + url.PathEscape(data["ticket"].(string))
	csrf := data["CSRFPreventionToken"].(string)

	tests := []struct {
		name, method, path string
		headers            map[string]string
		status             int
		line               string
	}{
		{"no credentials", "GET", "/version", map[string]string{}, 401, "No ticket"},
		{"no credentials on unknown path", "GET", "/nope", map[string]string{}, 401, "No ticket"},
		{"wrong secret", "GET", "/version", map[string]string{"Authorization": "PVEAPIToken=root@pam!moxxie=WRONG"}, 401, "invalid token value!"},
		{"unknown token", "GET", "/version", map[string]string{"Authorization": "PVEAPIToken=root@pam!other=SECRET"}, 401, "no such token 'other' for user 'root@pam'"},
		{"unknown user", "GET", "/version", map[string]string{"Authorization": "PVEAPIToken=bob@pam!ci=SECRET"}, 401, "no such user ('bob@pam')"},
		{"token without secret", "GET", "/version", map[string]string{"Authorization": "PVEAPIToken=root@pam!moxxie"}, 401, "no tokenid specified"},
		{"forged ticket", "GET", "/version", map[string]string{"Cookie": "PVEAuthCookie=PVE:root@pam:00000000::abc"}, 401, "permission denied - invalid PVE ticket"},
		{"ticket read", "GET", "/version", map[string]string{"Cookie": cookie}, 200, "OK"},
		{"ticket write without CSRF", "POST", "/nodes/pve1/qemu?vmid=150", map[string]string{"Cookie": cookie}, 401, "Permission denied - invalid csrf token"},
		{"ticket write with CSRF", "POST", "/nodes/pve1/qemu?vmid=150", map[string]string{"Cookie": cookie, "CSRFPreventionToken": csrf}, 200, "OK"},
		{"token write needs no CSRF", "POST", "/nodes/pve1/qemu?vmid=151", nil, 200, "OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.raw(t, tt.method, tt.path, "", "", tt.headers)
			if r.status != tt.status || r.line != tt.line {
				t.Errorf("got %d %q, want %d %q", r.status, r.line, tt.status, tt.line)
			}
		})
	}
	bad := s.raw(t, "POST", "/access/ticket", form, "username=root@pam&password=nope", map[string]string{})
	if bad.status != 401 || bad.line != "authentication failure" {
		t.Errorf("bad password: %d %q", bad.status, bad.line)
	}
	renew := s.raw(t, "POST", "/access/ticket", form, "username=root@pam&password="+url.QueryEscape(data["ticket"].(string)), map[string]string{})
	if renew.status != 200 {
		t.Errorf("ticket renewal: %d %q", renew.status, renew.line)
	}
}

func TestErrorsCarryMessageInStatusLine(t *testing.T) {
	s := startSim(t, testConfig())
	r := s.raw(t, "GET", "/nodes/pve1/qemu/100/config", "", "", nil)
	want := "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist"
	if r.status != 500 || r.line != want || r.body["message"] != want+"\n" {
		t.Errorf("got %d %q body %v", r.status, r.line, r.body)
	}
	r = s.raw(t, "PUT", "/version", "", "", nil)
	if r.status != 501 || r.line != "Method 'PUT /version' not implemented" {
		t.Errorf("wrong method: %d %q", r.status, r.line)
	}
	// Empty segments are ignored when routing, but kept in the message.
	if r := s.raw(t, "GET", "//cluster//status/", "", "", nil); r.status != 200 {
		t.Errorf("empty segments: %d %q", r.status, r.line)
	}
	// The connection survives an error answer for the next request.
	for i := 0; i < 3; i++ {
		if r := s.raw(t, "GET", "/nodes/pve1/qemu/100/status/current", "", "", nil); r.status != 500 {
			t.Fatalf("round %d: %d", i, r.status)
		}
	}
}

func TestNextIDIsRacy(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	cl, err := s.client.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, errA := cl.NextID(ctx)
	b, errB := cl.NextID(ctx)
	if errA != nil || errB != nil || a != 100 || b != 100 {
		t.Fatalf("two callers: %d %v, %d %v", a, errA, b, errB)
	}
	r := s.raw(t, "GET", "/cluster/nextid", "", "", nil)
	if r.body["data"] != "100" {
		t.Errorf("nextid data %#v, want the string \"100\"", r.body["data"])
	}
	s.createVM(t, "pve2", a)
	if _, err := s.node(t, "pve1").NewVirtualMachine(ctx, b); err == nil || !strings.Contains(err.Error(), "already exists on node 'pve2'") {
		t.Errorf("loser's create: %v", err)
	}
	if next, _ := cl.NextID(ctx); next != 101 {
		t.Errorf("after create nextid = %d", next)
	}
	r = s.raw(t, "GET", "/cluster/nextid?vmid=100", "", "", nil)
	if r.status != 400 || r.errors()["vmid"] != "VM 100 already exists" {
		t.Errorf("taken vmid: %d %v", r.status, r.body)
	}
	r = s.raw(t, "GET", "/cluster/nextid?vmid=555", "", "", nil)
	if r.status != 200 || r.body["data"] != "555" {
		t.Errorf("free vmid: %d %v", r.status, r.body)
	}
}

func TestConcurrentCreatesWithNextIDRetry(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	const n = 50
	ids := make(chan int, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cl := &proxmox.Cluster{}
			cl = cl.New(s.client)
			node := (&proxmox.Node{}).New(s.client, fmt.Sprintf("pve%d", i%3+1))
			for attempt := 0; attempt < 200; attempt++ {
				id, err := cl.NextID(ctx)
				if err != nil {
					errs <- err
					return
				}
				_, err = node.NewVirtualMachine(ctx, id, opt("name", "c"+strconv.Itoa(i)))
				if err == nil {
					ids <- id
					return
				}
				if !strings.Contains(err.Error(), "already exists") {
					errs <- err
					return
				}
			}
			errs <- fmt.Errorf("worker %d gave up", i)
		}(i)
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[int]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("VMID %d handed out twice", id)
		}
		seen[id] = true
	}
	if len(seen) != n || len(s.srv.Cluster.VMs()) != n {
		t.Errorf("%d ids, %d VMs, want %d", len(seen), len(s.srv.Cluster.VMs()), n)
	}
}

func TestTaskStatus(t *testing.T) {
	cfg := testConfig()
	cfg.TaskDuration = 200e6
	s := startSim(t, cfg)
	r := s.raw(t, "POST", "/nodes/pve2/qemu", form, "vmid=140", nil)
	upid, _ := r.body["data"].(string)
	if !upidRe.MatchString(upid) || !strings.HasPrefix(upid, "UPID:pve2:") || !strings.HasSuffix(upid, ":qmcreate:140:root@pam!moxxie:") {
		t.Fatalf("upid %q", upid)
	}
	path := "/nodes/pve2/tasks/" + upid + "/status"
	st := s.raw(t, "GET", path, "", "", nil).body["data"].(map[string]any)
	if st["status"] != "running" || st["user"] != "root@pam" || st["tokenid"] != "moxxie" || st["type"] != "qmcreate" || st["id"] != "140" {
		t.Errorf("running task = %v", st)
	}
	if _, has := st["exitstatus"]; has {
		t.Error("exitstatus present while running")
	}
	if _, ok := st["pid"].(float64); !ok {
		t.Errorf("pid %#v is not a number", st["pid"])
	}
	s.srv.Cluster.Close()
	st = s.raw(t, "GET", path, "", "", nil).body["data"].(map[string]any)
	if st["status"] != "stopped" || st["exitstatus"] != "OK" {
		t.Errorf("finished task = %v", st)
	}

	for _, p := range []string{
		"/nodes/pve1/tasks/" + upid + "/status", // task of another node
		"/nodes/pve2/tasks/" + strings.Replace(upid, ":qmcreate:", ":qmstart:", 1) + "/status",
	} {
		r := s.raw(t, "GET", p, "", "", nil)
		if r.status != 400 || r.errors()["upid"] != "no such task" {
			t.Errorf("%s: %d %v", p, r.status, r.body)
		}
	}
	if r := s.raw(t, "GET", "/nodes/pve2/tasks/garbage/status", "", "", nil); r.status != 400 || r.errors()["upid"] != "unable to parse worker upid" {
		t.Errorf("garbage upid: %d %v", r.status, r.body)
	}
}

func TestServerRestartKeepsState(t *testing.T) {
	s := startSim(t, testConfig())
	s.createVM(t, "pve1", 100, opt("name", "keep"))
	url := s.srv.URL
	if err := s.srv.Close(); err != nil {
		t.Fatal(err)
	}
	s.http.CloseIdleConnections()
	if _, err := s.client.Version(context.Background()); err == nil {
		t.Fatal("request succeeded while closed")
	}
	if err := s.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.srv.URL != url {
		t.Errorf("URL changed: %s -> %s", url, s.srv.URL)
	}
	if vm := s.vm(t, "pve1", 100); vm.Name != "keep" {
		t.Errorf("after restart name %q", vm.Name)
	}
}

func TestDeleteKeepsOtherVMsAndFreesStorage(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	s.createVM(t, "pve1", 100, opt("scsi0", "local-lvm:4"))
	s.createVM(t, "pve1", 101, opt("scsi0", "local-lvm:2"))
	task, err := s.vm(t, "pve1", 100).Delete(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, task)
	var storages []map[string]any
	if err := s.client.Get(ctx, "/nodes/pve1/storage?storage=local-lvm", &storages); err != nil {
		t.Fatal(err)
	}
	if len(storages) != 1 || storages[0]["used"] != float64(2<<30) {
		t.Errorf("storage after delete = %v", storages)
	}
	if vms := s.srv.Cluster.VMs(); len(vms) != 1 || vms[0].VMID != 101 {
		t.Errorf("VMs = %+v", vms)
	}
}
