package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

const (
	tokenID     = "root@pam!bench"
	tokenSecret = "bench-secret"
)

// world is a set of simulated datacenters and a terraform working directory pointed at the
// built provider through dev_overrides (no registry, no terraform init).
type world struct {
	dir     string
	servers map[string]*pvesim.Server
	env     []string
	// extraDCs is HCL for datacenters that are not simulators (the outage row's frozen one).
	extraDCs string
}

func newWorld(providerDir string, dcs int, taskDuration time.Duration) (*world, error) {
	dir, err := os.MkdirTemp("", "moxxie-bench-")
	if err != nil {
		return nil, err
	}
	w := &world{dir: dir, servers: map[string]*pvesim.Server{}}
	for i := 1; i <= dcs; i++ {
		name := fmt.Sprintf("DC%d", i)
		c := pvesim.New(pvesim.Config{Name: name, Tokens: map[string]string{tokenID: tokenSecret}, TaskDuration: taskDuration,
			// Room for hundreds of VMs: the benchmark measures moxxie, not capacity checks.
			Nodes: []pvesim.NodeConfig{{Name: "pve1", Cores: 4096, MemoryMB: 16 << 20}, {Name: "pve2", Cores: 4096, MemoryMB: 16 << 20}}})
		s, err := pvesim.Start(c, "127.0.0.1:0", pvesim.ServerOptions{})
		if err != nil {
			return nil, err
		}
		w.servers[name] = s
	}
	rc := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"moxxie/moxxie\" = %q\n  }\n  direct {}\n}\n", providerDir)), 0o644); err != nil {
		return nil, err
	}
	w.env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_CLI_ARGS=-no-color")
	for name := range w.servers {
		w.env = append(w.env, "MOXXIE_"+name+"_API_TOKEN="+tokenID+"="+tokenSecret)
	}
	return w, nil
}

func (w *world) close() {
	for _, s := range w.servers {
		_ = s.Close()
	}
	_ = os.RemoveAll(w.dir)
}

func (w *world) names() []string {
	var out []string
	for n := range w.servers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// write replaces the configuration: the provider block plus body.
func (w *world) write(body string) error { return w.writeIn(w.dir, body) }

// writeIn writes the configuration into another working directory (a second workspace).
func (w *world) writeIn(dir, body string) error {
	var b strings.Builder
	b.WriteString("terraform {\n  required_providers {\n    moxxie = { source = \"moxxie/moxxie\" }\n  }\n}\n\nprovider \"moxxie\" {\n  datacenters = {\n")
	for _, n := range w.names() {
		s := w.servers[n]
		fmt.Fprintf(&b, "    %s = {\n      proxmox_url = %q\n      tls_fingerprint = %q\n    }\n", n, s.URL, s.Fingerprint)
	}
	b.WriteString(w.extraDCs)
	b.WriteString("  }\n}\n\n")
	b.WriteString(body)
	return os.WriteFile(filepath.Join(dir, "main.tf"), []byte(b.String()), 0o644)
}

// vms declares n VMs spread round-robin over the datacenters.
func (w *world) vms(n int) string {
	names := w.names()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "resource \"moxxie_vm\" \"v%d\" {\n  name = \"bench-%d\"\n  datacenter = %q\n  memory_mb = 256\n}\n", i, i, names[i%len(names)])
	}
	return b.String()
}

// terraform runs one terraform command and returns its wall time; peak, when not nil, receives
// the provider process's peak resident memory in bytes.
func (w *world) terraform(peak *int64, args ...string) (time.Duration, error) {
	return w.terraformIn(w.dir, peak, args...)
}

// terraformIn runs terraform in another working directory.
func (w *world) terraformIn(dir string, peak *int64, args ...string) (time.Duration, error) {
	cmd := exec.Command("terraform", args...)
	cmd.Dir, cmd.Env = dir, w.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if peak != nil {
		wg.Add(1)
		go func() { defer wg.Done(); watchRSS(stop, peak) }()
	}
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		return took, fmt.Errorf("terraform %s: %v\n%s", strings.Join(args, " "), err, tail(out.String(), 3000))
	}
	return took, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// watchRSS polls the provider processes' peak RSS (VmHWM) until stop closes.
func watchRSS(stop <-chan struct{}, peak *int64) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			if err != nil || !strings.HasPrefix(string(comm), "terraform-provi") {
				continue
			}
			status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(status), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
					if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
						for {
							old := atomic.LoadInt64(peak)
							if kb*1024 <= old || atomic.CompareAndSwapInt64(peak, old, kb*1024) {
								break
							}
						}
					}
				}
			}
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (w *world) requests() int64 {
	var n int64
	for _, s := range w.servers {
		n += s.Cluster.RequestTotal()
	}
	return n
}

func (w *world) resetRequests() {
	for _, s := range w.servers {
		s.Cluster.ResetRequests()
	}
}

func (w *world) vmCount() int {
	n := 0
	for _, s := range w.servers {
		n += len(s.Cluster.VMs())
	}
	return n
}

// breakdown names the routes that took more than one request in total, most first: what a
// figure of requests is made of.
func (w *world) breakdown() string {
	counts := map[string]int64{}
	for _, s := range w.servers {
		for _, rc := range s.Cluster.Requests() {
			counts[rc.Method+" "+rc.Path] += rc.Count
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return counts[keys[i]] > counts[keys[j]] || counts[keys[i]] == counts[keys[j]] && keys[i] < keys[j]
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// clusterWideRoutes are the reads that concern a whole datacenter rather than one VM.
var clusterWideRoutes = map[string]bool{"/cluster/resources": true, "/cluster/nextid": true, "/version": true, "/cluster/status": true}

func (w *world) clusterWideRequests() int64 {
	var n int64
	for _, s := range w.servers {
		for _, rc := range s.Cluster.Requests() {
			if clusterWideRoutes[rc.Path] {
				n += rc.Count
			}
		}
	}
	return n
}
