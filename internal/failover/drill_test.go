package failover

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

const drillID = "00000000000000d1"

// watch records every guest of cl carrying tag as each task on it begins (running wins over
// any later state), until the test ends. A task hook, not a poll: a copy that fails to start
// lives for microseconds.
func watch(t *testing.T, cl *pvesim.Cluster, tag string) func() []pvesim.VM {
	var mu sync.Mutex
	seen := map[int]pvesim.VM{}
	cl.OnTask(func(_, id string) {
		vmid, err := strconv.Atoi(id)
		if err != nil {
			return
		}
		v, ok := cl.VM(vmid)
		if !ok || !slices.Contains(v.Tags, tag) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if v.Status == "running" || seen[v.VMID].Status != "running" {
			seen[v.VMID] = v
		}
	})
	t.Cleanup(func() { cl.OnTask(nil) })
	return func() []pvesim.VM {
		mu.Lock()
		defer mu.Unlock()
		var out []pvesim.VM
		for _, v := range seen {
			out = append(out, v)
		}
		return out
	}
}

// A drill restores the newest backup of the VM in the other DC as an isolated copy (every NIC
// on the bridge without ports, no VLAN, new MAC, the drill's tag instead of the identity,
// onboot off), sees it run, removes it; the primary keeps VMID, state and config.
func TestDrillBootsAndLeavesNothing(t *testing.T) {
	d := twoDCs(t)
	protectedVM(t, d.a, d.b, 100)
	ctx := ctxT(t)
	primary, _ := d.simA.VM(100)
	digest := vmDigest(t, d, 100)
	// an older backup and one of another guest: the newest of this identity is chosen
	task(t, d.a, "/nodes/pve1/vzdump", map[string]any{"vmid": 100, "storage": "pbs", "notes-template": "{{guestname}} " + testTag})
	task(t, d.a, "/nodes/pve1/qemu", map[string]any{"vmid": 101, "name": "other", "scsi0": "local-lvm:1"})
	task(t, d.a, "/nodes/pve1/vzdump", map[string]any{"vmid": 101, "storage": "pbs", "notes-template": "{{guestname}} moxxie-ffffffffffffffff"})
	src, ok, err := NewestBackup(ctx, d.b, testID)
	if err != nil || !ok {
		t.Fatalf("newest backup: %v %v", ok, err)
	}
	all, _ := d.b.Backups(ctx, "pve1", "pbs", 100)
	if src.Backup.VolID != all[len(all)-1].VolID || src.Storage != "pbs" || src.DC != "DC2" {
		t.Errorf("source %+v, want the newest of %+v", src, all)
	}
	vmsBefore := len(d.simB.VMs())
	seen := watch(t, d.simB, DrillTag(drillID))
	res, err := RunDrill(ctx, d.b, DrillSpec{ID: drillID, Source: src, Storage: "local-lvm", Bridge: "vmbr3"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Booted || res.VMID < 100 || res.Node != "pve1" || res.FinishedAt.IsZero() {
		t.Errorf("result %+v", res)
	}
	copies := seen()
	if len(copies) != 1 || copies[0].Status != "running" || copies[0].VMID != res.VMID {
		t.Fatalf("copies seen during the drill: %+v", copies)
	}
	cp := copies[0].Config
	if !strings.HasPrefix(cp["net0"], "virtio=") || !strings.HasSuffix(cp["net0"], ",bridge=vmbr3") || strings.Contains(cp["net0"], "tag=") ||
		strings.Contains(cp["net0"], "BC:24:11:00:00:01") {
		t.Errorf("copy's net0 %q: want a new MAC on vmbr3 without VLAN", cp["net0"])
	}
	if cp["tags"] != DrillTag(drillID)+";prod" || cp["onboot"] != "0" {
		t.Errorf("copy's tags %q onboot %q", cp["tags"], cp["onboot"])
	}
	if n := len(d.simB.VMs()); n != vmsBefore {
		t.Errorf("DC2 holds %d guests after the drill, %d before", n, vmsBefore)
	}
	after, _ := d.simA.VM(100)
	if after.Status != primary.Status || vmDigest(t, d, 100) != digest {
		t.Errorf("primary changed: %s -> %s", primary.Status, after.Status)
	}
	// a vnet-free, port-free bridge only
	for bridge, want := range map[string]string{"vmbr0": "has ports (eno1)", "vmbr42": "bridge vmbr42 does not exist on node pve1 of datacenter DC2"} {
		_, err := RunDrill(ctx, d.b, DrillSpec{ID: drillID, Source: src, Storage: "local-lvm", Bridge: bridge})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bridge %s: %v, want %q", bridge, err, want)
		}
	}
	if n := len(d.simB.VMs()); n != vmsBefore {
		t.Errorf("DC2 holds %d guests after the refused drills, %d before", n, vmsBefore)
	}
}

func vmDigest(t *testing.T, d dcs, vmid int) string {
	t.Helper()
	cfg, err := d.a.VMConfig(ctxT(t), "pve1", vmid, false)
	if err != nil {
		t.Fatal(err)
	}
	return cfg["digest"]
}

// A copy that restores but cannot start (more vCPUs than DC2's node has) is removed and the
// error quotes PVE; so is a copy whose drill is cancelled while it boots.
func TestFailedDrillsLeaveNothing(t *testing.T) {
	d := twoDCs(t, func(cfg *pvesim.Config) {
		if cfg.Name == "DC1" {
			cfg.Nodes = []pvesim.NodeConfig{{Name: "pve1", Cores: 32, MemoryMB: 65536}}
		}
	})
	task(t, d.a, "/nodes/pve1/qemu", map[string]any{"vmid": 100, "name": "big", "tags": testTag, "cores": 24,
		"scsi0": "local-lvm:4", "net0": "virtio,bridge=vmbr0"})
	task(t, d.a, "/nodes/pve1/vzdump", map[string]any{"vmid": 100, "storage": "pbs", "notes-template": "{{guestname}} " + testTag})
	ctx := ctxT(t)
	src, ok, err := NewestBackup(ctx, d.b, testID)
	if err != nil || !ok {
		t.Fatalf("newest backup: %v %v", ok, err)
	}
	seen := watch(t, d.simB, DrillTag(drillID))
	_, err = RunDrill(ctx, d.b, DrillSpec{ID: drillID, Source: src, Storage: "local-lvm", Bridge: "vmbr3"})
	if err == nil || !strings.Contains(err.Error(), "MAX 16 vcpus allowed per VM on this node") || !strings.Contains(err.Error(), "was removed") {
		t.Fatalf("drill of a VM DC2 cannot start: %v", err)
	}
	if len(seen()) != 1 {
		t.Errorf("copies seen: %+v, want the one restored", seen())
	}
	if n := len(d.simB.VMs()); n != 0 {
		t.Errorf("DC2 holds %d guests after the failed drill", n)
	}

	// cancelled while the copy boots: cancel as its start task begins
	d2 := twoDCs(t)
	protectedVM(t, d2.a, d2.b, 100)
	src2, _, err := NewestBackup(ctx, d2.b, testID)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d2.simB.OnTask(func(typ, _ string) {
		if typ == "qmstart" {
			cancel()
		}
	})
	t.Cleanup(func() { d2.simB.OnTask(nil) })
	_, err = RunDrill(cctx, d2.b, DrillSpec{ID: drillID, Source: src2, Storage: "local-lvm", Bridge: "vmbr3"})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled drill: %v", err)
	}
	if n := len(d2.simB.VMs()); n != 0 {
		t.Errorf("DC2 holds %d guests after the cancelled drill", n)
	}
}

