package pvesim

import (
	"sort"
	"strings"
	"testing"
)

func TestNodeNetworkListsBridgesAndAppliedVnetsByType(t *testing.T) {
	cfg := testConfig()
	cfg.Bridges = []string{"vmbr0", "vmbr1"}
	s := startSim(t, cfg)
	s.baseSDN(t)
	s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "pend1", "zone", "z1", "tag", "200")) // pending, not applied
	names := func(typ string) string {
		p := kv()
		if typ != "" {
			p = kv("type", typ)
		}
		var out []string
		for _, it := range s.ok(t, "GET", "/nodes/pve1/network", p).([]any) {
			out = append(out, it.(map[string]any)["iface"].(string)+"="+it.(map[string]any)["type"].(string))
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	for typ, want := range map[string]string{
		"":                 "eno1=eth vmbr0=bridge vmbr1=bridge",
		"bridge":           "vmbr0=bridge vmbr1=bridge",
		"any_local_bridge": "vmbr0=bridge vmbr1=bridge",
		"any_bridge":       "v1=vnet vmbr0=bridge vmbr1=bridge w1=vnet",
		"vnet":             "v1=vnet w1=vnet",
		"eth":              "eno1=eth",
		"bond":             "",
	} {
		if got := names(typ); got != want {
			t.Errorf("type %q: %s, want %s", typ, got, want)
		}
	}
	if r := s.call(t, "GET", "/nodes/pve1/network", kv("type", "wifi")); r.status != 400 {
		t.Errorf("type wifi: %d, want 400", r.status)
	}
	if r := s.call(t, "GET", "/nodes/nope/network", nil); r.status == 200 {
		t.Errorf("unknown node answered 200")
	}
}
