package pvesim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const badToken = ": invalid lock token provided! at /usr/share/perl5/PVE/Network/SDN.pm line 262."

// TestSDNLockEnforcement: while locked, every SDN write and the apply need
// the token; reads do not.
func TestSDNLockEnforcement(t *testing.T) {
	s := startSim(t, testConfig())
	s.baseSDN(t)
	tok := s.lock(t, false)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(tok) {
		t.Errorf("token %q is not a UUIDv7", tok)
	}
	writes := []struct {
		method, path, op string
		params           url.Values
	}{
		{"POST", "/cluster/sdn/zones", "create sdn zone object failed", kv("zone", "z2", "type", "simple")},
		{"PUT", "/cluster/sdn/zones/z1", "update sdn zone object failed", kv("mtu", "1400")},
		{"DELETE", "/cluster/sdn/zones/s1", "delete sdn zone object failed", nil},
		{"POST", "/cluster/sdn/vnets", "create sdn vnet object failed", kv("vnet", "v2", "zone", "z1", "tag", "200")},
		{"PUT", "/cluster/sdn/vnets/w1", "update sdn vnet object failed", kv("alias", "x")},
		{"DELETE", "/cluster/sdn/vnets/w1", "delete sdn vnet object failed", nil},
		{"POST", "/cluster/sdn/vnets/v1/subnets", "create sdn subnet object failed", kv("subnet", "10.1.0.0/24", "type", "subnet")},
		{"PUT", "/cluster/sdn/vnets/v1/subnets/z1-10.0.0.0-24", "update sdn subnet object failed", kv("snat", "1")},
		{"DELETE", "/cluster/sdn/vnets/v1/subnets/z1-10.0.0.0-24", "delete sdn subnet object failed", nil},
		{"PUT", "/cluster/sdn", "could not commit SDN config", kv("release-lock", "0")},
		{"POST", "/cluster/sdn/rollback", "could not rollback SDN configuration", kv("release-lock", "0")},
	}
	withToken := func(p url.Values, token string) url.Values {
		out := url.Values{}
		for k, v := range p {
			out[k] = v
		}
		if token != "" {
			out.Set("lock-token", token)
		}
		return out
	}
	for _, w := range writes {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			for _, bad := range []string{"", "0190a0b0-0000-7000-8000-000000000000"} {
				r := s.call(t, w.method, w.path, withToken(w.params, bad))
				if r.status != 500 || r.line != w.op+badToken {
					t.Errorf("token %q: %d %q", bad, r.status, r.line)
				}
			}
			if w.path != "/cluster/sdn" {
				s.ok(t, w.method, w.path, withToken(w.params, tok))
			} else {
				s.apply(t, withToken(w.params, tok))
			}
		})
	}
	if st := s.srv.Cluster.SDN(); !st.Locked {
		t.Fatal("release-lock=0 released the lock")
	}
	s.ok(t, "GET", "/cluster/sdn/vnets", kv("pending", "1")) // reads need no token

	// A second locker and an unlock without the token are refused.
	if r := s.call(t, "POST", "/cluster/sdn/lock", kv("allow-pending", "1")); r.status != 500 ||
		r.line != "could not acquire lock for SDN config"+badToken {
		t.Errorf("second lock: %d %q", r.status, r.line)
	}
	if r := s.call(t, "DELETE", "/cluster/sdn/lock", nil); r.status != 500 || r.line != "could not release lock"+badToken {
		t.Errorf("unlock without token: %d %q", r.status, r.line)
	}
	s.ok(t, "DELETE", "/cluster/sdn/lock", kv("force", "1"))
	if s.srv.Cluster.SDN().Locked {
		t.Error("force unlock kept the lock")
	}
	s.ok(t, "DELETE", "/cluster/sdn/lock", nil) // releasing a free lock is fine
	// Without a lock, any token (or none) is accepted.
	s.ok(t, "POST", "/cluster/sdn/vnets", kv("vnet", "v5", "zone", "z1", "tag", "500", "lock-token", "stale"))
}

