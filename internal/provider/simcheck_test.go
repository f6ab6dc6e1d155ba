package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// expectVMIn checks, against the simulators themselves, that the VM of resource addr lives in
// datacenter dc (found by its identity tag) and in no other datacenter.
func (e *simEnv) expectVMIn(addr, dc string, want func(vm map[string]string) error) statecheck.StateCheck {
	return simCheck{env: e, addr: addr, dc: dc, want: want}
}

type simCheck struct {
	env  *simEnv
	addr string
	dc   string
	want func(config map[string]string) error
}

func (c simCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	attrs, err := resourceAttrs(req.State, c.addr)
	if err != nil {
		resp.Error = err
		return
	}
	id, _ := attrs["id"].(string)
	tag := "moxxie-" + id
	for name, srv := range c.env.servers {
		var hits []int
		for _, v := range srv.Cluster.VMs() {
			for _, t := range v.Tags {
				if t == tag {
					hits = append(hits, v.VMID)
				}
			}
		}
		switch {
		case name == c.dc && len(hits) != 1:
			resp.Error = fmt.Errorf("%s: want exactly one VM tagged %s in %s, found %v", c.addr, tag, name, hits)
			return
		case name != c.dc && len(hits) != 0:
			resp.Error = fmt.Errorf("%s: VM tagged %s must not exist in %s, found %v", c.addr, tag, name, hits)
			return
		case name == c.dc:
			n, err := attrs["vmid"].(json.Number).Int64()
			if err != nil {
				resp.Error = fmt.Errorf("%s: vmid: %w", c.addr, err)
				return
			}
			vmid := int(n)
			if hits[0] != vmid {
				resp.Error = fmt.Errorf("%s: state vmid %d, simulator has the VM as %d", c.addr, vmid, hits[0])
				return
			}
			if c.want != nil {
				v, _ := srv.Cluster.VM(vmid)
				if err := c.want(effectiveConfig(v)); err != nil {
					resp.Error = fmt.Errorf("%s in %s: %w", c.addr, name, err)
					return
				}
			}
		}
	}
}

func resourceAttrs(state *tfjson.State, addr string) (map[string]any, error) {
	if state == nil || state.Values == nil || state.Values.RootModule == nil {
		return nil, fmt.Errorf("no state")
	}
	for _, r := range state.Values.RootModule.Resources {
		if r.Address == addr {
			return r.AttributeValues, nil
		}
	}
	return nil, fmt.Errorf("resource %s not in state", addr)
}

// configHas returns a check that the simulator's VM config holds each key with the value.
func configHas(kv ...string) func(map[string]string) error {
	return func(cfg map[string]string) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if got := cfg[kv[i]]; got != kv[i+1] {
				return fmt.Errorf("config %s = %q, want %q", kv[i], got, kv[i+1])
			}
		}
		return nil
	}
}

// tagsAre checks the PVE tags of a VM, ignoring the identity tag.
func tagsAre(want ...string) func(map[string]string) error {
	return func(cfg map[string]string) error {
		var user []string
		for _, t := range strings.Split(cfg["tags"], ";") {
			if t != "" && !strings.HasPrefix(t, "moxxie-") {
				user = append(user, t)
			}
		}
		if strings.Join(user, ";") != strings.Join(want, ";") {
			return fmt.Errorf("tags = %v, want %v", user, want)
		}
		return nil
	}
}

// effectiveConfig is the config as PVE's GET .../config shows it: pending values applied.
func effectiveConfig(v pvesim.VM) map[string]string {
	cfg := map[string]string{}
	for k, val := range v.Config {
		cfg[k] = val
	}
	for k, val := range v.Pending {
		if k != "delete" {
			cfg[k] = val
		}
	}
	for _, k := range strings.Split(v.Pending["delete"], ",") {
		delete(cfg, k)
	}
	return cfg
}

// configMatches checks one config value against a regular expression.
func configMatches(key, pattern string) func(map[string]string) error {
	re := regexp.MustCompile(pattern)
	return func(cfg map[string]string) error {
		if !re.MatchString(cfg[key]) {
			return fmt.Errorf("config %s = %q does not match %s", key, cfg[key], pattern)
		}
		return nil
	}
}

// expectVMPending checks the simulator holds key pending with value for the VM, or, with key "",
// that nothing is pending.
func (e *simEnv) expectVMPending(addr, dc, key, value string) statecheck.StateCheck {
	return stateFunc(func(req statecheck.CheckStateRequest) error {
		v, err := e.stateVM(req, addr, dc)
		if err != nil {
			return err
		}
		if key == "" {
			if len(v.Pending) != 0 {
				return fmt.Errorf("%s: pending %v, want none", addr, v.Pending)
			}
			return nil
		}
		if v.Pending[key] != value {
			return fmt.Errorf("%s: pending %s = %q, want %q (all pending: %v)", addr, key, v.Pending[key], value, v.Pending)
		}
		return nil
	})
}

// expectVMStatus checks the VM's power state in the simulator.
func (e *simEnv) expectVMStatus(addr, dc, status string) statecheck.StateCheck {
	return stateFunc(func(req statecheck.CheckStateRequest) error {
		v, err := e.stateVM(req, addr, dc)
		if err != nil {
			return err
		}
		if v.Status != status {
			return fmt.Errorf("%s: status %s, want %s", addr, v.Status, status)
		}
		return nil
	})
}

func (e *simEnv) stateVM(req statecheck.CheckStateRequest, addr, dc string) (pvesim.VM, error) {
	attrs, err := resourceAttrs(req.State, addr)
	if err != nil {
		return pvesim.VM{}, err
	}
	n, err := attrs["vmid"].(json.Number).Int64()
	if err != nil {
		return pvesim.VM{}, err
	}
	v, ok := e.cluster(dc).VM(int(n))
	if !ok {
		return pvesim.VM{}, fmt.Errorf("%s: VM %d not in %s", addr, n, dc)
	}
	return v, nil
}

// expectExactlyVMs checks the datacenter holds n VMs: nothing orphaned, nothing doubled.
func (e *simEnv) expectExactlyVMs(dc string, n int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := len(e.cluster(dc).VMs()); got != n {
			return fmt.Errorf("%s holds %d VMs, want %d", dc, got, n)
		}
		return nil
	}
}
