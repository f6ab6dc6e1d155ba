package pvesim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

// Tests in this file prove each injected fault with real HTTP clients.

func TestLatencyIsALowerBound(t *testing.T) {
	s := startSim(t, testConfig())
	clients := []struct {
		name string
		call func() error
	}{
		{"net/http", func() error {
			res, _, err := s.try(context.Background(), "GET", "/version", "")
			if err == nil && res.StatusCode != 200 {
				err = errors.New(res.Status)
			}
			return err
		}},
		{"go-proxmox", func() error { _, err := s.client.Version(context.Background()); return err }},
	}
	for _, f := range []Faults{
		{Latency: 150 * time.Millisecond},
		{Latency: 80 * time.Millisecond, Jitter: 80 * time.Millisecond, Seed: 3},
	} {
		s.srv.Cluster.SetFaults(f)
		for _, cl := range clients {
			start := time.Now()
			if err := cl.call(); err != nil {
				t.Fatalf("%s with %+v: %v", cl.name, f, err)
			}
			if took := time.Since(start); took < f.Latency {
				t.Errorf("%s with latency %v answered after %v", cl.name, f.Latency, took)
			}
		}
	}
}

func TestLatencyEndsWhenTheClientGivesUp(t *testing.T) {
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	c.SetFaults(Faults{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err := s.try(ctx, "POST", "/nodes/pve1/qemu", "vmid=100")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// The handler must stop sleeping once the client is gone.
	eventually(t, "the sleeping handler to return", s.handlersIdle)
	if c.RequestTotal() != 1 {
		t.Errorf("RequestTotal = %d, want 1", c.RequestTotal())
	}
	c.SetFaults(Faults{})
	if _, ok := c.VM(100); ok {
		t.Error("a request abandoned during latency was applied")
	}
}

func TestError503Rate(t *testing.T) {
	const n = 1000
	outcomes := func(seed int64) []bool {
		s := startSim(t, testConfig())
		s.srv.Cluster.SetFaults(Faults{Error503Rate: 0.1, Seed: seed})
		out := make([]bool, n)
		for i := range out {
			res, body, err := s.try(context.Background(), "GET", "/version", "")
			if err != nil {
				t.Fatal(err)
			}
			switch res.StatusCode {
			case http.StatusOK:
			case http.StatusServiceUnavailable:
				out[i] = true
				if res.Status != "503 Service Unavailable" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
					len(body) > 512 || json.Valid(body) || !strings.Contains(string(body), "Service Unavailable") {
					t.Fatalf("503 answer: %q %q %q", res.Status, res.Header.Get("Content-Type"), body)
				}
			default:
				t.Fatalf("unexpected %s", res.Status)
			}
		}
		return out
	}
	first := outcomes(1234)
	count := 0
	for _, is503 := range first {
		if is503 {
			count++
		}
	}
	if count < 70 || count > 130 {
		t.Errorf("%d of %d requests got 503 at rate 0.1", count, n)
	}
	for i, is503 := range outcomes(1234) {
		if is503 != first[i] {
			t.Fatalf("request %d: same seed, different outcome", i)
		}
	}
}

func TestError503AppliesNothing(t *testing.T) {
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	c.SetFaults(Faults{Error503Rate: 1})
	if _, err := s.client.Version(context.Background()); err == nil {
		t.Error("go-proxmox accepted a 503 answer")
	}
	res, _, err := s.try(context.Background(), "POST", "/nodes/pve1/qemu", "vmid=100")
	if err != nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("create: %v %v", res, err)
	}
	c.SetFaults(Faults{})
	c.Close() // finish any task a wrongly applied create would have started
	if vms := c.VMs(); len(vms) != 0 {
		t.Errorf("VMs after a 503 create: %+v", vms)
	}
}

// createWith creates VM vmid on pve1 through go-proxmox when n is set,
// else through net/http; the error is what the client reports.
func createWith(s *sim, n *proxmox.Node, vmid int) error {
	if n != nil {
		_, err := n.NewVirtualMachine(context.Background(), vmid, proxmox.VirtualMachineOption{Name: "name", Value: "web"})
		return err
	}
	res, _, err := s.try(context.Background(), "POST", "/nodes/pve1/qemu", "vmid="+vmidStr(vmid)+"&name=web")
	if err == nil {
		err = errors.New("got an answer: " + res.Status)
	}
	return err
}

func TestDrops(t *testing.T) {
	tests := []struct {
		client  string
		faults  Faults
		applied bool
	}{
		{"net/http", Faults{DropBeforeRate: 1}, false},
		{"go-proxmox", Faults{DropBeforeRate: 1}, false},
		{"net/http", Faults{DropAfterRate: 1}, true},
		{"go-proxmox", Faults{DropAfterRate: 1}, true},
	}
	for _, tt := range tests {
		name := tt.client + map[bool]string{false: " drop before", true: " drop after"}[tt.applied]
		t.Run(name, func(t *testing.T) {
			s := startSim(t, testConfig())
			c := s.srv.Cluster
			var node *proxmox.Node
			if tt.client == "go-proxmox" { // look the node up before the link breaks
				node = s.node(t, "pve1")
			}
			c.SetFaults(tt.faults)
			before := c.RequestTotal()
			err := createWith(s, node, 100)
			if err == nil {
				t.Fatal("client saw no error for a dropped connection")
			}
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("client error %v, want a connection reset", err)
			}
			if c.RequestTotal() == before {
				t.Error("the dropped request was not counted")
			}
			c.SetFaults(Faults{})
			if !tt.applied {
				c.Close()
				if _, ok := c.VM(100); ok {
					t.Fatalf("dropped-before create was applied (client error %v)", err)
				}
				return
			}
			eventually(t, "the create task", func() bool { vm, ok := c.VM(100); return ok && vm.Lock == "" })
			if vm, _ := c.VM(100); vm.Name != "web" {
				t.Errorf("created VM = %+v", vm)
			}
		})
	}
}

