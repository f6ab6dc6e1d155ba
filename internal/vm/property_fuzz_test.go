package vm

import (
	"strings"
	"testing"
)

// FuzzParseNIC: parseNIC never panics on what a VM config may hold, and moxxie's rendering of a
// parsed NIC is a fixed point: reading back what moxxie writes and rendering it again gives the
// same net[n] and ipconfig[n], so an unchanged NIC never shows up as a change.
func FuzzParseNIC(f *testing.F) {
	for _, s := range [][2]string{
		{"virtio=BC:24:11:AA:BB:CC,bridge=mxv100", "ip=172.16.0.2/24,gw=172.16.0.1"},
		{"e1000=bc:24:11:00:00:01,bridge=vmbr0,tag=42,firewall=1", ""},
		{"model=virtio,macaddr=bc:24:11:00:00:02,bridge=vmbr1", "ip=dhcp"},
		{"virtio,bridge=vmbr0,tag=x", ""},
		{"virtio,bridge=vmbr0,tag=-3", "gw=10.0.0.1"},
		{"bridge=vmbr0", "ip=10.0.0.5/24,ip6=auto"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, netValue, ipconfig string) {
		n1, err := parseNIC(netValue, ipconfig)
		if err != nil {
			return
		}
		net1, ipc1 := n1.netValue(), n1.ipconfigValue()
		n2, err := parseNIC(net1, ipc1)
		if err != nil {
			t.Fatalf("moxxie's own net %q / ipconfig %q does not parse: %v", net1, ipc1, err)
		}
		if net2, ipc2 := n2.netValue(), n2.ipconfigValue(); net2 != net1 || ipc2 != ipc1 {
			t.Fatalf("render is not stable:\n  %q / %q\n  %q / %q", net1, ipc1, net2, ipc2)
		}
		if n2.MAC != n1.MAC || n2.Bridge != n1.Bridge || n2.IP != n1.IP || (n1.VLAN > 0 && n2.VLAN != n1.VLAN) ||
			(n1.IP.IsValid() && n2.Gateway != n1.Gateway) {
			t.Fatalf("render lost a field:\n  %+v\n  %+v", n1, n2)
		}
	})
}

// FuzzParseDisk: parseDisk never panics, and a managed disk written back the way an update
// writes it (volume, options, size) reads as the same disk with the new options.
func FuzzParseDisk(f *testing.F) {
	for _, s := range [][2]string{
		{"scsi0", "local-lvm:vm-105-disk-0,size=32G"},
		{"virtio1", "ceph:vm-7-disk-1,discard=on,iothread=1,size=512M"},
		{"scsi2", "file=local-lvm:vm-9-disk-2,ssd=1,size=1T"},
		{"sata0", "local:105/vm-105-disk-0.qcow2,size=1073741824"},
		{"ide2", "local-lvm:vm-105-cloudinit,media=cdrom"},
		{"ide0", "none,media=cdrom"},
		{"scsi0", "local-lvm:vm-1-disk-0,size=big"},
		{"scsi0", "local-lvm:vm-1-disk-0,size=1.5K"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, slot, value string) {
		d, managed, err := parseDisk(slot, value)
		if err != nil || !managed {
			return
		}
		// PVE sizes are far below 2^40 GiB (larger ones do not survive float64), and PVE never
		// writes a volume called "file=...".
		if d.SizeGB < 0 || d.SizeGB > 1<<40 {
			t.Fatalf("parseDisk(%q, %q) accepted size %d GiB", slot, value, d.SizeGB)
		}
		if strings.HasPrefix(d.Volume, "file=") {
			return
		}
		want := d
		want.Discard = !d.Discard // a changed option makes diskUpdates rewrite the drive
		p := map[string]any{}
		diskUpdates(p, []Disk{d}, []Disk{want})
		written, ok := p[slot].(string)
		if !ok {
			t.Fatalf("diskUpdates wrote no drive for %s: %v", slot, p)
		}
		got, managed, err := parseDisk(slot, written)
		if err != nil || !managed {
			t.Fatalf("parseDisk(%q, %q) = %v, managed %v", slot, written, err, managed)
		}
		want.SSD = want.SSD && !strings.HasPrefix(slot, "virtio")
		if got != want {
			t.Fatalf("%q -> %q reads as\n  %+v\n  want %+v", value, written, got, want)
		}
	})
}
