// Command pvesim serves simulated Proxmox VE clusters, one per datacenter,
// for moxxie's demo and manual testing.
//
//	pvesim -dc DC1=127.0.0.1:18006 -dc DC2=127.0.0.1:18007 -token 'root@pam!moxxie=SECRET'
//
// Once every datacenter listens it prints one line per datacenter,
// "DC1 https://127.0.0.1:18006 fingerprint AA:BB:...", and runs until
// SIGINT or SIGTERM, then prints each datacenter's request counts to
// stderr.
//
// Fault flags (-latency, -jitter, -error-rate, -drop-before-rate,
// -drop-after-rate, -task-fail-rate, -task-extra, -duplicate-nextid, -seed)
// apply to every datacenter. With -stats-addr 127.0.0.1:PORT it also prints
// "stats http://127.0.0.1:PORT" and serves there:
//
//	GET  /stats            {"DC1": {"requests": [{"method", "path", "count"}...], "total": n}}
//	GET  /faults[?dc=DC1]  faults in force per datacenter
//	POST /faults[?dc=DC1]  JSON body, e.g. {"latency": "200ms", "error503Rate": 0.1};
//	                       named keys change, the others stay (all DCs without ?dc)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop() // not deferred: os.Exit below would skip it
	if err != nil {
		fmt.Fprintln(os.Stderr, "pvesim:", err)
		os.Exit(2)
	}
}

// pairs is a repeatable NAME=VALUE flag.
type pairs []string

func (p *pairs) String() string { return strings.Join(*p, " ") }

func (p *pairs) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not NAME=VALUE", v)
	}
	*p = append(*p, v)
	return nil
}

func split(v string) (string, string) {
	k, val, _ := strings.Cut(v, "=")
	return k, val
}

type options struct {
	dcs, tokens, users pairs
	nodes, cores       int
	memoryMB           int64
	taskDuration       time.Duration
	plainHTTP, verbose bool
	faults             pvesim.Faults
	statsAddr          string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("pvesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.dcs, "dc", "datacenter as NAME=ADDR, e.g. DC1=127.0.0.1:18006 (repeatable)")
	fs.Var(&o.tokens, "token", "API token as USER@REALM!ID=SECRET (repeatable)")
	fs.Var(&o.users, "user", "user as USER@REALM=PASSWORD (repeatable)")
	fs.IntVar(&o.nodes, "nodes", 3, "nodes per datacenter, named pve1..pveN")
	fs.IntVar(&o.cores, "node-cores", 32, "cores per node")
	fs.Int64Var(&o.memoryMB, "node-memory-mb", 131072, "memory per node in MiB")
	fs.DurationVar(&o.taskDuration, "task-duration", pvesim.DefaultTaskDuration, "how long every task runs")
	fs.BoolVar(&o.plainHTTP, "plain-http", false, "serve http:// instead of https://")
	fs.BoolVar(&o.verbose, "v", false, "log requests to stderr")
	faultFlags(fs, &o.faults)
	fs.StringVar(&o.statsAddr, "stats-addr", "", "serve /stats and /faults on this address, e.g. 127.0.0.1:18080")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := validateFaultFlags(o.faults); err != nil {
		return nil, err
	}
	if len(o.dcs) == 0 {
		return nil, errors.New("at least one -dc NAME=ADDR is required")
	}
	if o.nodes < 1 {
		return nil, errors.New("-nodes must be at least 1")
	}
	for _, t := range o.tokens {
		if id, _ := split(t); !strings.Contains(id, "!") || !strings.Contains(id, "@") {
			return nil, fmt.Errorf("-token %q: want USER@REALM!ID=SECRET", t)
		}
	}
	return &o, nil
}

func (o *options) clusterConfig(name string) pvesim.Config {
	cfg := pvesim.Config{
		Name:         name,
		Tokens:       map[string]string{},
		Users:        map[string]string{},
		TaskDuration: o.taskDuration,
	}
	for i := 1; i <= o.nodes; i++ {
		cfg.Nodes = append(cfg.Nodes, pvesim.NodeConfig{Name: fmt.Sprintf("pve%d", i), Cores: o.cores, MemoryMB: o.memoryMB})
	}
	for _, t := range o.tokens {
		id, secret := split(t)
		cfg.Tokens[id] = secret
	}
	for _, u := range o.users {
		user, pass := split(u)
		cfg.Users[user] = pass
	}
	return cfg
}

// run starts every datacenter, announces them on stdout and serves until
// ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := log.New(stderr, "", log.LstdFlags)
	var servers []*pvesim.Server
	var dcs []datacenter
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	for _, dc := range o.dcs {
		name, addr := split(dc)
		c := pvesim.New(o.clusterConfig(name))
		c.SetFaults(o.faults)
		if o.verbose {
			c.SetLogger(func(format string, args ...any) { logger.Printf(name+" "+format, args...) })
		}
		s, err := pvesim.Start(c, addr, pvesim.ServerOptions{PlainHTTP: o.plainHTTP})
		if err != nil {
			return fmt.Errorf("datacenter %s: %w", name, err)
		}
		servers = append(servers, s)
		dcs = append(dcs, datacenter{name: name, cluster: c})
	}
	var statsURL string
	if o.statsAddr != "" {
		ln, err := net.Listen("tcp", o.statsAddr)
		if err != nil {
			return fmt.Errorf("stats: %w", err)
		}
		stats := &http.Server{Handler: statsHandler(dcs), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = stats.Serve(ln) }()
		defer stats.Close()
		statsURL = "http://" + ln.Addr().String()
	}
	for i, s := range servers {
		fp := s.Fingerprint
		if fp == "" {
			fp = "-"
		}
		fmt.Fprintf(stdout, "%s %s fingerprint %s\n", dcs[i].name, s.URL, fp)
	}
	if statsURL != "" {
		fmt.Fprintf(stdout, "stats %s\n", statsURL)
	}
	<-ctx.Done()
	printSummary(stderr, dcs)
	return nil
}
