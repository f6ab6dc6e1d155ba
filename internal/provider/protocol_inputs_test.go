package provider

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// This file drives the provider through the plugin protocol itself, the way Terraform does, so a
// test sees the exact diagnostics (summary, detail, attribute path) that Terraform would print.

// tfUnknown stands for a value Terraform does not know yet, in tfValue's input.
type tfUnknown struct{}

// tfNumber is a number written out, for values no int holds (1.5, 99999999999999999999).
type tfNumber string

// tfSet marks a Go slice as the elements of a set (plain slices become lists).
type tfSet []any

// tfValue builds a value of type typ from plain Go data: map[string]any for objects and maps,
// []any for lists, tfSet for sets, string, int, bool, nil for null, tfUnknown{} for unknown.
// Object attributes left out are null; a key the object does not have is an error, so a typo in a
// test cannot silently become a null.
func tfValue(typ tftypes.Type, v any) (tftypes.Value, error) {
	if v == nil {
		return tftypes.NewValue(typ, nil), nil
	}
	if _, ok := v.(tfUnknown); ok {
		return tftypes.NewValue(typ, tftypes.UnknownValue), nil
	}
	switch t := typ.(type) {
	case tftypes.Object:
		m, ok := v.(map[string]any)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("object wants map[string]any, got %T", v)
		}
		for k := range m {
			if _, ok := t.AttributeTypes[k]; !ok {
				return tftypes.Value{}, fmt.Errorf("object has no attribute %q", k)
			}
		}
		vals := make(map[string]tftypes.Value, len(t.AttributeTypes))
		for name, at := range t.AttributeTypes {
			av, err := tfValue(at, m[name])
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("%s: %w", name, err)
			}
			vals[name] = av
		}
		return tftypes.NewValue(t, vals), nil
	case tftypes.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("map wants map[string]any, got %T", v)
		}
		vals := make(map[string]tftypes.Value, len(m))
		for k, e := range m {
			ev, err := tfValue(t.ElementType, e)
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("[%q]: %w", k, err)
			}
			vals[k] = ev
		}
		return tftypes.NewValue(t, vals), nil
	case tftypes.List, tftypes.Set:
		var items []any
		var elem tftypes.Type
		switch c := t.(type) {
		case tftypes.List:
			l, ok := v.([]any)
			if !ok {
				return tftypes.Value{}, fmt.Errorf("list wants []any, got %T", v)
			}
			items, elem = l, c.ElementType
		case tftypes.Set:
			s, ok := v.(tfSet)
			if !ok {
				return tftypes.Value{}, fmt.Errorf("set wants tfSet, got %T", v)
			}
			items, elem = s, c.ElementType
		}
		vals := make([]tftypes.Value, len(items))
		for i, e := range items {
			ev, err := tfValue(elem, e)
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			vals[i] = ev
		}
		return tftypes.NewValue(t, vals), nil
	}
	switch {
	case typ.Is(tftypes.String):
		s, ok := v.(string)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("string wants string, got %T", v)
		}
		return tftypes.NewValue(typ, s), nil
	case typ.Is(tftypes.Number):
		if s, ok := v.(tfNumber); ok {
			f, _, err := big.ParseFloat(string(s), 10, 512, big.ToNearestEven)
			if err != nil {
				return tftypes.Value{}, err
			}
			return tftypes.NewValue(typ, f), nil
		}
		n, ok := v.(int)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("number wants int or tfNumber, got %T", v)
		}
		return tftypes.NewValue(typ, new(big.Float).SetInt64(int64(n))), nil
	case typ.Is(tftypes.Bool):
		b, ok := v.(bool)
		if !ok {
			return tftypes.Value{}, fmt.Errorf("bool wants bool, got %T", v)
		}
		return tftypes.NewValue(typ, b), nil
	}
	return tftypes.Value{}, fmt.Errorf("unsupported type %s", typ)
}

// protoPath builds a *tftypes.AttributePath: a string is an attribute name, an int a list index,
// pathKey a map key and pathSetElem a set element.
func protoPath(steps ...any) *tftypes.AttributePath {
	p := tftypes.NewAttributePath()
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			p = p.WithAttributeName(s)
		case int:
			p = p.WithElementKeyInt(s)
		case pathKey:
			p = p.WithElementKeyString(string(s))
		case pathSetElem:
			p = p.WithElementKeyValue(tftypes.NewValue(tftypes.String, string(s)))
		default:
			panic(fmt.Sprintf("protoPath: unsupported step %T", s))
		}
	}
	return p
}

type (
	pathKey     string
	pathSetElem string
)

// protoHarness is one provider server plus the schema types needed to encode values for it.
type protoHarness struct {
	t      *testing.T
	ctx    context.Context
	server tfprotov6.ProviderServer
	schema *tfprotov6.GetProviderSchemaResponse
}

func newProtoHarness(t *testing.T, env *simEnv) *protoHarness {
	t.Helper()
	server, err := env.factories()["moxxie"]()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	schema, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if errs := protoErrors(schema.Diagnostics); len(errs) > 0 {
		t.Fatalf("GetProviderSchema: %s", showProtoDiags(errs))
	}
	return &protoHarness{t: t, ctx: ctx, server: server, schema: schema}
}

