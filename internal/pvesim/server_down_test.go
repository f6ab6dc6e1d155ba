package pvesim

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestDownAndUp(t *testing.T) {
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	s.createVM(t, "pve1", 100, opt("name", "kept"))
	node := s.node(t, "pve1")

	for range 2 { // Down twice: the second is a no-op
		if err := s.srv.Down(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.try(context.Background(), "GET", "/version", ""); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("net/http while down: %v, want connection refused", err)
	}
	if _, err := node.VirtualMachine(context.Background(), 100); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("go-proxmox while down: %v, want connection refused", err)
	}
	if vms := c.VMs(); len(vms) != 1 {
		t.Fatalf("state while down: %+v", vms)
	}

	for range 2 { // Up on a running server is a no-op
		if err := s.srv.Up(); err != nil {
			t.Fatal(err)
		}
	}
	vm, err := node.VirtualMachine(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Name != "kept" {
		t.Errorf("VM after Up = %+v", vm)
	}
	if err := s.srv.Restart(); err == nil {
		t.Error("Restart of a running server succeeded")
	}
}

func TestDownCutsRequestsInFlight(t *testing.T) {
	s := startSim(t, testConfig())
	c := s.srv.Cluster
	c.SetFaults(Faults{Latency: time.Hour})
	errc := make(chan error, 1)
	go func() {
		_, _, err := s.try(context.Background(), "POST", "/nodes/pve1/qemu", "vmid=100")
		errc <- err
	}()
	eventually(t, "the request to arrive", func() bool { return c.RequestTotal() == 1 })

	start := time.Now()
	if err := s.srv.Down(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Down waited %v for a sleeping request", took)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("the request in flight got an answer from a downed server")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request in flight never ended")
	}
	c.SetFaults(Faults{})
	c.Close()
	if _, ok := c.VM(100); ok {
		t.Error("a request cut by Down was applied")
	}
}

func TestCloseThenUp(t *testing.T) {
	s := startSim(t, testConfig())
	if err := s.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.Up(); err != nil {
		t.Fatal(err)
	}
	if r := s.raw(t, "GET", "/version", "", "", nil); r.status != 200 {
		t.Errorf("after Close and Up: %d %s", r.status, r.line)
	}
}