func TestSDNLockRefusesPendingChanges(t *testing.T) {
	s := startSim(t, testConfig())
	s.ok(t, "POST", "/cluster/sdn/zones", kv("zone", "z1", "type", "simple"))
	r := s.call(t, "POST", "/cluster/sdn/lock", nil)
	want := "could not acquire lock for SDN config: configuration has pending changes at /usr/share/perl5/PVE/API2/Network/SDN.pm line 135."
	if r.status != 500 || r.line != want {
		t.Errorf("lock with pending changes: %d %q", r.status, r.line)
	}
	tok := s.lock(t, true)
	s.ok(t, "POST", "/cluster/sdn/rollback", kv("lock-token", tok))
	st := s.srv.Cluster.SDN()
	if st.Locked || st.PendingChanges || len(st.Pending.Zones) != 0 {
		t.Errorf("after rollback: %+v", st)
	}
	s.lock(t, false) // nothing pending any more
}

// TestSDNConcurrentAllocation: 20 workers each take the lock (retrying
// while another holds it), pick the lowest free tag from the pending view,
// create their vnet and apply. The lock must serialise them completely.
func TestSDNConcurrentAllocation(t *testing.T) {
	s := startSim(t, testConfig())
	s.ok(t, "POST", "/cluster/sdn/zones", kv("zone", "z1", "type", "vlan", "bridge", "vmbr0"))
	s.apply(t, nil)
	const workers = 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := allocateVnet(s, fmt.Sprintf("a%d", i)); err != nil {
				errs <- fmt.Errorf("worker %d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := s.srv.Cluster.SDN()
	if st.Locked || st.PendingChanges || len(st.Applied.Vnets) != workers {
		t.Fatalf("locked %v pending %v vnets %d", st.Locked, st.PendingChanges, len(st.Applied.Vnets))
	}
	seen := map[int]string{}
	for _, v := range st.Applied.Vnets {
		if other, dup := seen[v.Tag]; dup {
			t.Errorf("tag %d given to %s and %s", v.Tag, other, v.Vnet)
		}
		seen[v.Tag] = v.Vnet
		if v.Tag < 100 || v.Tag >= 100+workers {
			t.Errorf("%s got tag %d outside the lowest %d", v.Vnet, v.Tag, workers)
		}
	}
}

// allocateVnet is one worker: safe to run off the test goroutine.
func allocateVnet(s *sim, name string) error {
	deadline := time.Now().Add(20 * time.Second)
	var tok string
	for {
		status, data, line, err := s.send("POST", "/cluster/sdn/lock", nil)
		if err != nil {
			return err
		}
		if status == 200 {
			tok, _ = data.(string)
			break
		}
		if !strings.Contains(line, "invalid lock token provided!") || time.Now().After(deadline) {
			return fmt.Errorf("lock: %d %s", status, line)
		}
		time.Sleep(time.Millisecond)
	}
	_, data, line, err := s.send("GET", "/cluster/sdn/vnets", kv("pending", "1"))
	if err != nil || data == nil {
		return fmt.Errorf("list: %v %s", err, line)
	}
	used := map[float64]bool{}
	for _, it := range data.([]any) {
		o := it.(map[string]any)
		used[o["tag"].(float64)] = true
		if p, ok := o["pending"].(map[string]any); ok {
			used[p["tag"].(float64)] = true
		}
	}
	tag := 100
	for used[float64(tag)] {
		tag++
	}
	steps := []struct {
		method, path string
		params       url.Values
	}{
		{"POST", "/cluster/sdn/vnets", kv("vnet", name, "zone", "z1", "tag", fmt.Sprint(tag), "lock-token", tok)},
		{"PUT", "/cluster/sdn", kv("lock-token", tok)},
	}
	for _, st := range steps {
		status, _, line, err := s.send(st.method, st.path, st.params)
		if err != nil || status != 200 {
			return fmt.Errorf("%s %s: %d %s %v", st.method, st.path, status, line, err)
		}
	}
	return nil
}

// send is a goroutine-safe raw request: status, data, reason phrase.
func (s *sim) send(method, path string, params url.Values) (int, any, string, error) {
	target, body := s.srv.URL+"/api2/json"+path, ""
	if method == "GET" || method == "DELETE" {
		if len(params) > 0 {
			target += "?" + params.Encode()
		}
	} else {
		body = params.Encode()
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set("Content-Type", form)
	req.Header.Set("Authorization", "PVEAPIToken="+testTokenID+"="+testSecret)
	res, err := s.http.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var doc struct{ Data any }
	_ = json.Unmarshal(raw, &doc)
	return res.StatusCode, doc.Data, strings.TrimSpace(res.Status[3:]), nil
}
