package dcrouter

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// jsonFake answers each "METHOD /path" with a fixed raw JSON "data" value.
func jsonFake(t *testing.T, rec *recorder, routes map[string]string) *Client {
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		data, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			writeError(w, 501, "Method '"+r.Method+" "+r.URL.Path+"' not implemented", nil)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":` + data + `}`))
	}))
	return clientFor(t, tokenConfig("DC1", srv.URL))
}

const api = "/api2/json"

func TestTypedReadsDecodeTolerantly(t *testing.T) {
	strPtr := func(s string) *string { return &s }
	tests := []struct {
		name      string
		route     string
		data      string
		call      func(ctx context.Context, c *Client) (any, error)
		want      any
		wantQuery string
	}{
		{
			name: "version", route: "GET " + api + "/version",
			data: `{"version":"9.1.1","release":"9.1","repoid":"a8736b6c"}`,
			call: func(ctx context.Context, c *Client) (any, error) {
				v, err := c.Version(ctx)
				v.RoundTrip = 0 // timing, not decoding
				return v, err
			},
			want: Version{Version: "9.1.1", Release: "9.1", RepoID: "a8736b6c"},
		},
		{
			name: "cluster status numbers", route: "GET " + api + "/cluster/status",
			data: `[{"type":"cluster","name":"dc1","id":"cluster","nodes":2,"quorate":1,"version":4},
			        {"type":"node","name":"pve1","id":"node/pve1","ip":"10.0.0.1","online":1,"nodeid":1,"local":1}]`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.ClusterStatus(ctx) },
			want: []ClusterStatusItem{
				{Type: "cluster", Name: "dc1", ID: "cluster", Nodes: 2, Quorate: true},
				{Type: "node", Name: "pve1", ID: "node/pve1", IP: "10.0.0.1", Online: true, Local: true, NodeID: 1},
			},
		},
		{
			name: "cluster status strings and booleans", route: "GET " + api + "/cluster/status",
			data: `[{"type":"node","name":"pve2","id":"node/pve2","online":false,"nodeid":"2","quorate":"0"}]`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.ClusterStatus(ctx) },
			want: []ClusterStatusItem{{Type: "node", Name: "pve2", ID: "node/pve2", NodeID: 2}},
		},
		{
			name: "cluster resources vm", route: "GET " + api + "/cluster/resources",
			data: `[{"id":"qemu/100","type":"qemu","node":"pve1","name":"web","status":"running","vmid":100,
			         "tags":"moxxie;id-abc","template":0,"maxcpu":4,"cpu":0.125,"maxmem":4294967296,"mem":1073741824,
			         "maxdisk":34359738368,"disk":0,"lock":"migrate"},
			        {"id":"qemu/9000","type":"qemu","node":"pve2","name":"tmpl","status":"stopped","vmid":"9000",
			         "template":1,"maxcpu":"2","cpu":"0","maxmem":"2147483648","mem":0,"maxdisk":8.589934592e9},
			        {"id":"node/pve1","type":"node","node":"pve1","status":"online"}]`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.ClusterResources(ctx, "vm") },
			// One unfiltered read serves every type (the client's view of the cluster): the
			// node entry is filtered here, not by PVE.
			want: []Resource{
				{ID: "qemu/100", Type: "qemu", Node: "pve1", Name: "web", Status: "running", VMID: 100, Tags: "moxxie;id-abc",
					MaxCPU: 4, CPU: 0.125, MaxMem: 4294967296, Mem: 1073741824, MaxDisk: 34359738368, Lock: "migrate"},
				{ID: "qemu/9000", Type: "qemu", Node: "pve2", Name: "tmpl", Status: "stopped", VMID: 9000, Template: true,
					MaxCPU: 2, MaxMem: 2147483648, MaxDisk: 8589934592},
			},
		},
		{
			name: "cluster resources all", route: "GET " + api + "/cluster/resources",
			data: `[{"id":"storage/pve1/local-lvm","type":"storage","node":"pve1","storage":"local-lvm","status":"available","maxdisk":100,"disk":40}]`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.ClusterResources(ctx, "") },
			want: []Resource{{ID: "storage/pve1/local-lvm", Type: "storage", Node: "pve1", Storage: "local-lvm", Status: "available", MaxDisk: 100, Disk: 40}},
		},
		{
			name: "nextid as string", route: "GET " + api + "/cluster/nextid", data: `"105"`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.NextID(ctx) },
			want: 105,
		},
		{
			name: "nextid as number", route: "GET " + api + "/cluster/nextid", data: `106`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.NextID(ctx) },
			want: 106,
		},
		{
			name: "nodes", route: "GET " + api + "/nodes",
			data: `[{"node":"pve1","status":"online","maxcpu":16,"cpu":0.05,"maxmem":68719476736,"mem":"8589934592"},
			        {"node":"pve2","status":"offline"}]`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Nodes(ctx) },
			want: []Node{{Node: "pve1", Status: "online", MaxCPU: 16, CPU: 0.05, MaxMem: 68719476736, Mem: 8589934592}, {Node: "pve2", Status: "offline"}},
		},
		{
			name: "node status", route: "GET " + api + "/nodes/pve1/status",
			data: `{"cpuinfo":{"cpus":"32","cores":16},"memory":{"total":137438953472,"used":34359738368.0,"free":1},"pveversion":"pve-manager/9.1.1/abc"}`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.NodeStatus(ctx, "pve1") },
			want: NodeStatus{CPUs: 32, MemTotal: 137438953472, MemUsed: 34359738368, PVEVersion: "pve-manager/9.1.1/abc"},
		},
		{
			name: "vm config current", route: "GET " + api + "/nodes/pve1/qemu/100/config",
			data: `{"cores":4,"memory":"2048","balloon":0,"cpulimit":1.5,"onboot":true,"agent":"1","numa":false,
			        "scsi0":"local-lvm:vm-100-disk-0,size=32G","maxmem":2048.0,"digest":"3f2a","description":null}`,
			call:      func(ctx context.Context, c *Client) (any, error) { return c.VMConfig(ctx, "pve1", 100, true) },
			wantQuery: "current=1",
			want: VMConfig{"cores": "4", "memory": "2048", "balloon": "0", "cpulimit": "1.5", "onboot": "1", "agent": "1", "numa": "0",
				"scsi0": "local-lvm:vm-100-disk-0,size=32G", "maxmem": "2048", "digest": "3f2a"},
		},
		{
			name: "vm pending", route: "GET " + api + "/nodes/pve1/qemu/100/pending",
			data: `[{"key":"cores","value":2,"pending":4},{"key":"name","value":"web"},{"key":"net1","value":"virtio=AA:BB","delete":1},
			        {"key":"tags","pending":""}]`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.VMPending(ctx, "pve1", 100) },
			want: []PendingItem{
				{Key: "cores", Value: strPtr("2"), Pending: strPtr("4")},
				{Key: "name", Value: strPtr("web")},
				{Key: "net1", Value: strPtr("virtio=AA:BB"), Delete: 1},
				{Key: "tags", Pending: strPtr("")},
			},
		},
		{
			name: "vm status", route: "GET " + api + "/nodes/pve1/qemu/100/status/current",
			data: `{"status":"running","qmpstatus":"running","name":"web","vmid":"100","cpus":4,"maxmem":4294967296,
			        "mem":123456,"uptime":3600,"tags":"a;b","lock":"backup","ha":{"managed":0}}`,
			call: func(ctx context.Context, c *Client) (any, error) { return c.VMStatus(ctx, "pve1", 100) },
			want: VMStatus{Status: "running", QMPStatus: "running", Name: "web", VMID: 100, CPUs: 4, MaxMem: 4294967296,
				Mem: 123456, Uptime: 3600, Tags: "a;b", Lock: "backup"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := jsonFake(t, rec, map[string]string{tt.route: tt.data})
			got, err := tt.call(ctxTimeout(t, 5*time.Second), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
			if reqs := rec.all(); len(reqs) != 1 || reqs[0].RawQuery != tt.wantQuery {
				t.Fatalf("requests %+v; want one with query %q", reqs, tt.wantQuery)
			}
		})
	}
}

