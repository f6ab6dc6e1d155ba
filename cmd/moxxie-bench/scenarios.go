package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// refreshBench: terraform plan (refresh included) on n VMs over 3 datacenters; the API requests
// the plan makes per VM, its wall time, and the provider's peak memory.
func refreshBench(providerDir string, n int) ([]row, error) {
	w, err := newWorld(providerDir, 3, 0)
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
	w.resetRequests()
	var peak int64
	took, err := w.terraform(&peak, "plan", "-input=false", "-detailed-exitcode", "-parallelism=50")
	if err != nil {
		return nil, fmt.Errorf("a plan after apply must be empty: %w", err)
	}
	perVM := float64(w.requests()) / float64(n)
	mb := float64(peak) / (1 << 20)
	return []row{
		{what: fmt.Sprintf("Refresh: API requests per VM, `terraform plan` on %d VMs over 3 DCs", n), figure: fmt.Sprintf("%.2f (%d requests, plan took %.1fs)", perVM, w.requests(), took.Seconds()), target: "at most 1.1", ok: perVM <= 1.1},
		{what: "Provider memory: peak RSS during that plan", figure: fmt.Sprintf("%.0f MB", mb), target: "under 150 MB", ok: peak > 0 && mb < 150},
	}, nil
}

// applyBench: n VMs over 3 datacenters with -parallelism=10 and 200 ms tasks, against the ideal of
// n/10 rounds of one VM's own create time, all measured in this run.
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
	// Terraform's own start-up is not moxxie's: measure it with nothing to do, then one VM.
	base, err := run(0)
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
	all, err := run(n)
	if err != nil {
		return nil, fmt.Errorf("apply of %d VMs (a VMID collision or lock timeout reaching the user fails it): %w", n, err)
	}
	if got := w.vmCount(); got != n {
		return nil, fmt.Errorf("%d VMs after apply, want %d", got, n)
	}
	perVM := one - base
	rounds := (n + parallelism - 1) / parallelism
	ideal := time.Duration(rounds) * perVM
	ratio := float64(all-base) / float64(ideal)
	return []row{
		{what: fmt.Sprintf("Apply: %d VMs over 3 DCs, `-parallelism=%d`, 200 ms tasks, wall time against %d rounds of one VM's create (%.2fs)", n, parallelism, rounds, perVM.Seconds()),
			figure: fmt.Sprintf("%.2fx ideal (%.1fs for %.1fs ideal)", ratio, (all - base).Seconds(), ideal.Seconds()), target: "at most 1.3x", ok: ratio <= 1.3},
		{what: "Apply: VMID collisions or lock timeouts reaching the user", figure: "0 (apply succeeded, every VM distinct)", target: "0", ok: true},
	}, nil
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
		return []row{
			{what: "Cross-DC capacity: `moxxie_datacenters` over 8 DCs with 50 ms latency, wall time against the slowest DC's own read", figure: fmt.Sprintf("%.2fx (%.0f ms per read)", slowest, metrics["ms/read"]), target: "at most 1.3x", ok: slowest > 0 && slowest <= 1.3},
			{what: "Cross-DC capacity: the same against a serial loop over the 8 DCs in the same run", figure: fmt.Sprintf("%.3f", serial), target: "about 1/8 (0.125)", ok: serial > 0 && serial <= 0.2},
		}, nil
	}
	return nil, fmt.Errorf("%s holds no BenchmarkDatacenters8DCs50ms result", path)
}
