package pvesim

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"
)

// The returns check holds a route's answer against the schema's `returns`:
// every property the schema does not mark optional must be present, with
// the JSON type it declares.

type schemaReturns struct {
	Type       string                   `json:"type"`
	Optional   any                      `json:"optional"`
	Properties map[string]schemaReturns `json:"properties"`
	Items      *schemaReturns           `json:"items"`
}

func loadReturns(t *testing.T, method, path string) schemaReturns {
	t.Helper()
	data, err := os.ReadFile(findSchemaFile(t))
	if err != nil {
		t.Fatal(err)
	}
	var nodes []returnsNode
	if err := json.Unmarshal(data, &nodes); err != nil {
		t.Fatal(err)
	}
	var found *schemaReturns
	var walk func(n returnsNode)
	walk = func(n returnsNode) {
		if n.Path == path {
			if m, ok := n.Info[method]; ok {
				found = &m.Returns
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	if found == nil {
		t.Fatalf("%s %s not in the schema", method, path)
	}
	return *found
}

type returnsNode struct {
	Path string `json:"path"`
	Info map[string]struct {
		Returns schemaReturns `json:"returns"`
	} `json:"info"`
	Children []returnsNode `json:"children"`
}

// returnsProblems lists what v lacks or mistypes against r.
func returnsProblems(at string, r schemaReturns, v any) []string {
	var out []string
	typeOK := func() bool {
		switch r.Type {
		case "object":
			_, ok := v.(map[string]any)
			return ok
		case "array":
			_, ok := v.([]any)
			return ok
		case "string":
			_, ok := v.(string)
			return ok
		case "integer", "number":
			_, ok := v.(float64)
			return ok
		case "boolean":
			f, ok := v.(float64)
			return ok && (f == 0 || f == 1)
		}
		return true
	}
	if !typeOK() {
		return []string{fmt.Sprintf("%s: %#v is not %s", at, v, r.Type)}
	}
	switch x := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(r.Properties))
		for k := range r.Properties {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			p := r.Properties[k]
			pv, ok := x[k]
			if !ok {
				if !truthy(p.Optional) {
					out = append(out, fmt.Sprintf("%s.%s: missing", at, k))
				}
				continue
			}
			out = append(out, returnsProblems(at+"."+k, p, pv)...)
		}
	case []any:
		if r.Items != nil {
			for i, item := range x {
				out = append(out, returnsProblems(fmt.Sprintf("%s[%d]", at, i), *r.Items, item)...)
			}
		}
	}
	return out
}

func TestReturnsCheckerCatchesMistakes(t *testing.T) {
	r := schemaReturns{Type: "object", Properties: map[string]schemaReturns{
		"a": {Type: "integer"},
		"b": {Type: "string", Optional: 1.0},
	}}
	if p := returnsProblems("x", r, map[string]any{"a": float64(1)}); len(p) != 0 {
		t.Errorf("valid answer reported: %v", p)
	}
	if p := returnsProblems("x", r, map[string]any{"b": "s"}); len(p) != 1 {
		t.Errorf("missing a not reported: %v", p)
	}
	if p := returnsProblems("x", r, map[string]any{"a": "1"}); len(p) != 1 {
		t.Errorf("string a not reported: %v", p)
	}
}

func TestNodeStatusHasSchemaFields(t *testing.T) {
	s := startSim(t, testConfig())
	got := s.jok(t, "GET", "/nodes/pve1/status", nil)
	for _, p := range returnsProblems("status", loadReturns(t, "GET", "/nodes/{node}/status"), got) {
		t.Error(p)
	}
}