func TestTypedReadsRejectGarbage(t *testing.T) {
	tests := []struct {
		name, route, data string
		call              func(ctx context.Context, c *Client) error
	}{
		{"nextid word", "GET " + api + "/cluster/nextid", `"abc"`,
			func(ctx context.Context, c *Client) error { _, err := c.NextID(ctx); return err }},
		{"nextid too small", "GET " + api + "/cluster/nextid", `"5"`,
			func(ctx context.Context, c *Client) error { _, err := c.NextID(ctx); return err }},
		{"vmid fraction", "GET " + api + "/cluster/resources", `[{"vmid":100.5}]`,
			func(ctx context.Context, c *Client) error { _, err := c.ClusterResources(ctx, ""); return err }},
		{"config object value", "GET " + api + "/nodes/pve1/qemu/100/config", `{"cores":{"x":1}}`,
			func(ctx context.Context, c *Client) error { _, err := c.VMConfig(ctx, "pve1", 100, false); return err }},
		{"start returns no upid", "POST " + api + "/nodes/pve1/qemu/100/status/start", `null`,
			func(ctx context.Context, c *Client) error { _, err := c.StartVM(ctx, "pve1", 100); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := jsonFake(t, &recorder{}, map[string]string{tt.route: tt.data})
			if err := tt.call(ctxTimeout(t, 5*time.Second), c); err == nil {
				t.Fatal("want a decoding error")
			}
		})
	}
}

