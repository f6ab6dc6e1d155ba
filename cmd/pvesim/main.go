// Command pvesim serves simulated Proxmox VE clusters, one per datacenter,
// for moxxie's demo and manual testing.
//
//	pvesim -dc DC1=127.0.0.1:18006 -dc DC2=127.0.0.1:18007 -token 'root@pam!moxxie=SECRET'
//
// -token tokens belong to their user without privilege separation (a root@pam token holds every
// right). A limited caller is a custom role plus a privilege-separated token granted it on /:
//
//	-role 'Moxxie=Sys.Audit,VM.Audit,...' -privsep-token 'moxxie@pve!terraform=SECRET:Moxxie'
//
// Once every datacenter listens it prints one line per datacenter,
// "DC1 https://127.0.0.1:18006 fingerprint AA:BB:...", and runs until
// SIGINT or SIGTERM, then prints each datacenter's request counts to
// stderr.
//
// With -ready-file PATH it also writes, once every datacenter listens,
// {"datacenters": {"DC1": {"url", "fingerprint", "cert_pem"}}, "stats": URL}
// to PATH (removed again on exit): ports given as :0 are chosen by the OS,
// and scripts read the real ones there.
//
// Fault flags (-latency, -jitter, -error-rate, -drop-before-rate,
// -drop-after-rate, -task-fail-rate, -task-extra, -duplicate-nextid, -seed)
// apply to every datacenter. With -stats-addr 127.0.0.1:PORT it also prints
// "stats http://127.0.0.1:PORT" and serves there:
//
//	GET  /stats            {"DC1": {"requests": [{"method", "path", "count"}...], "total": n,
//	                       "faults": {"error503": n, "dropBefore": n, ...}}}: requests, and how
//	                       often each injected fault fired
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
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
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
	dcs, tokens, users   pairs
	roles, privsepTokens pairs
	nodes, cores         int
	memoryMB             int64
	taskDuration         time.Duration
	plainHTTP, verbose   bool
	faults               pvesim.Faults
	statsAddr            string
	readyFile            string
	pbsDir               string
	pbs                  *pvesim.PBSDatastore
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("pvesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.dcs, "dc", "datacenter as NAME=ADDR, e.g. DC1=127.0.0.1:18006 (repeatable)")
	fs.Var(&o.tokens, "token", "API token as USER@REALM!ID=SECRET (repeatable)")
	fs.Var(&o.users, "user", "user as USER@REALM=PASSWORD (repeatable)")
	fs.Var(&o.roles, "role", "custom role as NAME=PRIV[,PRIV...] (repeatable)")
	fs.Var(&o.privsepTokens, "privsep-token", "privilege-separated token as USER@REALM!ID=SECRET:ROLE; user and token get ROLE on / (repeatable)")
	fs.IntVar(&o.nodes, "nodes", 3, "nodes per datacenter, named pve1..pveN")
	fs.IntVar(&o.cores, "node-cores", 32, "cores per node")
	fs.Int64Var(&o.memoryMB, "node-memory-mb", 131072, "memory per node in MiB")
	fs.DurationVar(&o.taskDuration, "task-duration", pvesim.DefaultTaskDuration, "how long every task runs")
	fs.BoolVar(&o.plainHTTP, "plain-http", false, "serve http:// instead of https://")
	fs.BoolVar(&o.verbose, "v", false, "log requests to stderr")
	faultFlags(fs, &o.faults)
	fs.StringVar(&o.statsAddr, "stats-addr", "", "serve /stats and /faults on this address, e.g. 127.0.0.1:18080")
	fs.StringVar(&o.pbsDir, "pbs-dir", "", "give every datacenter a storage 'pbs' (type pbs) whose backups live in this directory; pvesim processes given the same directory share the datastore, as a PBS sync job between sites makes it")
	fs.StringVar(&o.readyFile, "ready-file", "", "once every datacenter listens, write their URLs and certificates to this file as JSON")
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
	roles := map[string]bool{}
	for _, r := range o.roles {
		name, privs := split(r)
		for _, p := range splitPrivs(privs) {
			if !access.ValidPriv(p) {
				return nil, fmt.Errorf("-role %s: invalid privilege '%s'", name, p)
			}
		}
		roles[name] = true
	}
	for _, t := range o.privsepTokens {
		id, rest := split(t)
		secret, role, ok := strings.Cut(rest, ":")
		if _, _, valid := access.SplitTokenID(id); !valid || !ok || secret == "" || role == "" {
			return nil, fmt.Errorf("-privsep-token %q: want USER@REALM!ID=SECRET:ROLE", t)
		}
		if _, err := access.New().GetRole(role); err != nil && !roles[role] {
			return nil, fmt.Errorf("-privsep-token %s: role '%s' does not exist", id, role)
		}
	}
	return &o, nil
}

func splitPrivs(s string) []string {
	return strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ' ' })
}

// openPBS opens the -pbs-dir datastore every datacenter attaches.
func (o *options) openPBS() error {
	if o.pbsDir == "" {
		return nil
	}
	var err error
	if o.pbs, err = pvesim.OpenPBSDatastore(o.pbsDir); err != nil {
		return fmt.Errorf("-pbs-dir: %w", err)
	}
	return nil
}

func (o *options) clusterConfig(name string) pvesim.Config {
	cfg := pvesim.Config{
		Name:         name,
		Tokens:       map[string]string{},
		Users:        map[string]string{},
		TaskDuration: o.taskDuration,
		PBS:          o.pbs,
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
	if len(o.roles) > 0 {
		cfg.Roles = map[string][]string{}
	}
	for _, r := range o.roles {
		name, privs := split(r)
		cfg.Roles[name] = splitPrivs(privs)
	}
	for _, t := range o.privsepTokens {
		id, rest := split(t)
		secret, role, _ := strings.Cut(rest, ":")
		cfg.PrivsepTokens = append(cfg.PrivsepTokens, pvesim.PrivsepToken{ID: id, Secret: secret, Role: role})
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
	if err := o.openPBS(); err != nil {
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
	if o.readyFile != "" {
		names := make([]string, len(dcs))
		for i, dc := range dcs {
			names[i] = dc.name
		}
		if err := writeReadyFile(o.readyFile, names, servers, statsURL); err != nil {
			return fmt.Errorf("-ready-file: %w", err)
		}
		defer os.Remove(o.readyFile)
	}
	<-ctx.Done()
	printSummary(stderr, dcs)
	return nil
}
