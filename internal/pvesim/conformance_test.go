package pvesim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/internal/apischema"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/internal/perlre"
)

// The conformance test holds every declared route against the official
// PVE API schema (shared/pve/api-schema.json next to the repository).

type schemaParam struct {
	Type      string `json:"type"`
	Optional  any    `json:"optional"`
	Enum      []any  `json:"enum"`
	Minimum   any    `json:"minimum"` // numbers, occasionally strings
	Maximum   any    `json:"maximum"`
	MaxLength any    `json:"maxLength"`
	MinLength any    `json:"minLength"`
	Pattern   string `json:"pattern"`
}

// number reads a schema bound that may be a JSON number or a string.
func number(v any) *float64 {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		if _, err := fmt.Sscan(x, &f); err != nil {
			return nil
		}
	default:
		return nil
	}
	return &f
}

type schemaMethod struct {
	ProxyTo     string `json:"proxyto"`
	Permissions *struct {
		User  string `json:"user"`
		Check any    `json:"check"`
	} `json:"permissions"`
	Parameters struct {
		Properties map[string]schemaParam `json:"properties"`
	} `json:"parameters"`
	Returns json.RawMessage `json:"returns"`
}

type schemaNode struct {
	Path     string                  `json:"path"`
	Info     map[string]schemaMethod `json:"info"`
	Children []schemaNode            `json:"children"`
}

// apiSchema maps path -> method -> declaration.
type apiSchema map[string]map[string]schemaMethod

func findSchemaFile(t *testing.T) string {
	t.Helper()
	p, err := apischema.Find()
	switch {
	case errors.Is(err, apischema.ErrNotFound) && os.Getenv("CI") == "true":
		// CI must not pass by skipping the check it exists to run.
		t.Fatal("shared/pve/api-schema.json not found above the package directory and CI=true")
	case errors.Is(err, apischema.ErrNotFound):
		t.Skip("shared/pve/api-schema.json not found above the package directory; conformance not checked")
	case err != nil:
		t.Fatal(err)
	}
	return p
}

