package failover

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

const testID = "0123456789abcdef" // testTag's identity

func vzdump(t *testing.T, c *dcrouter.Client, vmid int, notes string) {
	t.Helper()
	task(t, c, "/nodes/pve1/vzdump", map[string]any{"vmid": vmid, "storage": "pbs", "mode": "snapshot", "notes-template": notes})
}

// The recovery point is the newest backup carrying the identity in its notes: not a newer one
// of another VM under the same VMID (VMIDs of two datacenters collide), not one whose notes only
// start like the identity.
func TestRecoveryPointIsTheNewestBackupOfTheIdentity(t *testing.T) {
	d := twoDCs(t)
	ctx := ctxT(t)
	if _, found, err := RecoveryPoint(ctx, d.b, "pve1", "pbs", testTag); err != nil || found {
		t.Fatalf("before any backup: found=%v err=%v", found, err)
	}
	protectedVM(t, d.a, d.b, 100)
	vzdump(t, d.a, 100, NotesTemplate(testTag))
	// DC2's own VMID 100 is another VM; its backups are newer still
	task(t, d.b, "/nodes/pve1/qemu", map[string]any{"vmid": 100, "name": "other", "scsi0": "local-lvm:1"})
	vzdump(t, d.b, 100, "{{guestname}} moxxie-fedcba9876543210")
	vzdump(t, d.b, 100, "{{guestname}} "+testTag+"0")
	all, err := d.b.Backups(ctx, "pve1", "pbs", 100)
	if err != nil || len(all) != 4 {
		t.Fatalf("backups of VMID 100: %d %v", len(all), err)
	}
	b, found, err := RecoveryPoint(ctx, d.b, "pve1", "pbs", testTag)
	if err != nil || !found {
		t.Fatalf("found=%v err=%v", found, err)
	}
	if b.VolID != all[1].VolID || !strings.Contains(b.Notes, testTag) {
		t.Errorf("recovery point %s (%q), want the second backup %s", b.VolID, b.Notes, all[1].VolID)
	}
	if _, found, _ := RecoveryPoint(ctx, d.b, "pve1", "pbs", "moxxie-1111111111111111"); found {
		t.Error("an identity without backups has a recovery point")
	}
}

// One job per protected VM: created, left alone when unchanged, updated when the VMID changes,
// removed (twice is fine). What it would back up is found by its notes in the other DC.
func TestBackupJobIsKeptAsAsked(t *testing.T) {
	d := twoDCs(t)
	ctx := ctxT(t)
	protectedVM(t, d.a, d.b, 100)
	j := Job{VMID: 100, Storage: "pbs", Schedule: "21:00"}
	if err := EnsureJob(ctx, d.a, testTag, j); err != nil {
		t.Fatal(err)
	}
	var job map[string]any
	if err := d.a.Get(ctx, "/cluster/backup/"+JobID(testTag), nil, &job); err != nil {
		t.Fatal(err)
	}
	if job["vmid"] != "100" || job["storage"] != "pbs" || job["schedule"] != "21:00" || job["mode"] != "snapshot" ||
		job["notes-template"] != "{{guestname}} "+testTag || job["enabled"] != float64(1) {
		t.Errorf("job %v", job)
	}
	if err := EnsureJob(ctx, d.a, testTag, j); err != nil {
		t.Fatal(err)
	}
	if n := requests(d.simA, "PUT", "/cluster/backup/{id}") + requests(d.simA, "POST", "/cluster/backup"); n != 1 {
		t.Errorf("%d job writes for one create and one unchanged ensure, want 1", n)
	}
	j.VMID, j.Schedule = 105, ""
	if err := EnsureJob(ctx, d.a, testTag, j); err != nil {
		t.Fatal(err)
	}
	if err := d.a.Get(ctx, "/cluster/backup/"+JobID(testTag), nil, &job); err != nil {
		t.Fatal(err)
	}
	if job["vmid"] != "105" || job["schedule"] != DefaultSchedule {
		t.Errorf("updated job %v", job)
	}
	// the job's run: vzdump with its settings, as the scheduler starts it
	vzdump(t, d.a, 100, job["notes-template"].(string))
	if _, found, err := RecoveryPoint(ctx, d.b, "pve1", "pbs", testTag); err != nil || !found {
		t.Errorf("the job's backup is not DC2's recovery point: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := RemoveJob(ctx, d.a, testTag); err != nil {
			t.Fatalf("remove %d: %v", i, err)
		}
	}
	if has, err := HasJob(ctx, d.a, testTag); err != nil || has {
		t.Errorf("job after remove: %v %v", has, err)
	}
	bad := EnsureJob(ctx, d.a, testTag, Job{VMID: 100, Storage: "pbs", Schedule: "not a schedule!"})
	if bad == nil || !strings.Contains(bad.Error(), "schedule") {
		t.Errorf("a bad schedule: %v", bad)
	}
}