func TestVMWrites(t *testing.T) {
	const upid = `"UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmcreate:100:root@pam!moxxie:"`
	tests := []struct {
		name       string
		route      string
		call       func(ctx context.Context, c *Client) (string, error)
		wantQuery  string
		wantBody   map[string]any // nil: no body at all
		wantResult string
	}{
		{
			name: "create", route: "POST " + api + "/nodes/pve1/qemu",
			call: func(ctx context.Context, c *Client) (string, error) {
				return c.CreateVM(ctx, "pve1", map[string]any{"vmid": 100, "name": "web", "cores": 2, "start": false, "onboot": true})
			},
			wantBody: map[string]any{"vmid": 100.0, "name": "web", "cores": 2.0, "start": 0.0, "onboot": 1.0}, wantResult: upid,
		},
		{
			name: "start", route: "POST " + api + "/nodes/pve1/qemu/100/status/start",
			call:     func(ctx context.Context, c *Client) (string, error) { return c.StartVM(ctx, "pve1", 100) },
			wantBody: nil, wantResult: upid,
		},
		{
			name: "stop", route: "POST " + api + "/nodes/pve1/qemu/100/status/stop",
			call:     func(ctx context.Context, c *Client) (string, error) { return c.StopVM(ctx, "pve1", 100) },
			wantBody: nil, wantResult: upid,
		},
		{
			name: "shutdown with timeout and force", route: "POST " + api + "/nodes/pve1/qemu/100/status/shutdown",
			call:     func(ctx context.Context, c *Client) (string, error) { return c.ShutdownVM(ctx, "pve1", 100, 60, true) },
			wantBody: map[string]any{"timeout": 60.0, "forceStop": 1.0}, wantResult: upid,
		},
		{
			name: "shutdown defaults", route: "POST " + api + "/nodes/pve1/qemu/100/status/shutdown",
			call:     func(ctx context.Context, c *Client) (string, error) { return c.ShutdownVM(ctx, "pve1", 100, 0, false) },
			wantBody: nil, wantResult: upid,
		},
		{
			name: "delete purge", route: "DELETE " + api + "/nodes/pve1/qemu/100",
			call:      func(ctx context.Context, c *Client) (string, error) { return c.DeleteVM(ctx, "pve1", 100, true) },
			wantQuery: "destroy-unreferenced-disks=1&purge=1", wantResult: upid,
		},
		{
			name: "delete plain", route: "DELETE " + api + "/nodes/pve1/qemu/100",
			call:       func(ctx context.Context, c *Client) (string, error) { return c.DeleteVM(ctx, "pve1", 100, false) },
			wantResult: upid,
		},
		{
			name: "update config", route: "PUT " + api + "/nodes/pve1/qemu/100/config",
			call: func(ctx context.Context, c *Client) (string, error) {
				return "", c.UpdateVMConfig(ctx, "pve1", 100, map[string]any{"cores": 4, "digest": "3f2a", "delete": "net1"})
			},
			wantBody: map[string]any{"cores": 4.0, "digest": "3f2a", "delete": "net1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			data := upid
			if tt.wantResult == "" {
				data = "null"
			}
			c := jsonFake(t, rec, map[string]string{tt.route: data})
			got, err := tt.call(ctxTimeout(t, 5*time.Second), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if want := trimQuotes(tt.wantResult); got != want {
				t.Fatalf("result %q; want %q", got, want)
			}
			reqs := rec.all()
			if len(reqs) != 1 {
				t.Fatalf("%d requests; want 1", len(reqs))
			}
			if reqs[0].RawQuery != tt.wantQuery {
				t.Errorf("query %q; want %q", reqs[0].RawQuery, tt.wantQuery)
			}
			if tt.wantBody == nil {
				if reqs[0].Body != "" {
					t.Errorf("body %q; want none", reqs[0].Body)
				}
				return
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(reqs[0].Body), &body); err != nil {
				t.Fatalf("body %q: %v", reqs[0].Body, err)
			}
			if !reflect.DeepEqual(body, tt.wantBody) {
				t.Errorf("body %v; want %v", body, tt.wantBody)
			}
			if ct := reqs[0].Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func TestInvalidArgumentsMakeNoRequest(t *testing.T) {
	tests := []struct {
		name string
		call func(ctx context.Context, c *Client) error
	}{
		{"create without vmid", func(ctx context.Context, c *Client) error {
			_, err := c.CreateVM(ctx, "pve1", map[string]any{"name": "web"})
			return err
		}},
		{"vmid too small", func(ctx context.Context, c *Client) error { _, err := c.VMStatus(ctx, "pve1", 99); return err }},
		{"vmid too large", func(ctx context.Context, c *Client) error { _, err := c.StartVM(ctx, "pve1", 1000000000); return err }},
		{"empty node", func(ctx context.Context, c *Client) error { _, err := c.VMConfig(ctx, "", 100, false); return err }},
		{"node with slash", func(ctx context.Context, c *Client) error { _, err := c.NodeStatus(ctx, "pve1/../x"); return err }},
		{"unknown resource type", func(ctx context.Context, c *Client) error { _, err := c.ClusterResources(ctx, "qemu"); return err }},
		{"relative path", func(ctx context.Context, c *Client) error { return c.Get(ctx, "version", nil, nil) }},
		{"bad query value", func(ctx context.Context, c *Client) error {
			return c.Get(ctx, "/version", map[string]any{"x": []int{1}}, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := jsonFake(t, rec, nil)
			if err := tt.call(context.Background(), c); err == nil {
				t.Fatal("want error")
			}
			if rec.count() != 0 {
				t.Fatal("request sent for invalid arguments")
			}
		})
	}
}

func TestTagList(t *testing.T) {
	tests := []struct {
		tags string
		want []string
	}{
		{"", nil},
		{"moxxie", []string{"moxxie"}},
		{"moxxie;id-abc", []string{"moxxie", "id-abc"}},
		{"a,b c;;d", []string{"a", "b", "c", "d"}},
		{" ; ", nil},
	}
	for _, tt := range tests {
		if got := (Resource{Tags: tt.tags}).TagList(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("TagList(%q) = %q; want %q", tt.tags, got, tt.want)
		}
	}
}
