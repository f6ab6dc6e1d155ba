package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// protoState is one resource's state between protocol calls, with the private data Terraform
// keeps next to it.
type protoState struct {
	value   *tfprotov6.DynamicValue
	private []byte
}

// proposed is what Terraform proposes for an update: the configuration, with the prior state's
// value wherever the configuration leaves an attribute null (computed attributes).
func (h *protoHarness) proposed(typ tftypes.Type, prior *tfprotov6.DynamicValue, config tftypes.Value) *tfprotov6.DynamicValue {
	h.t.Helper()
	pv, err := prior.Unmarshal(typ)
	if err != nil {
		h.t.Fatal(err)
	}
	var pm, cm map[string]tftypes.Value
	if err := pv.As(&pm); err != nil {
		h.t.Fatal(err)
	}
	if err := config.As(&cm); err != nil {
		h.t.Fatal(err)
	}
	out := make(map[string]tftypes.Value, len(cm))
	for k, v := range cm {
		out[k] = v
		if v.IsNull() {
			out[k] = pm[k]
		}
	}
	dv, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, out))
	if err != nil {
		h.t.Fatal(err)
	}
	return &dv
}

// plan plans typeName towards cfg from prior (nil: a create) and returns the planned state and
// every diagnostic of validation and plan.
func (h *protoHarness) plan(typeName string, prior *protoState, cfg map[string]any) (*tfprotov6.PlanResourceChangeResponse, []*tfprotov6.Diagnostic) {
	h.t.Helper()
	typ := h.resourceType(typeName)
	val, err := tfValue(typ, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	config := h.dynamic(typ, cfg)
	v, err := h.server.ValidateResourceConfig(h.ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: typeName, Config: config})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(protoErrors(v.Diagnostics)) > 0 {
		return nil, v.Diagnostics
	}
	req := &tfprotov6.PlanResourceChangeRequest{TypeName: typeName, PriorState: h.dynamic(typ, nil), ProposedNewState: config, Config: config}
	if prior != nil {
		req.PriorState, req.PriorPrivate = prior.value, prior.private
		req.ProposedNewState = h.proposed(typ, prior.value, val)
	}
	p, err := h.server.PlanResourceChange(h.ctx, req)
	if err != nil {
		h.t.Fatal(err)
	}
	return p, append(v.Diagnostics, p.Diagnostics...)
}

// apply plans and applies cfg from prior (nil: a create) and fails the test on any error.
func (h *protoHarness) apply(typeName string, prior *protoState, cfg map[string]any) *protoState {
	h.t.Helper()
	p, diags := h.plan(typeName, prior, cfg)
	if errs := protoErrors(diags); len(errs) > 0 {
		h.t.Fatalf("plan %s: %s", typeName, showProtoDiags(errs))
	}
	typ := h.resourceType(typeName)
	req := &tfprotov6.ApplyResourceChangeRequest{TypeName: typeName, PriorState: h.dynamic(typ, nil),
		PlannedState: p.PlannedState, PlannedPrivate: p.PlannedPrivate, Config: h.dynamic(typ, cfg)}
	if prior != nil {
		req.PriorState = prior.value
	}
	a, err := h.server.ApplyResourceChange(h.ctx, req)
	if err != nil {
		h.t.Fatal(err)
	}
	if errs := protoErrors(a.Diagnostics); len(errs) > 0 {
		h.t.Fatalf("apply %s: %s", typeName, showProtoDiags(errs))
	}
	return &protoState{value: a.NewState, private: a.Private}
}

// refresh reads the resource as terraform plan does before planning.
func (h *protoHarness) refresh(typeName string, s *protoState) (*protoState, []*tfprotov6.Diagnostic) {
	h.t.Helper()
	r, err := h.server.ReadResource(h.ctx, &tfprotov6.ReadResourceRequest{TypeName: typeName, CurrentState: s.value, Private: s.private})
	if err != nil {
		h.t.Fatal(err)
	}
	if errs := protoErrors(r.Diagnostics); len(errs) > 0 {
		h.t.Fatalf("refresh %s: %s", typeName, showProtoDiags(errs))
	}
	return &protoState{value: r.NewState, private: r.Private}, r.Diagnostics
}

func protoWarnings(diags []*tfprotov6.Diagnostic) []*tfprotov6.Diagnostic {
	var out []*tfprotov6.Diagnostic
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityWarning {
			out = append(out, d)
		}
	}
	return out
}

