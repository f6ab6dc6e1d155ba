package migration

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

const (
	tokenID = "root@pam!moxxie"
	secret  = "mig-secret-5d1e"
	vmIDTag = "0123456789abcdef"
)

type env struct {
	t       *testing.T
	servers map[string]*pvesim.Server
	eng     *Engine
	phases  []Phase
	mu      sync.Mutex
}

// newEnv starts DC1 and DC2, each its own HTTPS server with its own certificate. DC1 is pinned
// by fingerprint; DC2 is reached with tls_insecure and no fingerprint when insecure is set.
func newEnv(t *testing.T, insecure bool, dc2 pvesim.Config) *env {
	t.Helper()
	e := &env{t: t, servers: map[string]*pvesim.Server{}}
	dc2.Name = "DC2"
	for _, cfg := range []pvesim.Config{{Name: "DC1", TaskDuration: 5 * time.Millisecond}, dc2} {
		cfg.Tokens = map[string]string{tokenID: secret}
		if cfg.TaskDuration == 0 {
			cfg.TaskDuration = 5 * time.Millisecond
		}
		srv, err := pvesim.Start(pvesim.New(cfg), "127.0.0.1:0", pvesim.ServerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		e.servers[cfg.Name] = srv
	}
	var cfgs []dcrouter.Config
	for _, name := range []string{"DC1", "DC2"} {
		c := dcrouter.Config{Name: name, URL: e.servers[name].URL, TokenID: tokenID, TokenSecret: secret, TLSFingerprint: e.servers[name].Fingerprint}
		if name == "DC2" && insecure {
			c.TLSFingerprint, c.TLSInsecure = "", true
		}
		cfgs = append(cfgs, c)
	}
	r, err := dcrouter.New(cfgs, dcrouter.WithRetry(1, 5*time.Millisecond, 20*time.Millisecond), dcrouter.WithTaskPoll(5*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e.eng = &Engine{DCs: map[string]Datacenter{}, Nets: &Networks{Addrs: network.NewAddresses()}, Poll: 20 * time.Millisecond,
		Progress: func(_ context.Context, p Phase, _ string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.phases = append(e.phases, p)
		}}
	for _, name := range []string{"DC1", "DC2"} {
		c, _ := r.Client(name)
		cfg, _ := r.Config(name)
		e.eng.DCs[name] = Datacenter{Client: c, Config: cfg, Storage: "local-lvm"}
	}
	return e
}

func (e *env) cluster(dc string) *pvesim.Cluster { return e.servers[dc].Cluster }
func (e *env) client(dc string) *dcrouter.Client { return e.eng.DCs[dc].Client }

// webVM puts a running VM with identity vmIDTag in DC1: one disk, one NIC on vmbr0 VLAN 100.
func (e *env) webVM(extra map[string]string, running bool) {
	e.t.Helper()
	cfg := map[string]string{
		"name": "web-1", "memory": "512", "cores": "1", "tags": vm.IdentityTag(vmIDTag),
		"scsi0": "local-lvm:vm-100-disk-0,size=4G", "net0": "virtio=BC:24:11:00:00:10,bridge=vmbr0,tag=100",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	if err := e.cluster("DC1").AddVM("pve1", 100, cfg, running); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) request() Request {
	return Request{ID: vmIDTag, Name: "web-1", Target: "DC2", RequireMove: true,
		NICs: Mapping{Nets: e.eng.Nets, Map: map[string]string{"vlan100": "vlan200"}}}
}

// arrived checks the one copy is in DC2, running as wanted, on VLAN 200, with no move tag.
func (e *env) arrived(running bool) pvesim.VM {
	e.t.Helper()
	if n := len(e.cluster("DC1").VMs()); n != 0 {
		e.t.Fatalf("DC1 still holds %d VMs", n)
	}
	vms := e.cluster("DC2").VMs()
	if len(vms) != 1 {
		e.t.Fatalf("DC2 holds %d VMs, want 1", len(vms))
	}
	v := vms[0]
	if (v.Status == "running") != running {
		e.t.Errorf("VM in DC2 is %s, want running=%v", v.Status, running)
	}
	if !strings.HasSuffix(v.Config["net0"], "bridge=vmbr0,tag=200") {
		e.t.Errorf("net0 in DC2 = %q, want it on vmbr0 tag 200", v.Config["net0"])
	}
	if strings.Contains(v.Config["tags"], vm.MovePrefix) || !strings.Contains(v.Config["tags"], vm.IdentityTag(vmIDTag)) {
		e.t.Errorf("tags in DC2 = %q: want the identity and no move tag", v.Config["tags"])
	}
	if v.Config["lock"] != "" {
		e.t.Errorf("VM in DC2 is locked %q", v.Config["lock"])
	}
	return v
}

func TestMoveToAnInsecureTargetPassesTheFingerprintItSaw(t *testing.T) {
	e := newEnv(t, true, pvesim.Config{})
	e.webVM(nil, true)
	res, err := e.eng.Move(context.Background(), e.request())
	if err != nil {
		t.Fatal(err)
	}
	v := e.arrived(true)
	if res.SourceDC != "DC1" || res.SourceVMID != 100 || res.TargetVMID != v.VMID || res.Resumed || res.CompletedAt.IsZero() {
		t.Errorf("result = %+v", res)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], e.servers["DC2"].Fingerprint) || !strings.Contains(res.Warnings[0], "not verified") && !strings.Contains(res.Warnings[0], "nobody verified") {
		t.Errorf("warnings = %q, want one naming DC2's fingerprint as unverified", res.Warnings)
	}
	want := []Phase{PhasePreflight, PhaseShutdown, PhaseTransfer, PhaseRemap, PhaseStart, PhaseCleanup, PhaseCompleted}
	if strings.Join(phaseStrings(e.phases), ",") != strings.Join(phaseStrings(want), ",") {
		t.Errorf("phases = %v, want %v", e.phases, want)
	}
}

func phaseStrings(ps []Phase) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// Without the fingerprint PVE refuses the insecure target; the engine would then have shut the
// VM down for nothing. This holds the simulator to PVE's refusal.
func TestSimulatorRefusesAnUnverifiedTargetWithoutFingerprint(t *testing.T) {
	e := newEnv(t, true, pvesim.Config{})
	e.webVM(nil, false)
	cfg := e.eng.DCs["DC2"].Config
	ep, err := dcrouter.TargetEndpoint(cfg) // no fingerprint: what moxxie sent before
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client("DC1").RemoteMigrate(context.Background(), "pve1", 100, map[string]any{
		"target-endpoint": ep, "target-storage": "local-lvm", "target-bridge": "vmbr0", "target-vmid": 100})
	if err == nil || !strings.Contains(err.Error(), "fingerprint '"+e.servers["DC2"].Fingerprint+"' not verified, abort!") {
		t.Fatalf("err = %v, want PVE's fingerprint refusal", err)
	}
}

func TestPreflightRefusalsLeaveTheVMRunningAndUntouched(t *testing.T) {
	cases := []struct {
		name  string
		extra map[string]string
		setup func(e *env)
		req   func(r *Request)
		field Field
		want  string
	}{
		{name: "missing target storage", req: func(r *Request) { r.Storage = map[string]string{"local-lvm": "ceph"} }, field: FieldStorage, want: `target storage "ceph"`},
		{name: "storage without images", req: func(r *Request) { r.Storage = map[string]string{"local-lvm": "local"} }, field: FieldStorage, want: `does not hold disk images`},
		{name: "missing target bridge", req: func(r *Request) { r.NICs = Mapping{Nets: &Networks{}, Map: map[string]string{"vlan100": "vmbr77"}} }, field: FieldNetwork, want: `target bridge "vmbr77"`},
		{name: "unmapped NIC", req: func(r *Request) { r.NICs = Mapping{Nets: &Networks{}, Map: map[string]string{"vlan9": "vmbr1"}} }, field: FieldNetwork, want: `has no entry in network_mapping`},
		{name: "live of a stopped VM", setup: func(e *env) { stop(e) }, req: func(r *Request) { r.Live = true }, field: FieldType, want: "a live migration needs a running VM"},
		{name: "snapshot", setup: func(e *env) { snapshot(e) }, field: FieldVM, want: "has snapshots (before)"},
		{name: "HA", setup: func(e *env) { ha(e) }, field: FieldVM, want: "managed by HA (vm:100)"},
		{name: "attached ISO", extra: map[string]string{"ide2": "local:iso/debian.iso,media=cdrom"}, field: FieldVM, want: "has the ISO local:iso/debian.iso attached"},
		{name: "linked clone", extra: map[string]string{"scsi0": "local-lvm:base-900-disk-0/vm-100-disk-0,size=4G"}, field: FieldVM, want: "is a linked clone"},
		{name: "unknown target node", req: func(r *Request) { r.TargetNode = "nope" }, field: FieldNode, want: `has no node "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false, pvesim.Config{})
			e.webVM(tc.extra, true)
			if tc.setup != nil {
				tc.setup(e)
			}
			before, _ := e.cluster("DC1").VM(100)
			req := e.request()
			if tc.req != nil {
				tc.req(&req)
			}
			if _, err := e.eng.Check(context.Background(), req); !IsPreflight(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check: err = %v, want a preflight refusal with %q", err, tc.want)
			}
			_, err := e.eng.Move(context.Background(), req)
			var pe *PreflightError
			if !errors.As(err, &pe) || len(pe.Of(tc.field)) == 0 || !strings.Contains(strings.Join(pe.Of(tc.field), ";"), tc.want) {
				t.Fatalf("Move: err = %v, want a %s refusal with %q", err, tc.field, tc.want)
			}
			after, ok := e.cluster("DC1").VM(100)
			if !ok || after.Status != before.Status || len(after.Config) != len(before.Config) {
				t.Fatalf("VM changed: before %+v, after %+v", before, after)
			}
			for k, v := range before.Config {
				if after.Config[k] != v {
					t.Errorf("config %s changed from %q to %q", k, v, after.Config[k])
				}
			}
			if n := len(e.cluster("DC2").VMs()); n != 0 {
				t.Errorf("DC2 holds %d VMs", n)
			}
		})
	}
}

func stop(e *env) {
	e.t.Helper()
	upid, err := e.client("DC1").StopVM(context.Background(), "pve1", 100)
	if err == nil {
		err = e.client("DC1").WaitTask(context.Background(), upid)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

func snapshot(e *env) {
	e.t.Helper()
	upid, err := e.client("DC1").CreateSnapshot(context.Background(), "pve1", 100, "before")
	if err == nil {
		err = e.client("DC1").WaitTask(context.Background(), upid)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

func ha(e *env) {
	e.t.Helper()
	if err := e.client("DC1").Post(context.Background(), "/cluster/ha/resources", map[string]any{"sid": "vm:100"}, nil); err != nil {
		e.t.Fatal(err)
	}
}

// A transfer that fails after the shutdown (the target storage is too small: only the copy
// finds out) starts the VM again in the source, and the error says so.
func TestAFailedTransferStartsTheSourceAgain(t *testing.T) {
	e := newEnv(t, false, pvesim.Config{Storages: []pvesim.StorageConfig{{Name: "local-lvm", Type: "lvm", Content: "images,rootdir", TotalBytes: 1 << 30}}})
	e.webVM(nil, true)
	_, err := e.eng.Move(context.Background(), e.request())
	if err == nil || !strings.Contains(err.Error(), "VM web-1 was started again in DC1") {
		t.Fatalf("err = %v, want it to say the VM was started again", err)
	}
	v, ok := e.cluster("DC1").VM(100)
	if !ok || v.Status != "running" || strings.Contains(v.Config["tags"], vm.MovePrefix) || v.Config["lock"] != "" {
		t.Fatalf("source after the failure: %+v", v)
	}
	if n := len(e.cluster("DC2").VMs()); n != 0 {
		t.Errorf("DC2 holds %d VMs", n)
	}
}

// Cancelling the context as each phase begins, then moving again, ends with one VM in DC2,
// running, on the target network, recorded as coming from DC1; nothing moves twice.
func TestAnInterruptAtEachPhaseIsFinishedByTheNextMove(t *testing.T) {
	for _, at := range []Phase{PhaseShutdown, PhaseTransfer, PhaseRemap, PhaseStart, PhaseCleanup} {
		t.Run(string(at), func(t *testing.T) {
			e := newEnv(t, false, pvesim.Config{})
			e.webVM(nil, true)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			inner := e.eng.Progress
			e.eng.Progress = func(c context.Context, p Phase, m string) {
				inner(c, p, m)
				if p == at {
					cancel()
				}
			}
			_, err := e.eng.Move(ctx, e.request())
			if err == nil {
				t.Fatal("the cancelled move reports success")
			}
			e.eng.Progress = inner
			if at == PhaseShutdown || at == PhaseTransfer {
				// Cut before the task ran: the VM is back and running in DC1.
				if v, ok := e.cluster("DC1").VM(100); !ok || v.Status != "running" || strings.Contains(v.Config["tags"], vm.MovePrefix) {
					t.Fatalf("after a cut at %s the source is %+v (err %v)", at, v, err)
				}
			}
			res, err := e.eng.Move(context.Background(), e.request())
			if err != nil {
				t.Fatal(err)
			}
			e.arrived(true)
			if res.SourceDC != "DC1" || res.SourceVMID != 100 {
				t.Errorf("recorded source %s/%d, want DC1/100", res.SourceDC, res.SourceVMID)
			}
			again, err := e.eng.Move(context.Background(), e.request())
			var there *AlreadyThereError
			if !errors.As(err, &there) {
				t.Errorf("a third move: %+v, %v; want AlreadyThereError", again, err)
			}
		})
	}
}

// A cancel while the qmigrate task copies (lock "migrate" on the source) leaves the task
// running; the next move waits for it and finishes, without a second migration.
func TestAnInterruptDuringTheCopyIsResumedByTask(t *testing.T) {
	t.Run("task known", func(t *testing.T) { interruptDuringCopy(t, true) })
	// A killed provider may lose the UPID with its state: the lock and the VM's tag suffice.
	t.Run("task lost", func(t *testing.T) { interruptDuringCopy(t, false) })
}

func interruptDuringCopy(t *testing.T, keepUPID bool) {
	e := newEnv(t, false, pvesim.Config{})
	e.webVM(nil, true)
	e.cluster("DC1").SetFaults(pvesim.Faults{TaskExtra: 600 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var upid string
	req := e.request()
	req.OnTask = func(u string) { upid = u }
	done := make(chan error, 1)
	go func() { _, err := e.eng.Move(ctx, req); done <- err }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if v, ok := e.cluster("DC1").VM(100); ok && v.Config["lock"] == "migrate" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the source never got lock migrate")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	err := <-done
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.UPID == "" || ie.UPID != upid {
		t.Fatalf("err = %v, want an InterruptedError with the task %q", err, upid)
	}
	e.cluster("DC1").SetFaults(pvesim.Faults{})
	req.OnTask = func(string) { t.Error("a second migration task was started") }
	if keepUPID {
		req.UPID = ie.UPID
	}
	res, err := e.eng.Move(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	e.arrived(true)
	if !res.Resumed || res.SourceDC != "DC1" {
		t.Errorf("result = %+v, want a resumed move from DC1", res)
	}
}

func TestSplitIdentityIsReportedWithBothCopies(t *testing.T) {
	e := newEnv(t, false, pvesim.Config{})
	e.webVM(nil, true)
	if err := e.cluster("DC2").AddVM("pve1", 300, map[string]string{"name": "web-1", "tags": vm.IdentityTag(vmIDTag)}, false); err != nil {
		t.Fatal(err)
	}
	_, err := e.eng.Move(context.Background(), e.request())
	var se *SplitError
	if !errors.As(err, &se) || se.BothRun() || len(se.Copies) != 2 {
		t.Fatalf("err = %v, want a split of a running and a stopped copy", err)
	}
	for _, want := range []string{"DC1 node pve1 VMID 100 (running", "DC2 node pve1 VMID 300 (stopped"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %q", err, want)
		}
	}
	if v, _ := e.cluster("DC1").VM(100); v.Status != "running" {
		t.Error("the split stopped the VM")
	}
}

func TestAMoveToTheCurrentDatacenterIsRefused(t *testing.T) {
	e := newEnv(t, false, pvesim.Config{})
	e.webVM(nil, true)
	req := e.request()
	req.Target = "DC1"
	var there *AlreadyThereError
	if _, err := e.eng.Check(context.Background(), req); !errors.As(err, &there) {
		t.Errorf("Check: %v", err)
	}
	if _, err := e.eng.Move(context.Background(), req); !errors.As(err, &there) {
		t.Errorf("Move: %v", err)
	}
}

// dropAnswer puts a TLS proxy in front of dc that forwards everything but, once, throws away
// PVE's answer to remote_migrate after PVE acted on it: the lost answer of a WAN link.
func (e *env) dropAnswer(dc string) {
	e.t.Helper()
	backend := e.servers[dc].URL
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // test proxy to a self-signed simulator
	var dropped atomic.Bool
	proxy := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := http.NewRequestWithContext(r.Context(), r.Method, backend+r.URL.RequestURI(), r.Body)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		out.Header = r.Header.Clone()
		res, err := tr.RoundTrip(out)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		defer res.Body.Close()
		if strings.HasSuffix(r.URL.Path, "/remote_migrate") && dropped.CompareAndSwap(false, true) {
			panic(http.ErrAbortHandler) // PVE started the task; the answer never arrives
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	}))
	e.t.Cleanup(proxy.Close)
	cfg := e.eng.DCs[dc].Config
	cfg.URL, cfg.TLSFingerprint, cfg.TLSInsecure = proxy.URL, "", true
	r, err := dcrouter.New([]dcrouter.Config{cfg}, dcrouter.WithRetry(2, 5*time.Millisecond, 20*time.Millisecond), dcrouter.WithTaskPoll(5*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		e.t.Fatal(err)
	}
	c, _ := r.Client(dc)
	d := e.eng.DCs[dc]
	d.Client, d.Config = c, cfg
	e.eng.DCs[dc] = d
}

// The answer to remote_migrate is lost and the resent request is refused (the VM is locked by
// the task the first one started): the move waits for that task and finishes, one migration.
func TestALostAnswerToRemoteMigrateWaitsForTheTaskItStarted(t *testing.T) {
	e := newEnv(t, false, pvesim.Config{})
	e.webVM(nil, true)
	e.cluster("DC1").SetFaults(pvesim.Faults{TaskExtra: 300 * time.Millisecond})
	e.dropAnswer("DC1")
	res, err := e.eng.Move(context.Background(), e.request())
	if err != nil {
		t.Fatal(err)
	}
	e.arrived(true)
	if res.SourceDC != "DC1" {
		t.Errorf("result = %+v", res)
	}
	var tasks int64
	for _, r := range e.cluster("DC1").Requests() {
		if strings.HasSuffix(r.Path, "/remote_migrate") {
			tasks += r.Count
		}
	}
	if n := len(e.cluster("DC2").VMs()); n != 1 || tasks < 2 {
		t.Errorf("DC2 holds %d VMs after %d remote_migrate requests; want 1 VM after the resent request", n, tasks)
	}
}
