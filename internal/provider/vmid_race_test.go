package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// raceVMs is how many VMs each of the two workspaces creates.
const raceVMs = 6

// TestAccVM_vmidRaceBetweenWorkspaces runs two terraform processes, each with its own provider
// process, working directory and state, that create VMs in one datacenter at the same time while
// /cluster/nextid also hands out VMIDs whose create is still in flight (-duplicate-nextid). PVE
// reserves nothing, and each provider process picks VMIDs from the listing it read when it began
// creating plus its own claims, so with two creates at a time (-parallelism=2) a workspace soon
// claims a VMID the other took since: each must lose such a race quietly and take the next free
// VMID: both applies succeed, every VM exists once with its own VMID and identity, and both
// destroys leave nothing. terraform-plugin-testing drives one terraform at a time, so this test
// runs the two binaries itself.
func TestAccVM_vmidRaceBetweenWorkspaces(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("injects duplicate nextid answers and counts them")
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		var err error
		if tf, err = exec.LookPath("terraform"); err != nil {
			t.Skip("no terraform binary: set TF_ACC_TERRAFORM_PATH")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The provider as terraform runs it for users: a binary found through dev_overrides, which
	// also makes terraform init unnecessary.
	binDir := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(binDir, "terraform-provider-moxxie"), "../..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	cliConfig := filepath.Join(t.TempDir(), "terraform.rc")
	if err := os.WriteFile(cliConfig, []byte(fmt.Sprintf(
		"provider_installation {\n  dev_overrides {\n    \"moxxie/moxxie\" = %q\n  }\n  direct {}\n}\n", binDir)), 0o600); err != nil {
		t.Fatal(err)
	}

	workspaces := []string{"a", "b"}
	dirs := map[string]string{}
	for _, ws := range workspaces {
		var b strings.Builder
		b.WriteString(env.providerBlock(nil))
		for i := 0; i < raceVMs; i++ {
			// started = false: the race is over the creates; start tasks only add time.
			fmt.Fprintf(&b, "resource \"moxxie_vm\" \"v%d\" {\n  name       = \"race-%s-%d\"\n  datacenter = \"DC1\"\n  memory_mb  = 256\n  started    = false\n}\n", i, ws, i)
		}
		dirs[ws] = t.TempDir()
		if err := os.WriteFile(filepath.Join(dirs[ws], "main.tf"), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	terraform := func(ws string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, tf, append(args, "-auto-approve", "-input=false", "-no-color", "-parallelism=2")...)
		cmd.Dir = dirs[ws]
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	// both runs the same command in both workspaces at once and fails the test if either
	// reports an error.
	both := func(args ...string) {
		t.Helper()
		var wg sync.WaitGroup
		outs, errs := make([]string, len(workspaces)), make([]error, len(workspaces))
		for i, ws := range workspaces {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = terraform(ws, args...)
			}()
		}
		wg.Wait()
		for i, ws := range workspaces {
			if at := strings.Index(outs[i], "Error"); errs[i] != nil || at >= 0 {
				t.Fatalf("terraform %s in workspace %s: %v\n%s", args[0], ws, errs[i], outs[i][max(at, 0):])
			}
		}
	}

	// Creates take long enough that the two workspaces' creates overlap.
	c := env.cluster("DC1")
	c.SetFaults(pvesim.Faults{DuplicateNextID: true, TaskExtra: time.Second})
	both("apply")
	c.SetFaults(pvesim.Faults{})

	// Every VM in the datacenter belongs to exactly one state entry, and the other way round.
	inState := map[string]string{} // identity tag -> workspace
	stateVMID := map[string]int{}  // identity tag -> VMID recorded in state
	for _, ws := range workspaces {
		for id, vmid := range stateVMs(t, filepath.Join(dirs[ws], "terraform.tfstate")) {
			tag := vm.IdentityTag(id)
			if other, dup := inState[tag]; dup {
				t.Fatalf("identity %s in workspaces %s and %s", tag, other, ws)
			}
			inState[tag], stateVMID[tag] = ws, vmid
		}
	}
	vms := c.VMs()
	if len(vms) != 2*raceVMs || len(inState) != 2*raceVMs {
		t.Fatalf("the datacenter holds %d VMs and the states %d, want %d each", len(vms), len(inState), 2*raceVMs)
	}
	inCluster := map[string]int{}
	for _, v := range vms {
		for _, tag := range v.Tags {
			if inState[tag] == "" {
				continue
			}
			if other, dup := inCluster[tag]; dup {
				t.Fatalf("identity %s on VMs %d and %d", tag, other, v.VMID)
			}
			inCluster[tag] = v.VMID
			if stateVMID[tag] != v.VMID {
				t.Fatalf("%s is VM %d in workspace %s's state but VM %d in the datacenter", tag, stateVMID[tag], inState[tag], v.VMID)
			}
		}
	}
	if len(inCluster) != len(inState) {
		t.Fatalf("%d of the %d VMs in state carry their identity in the datacenter", len(inCluster), len(inState))
	}

	// The race happened: creates were refused for VMIDs the other workspace held (which the
	// provider then retried with the next free VMID, or both applies would have failed or made
	// fewer VMs). Each provider process asks nextid once, so whether that answer named a VMID in
	// flight depends on which process began first: it is logged, not required.
	if err := env.expectFaults("DC1", pvesim.FaultCounts{VMIDTaken: 1}); err != nil {
		t.Fatalf("the workspaces never raced for a VMID: %v", err)
	}

	both("destroy")
	if n := len(c.VMs()); n != 0 {
		t.Fatalf("%d VMs left after both destroys", n)
	}
}

// stateVMs reads the moxxie_vm resources of a terraform state file: VMID by identity.
func stateVMs(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Resources []struct {
			Type      string `json:"type"`
			Instances []struct {
				Attributes struct {
					ID   string `json:"id"`
					VMID int    `json:"vmid"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	vms := map[string]int{}
	for _, r := range st.Resources {
		if r.Type != "moxxie_vm" {
			continue
		}
		for _, in := range r.Instances {
			vms[in.Attributes.ID] = in.Attributes.VMID
		}
	}
	return vms
}
