package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

const (
	scaleDCs = 8
	// maxScaleRSSMB bounds the provider's peak memory during the largest refresh.
	maxScaleRSSMB = 150
	// maxScaleGrowth bounds the plan time per VM at the largest size against the smallest: 1 is
	// linear; Terraform's fixed start-up makes small plans dearer per VM, so linear comes in below.
	maxScaleGrowth = 1.5
)

// scaleBench grows one configuration over 8 datacenters through the given sizes and measures a
// refresh (`terraform plan`) at each: requests per VM, the provider's peak memory and the plan's
// time per VM, which must not grow with the size. Only the first VM of each datacenter is
// created by terraform; the others are copies of it that the bench places in the simulator and
// terraform imports (an import reads each VM once and writes nothing), since creating thousands
// of VMs through terraform takes far longer than the plan being measured.
func scaleBench(providerDir string, sizes []int) ([]row, error) {
	w, err := newWorld(providerDir, scaleDCs, 0)
	if err != nil {
		return nil, err
	}
	defer w.close()
	if err := w.write(w.vms(scaleDCs)); err != nil {
		return nil, err
	}
	if _, err := w.terraform(nil, "apply", "-auto-approve", "-input=false"); err != nil {
		return nil, err
	}
	var rows []row
	perVM := map[int]time.Duration{}
	have := scaleDCs
	for _, n := range sizes {
		imports, err := w.plantCopies(have, n)
		if err != nil {
			return nil, err
		}
		if err := w.write(w.vms(n) + imports); err != nil {
			return nil, err
		}
		if _, err := w.terraform(nil, "apply", "-auto-approve", "-input=false", "-parallelism=50"); err != nil {
			return nil, fmt.Errorf("importing %d VMs: %w", n-have, err)
		}
		have = n
		if got := w.vmCount(); got != n {
			return nil, fmt.Errorf("%d VMs in the simulators after the import, want %d", got, n)
		}
		if err := w.write(w.vms(n)); err != nil { // the import blocks are done with
			return nil, err
		}
		w.resetRequests()
		var peak int64
		took, err := w.terraform(&peak, "plan", "-input=false", "-detailed-exitcode", "-parallelism=50", "-lock=false")
		if err != nil {
			return nil, fmt.Errorf("a plan after the import must be empty (%d VMs): %w", n, err)
		}
		total := w.requests()
		reqs := float64(total) / float64(n)
		mb := float64(peak) / (1 << 20)
		perVM[n] = took / time.Duration(n)
		rows = append(rows, row{
			what:   fmt.Sprintf("Scale: `terraform plan` on %d VMs over %d DCs, API requests per VM and the provider's peak RSS", n, scaleDCs),
			figure: fmt.Sprintf("%d requests (%.3f per VM), %.0f MB, plan %.1fs (%.1f ms per VM)", total, reqs, mb, took.Seconds(), float64(perVM[n].Microseconds())/1000),
			target: fmt.Sprintf("at most %d requests (one read per VM, one listing per DC), under %d MB", n+scaleDCs, maxScaleRSSMB),
			ok:     total <= int64(n+scaleDCs) && peak > 0 && mb < maxScaleRSSMB,
		})
	}
	if len(sizes) > 1 {
		lo, hi := sizes[0], sizes[len(sizes)-1]
		growth := float64(perVM[hi]) / float64(perVM[lo])
		rows = append(rows, row{
			what:   fmt.Sprintf("Scale: plan time per VM at %d VMs against %d VMs (1 = linear)", hi, lo),
			figure: fmt.Sprintf("%.2fx", growth),
			target: fmt.Sprintf("at most %.1fx", maxScaleGrowth),
			ok:     growth <= maxScaleGrowth,
		})
	}
	return rows, nil
}

// plantCopies places VMs from..to-1 of w.vms (bench-<i>, round-robin over the datacenters) in the
// simulators as copies of the VM terraform created first in the same datacenter, each with a
// name, VMID and identity of its own, and returns the import blocks that adopt them.
func (w *world) plantCopies(from, to int) (string, error) {
	names := w.names()
	models := map[string]pvesim.VM{}
	next := map[string]int{}
	for i, dc := range names {
		all := w.servers[dc].Cluster.VMs()
		for _, v := range all {
			if v.Name == fmt.Sprintf("bench-%d", i) {
				models[dc] = v
			}
		}
		if _, ok := models[dc]; !ok {
			return "", fmt.Errorf("%s: no bench-%d to copy", dc, i)
		}
		next[dc] = all[len(all)-1].VMID + 1
	}
	var b strings.Builder
	for i := from; i < to; i++ {
		dc := names[i%len(names)]
		model := models[dc]
		conf := map[string]string{}
		for k, v := range model.Config {
			switch k {
			case "smbios1", "vmgenid", "lock":
				// the simulator gives each VM its own; a copy must not share them
			case "tags":
				conf[k] = retag(v)
			default:
				conf[k] = v
			}
		}
		conf["name"] = fmt.Sprintf("bench-%d", i)
		vmid := next[dc]
		next[dc]++
		if err := w.servers[dc].Cluster.AddVM(model.Node, vmid, conf, model.Status == "running"); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "import {\n  to = moxxie_vm.v%d\n  id = \"%s/%d\"\n}\n", i, dc, vmid)
	}
	return b.String(), nil
}

// retag replaces the identity tag among PVE's tags with a new identity.
func retag(tags string) string {
	parts := strings.Split(tags, ";")
	for i, t := range parts {
		if id, _ := vm.SplitTags([]string{t}); id != "" {
			parts[i] = vm.IdentityTag(vm.NewID())
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}
