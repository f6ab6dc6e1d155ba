package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// BenchmarkDatacenters8DCs50ms reads moxxie_datacenters' figures from 8 datacenters that each
// answer after 50 ms, concurrently (as the data source does) and, within the same run, serially.
// The ratios, not the times, are the result: the machine's noise cancels out.
//
//	concurrent/serial  ~ 1/8 when the fan-out works
//	concurrent/slowest ~ 1   (one datacenter's own read time)
func BenchmarkDatacenters8DCs50ms(b *testing.B) {
	b.Setenv("TF_ACC", "1")
	var dcs []simDC
	for i := 1; i <= 8; i++ {
		dcs = append(dcs, simDC{name: fmt.Sprintf("DC%d", i)})
	}
	env := newSimEnv(b, dcs...)
	env.requireSim("injects latency")
	for _, s := range env.servers {
		s.Cluster.SetFaults(pvesim.Faults{Latency: 50 * time.Millisecond})
	}
	data := env.providerData(b)
	ctx := context.Background()
	data.readAllStats(ctx) // warm connections and TLS sessions
	// Each read stands for a new walk: a provider process keeps a datacenter's view until it
	// writes, so without forgetting it the loop would time the cache.
	forget := func(names ...string) {
		for _, name := range names {
			if c, err := data.client(name); err == nil {
				c.ForgetResources()
			}
		}
	}

	var concurrent, serial, slowest time.Duration
	for b.Loop() {
		forget(data.dcs.Names()...)
		start := time.Now()
		for name, m := range data.readAllStats(ctx) {
			if !m.Healthy.ValueBool() {
				b.Fatalf("%s unhealthy: %s", name, m.Error.ValueString())
			}
		}
		concurrent += time.Since(start)

		start = time.Now()
		var worst time.Duration
		forget(data.dcs.Names()...)
		for _, name := range data.dcs.Names() {
			one := time.Now()
			data.readStats(ctx, name)
			worst = max(worst, time.Since(one))
		}
		serial += time.Since(start)
		slowest += worst
	}
	b.ReportMetric(float64(concurrent)/float64(serial), "concurrent/serial")
	b.ReportMetric(float64(concurrent)/float64(slowest), "concurrent/slowest-DC")
	b.ReportMetric(float64(concurrent.Milliseconds())/float64(b.N), "ms/read")
}
