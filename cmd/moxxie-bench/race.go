package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// raceBench: two terraform processes (two workspaces, each with its own state and provider
// process) apply n VMs each into one datacenter at the same time, while /cluster/nextid also names
// VMIDs whose create is in flight and tasks take a second longer; each process picks VMIDs from a
// listing that goes stale while the other creates, so the two claim the same VMIDs.
// The row counts the races pvesim saw and checks that both applies succeeded with 2n distinct VMs,
// each carrying its own identity.
func raceBench(providerDir string, n int) ([]row, error) {
	w, err := newWorld(providerDir, 1, 200*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer w.close()
	names := []string{"a", "b"}
	dirs := map[string]string{}
	for _, ws := range names {
		dir := filepath.Join(w.dir, ws)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "resource \"moxxie_vm\" \"v%d\" {\n  name = \"race-%s-%d\"\n  datacenter = \"DC1\"\n  memory_mb = 256\n}\n", i, ws, i)
		}
		if err := w.writeIn(dir, b.String()); err != nil {
			return nil, err
		}
		dirs[ws] = dir
	}
	both := func(args ...string) error {
		var wg sync.WaitGroup
		errs := make([]error, len(names))
		for i, ws := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = w.terraformIn(dirs[ws], nil, args...)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				return fmt.Errorf("workspace %s: %w", names[i], err)
			}
		}
		return nil
	}
	c := w.servers["DC1"].Cluster
	c.SetFaults(pvesim.Faults{DuplicateNextID: true, TaskExtra: time.Second})
	// Two creates at a time: each process's listing goes stale while the other creates, as
	// between workspaces applying side by side.
	applyErr := both("apply", "-auto-approve", "-input=false", "-parallelism=2")
	c.SetFaults(pvesim.Faults{})
	fc := c.FaultCounts()
	vms := c.VMs()
	identities := map[string]int{}
	for _, v := range vms {
		if id, _ := vm.SplitTags(v.Tags); id != "" {
			identities[id]++
		}
	}
	distinct := 0
	for _, k := range identities {
		if k == 1 {
			distinct++
		}
	}
	if applyErr == nil {
		if err := both("destroy", "-auto-approve", "-input=false", "-parallelism=10"); err != nil {
			return nil, err
		}
	}
	left := len(c.VMs())
	ok := applyErr == nil && len(vms) == 2*n && distinct == 2*n && left == 0 && fc.VMIDTaken > 0
	outcome := "both applies succeeded"
	if applyErr != nil {
		outcome = "an apply failed: " + strings.ReplaceAll(firstLine(applyErr.Error()), "|", "/")
	}
	return []row{{
		what: fmt.Sprintf("VMID race: two terraform processes each apply %d VMs into one DC at once (`-parallelism=2`), nextid naming VMIDs in flight (`-duplicate-nextid`), tasks 1.2 s", n),
		figure: fmt.Sprintf("%d creates refused for a taken VMID, %d nextid answers naming one in flight; %s, %d VMs with %d distinct identities, %d left after both destroys",
			fc.VMIDTaken, fc.DuplicateNextID, outcome, len(vms), distinct, left),
		target: fmt.Sprintf("races happen (refusals > 0); both succeed with %d distinct VMs, none left", 2*n),
		ok:     ok,
	}}, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
