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
	"path/filepath"
	"strings"
	"time"
)

func main() {
	providerDir := flag.String("provider-dir", "bin", "directory holding the built terraform-provider-moxxie")
	out := flag.String("out", "BENCHMARKS.md", "report to write")
	goBench := flag.String("go-bench", "", "file with `go test -bench` output to include (the cross-DC capacity benchmark)")
	refreshVMs := flag.Int("refresh-vms", 300, "VMs in the refresh benchmark")
	applyVMs := flag.Int("apply-vms", 100, "VMs in the apply benchmark")
	flag.Parse()

	dir, err := filepath.Abs(*providerDir)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "terraform-provider-moxxie")); err != nil {
		log.Fatalf("build the provider first: %v", err)
	}
	var rows []row
	if *goBench != "" {
		r, err := capacityRows(*goBench)
		if err != nil {
			log.Fatal(err)
		}
		rows = append(rows, r...)
	}
	r, err := refreshBench(dir, *refreshVMs)
	if err != nil {
		log.Fatalf("refresh benchmark: %v", err)
	}
	rows = append(rows, r...)
	r, err = applyBench(dir, *applyVMs)
	if err != nil {
		log.Fatalf("apply benchmark: %v", err)
	}
	rows = append(rows, r...)

	report := render(rows, time.Now().UTC())
	fmt.Print(report)
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		log.Fatal(err)
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

func render(rows []row, now time.Time) string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	fmt.Fprintf(&b, "Measured by `make bench` on %s (%s). Each figure is a ratio or a count taken within one run against simulated datacenters, so the machine's speed cancels out.\n\n", now.Format("2006-01-02"), machine())
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