// The reboot warning appears only while PVE really holds a change pending, and names it: a
// refresh of a VM with nothing pending (stopped or running) used to warn "(null)" on every plan,
// and Terraform folded the real warning behind that false one.
func TestAccVM_rebootWarningOnlyWhenPending(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("leaves its VMs to the simulator's end (the protocol harness destroys nothing)")
	h := newProtoHarness(t, env)
	h.mustConfigure(map[string]any{"datacenters": map[string]any{"DC1": map[string]any{
		"proxmox_url": env.endpoints["DC1"].URL, "api_token": env.endpoints["DC1"].apiToken(), "tls_fingerprint": env.endpoints["DC1"].Fingerprint,
	}}})
	vm := func(name string, cores int, started bool) map[string]any {
		return map[string]any{"name": name, "datacenter": "DC1", "cores": cores, "started": started}
	}
	rebootWarnings := func(t *testing.T, s *protoState, cfg map[string]any) []*tfprotov6.Diagnostic {
		t.Helper()
		s, _ = h.refresh("moxxie_vm", s)
		_, diags := h.plan("moxxie_vm", s, cfg)
		if errs := protoErrors(diags); len(errs) > 0 {
			t.Fatalf("plan: %s", showProtoDiags(errs))
		}
		var out []*tfprotov6.Diagnostic
		for _, w := range protoWarnings(diags) {
			if w.Summary == "Changes wait for a reboot" {
				out = append(out, w)
			}
		}
		return out
	}

	stopped := h.apply("moxxie_vm", nil, vm("cold-1", 1, false))
	if w := rebootWarnings(t, stopped, vm("cold-1", 1, false)); len(w) > 0 {
		t.Errorf("stopped VM with nothing pending warns:%s", showProtoDiags(w))
	}
	running := h.apply("moxxie_vm", nil, vm("warm-1", 1, true))
	if w := rebootWarnings(t, running, vm("warm-1", 1, true)); len(w) > 0 {
		t.Errorf("running VM with nothing pending warns:%s", showProtoDiags(w))
	}

	// cores cannot be hot-plugged: PVE keeps the change pending on the running VM.
	running, _ = h.refresh("moxxie_vm", running)
	running = h.apply("moxxie_vm", running, vm("warm-1", 2, true))
	w := rebootWarnings(t, running, vm("warm-1", 2, true))
	if len(w) != 1 {
		t.Fatalf("want one reboot warning for the pending cores, got %d:%s", len(w), showProtoDiags(w))
	}
	if !strings.Contains(w[0].Detail, "(cores)") || strings.Contains(w[0].Detail, "null") || strings.Contains(w[0].Detail, "[") {
		t.Errorf("warning does not name the pending setting plainly: %q", w[0].Detail)
	}
}

// applyErr plans and applies a create that is expected to fail, returning the new state Terraform
// would record (null: nothing) and the apply's diagnostics.
func (h *protoHarness) applyErr(typeName string, cfg map[string]any) (tftypes.Value, []*tfprotov6.Diagnostic) {
	h.t.Helper()
	p, diags := h.plan(typeName, nil, cfg)
	if errs := protoErrors(diags); len(errs) > 0 {
		h.t.Fatalf("plan %s: %s", typeName, showProtoDiags(errs))
	}
	typ := h.resourceType(typeName)
	a, err := h.server.ApplyResourceChange(h.ctx, &tfprotov6.ApplyResourceChangeRequest{TypeName: typeName, PriorState: h.dynamic(typ, nil),
		PlannedState: p.PlannedState, PlannedPrivate: p.PlannedPrivate, Config: h.dynamic(typ, cfg)})
	if err != nil {
		h.t.Fatal(err)
	}
	if a.NewState == nil {
		return tftypes.NewValue(typ, nil), a.Diagnostics
	}
	v, err := a.NewState.Unmarshal(typ)
	if err != nil {
		h.t.Fatal(err)
	}
	return v, a.Diagnostics
}

// A refused allocation (its VLAN is another's) creates nothing, so it leaves nothing in state:
// Terraform kept it as tainted, to destroy and re-create on the next apply.
func TestAccNetworkAllocation_refusedLeavesNothingInState(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"}, simDC{name: "DC2"}, simDC{name: "DC3"})
	env.requireSim("counts the simulator's vnets, and leaves the first allocation for the simulator's end")
	h := newProtoHarness(t, env)
	h.mustConfigure(goodDatacenters(env).config())
	h.apply("moxxie_network_allocation", nil, map[string]any{"datacenter": "DC1", "client_id": "acme", "vlan_id": 100})
	state, diags := h.applyErr("moxxie_network_allocation", map[string]any{"datacenter": "DC1", "client_id": "globex", "vlan_id": 100})
	errs := protoErrors(diags)
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, "requested VLAN 100 is already in use") {
		t.Fatalf("want the refusal, got:%s", showProtoDiags(diags))
	}
	if !state.IsNull() {
		t.Errorf("a refused allocation left state behind: %v", state)
	}
	if n := len(env.cluster("DC1").SDN().Applied.Vnets); n != 1 {
		t.Errorf("DC1 holds %d vnets, want the first allocation's only", n)
	}
}
