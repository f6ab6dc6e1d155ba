package pvesim

import (
	"context"
	"net/url"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

// kv builds request parameters from key/value pairs.
func kv(pairs ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Set(pairs[i], pairs[i+1])
	}
	return v
}

// call sends params as a form body (POST/PUT) or query (GET/DELETE).
func (s *sim) call(t *testing.T, method, path string, params url.Values) rawResult {
	t.Helper()
	if method == "GET" || method == "DELETE" {
		if len(params) > 0 {
			path += "?" + params.Encode()
		}
		return s.raw(t, method, path, "", "", nil)
	}
	return s.raw(t, method, path, form, params.Encode(), nil)
}

// ok is call that must succeed; it returns the "data" value.
func (s *sim) ok(t *testing.T, method, path string, params url.Values) any {
	t.Helper()
	r := s.call(t, method, path, params)
	if r.status != 200 {
		t.Fatalf("%s %s %v: %d %q %v", method, path, params, r.status, r.line, r.body)
	}
	return r.body["data"]
}

// list is a GET returning objects keyed by idKey.
func (s *sim) list(t *testing.T, path, idKey string, params url.Values) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	items, _ := s.ok(t, "GET", path, params).([]any)
	for _, it := range items {
		o := it.(map[string]any)
		out[o[idKey].(string)] = o
	}
	return out
}

// lock takes the SDN lock and returns its token.
func (s *sim) lock(t *testing.T, allowPending bool) string {
	t.Helper()
	p := kv()
	if allowPending {
		p = kv("allow-pending", "1")
	}
	tok, _ := s.ok(t, "POST", "/cluster/sdn/lock", p).(string)
	if tok == "" {
		t.Fatal("empty lock token")
	}
	return tok
}

// apply applies the pending SDN config and waits for the reload task.
func (s *sim) apply(t *testing.T, params url.Values) *proxmox.Task {
	t.Helper()
	upid, _ := s.ok(t, "PUT", "/cluster/sdn", params).(string)
	task := wait(t, proxmox.NewTask(proxmox.UPID(upid), s.client))
	if task.ExitStatus != "OK" {
		t.Fatalf("apply task: %s", task.ExitStatus)
	}
	return task
}

// baseSDN creates and applies zones z1 (vlan), q1 (qinq), s1 (simple),
// vnet v1 (z1, tag 100) with subnet 10.0.0.0/24 and vnet w1 (q1, tag 100).
func (s *sim) baseSDN(t *testing.T) {
	t.Helper()
	s.ok(t, "POST", "/cluster/sdn/zones", kv("zone", "z1", "type", "vlan", "bridge", "vmbr0"))
	s.ok(t, "POST", "/cluster/sdn/zones", kv("zone", "q1", "type", "qinq", "bridge", "vmbr1", "tag", "3000", "vlan-protocol", "802.1ad", "mtu", "1496"))
	s.ok(t, "POST", "/cluster/sdn/zones", kv("zone", "s1", "type", "simple"))
	s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "v1", "zone", "z1", "tag", "100"))
	s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "w1", "zone", "q1", "tag", "100"))
	s.ok(t, "POST", "/cluster/sdn/vnets/v1/subnets", kv("subnet", "10.0.0.0/24", "type", "subnet", "gateway", "10.0.0.1"))
	s.apply(t, nil)
}

func mustCluster(t *testing.T, s *sim) *proxmox.Cluster {
	t.Helper()
	cl, err := s.client.Cluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
