package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	outageConnectTimeout = 3 * time.Second
	outageSamples        = 3
)

// frozenDC accepts TCP connections and never writes back, like a datacenter whose pveproxy
// process is stopped. Each accepted connection is tied to the provider process that opened it
// (through /proc), so attempts are counted per provider process, not per terraform command.
type frozenDC struct {
	l     net.Listener
	mu    sync.Mutex
	byPID map[int]int
	lost  int // connections whose process could not be found: the row fails on any
	conns []net.Conn
}

func startFrozenDC() (*frozenDC, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &frozenDC{l: l, byPID: map[int]int{}}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			// The client holds its socket open for the whole connect timeout: time enough to find it.
			pid := socketOwner(c.RemoteAddr().(*net.TCPAddr).Port, l.Addr().(*net.TCPAddr).Port)
			f.mu.Lock()
			if pid > 0 {
				f.byPID[pid]++
			} else {
				f.lost++
			}
			f.conns = append(f.conns, c)
			f.mu.Unlock()
		}
	}()
	return f, nil
}

func (f *frozenDC) url() string { return "https://" + f.l.Addr().String() }

func (f *frozenDC) close() {
	_ = f.l.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		_ = c.Close()
	}
}

// counts returns the most attempts any one provider process made, the total, the processes that
// made any, and the connections no process could be found for.
func (f *frozenDC) counts() (most, total, procs, lost int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.byPID {
		most = max(most, n)
		total += n
	}
	return most, total, len(f.byPID), f.lost
}

// socketOwner finds the process holding the IPv4 loopback socket whose local port is port and
// remote port is peer, via /proc/net/tcp's inode and /proc/<pid>/fd; 0 when none is found.
func socketOwner(port, peer int) int {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0
	}
	inode := ""
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		if hexPort(f[1]) == port && hexPort(f[2]) == peer {
			inode = f[9]
			break
		}
	}
	if inode == "" || inode == "0" {
		return 0
	}
	want := "socket:[" + inode + "]"
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && link == want {
				return pid
			}
		}
	}
	return 0
}

// hexPort reads the port of /proc/net/tcp's "0100007F:D431".
func hexPort(addr string) int {
	_, p, ok := strings.Cut(addr, ":")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(p, 16, 32)
	if err != nil {
		return -1
	}
	return int(n)
}

// outageBench: `terraform plan` on n VMs over 3 datacenters with moxxie_datacenters listing them,
// first as is, then with a fourth, frozen datacenter declared (connect_timeout 3s). The frozen DC
// may cost each provider process one handshake attempt, and the plan one connect timeout.
func outageBench(providerDir string, n int) ([]row, error) {
	w, err := newWorld(providerDir, 3, 0)
	if err != nil {
		return nil, err
	}
	defer w.close()
	frozen, err := startFrozenDC()
	if err != nil {
		return nil, err
	}
	defer frozen.close()
	body := w.vms(n) + "data \"moxxie_datacenters\" \"all\" {}\n"
	if err := w.write(body); err != nil {
		return nil, err
	}
	if _, err := w.terraform(nil, "apply", "-auto-approve", "-input=false", "-parallelism=10"); err != nil {
		return nil, err
	}
	plans := func() (time.Duration, error) {
		var took []time.Duration
		for i := 0; i < outageSamples; i++ {
			d, err := w.terraform(nil, "plan", "-input=false", "-detailed-exitcode", "-parallelism=10")
			if err != nil {
				return 0, fmt.Errorf("a plan after apply must be empty: %w", err)
			}
			took = append(took, d)
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		return took[len(took)/2], nil
	}
	base, err := plans()
	if err != nil {
		return nil, err
	}
	w.extraDCs = fmt.Sprintf("    DC4 = {\n      proxmox_url = %q\n      api_token = %q\n      tls_insecure = true\n      connect_timeout = %q\n    }\n",
		frozen.url(), tokenID+"="+tokenSecret, outageConnectTimeout.String())
	if err := w.write(body); err != nil {
		return nil, err
	}
	withFrozen, err := plans()
	if err != nil {
		return nil, fmt.Errorf("with a frozen datacenter: %w", err)
	}
	most, total, procs, lost := frozen.counts()
	ideal := base + outageConnectTimeout
	ratio := float64(withFrozen) / float64(ideal)
	const maxRatio = 1.2
	return []row{
		{what: fmt.Sprintf("Outage: %d `terraform plan` runs on %d VMs over 3 DCs plus one frozen DC (TCP accepted, no TLS answer), handshake attempts per provider process", outageSamples, n),
			figure: fmt.Sprintf("at most %d (%d attempts from %d provider processes, %d not traced to a process)", most, total, procs, lost),
			target: "at most 1", ok: total > 0 && lost == 0 && most <= 1},
		{what: fmt.Sprintf("Outage: that plan's wall time against the same plan without the frozen DC plus one `connect_timeout` (%s), medians of %d", outageConnectTimeout, outageSamples),
			figure: fmt.Sprintf("%.2fx (%.1fs against %.1fs + %.0fs)", ratio, withFrozen.Seconds(), base.Seconds(), outageConnectTimeout.Seconds()),
			target: fmt.Sprintf("at most %.1fx", maxRatio), ok: ratio <= maxRatio},
	}, nil
}
