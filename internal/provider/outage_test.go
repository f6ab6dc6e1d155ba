package provider

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// outageProbe is a frozen datacenter (TCP accepted, not one byte written back, like a stopped
// pveproxy process) and a record of when the provider built its routers, one per configured
// provider process (walk). Walks run one after another, so an accepted connection belongs to the
// walk whose router was built last before it.
type outageProbe struct {
	l       net.Listener
	mu      sync.Mutex
	routers []time.Time
	accepts []time.Time
	conns   []net.Conn
}

func newOutageProbe(t *testing.T, addr string) *outageProbe {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &outageProbe{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.accepts = append(p.accepts, time.Now())
			p.conns = append(p.conns, c)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *outageProbe) close() {
	_ = p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// connections counts the connection attempts the frozen datacenter has seen.
func (p *outageProbe) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.accepts)
}

func (p *outageProbe) url() string { return "https://" + p.l.Addr().String() }

// option records each router the provider builds.
func (p *outageProbe) option() dcrouter.Option {
	return func(*dcrouter.Router) {
		p.mu.Lock()
		p.routers = append(p.routers, time.Now())
		p.mu.Unlock()
	}
}

// check fails unless every walk so far made at most one connection attempt to the frozen DC,
// and at least one walk tried it (else the test proves nothing).
func (p *outageProbe) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.accepts) == 0 {
		return fmt.Errorf("the frozen datacenter was never contacted (%d walks)", len(p.routers))
	}
	perWalk := make([]int, len(p.routers))
	for _, a := range p.accepts {
		w := -1
		for i, r := range p.routers {
			if !r.After(a) {
				w = i
			}
		}
		if w < 0 {
			return fmt.Errorf("a connection at %s came before any walk", a.Format(time.StampMicro))
		}
		perWalk[w]++
	}
	for i, n := range perWalk {
		if n > 1 {
			return fmt.Errorf("walk %d of %d made %d connection attempts to the frozen datacenter; want at most 1 (all walks: %v)", i+1, len(perWalk), n, perWalk)
		}
	}
	return nil
}

// A frozen datacenter beside a healthy one: apply, re-plan and destroy resources in the healthy
// one while moxxie_datacenters lists both. Each walk pays the frozen DC's handshake at most once,
// the data source reports it unhealthy with an error naming it, and nothing fails.
func TestAccOutage_frozenDatacenterCostsOneHandshakePerWalk(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("counts connections to a datacenter it freezes itself")
	probe := newOutageProbe(t, "127.0.0.1:0")
	dc1 := env.servers["DC1"]
	config := fmt.Sprintf(`terraform {
  required_providers {
    moxxie = { source = "moxxie/moxxie" }
  }
}

provider "moxxie" {
  datacenters = {
    DC1 = {
      proxmox_url     = %q
      api_token       = %q
      tls_fingerprint = %q
    }
    DC2 = {
      proxmox_url     = %q
      api_token       = %q
      tls_insecure    = true
      connect_timeout = "1s"
    }
  }
}

resource "moxxie_vm" "web" {
  count      = 3
  name       = "web-${count.index}"
  datacenter = "DC1"
  memory_mb  = 256
}

data "moxxie_datacenters" "all" {
  depends_on = [moxxie_vm.web]
}
`, dc1.URL, testTokenID+"="+testTokenSecret, dc1.Fingerprint, probe.url(), testTokenID+"="+testTokenSecret)
	dcs := tfjsonpath.New("datacenters")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factoriesWith(dcrouter.WithRetry(3, 10*time.Millisecond, 100*time.Millisecond), probe.option()),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", dcs.AtMapKey("DC1").AtMapKey("healthy"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", dcs.AtMapKey("DC2").AtMapKey("healthy"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", dcs.AtMapKey("DC2").AtMapKey("error"), knownvalue.StringRegexp(regexp.MustCompile(
						`datacenter DC2 \(`+regexp.QuoteMeta(probe.url())+`\) did not answer within 1s \(TLS handshake not completed\)`))),
				},
				Check: func(*terraform.State) error {
					if n := len(env.cluster("DC1").VMs()); n != 3 {
						return fmt.Errorf("DC1 holds %d VMs, want 3", n)
					}
					return probe.check()
				},
			},
			{
				Config:   config,
				PlanOnly: true, // refresh and plan again: empty, and still one handshake per walk
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if n := len(env.cluster("DC1").VMs()); n != 0 {
				return fmt.Errorf("DC1 holds %d VMs after destroy", n)
			}
			return probe.check()
		},
	})
	probe.mu.Lock()
	t.Logf("%d walks, %d connection attempts to the frozen datacenter", len(probe.routers), len(probe.accepts))
	probe.mu.Unlock()
}

// A datacenter that answered in one run and is frozen in the next (its VM in state): the re-plan
// keeps the VM (no change planned), pays one handshake per walk, and once the datacenter is back
// the plan is empty again and the VM was never touched.
func TestAccOutage_datacenterFreezesBetweenRuns(t *testing.T) {
	env := newSimEnv(t)
	env.requireSim("freezes a simulator between runs")
	dc2 := env.servers["DC2"]
	var current atomic.Pointer[outageProbe] // set while DC2 is frozen; Configure runs on other goroutines
	opt := func(r *dcrouter.Router) {
		if p := current.Load(); p != nil {
			p.option()(r)
		}
	}
	config := env.providerBlock(map[string]string{"DC2": "      connect_timeout = \"1s\"\n"}) + `
resource "moxxie_vm" "web" {
  name       = "web-1"
  datacenter = "DC1"
  memory_mb  = 256
}
resource "moxxie_vm" "db" {
  name       = "db-1"
  datacenter = "DC2"
  memory_mb  = 256
}
data "moxxie_datacenters" "all" {
  depends_on = [moxxie_vm.web, moxxie_vm.db]
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factoriesWith(dcrouter.WithRetry(3, 10*time.Millisecond, 100*time.Millisecond), opt),
		CheckDestroy:             env.checkDestroy,
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					_ = dc2.Down()
					current.Store(newOutageProbe(t, strings.TrimPrefix(dc2.URL, "https://")))
				},
				Config:   config,
				PlanOnly: true, // the VM in the frozen DC stays in state: no change planned
			},
			{
				PreConfig: func() {
					probe := current.Swap(nil)
					probe.close()
					if err := dc2.Up(); err != nil {
						t.Fatal(err)
					}
					if err := probe.check(); err != nil {
						t.Error(err) // DC2 is back: the remaining steps and the destroy clean up
					}
				},
				Config: config,
				Check: func(*terraform.State) error {
					if n := len(env.cluster("DC2").VMs()); n != 1 {
						return fmt.Errorf("DC2 holds %d VMs after the outage, want 1", n)
					}
					return nil
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.moxxie_datacenters.all", tfjsonpath.New("datacenters").AtMapKey("DC2").AtMapKey("healthy"), knownvalue.Bool(true)),
				},
			},
		},
	})
}
