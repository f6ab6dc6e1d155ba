package pvesim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"reflect"
	"testing"
)

func TestOutOfBandVMs(t *testing.T) {
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	ctx := context.Background()

	tests := []struct {
		node    string
		vmid    int
		wantErr string
	}{
		{"pve9", 200, "no such cluster node 'pve9'"},
		{"pve1", 99, "invalid VMID 99"},
		{"pve1", 200, ""},
		{"pve2", 200, "VM 200 already exists on node 'pve1'"},
	}
	for _, tt := range tests {
		err := c.AddVM(tt.node, tt.vmid, map[string]string{
			"name": "imported", "cores": "2", "memory": "1024", "tags": "legacy",
			"scsi0": "local-lvm:vm-200-disk-0,size=16G",
		}, true)
		if (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
			t.Errorf("AddVM(%s, %d) = %v, want %q", tt.node, tt.vmid, err, tt.wantErr)
		}
	}

	vm := s.vm(t, "pve1", 200)
	if vm.Status != "running" || vm.Name != "imported" || vm.MaxDisk != 16<<30 || vm.Tags != "legacy" {
		t.Errorf("imported VM = %s %q maxdisk %d tags %q", vm.Status, vm.Name, vm.MaxDisk, vm.Tags)
	}
	digest := vm.VirtualMachineConfig.Digest

	if err := c.UpdateVM(200, map[string]string{"name": "drifted", "tags": ""}); err != nil {
		t.Fatal(err)
	}
	got, _ := c.VM(200)
	if got.Name != "drifted" || got.Tags != nil || got.Config["tags"] != "" {
		t.Errorf("after UpdateVM: %+v", got)
	}
	if err := vm.ConfigSync(ctx, opt("cores", 4), opt("digest", digest)); err == nil {
		t.Error("write with a digest from before the drift succeeded")
	}
	if err := c.UpdateVM(999, map[string]string{"name": "x"}); err == nil {
		t.Error("UpdateVM of unknown VM succeeded")
	}

	// Snapshots are copies: changing them does not touch the cluster.
	got.Config["name"] = "mutated"
	if again, _ := c.VM(200); again.Config["name"] != "drifted" {
		t.Error("VM() returned internal state")
	}

	if !c.RemoveVM(200) || c.RemoveVM(200) {
		t.Error("RemoveVM should succeed once")
	}
	if _, err := s.node(t, "pve1").VirtualMachine(ctx, 200); err == nil {
		t.Error("removed VM still visible")
	}
}

func TestClusterResources(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	s.createVM(t, "pve2", 100, opt("name", "a"), opt("cores", 2), opt("memory", "1024"),
		opt("scsi0", "local-lvm:20"), opt("tags", "moxxie-id-1;web"), opt("start", 1))
	if err := s.srv.Cluster.AddVM("pve3", 101, map[string]string{"template": "1", "name": "tpl"}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.Cluster.UpdateVM(101, map[string]string{"lock": "migrate"}); err != nil {
		t.Fatal(err)
	}
	var all []map[string]any
	if err := s.client.Get(ctx, "/cluster/resources?type=vm", &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("vm resources = %v", all)
	}
	want := map[string]any{
		"id": "qemu/100", "type": "qemu", "vmid": float64(100), "name": "a", "node": "pve2",
		"status": "running", "maxcpu": float64(2), "maxmem": float64(1024 << 20), "maxdisk": float64(20 << 30),
		"tags": "moxxie-id-1;web", "template": float64(0),
	}
	for k, v := range want {
		if !reflect.DeepEqual(all[0][k], v) {
			t.Errorf("qemu/100 %s = %#v, want %#v", k, all[0][k], v)
		}
	}
	if _, has := all[0]["lock"]; has {
		t.Error("lock reported for an unlocked VM")
	}
	if all[1]["template"] != float64(1) || all[1]["lock"] != "migrate" || all[1]["status"] != "stopped" {
		t.Errorf("qemu/101 = %v", all[1])
	}

	counts := map[string]int{}
	if err := s.client.Get(ctx, "/cluster/resources", &all); err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		counts[r["type"].(string)]++
	}
	if counts["qemu"] != 2 || counts["node"] != 3 || counts["storage"] != 6 || counts["sdn"] != 3 {
		t.Errorf("resource counts = %v", counts)
	}
	var nodes []map[string]any
	if err := s.client.Get(ctx, "/cluster/resources?type=node", &nodes); err != nil {
		t.Fatal(err)
	}
	if nodes[1]["node"] != "pve2" || nodes[1]["mem"] != float64(1<<30+1024<<20) || nodes[1]["maxcpu"] != float64(16) {
		t.Errorf("pve2 node resource = %v", nodes[1])
	}
}

