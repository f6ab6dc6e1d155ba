package placement

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestPolicyFigures(t *testing.T) {
	n := Node{Name: "pve1", Online: true, CPUs: 32, MemoryMB: 131072, AllocatedCores: 40, AllocatedMemoryMB: 65536}
	cases := []struct {
		name                 string
		p                    Policy
		coreCap, freeCores   int64
		memCap, freeMemoryMB int64
	}{
		{"defaults: vCPUs unbounded, memory 1:1", Policy{}, Unlimited, Unlimited, 131072, 65536},
		{"cpu ratio 2 leaves 24 of 64", Policy{CPURatio: 2}, 64, 24, 131072, 65536},
		{"cpu ratio 1 is already over: 0, never negative", Policy{CPURatio: 1}, 32, 0, 131072, 65536},
		{"fractional cpu ratio rounds down", Policy{CPURatio: 1.3}, 41, 1, 131072, 65536},
		{"memory ratio 1.5", Policy{MemoryRatio: 1.5}, Unlimited, Unlimited, 196608, 131072},
		{"reserved memory comes off the capacity", Policy{ReservedMemoryMB: 4096}, Unlimited, Unlimited, 126976, 61440},
		{"ratio and reserve together", Policy{MemoryRatio: 0.5, ReservedMemoryMB: 2048}, Unlimited, Unlimited, 63488, 0},
		{"reserve above the node's memory reads as 0", Policy{ReservedMemoryMB: 200000}, Unlimited, Unlimited, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := []int64{tc.p.CoreCapacity(n), tc.p.FreeCores(n), tc.p.MemoryCapacity(n), tc.p.FreeMemoryMB(n)}
			want := []int64{tc.coreCap, tc.freeCores, tc.memCap, tc.freeMemoryMB}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("core capacity, free cores, memory capacity, free memory = %v, want %v", got, want)
			}
		})
	}
}

