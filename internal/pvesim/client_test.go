package pvesim

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

// Tests in this file drive the simulator with the real go-proxmox client.

func TestClientVersionAndClusterStatus(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()

	v, err := s.client.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "9.1.1" || v.Release != "9.1" || v.RepoID == "" {
		t.Errorf("version = %+v", v)
	}

	cl, err := s.client.Cluster(ctx) // panics on string-typed numbers
	if err != nil {
		t.Fatal(err)
	}
	if cl.Name != "DC1" || cl.Quorate != 1 || len(cl.Nodes) != 3 {
		t.Fatalf("cluster = %+v", cl)
	}
	for i, n := range cl.Nodes {
		if n.Online != 1 || n.Status != "online" || n.Name != []string{"pve1", "pve2", "pve3"}[i] {
			t.Errorf("node %d = %+v", i, n)
		}
	}
	if cl.Nodes[0].Local != 1 || cl.Nodes[1].Local != 0 {
		t.Errorf("local flags: %d %d", cl.Nodes[0].Local, cl.Nodes[1].Local)
	}
}

func TestClientNodesAndStorage(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()

	nodes, err := s.client.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 || nodes[1].Node != "pve2" || nodes[1].MaxCPU != 16 || nodes[1].MaxMem != 65536<<20 {
		t.Fatalf("nodes = %+v", nodes[1])
	}
	if nodes[0].SSLFingerprint != s.srv.Fingerprint {
		t.Errorf("ssl_fingerprint = %q, want %q", nodes[0].SSLFingerprint, s.srv.Fingerprint)
	}

	n := s.node(t, "pve3")
	if n.CPUInfo.CPUs != 8 || n.Memory.Total != 32768<<20 || n.Memory.Free+n.Memory.Used != n.Memory.Total {
		t.Errorf("pve3 status: cpuinfo %+v memory %+v", n.CPUInfo, n.Memory)
	}
	if !strings.HasPrefix(n.PVEVersion, "pve-manager/9.1.1/") {
		t.Errorf("pveversion %q", n.PVEVersion)
	}

	s.createVM(t, "pve3", 100, opt("scsi0", "local-lvm:10"))
	storages, err := n.Storages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*proxmox.Storage{}
	for _, st := range storages {
		byName[st.Name] = st
	}
	lvm := byName["local-lvm"]
	if lvm == nil || lvm.Type != "lvmthin" || lvm.Used != 10<<30 || lvm.Avail != lvm.Total-lvm.Used || lvm.Active != 1 {
		t.Fatalf("local-lvm = %+v", lvm)
	}
	other, err := s.node(t, "pve1").Storages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range other {
		if st.Used != 0 {
			t.Errorf("pve1 %s used %d: local storage is per node", st.Name, st.Used)
		}
	}
}

