package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxRefreshPerVM is the refresh target: one read per VM plus each datacenter's cluster-wide reads
// (/cluster/resources, /version, /cluster/status), read once per walk.
const maxRefreshPerVM = 1.02

// refreshBench: terraform plan (refresh included) on n VMs over dcs datacenters, once on the
// machine as it is and once with a CPU hog per core beside it: the API requests per VM must not
// depend on timing. Also the plan's wall time and the provider's peak memory.
func refreshBench(providerDir string, n, dcs int) ([]row, error) {
	w, err := newWorld(providerDir, dcs, 0)
	if err != nil {
		return nil, err
	}
	defer w.close()
	if err := w.write(w.vms(n)); err != nil {
		return nil, err
	}
	if _, err := w.terraform(nil, "apply", "-auto-approve", "-input=false", "-parallelism=50"); err != nil {
		return nil, err
	}
	if got := w.vmCount(); got != n {
		return nil, fmt.Errorf("%d VMs in the simulators after apply, want %d", got, n)
	}
	var rows []row
	for _, loaded := range []bool{false, true} {
		var stop func()
		how := "idle machine"
		if loaded {
			hogs := runtime.NumCPU()
			if stop, err = startHogs(hogs, 10*time.Minute); err != nil {
				return nil, err
			}
			how = fmt.Sprintf("%d CPU hog processes beside it", hogs)
		}
		w.resetRequests()
		var peak int64
		took, err := w.terraform(&peak, "plan", "-input=false", "-detailed-exitcode", "-parallelism=50")
		if stop != nil {
			stop()
		}
		if err != nil {
			return nil, fmt.Errorf("a plan after apply must be empty (%s): %w", how, err)
		}
		perVM := float64(w.requests()) / float64(n)
		rows = append(rows, row{what: fmt.Sprintf("Refresh: API requests per VM, `terraform plan` on %d VMs over %d DCs, %s", n, dcs, how),
			figure: fmt.Sprintf("%.3f (%d requests: %s; plan took %.1fs)", perVM, w.requests(), w.breakdown(), took.Seconds()),
			target: fmt.Sprintf("at most %.2f", maxRefreshPerVM), ok: perVM <= maxRefreshPerVM})
		if !loaded {
			mb := float64(peak) / (1 << 20)
			rows = append(rows, row{what: "Provider memory: peak RSS during that plan", figure: fmt.Sprintf("%.0f MB", mb), target: "under 150 MB", ok: peak > 0 && mb < 150})
		}
	}
	return rows, nil
}

const (
	// applySamples is how many single-VM applies the ideal's one-VM create time is the median of.
	applySamples = 5
	// maxApplyRatio is the apply target against the ideal, maxApplyPerVM its requests per VM:
	// create, start, one poll of each task, one read of the result.
	maxApplyRatio = 1.3
	maxApplyPerVM = 5.0
	// maxApplyClusterReadsPerDC: the plan walk's listing, the apply walk's listing and one nextid.
	maxApplyClusterReadsPerDC = 3
)