func (h *protoHarness) dynamic(typ tftypes.Type, v any) *tfprotov6.DynamicValue {
	h.t.Helper()
	val, err := tfValue(typ, v)
	if err != nil {
		h.t.Fatalf("building test value: %v", err)
	}
	dv, err := tfprotov6.NewDynamicValue(typ, val)
	if err != nil {
		h.t.Fatal(err)
	}
	return &dv
}

func (h *protoHarness) resourceType(name string) tftypes.Type {
	h.t.Helper()
	s, ok := h.schema.ResourceSchemas[name]
	if !ok {
		h.t.Fatalf("no resource %s", name)
	}
	return s.ValueType()
}

func (h *protoHarness) dataSourceType(name string) tftypes.Type {
	h.t.Helper()
	s, ok := h.schema.DataSourceSchemas[name]
	if !ok {
		h.t.Fatalf("no data source %s", name)
	}
	return s.ValueType()
}

// validateProvider runs ValidateProviderConfig and, if that passes, ConfigureProvider, as
// Terraform does before it plans anything.
func (h *protoHarness) validateProvider(cfg map[string]any) []*tfprotov6.Diagnostic {
	h.t.Helper()
	dv := h.dynamic(h.schema.Provider.ValueType(), cfg)
	v, err := h.server.ValidateProviderConfig(h.ctx, &tfprotov6.ValidateProviderConfigRequest{Config: dv})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(protoErrors(v.Diagnostics)) > 0 {
		return v.Diagnostics
	}
	c, err := h.server.ConfigureProvider(h.ctx, &tfprotov6.ConfigureProviderRequest{TerraformVersion: "1.14.0", Config: dv})
	if err != nil {
		h.t.Fatal(err)
	}
	return append(v.Diagnostics, c.Diagnostics...)
}

// mustConfigure configures the provider with a configuration that has to be valid.
func (h *protoHarness) mustConfigure(cfg map[string]any) {
	h.t.Helper()
	if errs := protoErrors(h.validateProvider(cfg)); len(errs) > 0 {
		h.t.Fatalf("configuring the provider: %s", showProtoDiags(errs))
	}
}

// planCreate validates a resource configuration and, if that passes, plans its creation. plan
// reports whether the plan ran (the only step that may read from a datacenter).
func (h *protoHarness) planCreate(typeName string, cfg map[string]any) (diags []*tfprotov6.Diagnostic, plan bool) {
	h.t.Helper()
	typ := h.resourceType(typeName)
	config := h.dynamic(typ, cfg)
	v, err := h.server.ValidateResourceConfig(h.ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: typeName, Config: config})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(protoErrors(v.Diagnostics)) > 0 {
		return v.Diagnostics, false
	}
	// For a create, Terraform proposes the configuration itself: computed attributes it leaves
	// null are the provider's to plan.
	p, err := h.server.PlanResourceChange(h.ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName:         typeName,
		PriorState:       h.dynamic(typ, nil),
		ProposedNewState: config,
		Config:           config,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return append(v.Diagnostics, p.Diagnostics...), true
}

// readData validates a data source configuration and, if that passes, reads it.
func (h *protoHarness) readData(typeName string, cfg map[string]any) (diags []*tfprotov6.Diagnostic, read bool) {
	h.t.Helper()
	config := h.dynamic(h.dataSourceType(typeName), cfg)
	v, err := h.server.ValidateDataResourceConfig(h.ctx, &tfprotov6.ValidateDataResourceConfigRequest{TypeName: typeName, Config: config})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(protoErrors(v.Diagnostics)) > 0 {
		return v.Diagnostics, false
	}
	r, err := h.server.ReadDataSource(h.ctx, &tfprotov6.ReadDataSourceRequest{TypeName: typeName, Config: config})
	if err != nil {
		h.t.Fatal(err)
	}
	return append(v.Diagnostics, r.Diagnostics...), true
}

func (h *protoHarness) importState(typeName, id string) []*tfprotov6.Diagnostic {
	h.t.Helper()
	r, err := h.server.ImportResourceState(h.ctx, &tfprotov6.ImportResourceStateRequest{TypeName: typeName, ID: id})
	if err != nil {
		h.t.Fatal(err)
	}
	return r.Diagnostics
}

func protoErrors(diags []*tfprotov6.Diagnostic) []*tfprotov6.Diagnostic {
	var out []*tfprotov6.Diagnostic
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			out = append(out, d)
		}
	}
	return out
}

func showProtoDiags(diags []*tfprotov6.Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		where := "(no attribute)"
		if d.Attribute != nil {
			where = d.Attribute.String()
		}
		fmt.Fprintf(&b, "\n  %s at %s: %q / %q", d.Severity, where, d.Summary, d.Detail)
	}
	return b.String()
}

// writesTo lists the non-GET requests a simulated datacenter received, e.g. "POST /cluster/sdn/vnets".
func simWrites(e *simEnv) []string {
	var out []string
	for name, s := range e.servers {
		for _, r := range s.Cluster.Requests() {
			if r.Method != http.MethodGet {
				out = append(out, fmt.Sprintf("%s: %s %s (%d)", name, r.Method, r.Path, r.Count))
			}
		}
	}
	sort.Strings(out)
	return out
}

// requestTotal is how many requests reached any simulated datacenter.
func simRequestTotal(e *simEnv) int64 {
	var n int64
	for _, s := range e.servers {
		n += s.Cluster.RequestTotal()
	}
	return n
}

func resetSimRequests(e *simEnv) {
	for _, s := range e.servers {
		s.Cluster.ResetRequests()
	}
}