func TestClientCreateVM(t *testing.T) {
	s := startSim(t, testConfig())
	s.createVM(t, "pve2", 105,
		opt("name", "web-1"), opt("cores", 2), opt("sockets", 2), opt("memory", "4096"),
		opt("tags", "zeta;Alpha;zeta"), opt("onboot", 1), opt("scsihw", "virtio-scsi-single"),
		opt("net0", "virtio,bridge=vmbr0,tag=100"),
		opt("net1", "e1000=BC:24:11:AA:BB:CC,bridge=vmbr1"),
		opt("scsi0", "local-lvm:32,discard=on"),
		opt("ide2", "local-lvm:cloudinit"),
		opt("ipconfig0", "ip=10.0.0.5/24,gw=10.0.0.1"), opt("ciuser", "ops"),
	)
	vm := s.vm(t, "pve2", 105)
	cfg := vm.VirtualMachineConfig
	if got := cfg.SCSIs["scsi0"]; got != "local-lvm:vm-105-disk-0,discard=on,size=32G" {
		t.Errorf("scsi0 = %q", got)
	}
	if got := cfg.IDEs["ide2"]; got != "local-lvm:vm-105-cloudinit,media=cdrom,size=4M" {
		t.Errorf("ide2 = %q", got)
	}
	if !regexp.MustCompile(`^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0,tag=100$`).MatchString(cfg.Nets["net0"]) {
		t.Errorf("net0 = %q", cfg.Nets["net0"])
	}
	if got := cfg.Nets["net1"]; got != "e1000=BC:24:11:AA:BB:CC,bridge=vmbr1" {
		t.Errorf("net1 = %q", got)
	}
	if cfg.Tags != "Alpha;zeta" || cfg.Name != "web-1" || *cfg.Cores != 2 || int(cfg.Memory) != 4096 || !bool(cfg.OnBoot) {
		t.Errorf("config = name %q tags %q cores %d memory %d onboot %v", cfg.Name, cfg.Tags, *cfg.Cores, cfg.Memory, cfg.OnBoot)
	}
	if !strings.HasPrefix(cfg.SMBios1, "uuid=") || cfg.Lock != "" || cfg.Boot != "order=scsi0;net0" {
		t.Errorf("smbios1 %q lock %q boot %q", cfg.SMBios1, cfg.Lock, cfg.Boot)
	}
	if vm.Status != "stopped" || vm.CPUs != 4 || vm.MaxMem != 4096<<20 || vm.MaxDisk != 32<<30 {
		t.Errorf("status = %s cpus %d maxmem %d maxdisk %d", vm.Status, vm.CPUs, vm.MaxMem, vm.MaxDisk)
	}

	// A VMID is unique in the whole cluster, not per node.
	_, err := s.node(t, "pve1").NewVirtualMachine(context.Background(), 105)
	if err == nil || err.Error() != "500 unable to create VM 105 - VM 105 already exists on node 'pve2'" {
		t.Errorf("duplicate create: %v", err)
	}
}

