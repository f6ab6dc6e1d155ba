// Command moxxie-bench measures moxxie at scale against simulated datacenters with the real
// terraform binary and the built provider, and writes BENCHMARKS.md. Every target is a ratio or a
// count measured inside one run, so the machine's speed cancels out.
//
//	go build -o bin/terraform-provider-moxxie . && go run ./cmd/moxxie-bench -provider-dir bin -out BENCHMARKS.md
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == hogFlag { // a child process of the loaded refresh row
		d, err := time.ParseDuration(os.Args[2])
		if err != nil {
			log.Fatal(err)
		}
		runHog(d)
		return
	}
	providerDir := flag.String("provider-dir", "bin", "directory holding the built terraform-provider-moxxie")
	out := flag.String("out", "BENCHMARKS.md", "report to write")
	goBench := flag.String("go-bench", "", "file with `go test -bench` output to include (the cross-DC capacity benchmark)")
	refreshVMs := flag.Int("refresh-vms", 300, "VMs in the refresh benchmark")
	applyVMs := flag.Int("apply-vms", 100, "VMs in the apply benchmark")
	outageVMs := flag.Int("outage-vms", 30, "VMs in the outage benchmark")
	// make bench passes -scale-vms; a report written without it says so (scaleNote).
	scaleSizes := flag.String("scale-vms", "", "comma-separated VM counts of the scale benchmark (8 DCs), smallest first; empty: no scale rows")
	raceVMs := flag.Int("race-vms", 10, "VMs each of the two workspaces creates in the VMID race benchmark")
	only := flag.String("only", "", "comma-separated rows to run (refresh, apply, race, outage, scale); the report then goes to stdout only, never to -out")
	flag.Parse()
	run := func(name string) bool { return *only == "" || strings.Contains(","+*only+",", ","+name+",") }

	dir, err := filepath.Abs(*providerDir)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "terraform-provider-moxxie")); err != nil {
		log.Fatalf("build the provider first: %v", err)
	}
	startLoad := loadAverage()
	var rows []row
	if *goBench != "" && *only == "" {
		r, err := capacityRows(*goBench)
		if err != nil {
			log.Fatal(err)
		}
		rows = append(rows, r...)
	}
	benches := []struct {
		name string
		fn   func() ([]row, error)
	}{
		{"refresh", func() ([]row, error) { return refreshBench(dir, *refreshVMs, 3) }},
		{"apply", func() ([]row, error) { return applyBench(dir, *applyVMs) }},
		{"race", func() ([]row, error) { return raceBench(dir, *raceVMs) }},
		{"scale", func() ([]row, error) {
			if *scaleSizes == "" {
				return nil, nil
			}
			sizes, err := parseSizes(*scaleSizes)
			if err != nil {
				return nil, err
			}
			return scaleBench(dir, sizes)
		}},
		{"outage", func() ([]row, error) { return outageBench(dir, *outageVMs) }},
	}
	for _, b := range benches {
		if !run(b.name) {
			continue
		}
		r, err := b.fn()
		if err != nil {
			log.Fatalf("%s benchmark: %v", b.name, err)
		}
		rows = append(rows, r...)
	}

	report := render(rows, time.Now().UTC(), startLoad, loadAverage(), *scaleSizes != "")
	fmt.Print(report)
	if *only == "" { // a partial run must not replace the full report
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	for _, r := range rows {
		if !r.ok {
			log.Fatalf("target missed: %s = %s (target %s)", r.what, r.figure, r.target)
		}
	}
}

type row struct {
	what, figure, target string
	ok                   bool
}

// scaleNote says in a report without scale rows that they are missing and how to get them.
const scaleNote = "This report has no scale rows (a `terraform plan` on 300, 1000 and 3000 VMs over 8 DCs: requests per VM, the provider's peak RSS, time per VM): " +
	"it was written without `-scale-vms`, which `make bench` passes.\n\n"

func render(rows []row, now time.Time, startLoad, endLoad string, withScale bool) string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	fmt.Fprintf(&b, "Measured by `make bench` on %s at commit %s (%s; load average %s at the start, %s at the end). Each figure is a ratio or a count taken within one run against simulated datacenters, so the machine's speed cancels out.\n\n",
		now.Format("2006-01-02 15:04 MST"), commit(), machine(), startLoad, endLoad)
	if !withScale {
		b.WriteString(scaleNote)
	}
	b.WriteString("| what was measured | figure | target | met |\n| --- | --- | --- | --- |\n")
	for _, r := range rows {
		met := "yes"
		if !r.ok {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.what, r.figure, r.target, met)
	}
	return b.String()
}

func machine() string {
	n := 0
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(data), "processor\t:")
	}
	return fmt.Sprintf("%d CPUs", n)
}

// loadAverage is the 1, 5 and 15 minute load average, as /proc/loadavg gives it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// commit names the measured tree: HEAD's hash, marked when the work tree differs from it.
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if err := exec.Command("git", "diff", "--quiet", "HEAD", "--").Run(); err != nil {
		c += " with uncommitted changes"
	}
	return c
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n <= 0 {
			return nil, fmt.Errorf("-scale-vms: %q is not a VM count", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("-scale-vms: sizes must grow, %d after %d", n, out[len(out)-1])
		}
		out = append(out, n)
	}
	return out, nil
}
