package main

import (
	"log"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"time"
)

// heapProfileEnv names a file prefix: FILE.<pid> receives a pprof heap profile of each provider
// process (Terraform starts several per command), written each time the live heap reaches a new
// high (checked every 100 ms), so the file shows what the process held at its peak, not what was
// left when Terraform stopped it. For profiling large plans (make bench-scale):
// `go tool pprof -sample_index=inuse_space bin/terraform-provider-moxxie FILE.<pid>`.
const heapProfileEnv = "MOXXIE_HEAP_PROFILE"

// startHeapProfile starts the profiler when heapProfileEnv is set.
func startHeapProfile() {
	prefix := os.Getenv(heapProfileEnv)
	if prefix == "" {
		return
	}
	file := prefix + "." + strconv.Itoa(os.Getpid())
	write := func() {
		// Written aside and renamed into place: Terraform stops a provider process as soon as it
		// is done with it, often in the middle of a write, which must not cost the last profile.
		f, err := os.Create(file + ".tmp")
		if err != nil {
			log.Printf("%s: %v", heapProfileEnv, err)
			return
		}
		defer func() { _ = f.Close() }()
		// WriteHeapProfile reports as of the last GC; a fresh one makes the profile current.
		runtime.GC()
		if err := pprof.WriteHeapProfile(f); err != nil {
			log.Printf("%s: %v", heapProfileEnv, err)
			return
		}
		if err := os.Rename(f.Name(), file); err != nil {
			log.Printf("%s: %v", heapProfileEnv, err)
		}
	}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		var peak uint64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			metrics.Read(sample)
			// 10% above the last written peak: rewriting on every small rise would cost a GC each time.
			if v := sample[0].Value.Uint64(); v > peak+peak/10 {
				peak = v
				write()
			}
		}
	}()
}