func TestClientCreateHoldsLockUntilTaskEnds(t *testing.T) {
	cfg := testConfig()
	cfg.TaskDuration = 300e6 // 300ms
	s := startSim(t, cfg)
	task, err := s.node(t, "pve1").NewVirtualMachine(context.Background(), 120, opt("name", "slow"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.srv.Cluster.VM(120)
	if got.Lock != "create" {
		t.Errorf("lock while creating = %q, want create", got.Lock)
	}
	res, err := s.client.Cluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := res.Resources(context.Background(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].ID != "qemu/120" || rs[0].Status != "stopped" {
		t.Fatalf("resources = %+v", rs)
	}
	if err := task.Ping(context.Background()); err != nil || task.Status != "running" || task.ExitStatus != "" {
		t.Errorf("task while running: %v status %q exit %q", err, task.Status, task.ExitStatus)
	}
	if st := wait(t, task); st.ExitStatus != "OK" {
		t.Fatalf("exit %q", st.ExitStatus)
	}
	if got, _ := s.srv.Cluster.VM(120); got.Lock != "" || got.Name != "slow" {
		t.Errorf("after create: lock %q name %q", got.Lock, got.Name)
	}
}

func TestClientConfigDigest(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	s.createVM(t, "pve1", 100, opt("name", "a"), opt("cores", 1))
	vm := s.vm(t, "pve1", 100)
	digest := vm.VirtualMachineConfig.Digest

	raw, _ := s.srv.Cluster.VM(100)
	want := sha1.Sum([]byte(renderForTest(raw.Config)))
	if digest != hex.EncodeToString(want[:]) {
		t.Fatalf("digest %s is not the SHA-1 of the config text", digest)
	}

	if err := vm.ConfigSync(ctx, opt("cores", 2), opt("digest", digest)); err != nil {
		t.Fatalf("write with current digest: %v", err)
	}
	err := vm.ConfigSync(ctx, opt("cores", 3), opt("digest", digest))
	if err == nil || err.Error() != "500 checksum mismatch (file change by other user?)" {
		t.Fatalf("stale digest: %v", err)
	}
	if got := s.vm(t, "pve1", 100).VirtualMachineConfig; *got.Cores != 2 || got.Digest == digest {
		t.Errorf("cores %d digest %s", *got.Cores, got.Digest)
	}

	// POST is the async variant.
	task, err := vm.Config(ctx, opt("description", "line1\nline2"), opt("delete", "cores"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(task.UPID), ":qmconfig:100:root@pam!moxxie:") {
		t.Errorf("upid %s", task.UPID)
	}
	wait(t, task)
	got := s.vm(t, "pve1", 100).VirtualMachineConfig
	if got.Cores != nil || got.Description != "line1\nline2" {
		t.Errorf("after POST: cores %v description %q", got.Cores, got.Description)
	}
}

// renderForTest is an independent rendering of PVE's config text for the
// digest check (no pending section).
func renderForTest(conf map[string]string) string {
	var b strings.Builder
	if d, ok := conf["description"]; ok {
		for _, l := range strings.Split(d, "\n") {
			b.WriteString("#" + l + "\n")
		}
	}
	for _, k := range sortedKeys(conf) {
		if k != "description" {
			b.WriteString(k + ": " + conf[k] + "\n")
		}
	}
	return b.String()
}

func TestClientPendingOnRunningVM(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	s.createVM(t, "pve1", 100, opt("name", "db"), opt("cores", 2), opt("memory", "2048"),
		opt("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0"), opt("start", 1))
	vm := s.vm(t, "pve1", 100)
	if vm.Status != "running" || vm.PID == 0 || vm.Uptime > 5 {
		t.Fatalf("started with create: status %s pid %d", vm.Status, vm.PID)
	}

	err := vm.ConfigSync(ctx, opt("cores", 4), opt("memory", "4096"), opt("name", "db2"),
		opt("tags", "prod"), opt("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr1,tag=7"), opt("ciuser", "x"))
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := s.srv.Cluster.VM(100)
	// Cloud-init options are fast-plug in PVE: applied at once, the image
	// catching up on its next regeneration.
	wantNow := map[string]string{"cores": "2", "memory": "2048", "name": "db2", "tags": "prod", "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr1,tag=7", "ciuser": "x"}
	for k, v := range wantNow {
		if cur.Config[k] != v {
			t.Errorf("current %s = %q, want %q", k, cur.Config[k], v)
		}
	}
	wantPending := map[string]string{"cores": "4", "memory": "4096"}
	if len(cur.Pending) != len(wantPending) {
		t.Errorf("pending = %v", cur.Pending)
	}
	for k, v := range wantPending {
		if cur.Pending[k] != v {
			t.Errorf("pending %s = %q, want %q", k, cur.Pending[k], v)
		}
	}

	// Default GET shows pending applied, current=1 does not.
	if got := s.vm(t, "pve1", 100).VirtualMachineConfig; *got.Cores != 4 {
		t.Errorf("config GET cores = %d, want pending 4", *got.Cores)
	}
	var current map[string]any
	if err := s.client.Get(ctx, "/nodes/pve1/qemu/100/config?current=1", &current); err != nil {
		t.Fatal(err)
	}
	if current["cores"] != float64(2) || current["memory"] != "2048" {
		t.Errorf("current=1: cores %v memory %v", current["cores"], current["memory"])
	}

	pending, err := vm.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range *pending {
		if it.Key == "cores" {
			found = it.Value == float64(2) && it.Pending == float64(4)
		}
	}
	if !found {
		t.Errorf("pending list lacks cores 2->4: %+v", pending)
	}

	// Deleting a fast-plug key on a running VM applies at once.
	if err := vm.ConfigSync(ctx, opt("delete", "sockets,ciuser")); err != nil {
		t.Fatal(err)
	}
	if cur, _ := s.srv.Cluster.VM(100); cur.Config["ciuser"] != "" || cur.Pending["ciuser"] != "" || cur.Pending["delete"] != "" {
		t.Errorf("delete ciuser: config %v pending %v", cur.Config, cur.Pending)
	}

	task, err := vm.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, task)
	after, _ := s.srv.Cluster.VM(100)
	if after.Status != "stopped" || after.Config["cores"] != "4" || after.Config["memory"] != "4096" || len(after.Pending) != 0 {
		t.Errorf("after stop: %s config %v pending %v", after.Status, after.Config, after.Pending)
	}
}

func TestClientStartStopDelete(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	s.createVM(t, "pve1", 100, opt("scsi0", "local-lvm:8"))
	vm := s.vm(t, "pve1", 100)

	task, err := vm.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, task); st.ExitStatus != "OK" || st.Type != "qmstart" {
		t.Fatalf("start: %s %s", st.Type, st.ExitStatus)
	}
	task, err = vm.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, task); st.ExitStatus != "VM 100 already running" || !st.IsFailed {
		t.Errorf("second start exit %q failed=%v", st.ExitStatus, st.IsFailed)
	}

	_, err = vm.Delete(ctx, nil)
	if err == nil || err.Error() != "500 VM 100 is running - destroy failed" {
		t.Errorf("delete running: %v", err)
	}
	task, err = vm.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, task)
	if got, _ := s.srv.Cluster.VM(100); got.Status != "stopped" {
		t.Fatalf("after shutdown: %s", got.Status)
	}

	if err := s.srv.Cluster.UpdateVM(100, map[string]string{"lock": "backup"}); err != nil {
		t.Fatal(err)
	}
	_, err = vm.Delete(ctx, nil)
	if err == nil || err.Error() != "500 VM 100 is locked (backup)" {
		t.Errorf("delete locked: %v", err)
	}
	if err := s.srv.Cluster.UpdateVM(100, map[string]string{"lock": ""}); err != nil {
		t.Fatal(err)
	}

	// The VM lives on pve1: on pve2 its config "does not exist".
	wrong := &proxmox.VirtualMachine{}
	wrong.New(s.client, "pve2", 100)
	_, err = wrong.Delete(ctx, nil)
	if err == nil || err.Error() != "500 Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist" {
		t.Errorf("delete on wrong node: %v", err)
	}

	task, err = vm.Delete(ctx, &proxmox.VirtualMachineDeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, task); st.ExitStatus != "OK" || st.Type != "qmdestroy" {
		t.Fatalf("delete: %s %s", st.Type, st.ExitStatus)
	}
	if _, ok := s.srv.Cluster.VM(100); ok {
		t.Error("VM still exists after destroy")
	}
	if _, err := s.node(t, "pve1").VirtualMachine(ctx, 100); err == nil ||
		err.Error() != "500 Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist" {
		t.Errorf("get deleted VM: %v", err)
	}
}

