package pvesim

import "testing"

// Answers of the read routes clients call on every refresh, held against
// the schema's returns. /cluster/nextid is left out: PVE declares an
// integer but answers a string, and so does the simulator.
func TestReadRoutesReturnSchemaShapes(t *testing.T) {
	cfg := storageTestConfig()
	cfg.Pools = []PoolConfig{{ID: "web"}}
	s := startSim(t, cfg)
	mustOK(t, "start", s.createStarted(t, "pve1", map[string]any{
		"vmid": 100, "scsi0": "local-lvm:8", "net0": "virtio,bridge=vmbr0", "agent": "1", "pool": "web"}))
	mustOK(t, "snapshot", s.runTask(t, "POST", "/nodes/pve1/qemu/100/snapshot", map[string]any{"snapname": "s1"}))
	s.baseSDN(t)
	for _, tt := range []struct{ path, pattern string }{
		{"/version", "/version"},
		{"/cluster/status", "/cluster/status"},
		{"/cluster/resources", "/cluster/resources"},
		{"/cluster/tasks", "/cluster/tasks"},
		{"/nodes", "/nodes"},
		{"/nodes/pve1/status", "/nodes/{node}/status"},
		{"/nodes/pve1/storage", "/nodes/{node}/storage"},
		{"/nodes/pve1/tasks", "/nodes/{node}/tasks"},
		{"/nodes/pve1/qemu", "/nodes/{node}/qemu"},
		{"/nodes/pve1/qemu/100/config", "/nodes/{node}/qemu/{vmid}/config"},
		{"/nodes/pve1/qemu/100/pending", "/nodes/{node}/qemu/{vmid}/pending"},
		{"/nodes/pve1/qemu/100/status/current", "/nodes/{node}/qemu/{vmid}/status/current"},
		{"/nodes/pve1/qemu/100/snapshot", "/nodes/{node}/qemu/{vmid}/snapshot"},
		{"/pools", "/pools"},
		{"/pools/web", "/pools/{poolid}"},
		{"/storage", "/storage"},
		{"/cluster/sdn/zones", "/cluster/sdn/zones"},
		{"/cluster/sdn/vnets", "/cluster/sdn/vnets"},
	} {
		got := s.jok(t, "GET", tt.path, nil)
		for _, p := range returnsProblems("GET "+tt.path, loadReturns(t, "GET", tt.pattern), got) {
			t.Error(p)
		}
	}
}
