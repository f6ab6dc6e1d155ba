package pvesim

import "testing"

// pve3 of testConfig has 8 logical CPUs.
func TestVCPULimitAtStart(t *testing.T) {
	s := startSim(t, testConfig())
	const limit = "MAX 8 vcpus allowed per VM on this node"
	running := func(vmid int) bool {
		vm, ok := s.srv.Cluster.VM(vmid)
		return ok && vm.Status == "running"
	}

	// Create accepts any count; the start refuses it, and the VM stays stopped.
	mustOK(t, "create 16", s.runTask(t, "POST", "/nodes/pve3/qemu", map[string]any{"vmid": 100, "cores": 4, "sockets": 4}))
	if exit := s.runTask(t, "POST", "/nodes/pve3/qemu/100/status/start", nil); exit != limit {
		t.Errorf("start of 16 vCPUs: exit %q, want %q", exit, limit)
	}
	if running(100) {
		t.Error("VM 100 runs despite the failed start")
	}

	// create with start=1 ends OK and forks a qmstart task, which fails: the VM stays, stopped.
	if exit := s.createStarted(t, "pve3", map[string]any{"vmid": 101, "cores": 9}); exit != limit {
		t.Errorf("the start forked by a create of 9 vCPUs: exit %q, want %q", exit, limit)
	}
	if _, ok := s.srv.Cluster.VM(101); !ok || running(101) {
		t.Errorf("VM 101 exists=%v running=%v, want a stopped VM", ok, running(101))
	}

	// Exactly the node's count starts; a pending raise is refused at reboot.
	mustOK(t, "create and start 8", s.createStarted(t, "pve3", map[string]any{"vmid": 102, "cores": 8}))
	if !running(102) {
		t.Fatal("VM 102 with 8 vCPUs does not run")
	}
	s.jok(t, "PUT", "/nodes/pve3/qemu/102/config", map[string]any{"sockets": 2})
	if exit := s.runTask(t, "POST", "/nodes/pve3/qemu/102/status/reboot", nil); exit != limit {
		t.Errorf("reboot into 16 vCPUs: exit %q", exit)
	}

	// The same VM fits a bigger node: the limit is the node's.
	mustOK(t, "create on pve1", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 103, "cores": 4, "sockets": 4}))
	mustOK(t, "start on pve1", s.runTask(t, "POST", "/nodes/pve1/qemu/103/status/start", nil))
}