func TestPack(t *testing.T) {
	node := func(name string, cpus, memMB, allocCores, allocMem int64) Node {
		return Node{Name: name, Online: true, CPUs: cpus, MemoryMB: memMB, AllocatedCores: allocCores, AllocatedMemoryMB: allocMem}
	}
	vm := func(name string, cores, memMB int64) Request {
		return Request{Name: name, Cores: cores, MemoryMB: memMB, Running: true}
	}
	two := []Node{node("pve1", 32, 8192, 0, 0), node("pve2", 32, 4096, 0, 0)}
	cases := []struct {
		name     string
		nodes    []Node
		p        Policy
		reqs     []Request
		want     map[string]string
		resource string   // of the error; "" = fits
		vm       string   // the VM the error names
		contains []string // in the message
	}{
		{"largest first packs what most-free-memory-each-alone cannot", two, Policy{},
			[]Request{vm("small", 1, 2048), vm("mid", 1, 4096), vm("big", 1, 6144)},
			map[string]string{"big": "pve1", "mid": "pve2", "small": "pve1"}, "", "", nil},
		{"best fit: the tightest node that takes it", two, Policy{},
			[]Request{vm("a", 1, 1024)}, map[string]string{"a": "pve2"}, "", "", nil},
		{"ties go to the lowest name", []Node{node("pve2", 8, 4096, 0, 0), node("pve1", 8, 4096, 0, 0)}, Policy{},
			[]Request{vm("a", 1, 1024)}, map[string]string{"a": "pve1"}, "", "", nil},
		{"fits only spread over the nodes", []Node{node("pve1", 8, 4096, 0, 0), node("pve2", 8, 4096, 0, 0)}, Policy{},
			[]Request{vm("a", 1, 3072), vm("b", 1, 3072)}, map[string]string{"a": "pve1", "b": "pve2"}, "", "", nil},
		{"the whole plan is judged: the third of three fits no node", []Node{node("pve1", 8, 4096, 0, 0), node("pve2", 8, 4096, 0, 0)}, Policy{},
			[]Request{vm("a", 1, 2560), vm("b", 1, 2560), vm("c", 1, 2560)}, nil, "memory", "c",
			[]string{"VM c needs 2560 MiB of memory; no online node of DC1", "pve1: 1536 of 4096 MiB free", "pve2: 1536 of 4096 MiB free", "counted together with the VMs planned with it in this run (best fit, largest first): a, b"}},
		{"overcommit without a cpu ratio: 100 vCPUs on 96 CPUs", []Node{node("pve1", 32, 65536, 0, 0), node("pve2", 32, 65536, 0, 0), node("pve3", 32, 65536, 0, 0)}, Policy{},
			[]Request{vm("a", 32, 1024), vm("b", 32, 1024), vm("c", 32, 1024), vm("d", 4, 1024)}, map[string]string{"a": "pve1", "b": "pve1", "c": "pve1", "d": "pve1"}, "", "", nil},
		{"no VM more vCPUs than its node has, whatever the ratio", []Node{node("pve1", 32, 131072, 0, 0), node("pve2", 32, 131072, 0, 0)}, Policy{CPURatio: 4},
			[]Request{vm("web", 40, 1024)}, nil, "cores", "web",
			[]string{"VM web needs 40 vCPUs; the most any online node of DC1 has is 32 (pve1: 32, pve2: 32)"}},
		{"cpu ratio bounds the node's vCPUs", []Node{node("pve1", 16, 65536, 30, 0), node("pve2", 16, 65536, 28, 0)}, Policy{CPURatio: 2},
			[]Request{vm("a", 4, 1024)}, map[string]string{"a": "pve2"}, "", "", nil},
		{"cpu ratio exhausted everywhere", []Node{node("pve1", 16, 65536, 30, 0), node("pve2", 16, 65536, 29, 0)}, Policy{CPURatio: 2},
			[]Request{vm("a", 4, 1024)}, nil, "cores", "a",
			[]string{"no online node of DC1 has that many free", "pve1: 2 of 32 vCPUs free (16 CPUs × cpu_allocation_ratio 2, 30 allocated)", "pve2: 3 of 32"}},
		{"memory over every node, though the DC's total would take it", []Node{node("pve1", 32, 131072, 0, 0), node("pve2", 32, 131072, 0, 0)}, Policy{},
			[]Request{vm("big", 8, 200000)}, nil, "memory", "big",
			[]string{"VM big needs 200000 MiB of memory", "pve1: 131072 of 131072 MiB free (131072 MiB × memory_allocation_ratio 1 − reserved_memory_mb 0, 0 MiB allocated)"}},
		{"memory ratio lets it in", []Node{node("pve1", 32, 131072, 0, 0)}, Policy{MemoryRatio: 2},
			[]Request{vm("big", 8, 200000)}, map[string]string{"big": "pve1"}, "", "", nil},
		{"reserved memory keeps the host's share", []Node{node("pve1", 8, 8192, 0, 0)}, Policy{ReservedMemoryMB: 2048},
			[]Request{vm("a", 1, 6144), vm("b", 1, 16)}, nil, "memory", "b",
			[]string{"0 of 6144 MiB free (8192 MiB × memory_allocation_ratio 1 − reserved_memory_mb 2048, 6144 MiB allocated)"}},
		{"stopped VMs take no capacity by default", []Node{node("pve1", 8, 4096, 0, 0)}, Policy{},
			[]Request{{Name: "cold", Cores: 1, MemoryMB: 4096}, vm("hot", 1, 4096)}, map[string]string{"cold": "pve1", "hot": "pve1"}, "", "", nil},
		{"stopped VMs count when asked to", []Node{node("pve1", 8, 4096, 0, 0)}, Policy{CountStopped: true},
			[]Request{{Name: "cold", Cores: 1, MemoryMB: 4096}, vm("hot", 1, 4096)}, nil, "memory", "hot", []string{"counted together", "cold"}},
		{"a stopped VM must still fit when it starts", []Node{node("pve1", 8, 4096, 0, 0)}, Policy{},
			[]Request{{Name: "cold", Cores: 1, MemoryMB: 8192}}, nil, "memory", "cold", []string{"has that much in all (it is stopped, but must fit when it starts)"}},
		{"a stopped VM goes where running ones leave no room now: the node with most free of those it fits", []Node{node("pve1", 8, 4096, 0, 4096), node("pve2", 8, 4096, 0, 3072), node("pve3", 8, 2048, 0, 0)}, Policy{},
			[]Request{{Name: "cold", Cores: 1, MemoryMB: 3072}}, map[string]string{"cold": "pve2"}, "", "", nil},
		{"a stopped VM that counts is judged on what is free", []Node{node("pve1", 8, 4096, 0, 4096)}, Policy{CountStopped: true},
			[]Request{{Name: "cold", Cores: 1, MemoryMB: 3072}}, nil, "memory", "cold", []string{"that much free"}},
		{"an explicit node is honoured and placed first", two, Policy{},
			[]Request{vm("big", 1, 6144), {Name: "pinned", Cores: 1, MemoryMB: 3072, Running: true, Node: "pve1"}},
			nil, "memory", "big", []string{"pinned"}},
		{"an explicit node that cannot take it", two, Policy{},
			[]Request{{Name: "web", Cores: 1, MemoryMB: 6144, Running: true, Node: "pve2"}}, nil, "memory", "web",
			[]string{"VM web needs 6144 MiB of memory; node pve2 of DC1 has 4096 of 4096 MiB free"}},
		{"an explicit node with too few CPUs", two, Policy{},
			[]Request{{Name: "web", Cores: 33, MemoryMB: 16, Running: true, Node: "pve2"}}, nil, "cores", "web",
			[]string{"VM web needs 33 vCPUs; node pve2 of DC1 has 32 CPUs, and PVE allows no VM more vCPUs than its node has"}},
		{"an explicit node that does not exist", two, Policy{},
			[]Request{{Name: "web", Cores: 1, MemoryMB: 16, Node: "pve9"}}, nil, "node", "web",
			[]string{"VM web cannot go on node pve9: DC1 has no such node (its nodes: pve1, pve2)"}},
		{"an explicit node that is offline", []Node{node("pve1", 8, 8192, 0, 0), {Name: "pve2", CPUs: 8, MemoryMB: 8192}}, Policy{},
			[]Request{{Name: "web", Cores: 1, MemoryMB: 16, Node: "pve2"}}, nil, "node", "web",
			[]string{"VM web cannot go on node pve2 of DC1: the node is offline"}},
		{"offline nodes take nothing", []Node{{Name: "pve1", CPUs: 64, MemoryMB: 65536}, node("pve2", 8, 2048, 0, 0)}, Policy{},
			[]Request{vm("a", 1, 4096)}, nil, "memory", "a", []string{"(pve2: 2048 of 2048 MiB free"}},
		{"no online node at all", []Node{{Name: "pve1", CPUs: 64, MemoryMB: 65536}}, Policy{},
			[]Request{vm("a", 1, 16)}, nil, "node", "a", []string{"DC1 has no online node"}},
		{"existing allocations count", []Node{node("pve1", 8, 8192, 0, 7168), node("pve2", 8, 8192, 0, 6144)}, Policy{},
			[]Request{vm("a", 1, 2048)}, map[string]string{"a": "pve2"}, "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Pack("DC1", tc.nodes, tc.p, tc.reqs)
			if tc.resource == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("Pack = %v, want %v", got, tc.want)
				}
				return
			}
			var fe *NodeFitError
			if !errors.As(err, &fe) || fe.Resource != tc.resource || fe.VM != tc.vm {
				t.Fatalf("want a %s NodeFitError for %s, got %v (%#v)", tc.resource, tc.vm, err, fe)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err.Error(), s)
				}
			}
		})
	}
}

