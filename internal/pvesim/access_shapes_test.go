package pvesim

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// returnSchema is the part of a method's "returns" the shape check reads.
type returnSchema struct {
	Type       string                  `json:"type"`
	Optional   any                     `json:"optional"`
	Properties map[string]returnSchema `json:"properties"`
	Items      *returnSchema           `json:"items"`
}

// checkShape reports where value departs from the schema: unknown or
// missing keys, wrong JSON types (PVE answers booleans as 0/1).
func checkShape(where string, sc returnSchema, value any) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, where+": "+fmt.Sprintf(format, args...)) }
	switch sc.Type {
	case "array":
		list, ok := value.([]any)
		if !ok {
			bad("want an array, got %T", value)
			return out
		}
		if sc.Items != nil {
			for i, v := range list {
				out = append(out, checkShape(fmt.Sprintf("%s[%d]", where, i), *sc.Items, v)...)
			}
		}
	case "object":
		obj, ok := value.(map[string]any)
		if !ok {
			bad("want an object, got %T", value)
			return out
		}
		if len(sc.Properties) == 0 {
			return out
		}
		for k, v := range obj {
			p, known := sc.Properties[k]
			if !known {
				bad("key %q not in the schema", k)
				continue
			}
			out = append(out, checkShape(where+"."+k, p, v)...)
		}
		for k, p := range sc.Properties {
			if _, has := obj[k]; !has && !truthy(p.Optional) {
				bad("required key %q missing", k)
			}
		}
	case "integer", "boolean":
		f, ok := value.(float64)
		if !ok || f != math.Trunc(f) || (sc.Type == "boolean" && f != 0 && f != 1) {
			bad("want %s, got %v", sc.Type, value)
		}
	case "number":
		if _, ok := value.(float64); !ok {
			bad("want a number, got %v", value)
		}
	case "string":
		if _, ok := value.(string); !ok {
			bad("want a string, got %v", value)
		}
	}
	return out
}

func returnsOf(t *testing.T, schema apiSchema, method, path string) returnSchema {
	t.Helper()
	m, ok := schema[path][method]
	if !ok {
		t.Fatalf("%s %s not in the schema", method, path)
	}
	var rs returnSchema
	if err := json.Unmarshal(m.Returns, &rs); err != nil {
		t.Fatalf("%s %s returns: %v", method, path, err)
	}
	return rs
}

// TestAccessAnswersHaveTheSchemasShape calls every /access route that
// answers data and holds the answer against the schema's "returns".
func TestAccessAnswersHaveTheSchemasShape(t *testing.T) {
	schema := loadSchema(t)
	s := startSim(t, testConfig())
	s.jok(t, "POST", "/access/groups", map[string]any{"groupid": "ops", "comment": "operators"})
	s.jok(t, "POST", "/access/users", map[string]any{"userid": "lim@pve", "comment": "c", "email": "a@b.c", "firstname": "L", "expire": 0, "groups": "ops"})
	s.jok(t, "POST", "/access/roles", map[string]any{"roleid": "Lim", "privs": "VM.Audit"})
	s.jok(t, "PUT", "/access/acl", map[string]any{"path": "/vms", "roles": "Lim", "users": "lim@pve"})
	calls := []struct {
		method, path, url string
		params            map[string]any
	}{
		{"POST", "/access/users/{userid}/token/{tokenid}", "/access/users/lim@pve/token/t1", map[string]any{"comment": "x"}},
		{"PUT", "/access/users/{userid}/token/{tokenid}", "/access/users/lim@pve/token/t1", map[string]any{"privsep": 0}},
		{"GET", "/access/users/{userid}/token/{tokenid}", "/access/users/lim@pve/token/t1", nil},
		{"GET", "/access/users/{userid}/token", "/access/users/lim@pve/token", nil},
		{"GET", "/access/users", "/access/users", map[string]any{"full": 1}},
		{"GET", "/access/users/{userid}", "/access/users/lim@pve", nil},
		{"GET", "/access/groups", "/access/groups", nil},
		{"GET", "/access/groups/{groupid}", "/access/groups/ops", nil},
		{"GET", "/access/roles", "/access/roles", nil},
		{"GET", "/access/roles/{roleid}", "/access/roles/PVEVMAdmin", nil},
		{"GET", "/access/acl", "/access/acl", nil},
		{"GET", "/access/permissions", "/access/permissions", map[string]any{"userid": "lim@pve"}},
	}
	for _, c := range calls {
		got := s.jok(t, c.method, c.url, c.params)
		for _, p := range checkShape(c.method+" "+c.path, returnsOf(t, schema, c.method, c.path), got) {
			t.Error(p)
		}
	}
	// the checker itself: a wrong type and an unknown key are reported
	probe := checkShape("probe", returnsOf(t, schema, "GET", "/access/acl"), []any{map[string]any{"path": "/", "type": "user", "ugid": "u", "roleid": "r", "propagate": "yes", "extra": 1}})
	if len(probe) != 2 {
		t.Errorf("shape checker reported %v, want the propagate type and the extra key", probe)
	}
}

// TestPrivilegeListIsTheSchemas: GET /access/roles/{roleid} declares one
// property per privilege PVE knows; the simulator knows exactly those.
func TestPrivilegeListIsTheSchemas(t *testing.T) {
	rs := returnsOf(t, loadSchema(t), "GET", "/access/roles/{roleid}")
	var want []string
	for p := range rs.Properties {
		want = append(want, p)
	}
	sort.Strings(want)
	if got := access.AllPrivs(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("privileges\n got %v\nwant %v", got, want)
	}
}
