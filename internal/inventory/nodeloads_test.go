package inventory

import (
	"reflect"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
)

// What a node carries: its live VMs that count under the policy (running ones, or every one with
// count_stopped_vms), never templates, migration leftovers or the VM a plan replaces.
func TestNodeLoads(t *testing.T) {
	s := Snapshot{
		Nodes: []placement.NodeUsage{
			{Name: "pve1", Online: true, Cores: 16, MemoryBytes: 64 << 30},
			{Name: "pve2", Cores: 8, MemoryBytes: 32 << 30},
		},
		VMs: []VM{
			{VMID: 100, Node: "pve1", Running: true, Cores: 4, MemoryMB: 4096},
			{VMID: 101, Node: "pve1", Cores: 2, MemoryMB: 2048}, // stopped
			{VMID: 102, Node: "pve1", Running: true, Cores: 8, MemoryMB: 8192, Template: true},
			{VMID: 103, Node: "pve1", Running: true, Cores: 8, MemoryMB: 8192, Lock: "migrate"},
			{VMID: 104, Node: "pve1", Running: true, Cores: 1, MemoryMB: 1024}, // replaced by the plan
			{VMID: 105, Node: "pve2", Running: true, Cores: 1, MemoryMB: 512},
			{VMID: 106, Node: "gone", Running: true, Cores: 1, MemoryMB: 512},
		},
	}
	got := s.NodeLoads(placement.Policy{}, 104)
	want := []placement.Node{
		{Name: "pve1", Online: true, CPUs: 16, MemoryMB: 65536, AllocatedCores: 4, AllocatedMemoryMB: 4096},
		{Name: "pve2", CPUs: 8, MemoryMB: 32768, AllocatedCores: 1, AllocatedMemoryMB: 512},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("NodeLoads = %+v, want %+v", got, want)
	}
	got = s.NodeLoads(placement.Policy{CountStopped: true}, 0)
	if got[0].AllocatedCores != 4+2+1 || got[0].AllocatedMemoryMB != 4096+2048+1024 {
		t.Fatalf("with stopped VMs counted, pve1 = %+v", got[0])
	}
}