// The copy left in the datacenter that came back is tagged, stopped, kept from booting and
// loses its backup job; identity searches then see one VM.
func TestFenceTheStaleCopy(t *testing.T) {
	d := twoDCs(t)
	ctx := ctxT(t)
	b := protectedVM(t, d.a, d.b, 100)
	if err := EnsureJob(ctx, d.a, testTag, Job{VMID: 100, Storage: "pbs"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, Spec{ID: testID, Client: d.b, Storage: "local-lvm", Backup: b}); err != nil {
		t.Fatal(err)
	}
	f := migration.Find(ctx, []*dcrouter.Client{d.a, d.b}, testID)
	stale := Stale(f, "DC2")
	if len(f.Copies) != 2 || len(stale) != 1 || stale[0].DC != "DC1" || stale[0].Status != "running" {
		t.Fatalf("copies %v, stale %v", f.Copies, stale)
	}
	for i := 0; i < 2; i++ { // a second fence changes nothing and does not fail
		if err := Fence(ctx, d.a, stale[0], testTag); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := d.simA.VM(100)
	if v.Status != "stopped" || v.Config["onboot"] != "0" || !vm.IsFenced(vm.ParseTags(v.Config["tags"])) || !strings.Contains(v.Config["tags"], testTag) {
		t.Errorf("fenced copy: %s %v", v.Status, v.Config)
	}
	if has, _ := HasJob(ctx, d.a, testTag); has {
		t.Error("the fenced copy's datacenter still backs it up")
	}
	d.a.ForgetResources()
	d.b.ForgetResources()
	f = migration.Find(ctx, []*dcrouter.Client{d.a, d.b}, testID)
	if len(f.Copies) != 1 || f.Copies[0].DC != "DC2" || len(f.Fenced) != 1 || len(Stale(f, "DC2")) != 0 {
		t.Errorf("after fencing: copies %v fenced %v", f.Copies, f.Fenced)
	}
	// a fenced copy someone started by hand is stale again, and stopped again
	task(t, d.a, "/nodes/pve1/qemu/100/status/start", nil)
	d.a.ForgetResources()
	f = migration.Find(ctx, []*dcrouter.Client{d.a, d.b}, testID)
	if s := Stale(f, "DC2"); len(s) != 1 || s[0].VMID != 100 {
		t.Fatalf("a running fenced copy is not stale: %v", s)
	}
}

// A failover restores the named backup in DC2 with the identity, its NIC (MAC kept) on the
// target network and starts it; a second run finds that copy and restores nothing.
func TestRunRestoresAndStartsOnce(t *testing.T) {
	d := twoDCs(t)
	ctx := ctxT(t)
	b := protectedVM(t, d.a, d.b, 100)
	task(t, d.b, "/nodes/pve1/qemu", map[string]any{"vmid": 100, "name": "other"}) // VMIDs collide
	spec := Spec{ID: testID, Client: d.b, Storage: "local-lvm", Backup: b,
		NICs:    []vm.NIC{{Model: "virtio", MAC: "BC:24:11:00:00:01", Bridge: "vmbr0", VLAN: 20}},
		Targets: []migration.NICTarget{{Bridge: "vmbr0", VLAN: 30}}}
	res, err := Run(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed || res.VMID == 100 {
		t.Fatalf("result %+v", res)
	}
	v, ok := d.simB.VM(res.VMID)
	if !ok || v.Status != "running" || v.Config["net0"] != "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=30" || v.Config["onboot"] != "1" ||
		!strings.Contains(v.Config["tags"], testTag) || vm.IsFenced(vm.ParseTags(v.Config["tags"])) {
		t.Fatalf("restored VM %d: %s %v", res.VMID, v.Status, v.Config)
	}
	restores := requests(d.simB, "POST", "/nodes/{node}/qemu")
	again, err := Run(ctx, spec)
	if err != nil || !again.Resumed || again.VMID != res.VMID {
		t.Fatalf("second run: %+v %v", again, err)
	}
	if n := requests(d.simB, "POST", "/nodes/{node}/qemu"); n != restores {
		t.Errorf("the second run sent %d more creates", n-restores)
	}
	if n := len(d.simB.VMs()); n != 2 {
		t.Errorf("DC2 holds %d VMs, want the other VM and one restored copy", n)
	}
	if w := DataLossWindow(b, b.CTime.Add(90*time.Minute+500*time.Millisecond)); w != 90*time.Minute {
		t.Errorf("data loss window %s", w)
	}
}

// A failover cut short while PVE restores is finished by the next run: it waits for the restore
// it started, then starts that copy; never a second restore.
func TestAnInterruptedRunIsFinishedByTheNext(t *testing.T) {
	d := twoDCs(t)
	b := protectedVM(t, d.a, d.b, 100)
	spec := Spec{ID: testID, Client: d.b, Storage: "local-lvm", Backup: b}
	d.simB.SetFaults(pvesim.Faults{TaskExtra: 600 * time.Millisecond})
	short, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if _, err := Run(short, spec); err == nil {
		t.Fatal("a run cut short reported success")
	}
	res, err := Run(ctxT(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed {
		t.Errorf("the second run restored again: %+v", res)
	}
	vms := d.simB.VMs()
	if len(vms) != 1 || vms[0].Status != "running" || vms[0].VMID != res.VMID {
		t.Fatalf("DC2 holds %v, want one running restored copy", vms)
	}
	if n := requests(d.simB, "POST", "/nodes/{node}/qemu"); n != 1 {
		t.Errorf("%d restores sent, want 1", n)
	}
}

// Without a backup there is nothing to fail over to, and the error says so.
func TestRunWithoutBackup(t *testing.T) {
	d := twoDCs(t)
	_, err := Run(ctxT(t), Spec{ID: testID, Client: d.b, Storage: "local-lvm"})
	if err == nil || !strings.Contains(err.Error(), "no backup") {
		t.Fatalf("err = %v", err)
	}
	if n := len(d.simB.VMs()); n != 0 {
		t.Errorf("DC2 holds %d VMs", n)
	}
}