// Pack is a pure function of its inputs: the order of nodes and requests changes nothing, and it
// leaves the caller's nodes as they were.
// Node affinity steers the choice among the nodes that take the VM; it never makes a VM fit
// nowhere (the plan check refuses rules that cannot be met).
func TestPackSteersByAffinity(t *testing.T) {
	three := []Node{
		{Name: "pve1", Online: true, CPUs: 8, MemoryMB: 8192},
		{Name: "pve2", Online: true, CPUs: 8, MemoryMB: 4096},
		{Name: "pve3", Online: true, CPUs: 8, MemoryMB: 2048},
	}
	cases := []struct {
		name          string
		avoid, prefer []string
		memMB         int64
		want          string
	}{
		{"no rules: best fit", nil, nil, 1024, "pve3"},
		{"avoid the best fit", []string{"pve3"}, nil, 1024, "pve2"},
		{"avoid two", []string{"pve3", "pve2"}, nil, 1024, "pve1"},
		{"avoid every node that takes it: best fit among all", []string{"pve1", "pve2", "pve3"}, nil, 1024, "pve3"},
		{"avoid only where it does not fit anyway", []string{"pve3"}, nil, 4096, "pve2"},
		{"prefer a looser node", nil, []string{"pve1"}, 1024, "pve1"},
		{"prefer a node it does not fit on: best fit", nil, []string{"pve3"}, 4096, "pve2"},
		{"avoid wins over prefer on the same node", []string{"pve1"}, []string{"pve1"}, 1024, "pve3"},
		{"avoid, then prefer among the rest", []string{"pve3"}, []string{"pve1"}, 1024, "pve1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Pack("DC1", three, Policy{}, []Request{{Name: "a", Cores: 1, MemoryMB: tc.memMB, Running: true, Avoid: tc.avoid, Prefer: tc.prefer}})
			if err != nil || got["a"] != tc.want {
				t.Fatalf("Pack = %v, %v; want a on %s", got, err, tc.want)
			}
		})
	}
}