func TestClientNotImplementedAndUnknownNode(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	var out any
	tests := []struct {
		path, want string
	}{
		{"/nodes/pve1/lxc", "501 Method 'GET /nodes/pve1/lxc' not implemented"},
		{"/nope", "501 Method 'GET /nope' not implemented"},
		{"/nodes/pve9/qemu", "500 hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known"},
	}
	for _, tt := range tests {
		if err := s.client.Get(ctx, tt.path, &out); err == nil || err.Error() != tt.want {
			t.Errorf("GET %s: %v, want %s", tt.path, err, tt.want)
		}
	}
	// "localhost" is the node the endpoint runs on.
	var vms []map[string]any
	if err := s.client.Get(ctx, "/nodes/localhost/qemu", &vms); err != nil {
		t.Errorf("localhost alias: %v", err)
	}
}

func TestClientTicketLogin(t *testing.T) {
	s := startSim(t, testConfig())
	ctx := context.Background()
	c := proxmox.NewClient(s.srv.URL+"/api2/json",
		proxmox.WithCredentials(&proxmox.Credentials{Username: "root@pam", Password: "rootpass"}),
		proxmox.WithHTTPClient(s.http))
	sess, err := c.Ticket(ctx, &proxmox.Credentials{Username: "root@pam", Password: "rootpass"})
	if err != nil {
		t.Fatal(err)
	}
	if sess.Username != "root@pam" || sess.ClusterName != "DC1" || !strings.HasPrefix(sess.Ticket, "PVE:root@pam:") || sess.CSRFPreventionToken == "" {
		t.Fatalf("session = %+v", sess)
	}
	// A write with ticket and CSRF token works; the task records the user.
	task, err := (&proxmox.Node{}).New(c, "pve1").NewVirtualMachine(ctx, 130)
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, task); st.User != "root@pam" || st.ExitStatus != "OK" {
		t.Errorf("task user %q exit %q", st.User, st.ExitStatus)
	}

	if _, err := c.Ticket(ctx, &proxmox.Credentials{Username: "root@pam", Password: "nope"}); !errors.Is(err, proxmox.ErrNotAuthorized) {
		t.Errorf("bad password: %v", err)
	}
}