// applyBench: n VMs over 3 datacenters with -parallelism=10 and 200 ms tasks, against the ideal of
// n/10 rounds of one VM's own create time (the median of applySamples single-VM applies), all
// measured in this run; and the API requests the apply makes per VM.
func applyBench(providerDir string, n int) ([]row, error) {
	const parallelism = 10
	w, err := newWorld(providerDir, 3, 200*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer w.close()
	run := func(count int) (time.Duration, error) {
		if err := w.write(w.vms(count)); err != nil {
			return 0, err
		}
		return w.terraform(nil, "apply", "-auto-approve", "-input=false", fmt.Sprintf("-parallelism=%d", parallelism))
	}
	// Terraform's own start-up is not moxxie's: measure it with nothing to do, then one VM (each
	// destroyed again by the next empty apply, which is also the next empty sample).
	var bases, ones []time.Duration
	for i := 0; i < applySamples; i++ {
		base, err := run(0) // nothing to do: the VM of the previous sample is gone already
		if err != nil {
			return nil, err
		}
		one, err := run(1)
		if err != nil {
			return nil, err
		}
		if _, err := run(0); err != nil { // destroy it again
			return nil, err
		}
		bases, ones = append(bases, base), append(ones, one)
	}
	base, one := median(bases), median(ones)
	w.resetRequests()
	all, err := run(n)
	if err != nil {
		return nil, fmt.Errorf("apply of %d VMs (a VMID collision or lock timeout reaching the user fails it): %w", n, err)
	}
	if got := w.vmCount(); got != n {
		return nil, fmt.Errorf("%d VMs after apply, want %d", got, n)
	}
	reqs, clusterWide := w.requests(), w.clusterWideRequests()
	perVMReqs := float64(reqs-clusterWide) / float64(n)
	perDC := float64(clusterWide) / float64(len(w.servers))
	perVM := one - base
	rounds := (n + parallelism - 1) / parallelism
	ideal := time.Duration(rounds) * perVM
	ratio := float64(all-base) / float64(ideal)
	return []row{
		{what: fmt.Sprintf("Apply: %d VMs over 3 DCs, `-parallelism=%d`, 200 ms tasks, wall time against %d rounds of one VM's create (%.2fs, median of %d)", n, parallelism, rounds, perVM.Seconds(), applySamples),
			figure: fmt.Sprintf("%.2fx ideal (%.1fs for %.1fs ideal)", ratio, (all - base).Seconds(), ideal.Seconds()), target: fmt.Sprintf("at most %.1fx", maxApplyRatio), ok: ratio <= maxApplyRatio},
		{what: "Apply: API requests per VM in that apply (plan and apply walks), not counting the cluster-wide reads of the next row",
			figure: fmt.Sprintf("%.2f (%d of %d requests, %.2f per VM with the cluster-wide ones: %s)", perVMReqs, reqs-clusterWide, reqs, float64(reqs)/float64(n), w.breakdown()),
			target: fmt.Sprintf("at most %.0f", maxApplyPerVM), ok: perVMReqs <= maxApplyPerVM},
		{what: "Apply: cluster-wide reads (`/cluster/resources`, `/cluster/nextid`, `/version`, `/cluster/status`) per DC in that apply, whatever the number of VMs",
			figure: fmt.Sprintf("%.1f (%d over %d DCs)", perDC, clusterWide, len(w.servers)),
			target: fmt.Sprintf("at most %d", maxApplyClusterReadsPerDC), ok: perDC <= maxApplyClusterReadsPerDC},
	}, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// capacityRows reads the ratios BenchmarkDatacenters8DCs50ms reported.
func capacityRows(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "BenchmarkDatacenters8DCs50ms") {
			continue
		}
		metrics := map[string]float64{}
		fields := strings.Fields(line)
		for i := 2; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				metrics[fields[i+1]] = v
			}
		}
		slowest, serial := metrics["concurrent/slowest-DC"], metrics["concurrent/serial"]
		// 8 DCs read at once take one DC's time, 1/8 of the serial loop; the target leaves room
		// for the simulators and the provider sharing the machine's cores.
		const maxSlowest, maxSerial = 1.3, 0.2
		// Each datacenter answers after 50 ms: a faster read was served from a cache, not read.
		const minReadMS = 50
		read := metrics["ms/read"] >= minReadMS
		return []row{
			{what: "Cross-DC capacity: `moxxie_datacenters` over 8 DCs with 50 ms latency, wall time against the slowest DC's own read", figure: fmt.Sprintf("%.2fx (%.0f ms per read)", slowest, metrics["ms/read"]), target: fmt.Sprintf("at most %.1fx, reads of at least %d ms", maxSlowest, minReadMS), ok: read && slowest > 0 && slowest <= maxSlowest},
			{what: "Cross-DC capacity: the same against a serial loop over the 8 DCs in the same run (1/8 = 0.125 when all 8 overlap)", figure: fmt.Sprintf("%.3f", serial), target: fmt.Sprintf("at most %.2f", maxSerial), ok: read && serial > 0 && serial <= maxSerial},
		}, nil
	}
	return nil, fmt.Errorf("%s holds no BenchmarkDatacenters8DCs50ms result", path)
}
