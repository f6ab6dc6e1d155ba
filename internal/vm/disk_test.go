package vm

import (
	"testing"
)

func TestParseDisk(t *testing.T) {
	cases := []struct {
		slot, value string
		want        Disk
		managed     bool
	}{
		{"scsi0", "local-lvm:vm-105-disk-0,size=32G", Disk{Slot: "scsi0", SizeGB: 32, Storage: "local-lvm", Volume: "local-lvm:vm-105-disk-0"}, true},
		{"virtio1", "ceph:vm-7-disk-1,discard=on,iothread=1,size=512M", Disk{Slot: "virtio1", SizeGB: 1, Storage: "ceph", Volume: "ceph:vm-7-disk-1", Discard: true, IOThread: true}, true},
		{"scsi2", "file=local-lvm:vm-9-disk-2,ssd=1,size=1T", Disk{Slot: "scsi2", SizeGB: 1024, Storage: "local-lvm", Volume: "local-lvm:vm-9-disk-2", SSD: true}, true},
		{"ide2", "local-lvm:vm-105-cloudinit,media=cdrom", Disk{}, false},
		{"ide0", "local:iso/debian.iso,media=cdrom", Disk{}, false},
		{"ide0", "none,media=cdrom", Disk{}, false},
	}
	for _, tc := range cases {
		got, managed, err := parseDisk(tc.slot, tc.value)
		if err != nil {
			t.Fatalf("%s=%s: %v", tc.slot, tc.value, err)
		}
		if managed != tc.managed || (managed && got != tc.want) {
			t.Errorf("parseDisk(%s, %q) = %+v %v, want %+v %v", tc.slot, tc.value, got, managed, tc.want, tc.managed)
		}
	}
	if _, _, err := parseDisk("scsi0", "local-lvm:vm-1-disk-0,size=big"); err == nil {
		t.Fatal("a malformed size must be an error")
	}
}

func TestValidSlotAndOrder(t *testing.T) {
	for s, ok := range map[string]bool{"scsi0": true, "scsi30": true, "scsi31": false, "virtio15": true, "sata6": false, "ide3": true, "net0": false, "scsi": false} {
		if ValidSlot(s) != ok {
			t.Errorf("ValidSlot(%q) != %v", s, ok)
		}
	}
	ds := []Disk{{Slot: "scsi10"}, {Slot: "scsi2"}, {Slot: "sata0"}}
	sortDisks(ds)
	if ds[0].Slot != "sata0" || ds[1].Slot != "scsi2" || ds[2].Slot != "scsi10" {
		t.Fatalf("order = %v", ds)
	}
}

func TestCreateValue(t *testing.T) {
	d := Disk{Slot: "virtio0", SizeGB: 20, Storage: "local-lvm", Discard: true, SSD: true, IOThread: true}
	if got := d.createValue(); got != "local-lvm:20,discard=on,iothread=1" {
		t.Fatalf("createValue = %q (virtio has no ssd flag)", got)
	}
}

func TestParseDiskRejectsSizesThatAreNoDisk(t *testing.T) {
	for _, size := range []string{"NaNG", "InfG", "+InfG", "1e30G", "0x1p70G", "-5G"} {
		if _, _, err := parseDisk("scsi0", "local-lvm:vm-1-disk-0,size="+size); err == nil {
			t.Errorf("size %q must be refused", size)
		}
	}
}