func TestPackIsDeterministic(t *testing.T) {
	nodes := []Node{{Name: "b", Online: true, CPUs: 8, MemoryMB: 8192}, {Name: "a", Online: true, CPUs: 8, MemoryMB: 8192}, {Name: "c", Online: true, CPUs: 8, MemoryMB: 4096}}
	reqs := []Request{{Name: "x", Cores: 2, MemoryMB: 4096, Running: true}, {Name: "y", Cores: 2, MemoryMB: 4096, Running: true}, {Name: "z", Cores: 2, MemoryMB: 2048, Running: true}, {Name: "w", Cores: 4, MemoryMB: 2048, Running: true}}
	first, err := Pack("DC1", nodes, Policy{}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	rn := []Node{nodes[2], nodes[0], nodes[1]}
	rr := []Request{reqs[3], reqs[1], reqs[2], reqs[0]}
	again, err := Pack("DC1", rn, Policy{}, rr)
	if err != nil || !reflect.DeepEqual(first, again) {
		t.Fatalf("reordered inputs: %v (%v), first %v", again, err, first)
	}
	if nodes[0].AllocatedMemoryMB != 0 || rn[0].AllocatedMemoryMB != 0 {
		t.Fatal("Pack changed the caller's nodes")
	}
}

func TestFitsCount(t *testing.T) {
	nodes := []Node{
		{Name: "pve1", Online: true, CPUs: 16, MemoryMB: 16384, AllocatedCores: 8, AllocatedMemoryMB: 4096},
		{Name: "pve2", Online: true, CPUs: 4, MemoryMB: 65536},
		{Name: "pve3", CPUs: 64, MemoryMB: 262144},
	}
	cases := []struct {
		name         string
		c            Capacity
		p            Policy
		cores, memMB int64
		want         int64
	}{
		{"memory bounds each node; offline ones take none", Capacity{}, Policy{}, 2, 4096, 3 + 16},
		{"a VM wider than a node fits none there", Capacity{}, Policy{}, 8, 4096, 3},
		{"cpu ratio bounds too", Capacity{}, Policy{CPURatio: 1}, 2, 1024, 4 + 2},
		{"reserved memory", Capacity{}, Policy{ReservedMemoryMB: 4096}, 1, 4096, 2 + 15},
		{"the VM limit on top", Capacity{Allocated: Allocated{VMs: 8}, Limits: Limits{MaxVMs: 10}}, Policy{}, 1, 1024, 2},
		{"the memory limit on top", Capacity{Allocated: Allocated{MemoryMB: 4096}, Limits: Limits{MaxMemoryMB: 12288}}, Policy{}, 1, 2048, 4},
		{"nonsense size", Capacity{}, Policy{}, 0, 1024, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := FitsCount(tc.c, nodes, tc.p, tc.cores, tc.memMB); got != tc.want {
				t.Fatalf("FitsCount = %d, want %d", got, tc.want)
			}
		})
	}
	cores, mem := NodesFree(nodes, Policy{})
	if cores != Unlimited || mem != 12288+65536 {
		t.Fatalf("NodesFree = %d, %d", cores, mem)
	}
	if cores, _ := NodesFree(nodes, Policy{CPURatio: 2}); cores != 24+8 {
		t.Fatalf("NodesFree cores under ratio 2 = %d", cores)
	}
}
