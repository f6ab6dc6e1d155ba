package pvesim

import "testing"

func TestSetNodeOnline(t *testing.T) {
	c := New(Config{Name: "DC1", Nodes: []NodeConfig{{Name: "pve1", Cores: 8, MemoryMB: 8192}, {Name: "pve2", Cores: 8, MemoryMB: 8192}}})
	if err := c.SetNodeOnline("pve2", false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetNodeOnline("pve9", false); err == nil {
		t.Fatal("an unknown node must be an error")
	}
	c.mu.Lock()
	off := c.nodeResource(c.node("pve2"))
	on := c.nodeResource(c.node("pve1"))
	c.mu.Unlock()
	if off["status"] != "offline" || on["status"] != "online" {
		t.Fatalf("status: pve1 %v, pve2 %v", on["status"], off["status"])
	}
	if _, ok := off["mem"]; ok || off["maxcpu"] != 8 {
		t.Fatalf("offline node figures: %v", off)
	}
}
