package dcrouter

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The rule calls moxxie makes, end to end against the simulator.
func TestHARulesAgainstSimulator(t *testing.T) {
	c, sim := simClient(t)
	ctx := ctxTimeout(t, 20*time.Second)
	for _, id := range []int{100, 101, 102} {
		must(t, sim.AddVM("pve1", id, map[string]string{"name": "vm" + string(rune('0'+id-100))}, false))
	}
	rule := HARule{ID: "moxxie-100-together", Affinity: "positive", Resources: []string{"vm:101", "vm:100"}, Comment: "moxxie"}
	var ae *APIError
	if err := c.CreateHARule(ctx, rule); !errors.As(err, &ae) || !strings.Contains(err.Error(), "cannot use unmanaged resource(s) vm:100, vm:101.") {
		t.Fatalf("rule on unmanaged VMs: %v", err)
	}
	must(t, c.AddHAResource(ctx, 100, "stopped", "moxxie"))
	must(t, c.AddHAResource(ctx, 101, "stopped", ""))
	must(t, c.CreateHARule(ctx, rule))
	rules, err := c.HARules(ctx)
	want := []HARule{{ID: "moxxie-100-together", Affinity: "positive", Resources: []string{"vm:100", "vm:101"}, Comment: "moxxie"}}
	if err != nil || !reflect.DeepEqual(rules, want) {
		t.Fatalf("rules %v %+v", err, rules)
	}
	ha, err := c.HAResources(ctx)
	if err != nil || len(ha) != 2 || ha[0].Comment != "moxxie" || ha[0].State != "stopped" {
		t.Errorf("ha resources %v %+v", err, ha)
	}

	must(t, c.AddHAResource(ctx, 102, "stopped", ""))
	rule.Resources, rule.Comment = []string{"vm:100", "vm:101", "vm:102"}, ""
	must(t, c.UpdateHARule(ctx, rule))
	rules, _ = c.HARules(ctx)
	if want := []HARule{{ID: "moxxie-100-together", Affinity: "positive", Resources: []string{"vm:100", "vm:101", "vm:102"}}}; !reflect.DeepEqual(rules, want) {
		t.Errorf("updated rules %+v", rules)
	}

	// Dropping members below two leaves a rule PVE reports but does not enforce.
	must(t, c.RemoveHAResource(ctx, 101))
	must(t, c.RemoveHAResource(ctx, 102))
	rules, _ = c.HARules(ctx)
	if len(rules) != 1 || !reflect.DeepEqual(rules[0].Resources, []string{"vm:100"}) || len(rules[0].Errors) != 1 ||
		rules[0].Errors[0] != "resources: rule is ineffective as there are less than two resources" {
		t.Errorf("rules after purge %+v", rules)
	}
	must(t, c.DeleteHARule(ctx, rule.ID))
	must(t, c.DeleteHARule(ctx, rule.ID))
	if rules, err := c.HARules(ctx); err != nil || len(rules) != 0 {
		t.Errorf("rules after delete %v %+v", err, rules)
	}
}

// Proxmox VE before 9 has no rules API: listing finds none (so deletes and moves go on), writing
// says why it cannot.
func TestHARulesBeforePVE9(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotImplemented)
		_, _ = w.Write([]byte(`{"data":null,"message":"Method 'GET /cluster/ha/rules' not implemented\n"}`))
	}))
	t.Cleanup(srv.Close)
	cfg := tokenConfig("DC1", srv.URL)
	cfg.TLSInsecure = true
	c := clientFor(t, cfg, WithRetry(1, time.Millisecond, time.Millisecond))
	ctx := ctxTimeout(t, 10*time.Second)
	if rules, err := c.HARules(ctx); err != nil || len(rules) != 0 {
		t.Errorf("rules %v %+v, want none", err, rules)
	}
	err := c.CreateHARule(ctx, HARule{ID: "r", Affinity: "negative", Resources: []string{"vm:100", "vm:101"}})
	if err == nil || !strings.Contains(err.Error(), "node affinity needs Proxmox VE 9 or later") {
		t.Errorf("create: %v", err)
	}
}
