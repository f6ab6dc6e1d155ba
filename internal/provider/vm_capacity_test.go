package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/moxxie/terraform-provider-moxxie/internal/placement"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// Create takes its node from the packing of the whole run, not from the VM alone, and books it:
// created smallest first (the worst order for choosing each alone), three VMs still land as the
// plan packed them, where "the node with the most free memory" or a best fit of each alone would
// leave the largest without a node.
func TestPlacement_createFollowsThePacking(t *testing.T) {
	t.Setenv("TF_ACC", "1")
	env := newSimEnv(t, simDC{name: "DC1", nodes: []pvesim.NodeConfig{{Name: "pve1", Cores: 8, MemoryMB: 8192}, {Name: "pve2", Cores: 8, MemoryMB: 4096}}})
	data := env.providerData(t)
	r := &vmResource{data: data}
	c, err := data.client("DC1")
	if err != nil {
		t.Fatal(err)
	}
	plan := func(name string, memMB int64) vmModel {
		return vmModel{Name: types.StringValue(name), Datacenter: types.StringValue("DC1"), Cores: types.Int64Value(1),
			MemoryMB: types.Int64Value(memMB), Started: types.BoolValue(true), Node: types.StringUnknown()}
	}
	sizes := []struct {
		name  string
		memMB int64
		want  string
	}{{"small", 2048, "pve1"}, {"mid", 4096, "pve2"}, {"big", 6144, "pve1"}}
	for _, s := range sizes {
		data.ledger.Record(plannedVM(context.Background(), plan(s.name, s.memMB), nil, nil)) // as the plans of the run do
	}
	for i, s := range sizes {
		node, err := r.chooseNode(context.Background(), c, plan(s.name, s.memMB), "00000000000000a"+itoa(i), nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if node != s.want {
			t.Errorf("%s went on %s, want %s", s.name, node, s.want)
		}
	}
	// Every VM is booked once, by its new identity, on its node.
	booked := data.ledger.InDC(placement.Planned{Name: "none", DC: "DC1"}, func(placement.Planned) bool { return true })
	if len(booked) != 3 {
		t.Fatalf("ledger after the creates: %+v", booked)
	}
	for _, b := range booked {
		if b.ID == "" || b.Node == "" {
			t.Errorf("not booked: %+v", b)
		}
	}
	// A fourth fits nowhere now: Create refuses it, naming the nodes, and books nothing.
	if _, err := r.chooseNode(context.Background(), c, plan("late", 1024), "00000000000000b0", nil, nil); err == nil {
		t.Fatal("a VM no node has room for was placed")
	} else if !strings.HasPrefix(err.Error(), "no node of datacenter DC1 takes the VM any more: VM late needs 1024 MiB of memory") {
		t.Fatalf("error = %v", err)
	}
}