func TestDropAfterAppliesSynchronousWrites(t *testing.T) {
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	if err := c.AddVM("pve1", 100, map[string]string{"name": "old"}, false); err != nil {
		t.Fatal(err)
	}
	c.SetFaults(Faults{DropAfterRate: 1})
	if _, _, err := s.try(context.Background(), "PUT", "/nodes/pve1/qemu/100/config", "name=new"); err == nil {
		t.Fatal("no error for a dropped connection")
	}
	if vm, _ := c.VM(100); vm.Name != "new" {
		t.Errorf("name = %q, want the dropped write applied", vm.Name)
	}
}

func TestTaskFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(c *Cluster) error
		run   func(s *sim) (*proxmox.Task, error)
		check func(c *Cluster) string // "" when the state is as before
	}{
		{
			name: "create leaves no VM",
			run: func(s *sim) (*proxmox.Task, error) {
				return s.node(t, "pve1").NewVirtualMachine(context.Background(), 100, opt("scsi0", "local-lvm:4"))
			},
			check: func(c *Cluster) string {
				c.mu.Lock()
				volumes := len(c.volumes)
				c.mu.Unlock()
				if _, ok := c.VM(100); ok || volumes != 0 {
					return "a failed create left its VM or disk"
				}
				return ""
			},
		},
		{
			name:  "start leaves the VM stopped",
			setup: func(c *Cluster) error { return c.AddVM("pve1", 100, nil, false) },
			run: func(s *sim) (*proxmox.Task, error) {
				return s.vm(t, "pve1", 100).Start(context.Background())
			},
			check: func(c *Cluster) string {
				if vm, _ := c.VM(100); vm.Status != "stopped" {
					return "status " + vm.Status
				}
				return ""
			},
		},
		{
			name:  "destroy keeps the VM unlocked",
			setup: func(c *Cluster) error { return c.AddVM("pve1", 100, nil, false) },
			run: func(s *sim) (*proxmox.Task, error) {
				return s.vm(t, "pve1", 100).Delete(context.Background(), nil)
			},
			check: func(c *Cluster) string {
				if vm, ok := c.VM(100); !ok || vm.Lock != "" {
					return "VM gone or locked: " + vm.Lock
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSim(t, testConfig())
			c := s.srv.Cluster
			if tt.setup != nil {
				if err := tt.setup(c); err != nil {
					t.Fatal(err)
				}
			}
			c.SetFaults(Faults{TaskFailRate: 1})
			task, err := tt.run(s)
			if err != nil {
				t.Fatal(err)
			}
			if st := wait(t, task); st.ExitStatus != TaskFailureExit || st.IsSuccessful {
				t.Fatalf("exitstatus %q, successful %v", st.ExitStatus, st.IsSuccessful)
			}
			if msg := tt.check(c); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestTaskExtra(t *testing.T) {
	s := startSim(t, testConfig())
	s.srv.Cluster.SetFaults(Faults{TaskExtra: 300 * time.Millisecond})
	start := time.Now()
	task, err := s.node(t, "pve1").NewVirtualMachine(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Ping(context.Background()); err != nil || !task.IsRunning {
		t.Fatalf("task right after create: running %v, err %v", task.IsRunning, err)
	}
	if st := wait(t, task); st.ExitStatus != "OK" {
		t.Fatalf("exitstatus %q", st.ExitStatus)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("task finished after %v, want at least 300ms", took)
	}
}

func TestDuplicateNextID(t *testing.T) {
	tests := []struct {
		dup         bool
		wantSecond  string
		wantCollide bool
	}{{false, "101", false}, {true, "100", true}}
	for _, tt := range tests {
		t.Run(map[bool]string{false: "natural", true: "duplicate"}[tt.dup], func(t *testing.T) {
			s := startSim(t, testConfig())
			// A long task keeps the first create in flight.
			s.srv.Cluster.SetFaults(Faults{DuplicateNextID: tt.dup, TaskExtra: time.Hour})
			ctx := context.Background()
			first, err := s.client.Cluster(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id, err := first.NextID(ctx)
			if err != nil || id != 100 {
				t.Fatalf("first nextid = %d, %v", id, err)
			}
			if _, err := s.node(t, "pve1").NewVirtualMachine(ctx, id); err != nil {
				t.Fatal(err)
			}
			r := s.raw(t, "GET", "/cluster/nextid", "", "", nil)
			if got := r.body["data"]; got != tt.wantSecond {
				t.Fatalf("second nextid = %v, want %q", got, tt.wantSecond)
			}
			_, err = s.node(t, "pve1").NewVirtualMachine(ctx, 100)
			wantErr := "500 unable to create VM 100 - VM 100 already exists on node 'pve1'"
			if tt.wantCollide && (err == nil || err.Error() != wantErr) {
				t.Errorf("create with the duplicate id: %v, want %q", err, wantErr)
			}
			// Only the faulted nextid counts as a duplicate; the refused
			// create counts as a taken VMID either way.
			want := FaultCounts{VMIDTaken: 1}
			if tt.dup {
				want.DuplicateNextID = 1
			}
			want.TaskExtended = 1
			if got := s.srv.Cluster.FaultCounts(); got != want {
				t.Errorf("counts %+v, want %+v", got, want)
			}
		})
	}
}