// Leftovers of an interrupted run are removed by the next run, and only the drill's own.
func TestDrillRemovesItsLeftoversOnly(t *testing.T) {
	d := twoDCs(t)
	protectedVM(t, d.a, d.b, 100)
	must(t, d.simB.AddVM("pve1", 300, map[string]string{"name": "left", "tags": DrillTag(drillID)}, true))
	must(t, d.simB.AddVM("pve1", 301, map[string]string{"name": "other-drill", "tags": DrillTag("00000000000000d2")}, true))
	must(t, d.simB.AddVM("pve1", 302, map[string]string{"name": "tenant", "tags": testTag}, true))
	ctx := ctxT(t)
	src, _, err := NewestBackup(ctx, d.b, testID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunDrill(ctx, d.b, DrillSpec{ID: drillID, Source: src, Storage: "local-lvm", Bridge: "vmbr3"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.simB.VM(300); ok {
		t.Error("the leftover of the interrupted run is still there")
	}
	for _, vmid := range []int{301, 302} {
		if v, ok := d.simB.VM(vmid); !ok || v.Status != "running" {
			t.Errorf("VM %d touched: %v %+v", vmid, ok, v)
		}
	}
	if removed, err := RemoveDrill(ctx, d.b, drillID); err != nil || len(removed) != 0 {
		t.Errorf("second removal: %v %v", removed, err)
	}
}

func TestIsolatedNIC(t *testing.T) {
	for in, want := range map[string]string{
		"virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20,firewall=1":    "virtio,firewall=1,bridge=vmbr9",
		"model=e1000,macaddr=BC:24:11:00:00:02,bridge=v1,trunks=2;3": "e1000,bridge=vmbr9",
		"virtio,bridge=vmbr0,queues=4,link_down=1":                   "virtio,queues=4,link_down=1,bridge=vmbr9",
	} {
		if got := isolatedNIC(in, "vmbr9"); got != want {
			t.Errorf("isolatedNIC(%q) = %q, want %q", in, got, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