func TestLockedAndStoppedVMRefusals(t *testing.T) {
	cfg := testConfig()
	cfg.TaskDuration = 1e9 // keep the create lock while we probe
	s := startSim(t, cfg)
	r := s.raw(t, "POST", "/nodes/pve1/qemu", form, "vmid=100", nil)
	if r.status != 200 {
		t.Fatal(r.line)
	}
	tests := []struct {
		method, path, body string
		status             int
		line               string
	}{
		{"PUT", "/nodes/pve1/qemu/100/config", "name=x", 500, "VM 100 is locked (create)"},
		{"PUT", "/nodes/pve1/qemu/100/config", "name=x&skiplock=1", 400, "Parameter verification failed."}, // tokens are not root@pam
		{"PUT", "/nodes/pve1/qemu/100/config", "", 500, "no options specified"},
		{"PUT", "/nodes/pve1/qemu/100/config", "name=x&delete=name", 400, "Parameter verification failed."},
		{"POST", "/nodes/pve1/qemu/100/status/reboot", "", 500, "VM 100 not running"},
		{"DELETE", "/nodes/pve1/qemu/100", "", 500, "VM 100 is locked (create)"},
		{"GET", "/nodes/pve2/qemu/100/status/current", "", 500, "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist"},
		{"PUT", "/nodes/pve1/qemu/100/config", "scsi1=" + "nosuch:10", 500, "storage 'nosuch' does not exist"},
		{"PUT", "/nodes/pve1/qemu/100/config", "scsi1=" + "local:10", 400, "Parameter verification failed."},
	}
	for _, tt := range tests {
		path := tt.path
		if tt.method == "DELETE" && tt.body != "" {
			path += "?" + tt.body
		}
		got := s.raw(t, tt.method, path, form, tt.body, nil)
		if got.status != tt.status || got.line != tt.line {
			t.Errorf("%s %s %q: %d %q, want %d %q (%v)", tt.method, tt.path, tt.body, got.status, got.line, tt.status, tt.line, got.body)
		}
	}
	// A start of a locked VM fails in the worker (under the config lock), as in PVE.
	s.srv.Cluster.Close()
	if err := s.srv.Cluster.UpdateVM(100, map[string]string{"lock": "backup"}); err != nil {
		t.Fatal(err)
	}
	start := s.raw(t, "POST", "/nodes/pve1/qemu/100/status/start", "", "", nil)
	upid := start.body["data"].(string)
	s.srv.Cluster.Close()
	st := s.raw(t, "GET", "/nodes/pve1/tasks/"+upid+"/status", "", "", nil).body["data"].(map[string]any)
	if st["status"] != "stopped" || st["exitstatus"] != "VM 100 is locked (backup)" {
		t.Errorf("start of locked VM: %v", st)
	}
}

func TestRebootAppliesPending(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	s.createVM(t, "pve1", 100, opt("cores", 1), opt("start", 1))
	vm := s.vm(t, "pve1", 100)
	if err := vm.ConfigSync(ctx, opt("cores", 3)); err != nil {
		t.Fatal(err)
	}
	task, err := vm.Reboot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, task); st.ExitStatus != "OK" {
		t.Fatal(st.ExitStatus)
	}
	got, _ := s.srv.Cluster.VM(100)
	if got.Status != "running" || got.Config["cores"] != "3" || len(got.Pending) != 0 {
		t.Errorf("after reboot: %s cores %s pending %v", got.Status, got.Config["cores"], got.Pending)
	}
}

func TestServerSpeaksHTTP1Only(t *testing.T) {
	s := startSim(t, testConfig())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(s.srv.CertPEM))
	tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", s.srv.URL+"/api2/json/nodes/pve1/qemu/100/config", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+testTokenID+"="+testSecret)
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Proto != "HTTP/1.1" || res.Status != "500 Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist" {
		t.Errorf("%s %q", res.Proto, res.Status)
	}
}
