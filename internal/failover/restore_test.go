package failover

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// A VM backed up in DC1 comes back in DC2 from the datastore both share: under a free VMID,
// the overrides applied at restore (not by a later update), fresh MACs, started.
func TestRestoreInTheOtherDC(t *testing.T) {
	d := twoDCs(t)
	b := protectedVM(t, d.a, d.b, 100)
	// DC2 already uses 100: the restore must not collide with it
	task(t, d.b, "/nodes/pve1/qemu", map[string]any{"vmid": 100, "name": "other"})
	ctx := ctxT(t)
	drillTag := "moxxie-drill-fedcba9876543210"
	vmid, err := Restore(ctx, d.b, RestoreSpec{Node: "pve1", Storage: "local-lvm", Backup: b, Unique: true, Start: true, Tag: drillTag,
		Override: map[string]string{"net0": "virtio,bridge=vmbr3", "tags": drillTag, "onboot": "0", "name": "web-drill"}})
	if err != nil {
		t.Fatal(err)
	}
	if vmid == 100 {
		t.Fatalf("restored onto the taken VMID 100")
	}
	cfg, err := d.b.VMConfig(ctx, "pve1", vmid, false)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^virtio=[0-9A-F:]{17},bridge=vmbr3$`).MatchString(cfg["net0"]) || strings.Contains(cfg["net0"], "BC:24:11:00:00:01") {
		t.Errorf("net0 %q: want a fresh MAC on vmbr3 without VLAN", cfg["net0"])
	}
	if cfg["tags"] != drillTag || cfg["onboot"] != "0" || cfg["name"] != "web-drill" || cfg["memory"] != "2048" {
		t.Errorf("restored config %v", cfg)
	}
	if !strings.HasPrefix(cfg["scsi0"], "local-lvm:vm-"+itoa(vmid)+"-disk-0") {
		t.Errorf("scsi0 %q: want a fresh disk on local-lvm", cfg["scsi0"])
	}
	// the overrides were part of the restore itself: no config update was sent
	if n := puts(d.simB, "/nodes/{node}/qemu/{vmid}/config"); n != 0 {
		t.Errorf("%d config updates after the restore", n)
	}
	st, err := d.b.VMStatus(ctx, "pve1", vmid)
	if err != nil || st.Status != "running" {
		t.Errorf("restored VM status %v %v", st.Status, err)
	}
	// DC1's VM is untouched
	if st, err := d.a.VMStatus(ctx, "pve1", 100); err != nil || st.Status != "running" {
		t.Errorf("DC1's VM after the restore: %v %v", st.Status, err)
	}
}

// A failover restore keeps the backed-up config, identity tag included, when nothing is
// overridden; without Start it stays stopped.
func TestRestoreKeepsTheBackedUpConfig(t *testing.T) {
	d := twoDCs(t)
	b := protectedVM(t, d.a, d.b, 100)
	vmid, err := Restore(ctxT(t), d.b, RestoreSpec{Node: "pve1", Storage: "local-lvm", Backup: b, Tag: testTag})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.b.VMConfig(ctxT(t), "pve1", vmid, false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg["tags"] != "moxxie-0123456789abcdef;prod" || cfg["net0"] != "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20" || cfg["onboot"] != "1" {
		t.Errorf("restored config %v", cfg)
	}
	if st, err := d.b.VMStatus(ctxT(t), "pve1", vmid); err != nil || st.Status != "stopped" {
		t.Errorf("status %v %v, want stopped", st.Status, err)
	}
}

// Restores share the provider's VMID choice: a VMID another writer took after the Manager read
// the datacenter costs one refused create, and the restore lands on the next one.
func TestRestoreUsesTheManagersVMIDs(t *testing.T) {
	d := twoDCs(t)
	b := protectedVM(t, d.a, d.b, 100)
	m := vm.NewManager()
	ctx := ctxT(t)
	first, err := Restore(ctx, d.b, RestoreSpec{Node: "pve1", Storage: "local-lvm", Backup: b, Tag: "moxxie-drill-0000000000000001",
		Override: map[string]string{"tags": "moxxie-drill-0000000000000001"}, VMIDs: m})
	if err != nil {
		t.Fatal(err)
	}
	task(t, d.b, "/nodes/pve1/qemu", map[string]any{"vmid": first + 1, "name": "someone-else"})
	second, err := Restore(ctx, d.b, RestoreSpec{Node: "pve1", Storage: "local-lvm", Backup: b, Tag: "moxxie-drill-0000000000000002",
		Override: map[string]string{"tags": "moxxie-drill-0000000000000002"}, VMIDs: m})
	if err != nil {
		t.Fatal(err)
	}
	if second != first+2 {
		t.Errorf("second restore got VMID %d, want %d (after %d, taken)", second, first+2, first+1)
	}
	if n := d.simB.FaultCounts().VMIDTaken; n != 1 {
		t.Errorf("%d creates refused for a taken VMID, want 1", n)
	}
}

// Failures quote PVE and leave no guest behind.
func TestRestoreErrors(t *testing.T) {
	d := twoDCs(t)
	b := protectedVM(t, d.a, d.b, 100)
	ctx := ctxT(t)
	gone := b
	gone.VolID = "pbs:backup/vm/100/2001-01-01T00:00:00Z"
	for _, tc := range []struct {
		name string
		spec RestoreSpec
		want string
	}{
		{"archive missing", RestoreSpec{Node: "pve1", Storage: "local-lvm", Backup: gone, Tag: testTag}, "snapshot 'backup/vm/100/2001-01-01T00:00:00Z' does not exist"},
		{"storage missing", RestoreSpec{Node: "pve1", Storage: "nope", Backup: b, Tag: testTag}, "storage 'nope' does not exist"},
		{"backup storage missing", RestoreSpec{Node: "pve1", Storage: "local-lvm", Backup: dcrouter.Backup{VolID: "pbs2:backup/vm/100/2026-01-01T00:00:00Z"}, Tag: testTag}, "storage 'pbs2' does not exist"},
		{"bridge missing at start", RestoreSpec{Node: "pve1", Storage: "local-lvm", Backup: b, Tag: testTag, Start: true,
			Override: map[string]string{"net0": "virtio,bridge=vmbr42"}}, "bridge 'vmbr42' does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(d.simB.VMs())
			vmid, err := Restore(ctx, d.b, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to quote %q", err, tc.want)
			}
			if tc.spec.Start {
				// the guest exists, stopped: the caller learns its VMID to remove it
				if st, serr := d.b.VMStatus(ctx, "pve1", vmid); serr != nil || st.Status != "stopped" {
					t.Errorf("VM %d after a failed start: %v %v", vmid, st.Status, serr)
				}
				return
			}
			if after := len(d.simB.VMs()); after != before {
				t.Errorf("%d guests after the failed restore, %d before", after, before)
			}
		})
	}
	// refused before anything is sent
	for _, s := range []RestoreSpec{
		{Storage: "local-lvm", Backup: b, Tag: testTag},
		{Node: "pve1", Storage: "local-lvm", Backup: b},
		{Node: "pve1", Storage: "local-lvm", Backup: b, Tag: testTag, Override: map[string]string{"tags": "prod"}},
		{Node: "pve1", Storage: "local-lvm", Backup: b, Tag: testTag, Override: map[string]string{"scsi0": "local-lvm:4"}},
	} {
		if _, err := Restore(ctx, d.b, s); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
	if n := posts(d.simB, "/nodes/{node}/qemu"); n != 4 {
		t.Errorf("%d creates sent, want the 4 of the failing cases above", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func puts(c *pvesim.Cluster, path string) int64  { return requests(c, "PUT", path) }
func posts(c *pvesim.Cluster, path string) int64 { return requests(c, "POST", path) }

func requests(c *pvesim.Cluster, method, path string) int64 {
	for _, rc := range c.Requests() {
		if rc.Method == method && rc.Path == path {
			return rc.Count
		}
	}
	return 0
}