func loadSchema(t *testing.T) apiSchema {
	t.Helper()
	data, err := os.ReadFile(findSchemaFile(t))
	if err != nil {
		t.Fatal(err)
	}
	var roots []schemaNode
	if err := json.Unmarshal(data, &roots); err != nil {
		t.Fatalf("api-schema.json: %v", err)
	}
	out := apiSchema{}
	var walk func(n schemaNode)
	walk = func(n schemaNode) {
		if len(n.Info) > 0 {
			out[n.Path] = n.Info
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	if len(out) < 100 {
		t.Fatalf("schema has only %d paths; wrong file?", len(out))
	}
	return out
}

func truthy(v any) bool {
	switch x := v.(type) {
	case float64:
		return x != 0
	case string:
		return x != "" && x != "0"
	case bool:
		return x
	}
	return false
}

// checkConformance returns one line per disagreement between the routes
// and the schema.
func checkConformance(routes []route, schema apiSchema) []string {
	var problems []string
	report := func(r route, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s %s: ", r.method, r.path)+fmt.Sprintf(format, args...))
	}
	for _, r := range routes {
		m, ok := schema[r.path][r.method]
		if !ok {
			report(r, "not in the official schema")
			continue
		}
		checkPermission(func(f string, a ...any) { report(r, f, a...) }, r.perm, m)
		if want := m.ProxyTo == "node"; r.proxyNode != want {
			report(r, "proxyNode=%v but schema proxyto=%q", r.proxyNode, m.ProxyTo)
		}
		declared := map[string]bool{}
		for _, p := range r.params {
			declared[p.Name] = true
			sp, ok := m.Parameters.Properties[p.Name]
			if !ok {
				report(r, "parameter %s not in schema", p.Name)
				continue
			}
			if string(p.Type) != sp.Type {
				report(r, "parameter %s type %s, schema %s", p.Name, p.Type, sp.Type)
			}
			if p.Optional != truthy(sp.Optional) {
				report(r, "parameter %s optional=%v, schema optional=%v", p.Name, p.Optional, truthy(sp.Optional))
			}
			official := map[string]bool{}
			for _, e := range sp.Enum {
				official[fmt.Sprint(e)] = true
			}
			for _, e := range p.Enum {
				if !official[e] {
					report(r, "parameter %s enum value %q not in schema enum %v", p.Name, e, sp.Enum)
				}
			}
			if len(sp.Enum) > 0 && len(p.Enum) == 0 {
				report(r, "parameter %s misses the schema enum %v", p.Name, sp.Enum)
			}
			checkBound(func(f string, a ...any) { report(r, "parameter %s "+f, append([]any{p.Name}, a...)...) },
				"minimum", p.Minimum, number(sp.Minimum))
			checkBound(func(f string, a ...any) { report(r, "parameter %s "+f, append([]any{p.Name}, a...)...) },
				"maximum", p.Maximum, number(sp.Maximum))
			if ml := number(sp.MaxLength); ml != nil && p.MaxLength != 0 && float64(p.MaxLength) != *ml {
				report(r, "parameter %s maxLength %d, schema %v", p.Name, p.MaxLength, *ml)
			}
			if ml := number(sp.MinLength); ml != nil && float64(p.MinLength) != *ml {
				report(r, "parameter %s minLength %d, schema %v", p.Name, p.MinLength, *ml)
			}
			if sp.Pattern != "" && (p.Pattern == nil || p.Pattern.String() != `^(?:`+perlre.ToGo(sp.Pattern)+`)$`) {
				report(r, "parameter %s pattern %v, schema %q", p.Name, p.Pattern, sp.Pattern)
			}
		}
		for name, sp := range m.Parameters.Properties {
			if !truthy(sp.Optional) && !declared[name] {
				report(r, "required parameter %s not declared", name)
			}
		}
		for _, seg := range splitPath(r.path) {
			if strings.HasPrefix(seg, "{") && !declared[strings.Trim(seg, "{}")] {
				report(r, "path parameter %s not declared", seg)
			}
		}
	}
	return problems
}

// checkPermission wants a route's declared permission to be the schema's:
// the same "user" and the same check expression, term by term. A route
// must declare one (permAll where the schema says user "all" and the
// handler filters or checks on its own).
func checkPermission(report func(string, ...any), p permission, m schemaMethod) {
	if !p.declared() {
		report("declares no permission")
		return
	}
	var wantUser, wantCheck string
	if m.Permissions != nil {
		wantUser = m.Permissions.User
		if m.Permissions.Check != nil {
			b, _ := json.Marshal(m.Permissions.Check)
			wantCheck = string(b)
		}
	}
	gotCheck := ""
	if p.check != nil {
		b, _ := json.Marshal(p.check)
		gotCheck = string(b)
	}
	if p.user != wantUser {
		report("permission user %q, schema %q", p.user, wantUser)
	}
	if gotCheck != wantCheck {
		report("permission check %s, schema %s", gotCheck, wantCheck)
	}
}

// checkBound wants a declared bound to equal the schema's; a schema bound
// may be left out only if the simulator adds no bound of its own.
func checkBound(report func(string, ...any), what string, ours, theirs *float64) {
	switch {
	case ours == nil && theirs != nil:
		report("lacks %s %v", what, *theirs)
	case ours != nil && theirs == nil:
		report("has %s %v the schema does not", what, *ours)
	case ours != nil && *ours != *theirs:
		report("%s %v, schema %v", what, *ours, *theirs)
	}
}

func TestConformanceWithOfficialSchema(t *testing.T) {
	schema := loadSchema(t)
	routes := allRoutes()
	for _, p := range checkConformance(routes, schema) {
		t.Error(p)
	}
	t.Logf("%d routes checked against %d schema paths", len(routes), len(schema))
}

// TestConformanceCheckerCatchesMistakes feeds deliberately wrong
// declarations to the same checker: each mistake must be reported.
func TestConformanceCheckerCatchesMistakes(t *testing.T) {
	schema := loadSchema(t)
	noop := func(*Cluster, *request) (any, error) { return nil, nil }
	vmAudit := checked(needs("/vms/{vmid}", "VM.Audit"))
	const cfgPath = "/nodes/{node}/qemu/{vmid}/config"
	tests := []struct {
		name string
		r    route
		want string
	}{
		{"unknown path", route{method: "GET", path: "/nodes/{node}/bogus", params: []Param{nodeParam}, handle: noop, proxyNode: true}, "not in the official schema"},
		{"wrong method", route{method: "DELETE", path: "/version", handle: noop}, "not in the official schema"},
		{"wrong type", route{method: "GET", path: "/cluster/nextid", params: []Param{strP("vmid").opt()}, handle: noop}, "parameter vmid type string, schema integer"},
		{"wrong optional", route{method: "GET", path: "/cluster/nextid", params: []Param{vmidParam}, handle: noop}, "parameter vmid optional=false, schema optional=true"},
		{"enum not a subset", route{method: "GET", path: "/cluster/resources", params: []Param{strP("type").opt().oneOf("vm", "lxc")}, handle: noop}, `enum value "lxc" not in schema enum`},
		{"unknown parameter", route{method: "GET", path: "/version", params: []Param{boolP("verbose").opt()}, handle: noop}, "parameter verbose not in schema"},
		{"missing required", route{method: "GET", path: "/nodes/{node}/qemu", params: []Param{boolP("full").opt()}, handle: noop, proxyNode: true}, "required parameter node not declared"},
		{"wrong family", route{method: "POST", path: "/nodes/{node}/qemu", params: withParams(qemuConfigParams, nodeParam, vmidParam, strP("nic").opt().family(3)), handle: noop, proxyNode: true}, "parameter nic[n] not in schema"},
		{"wrong bound", route{method: "GET", path: "/cluster/nextid", params: []Param{intP("vmid").opt().between(1, 999999999)}, handle: noop}, "parameter vmid minimum 1, schema 100"},
		{"proxy flag", route{method: "GET", path: "/version", handle: noop, proxyNode: true}, `proxyNode=true but schema proxyto=""`},
		{"wrong pattern", route{method: "POST", path: "/nodes/{node}/qemu/{vmid}/config", params: []Param{nodeParam, vmidParam, strP("bootdisk").opt().matching(`(ide|scsi)\d+`)}, handle: noop, proxyNode: true}, "parameter bootdisk pattern"},
		{"missing minLength", route{method: "POST", path: "/nodes/{node}/qemu/{vmid}/agent/set-user-password", params: []Param{nodeParam, vmidParam, strP("username"), strP("password")}, handle: noop, proxyNode: true}, "parameter password minLength 0, schema 5"},
		{"no permission", route{method: "GET", path: "/version", handle: noop}, "declares no permission"},
		{"wrong privilege", route{method: "GET", path: cfgPath, params: []Param{nodeParam, vmidParam}, handle: noop, proxyNode: true,
			perm: checked(needs("/vms/{vmid}", "VM.Config.Options"))}, `permission check ["perm","/vms/{vmid}",["VM.Config.Options"]], schema ["perm","/vms/{vmid}",["VM.Audit"]]`},
		{"wrong path", route{method: "GET", path: cfgPath, params: []Param{nodeParam, vmidParam}, handle: noop, proxyNode: true,
			perm: checked(needs("/vms", "VM.Audit"))}, `permission check ["perm","/vms",["VM.Audit"]]`},
		{"check where schema says all", route{method: "GET", path: "/version", handle: noop, perm: vmAudit}, `permission user "", schema "all"`},
		{"all where schema checks", route{method: "GET", path: cfgPath, params: []Param{nodeParam, vmidParam}, handle: noop, proxyNode: true,
			perm: permAll}, `permission user "all", schema ""`},
		{"any flag dropped", route{method: "PUT", path: cfgPath, params: withParams(qemuConfigParams, nodeParam, vmidParam), handle: noop, proxyNode: true,
			perm: checked(needs("/vms/{vmid}", configPrivs...))}, `"any",1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := checkConformance([]route{tt.r}, schema)
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, tt.want)
			}
			if !found {
				t.Errorf("checker missed %q; reported %v", tt.want, problems)
			}
		})
	}
}
