package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// expectVMIn checks, through each cluster's API, that the VM of resource addr lives in
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
	resp.Error = c.check(req)
}

func (c simCheck) check(req statecheck.CheckStateRequest) error {
	attrs, err := resourceAttrs(req.State, c.addr)
	if err != nil {
		return err
	}
	id, _ := attrs["id"].(string)
	tag := "moxxie-" + id
	ctx, cancel := apiContext()
	defer cancel()
	for _, name := range c.env.names() {
		if c.env.down[name] {
			continue // stopped on purpose by the test
		}
		api, err := c.env.api(name)
		if err != nil {
			return err
		}
		vms, err := listVMs(ctx, api)
		if err != nil {
			return fmt.Errorf("%s: listing VMs: %w", name, err)
		}
		var hits []dcrouter.Resource
		for _, v := range vms {
			if slices.Contains(v.TagList(), tag) {
				hits = append(hits, v)
			}
		}
		switch {
		case name == c.dc && len(hits) != 1:
			return fmt.Errorf("%s: want exactly one VM tagged %s in %s, found %d", c.addr, tag, name, len(hits))
		case name != c.dc && len(hits) != 0:
			return fmt.Errorf("%s: VM tagged %s must not exist in %s, found VMID %d", c.addr, tag, name, hits[0].VMID)
		case name == c.dc:
			n, err := attrs["vmid"].(json.Number).Int64()
			if err != nil {
				return fmt.Errorf("%s: vmid: %w", c.addr, err)
			}
			if hits[0].VMID != int(n) {
				return fmt.Errorf("%s: state vmid %d, the cluster has the VM as %d", c.addr, n, hits[0].VMID)
			}
			if c.want != nil {
				v, err := readVM(ctx, api, hits[0])
				if err != nil {
					return fmt.Errorf("%s in %s: %w", c.addr, name, err)
				}
				if err := c.want(v.Config); err != nil {
					return fmt.Errorf("%s in %s: %w", c.addr, name, err)
				}
			}
		}
	}
	return nil
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

// configHas returns a check that the VM's config holds each key with the value.
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

// expectVMPending checks the cluster holds key pending with value for the VM, or, with key "",
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

// expectVMStatus checks the VM's power state in the cluster.
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

func (e *simEnv) stateVM(req statecheck.CheckStateRequest, addr, dc string) (vmState, error) {
	attrs, err := resourceAttrs(req.State, addr)
	if err != nil {
		return vmState{}, err
	}
	n, err := attrs["vmid"].(json.Number).Int64()
	if err != nil {
		return vmState{}, err
	}
	ctx, cancel := apiContext()
	defer cancel()
	c, err := e.api(dc)
	if err != nil {
		return vmState{}, err
	}
	r, ok, err := findVM(ctx, c, int(n))
	if err != nil {
		return vmState{}, err
	}
	if !ok {
		return vmState{}, fmt.Errorf("%s: VM %d not in %s", addr, n, dc)
	}
	return readVM(ctx, c, r)
}

// expectManagedVMs checks the datacenter holds n moxxie-tagged VMs: nothing orphaned, nothing
// doubled.
func (e *simEnv) expectManagedVMs(dc string, n int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, err := e.managedVMs(dc)
		if err != nil {
			return err
		}
		if len(got) != n {
			return fmt.Errorf("%s holds %d moxxie VMs, want %d", dc, len(got), n)
		}
		return nil
	}
}

func (e *simEnv) managedVMs(dc string) ([]dcrouter.Resource, error) {
	ctx, cancel := apiContext()
	defer cancel()
	c, err := e.api(dc)
	if err != nil {
		return nil, err
	}
	vms, err := listManagedVMs(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: listing VMs: %w", dc, err)
	}
	return vms, nil
}
