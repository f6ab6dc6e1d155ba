package vm

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestNICRoundTrip(t *testing.T) {
	cases := []struct {
		name     string
		net, ipc string
		want     NIC
	}{
		{"vnet with cloud-init address", "virtio=BC:24:11:AA:BB:CC,bridge=mxv100", "ip=172.16.0.2/24,gw=172.16.0.1",
			NIC{Model: "virtio", MAC: "BC:24:11:AA:BB:CC", Bridge: "mxv100", IP: netip.MustParsePrefix("172.16.0.2/24"), Gateway: netip.MustParseAddr("172.16.0.1")}},
		{"plain bridge with tag, lower-case MAC", "e1000=bc:24:11:00:00:01,bridge=vmbr0,tag=42,firewall=1", "",
			NIC{Model: "e1000", MAC: "BC:24:11:00:00:01", Bridge: "vmbr0", VLAN: 42}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNIC(tc.net, tc.ipc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseNIC = %+v, want %+v", got, tc.want)
			}
			again, err := parseNIC(got.netValue(), got.ipconfigValue())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("render and parse changed the NIC: %+v (%v)", again, err)
			}
		})
	}
	if _, err := parseNIC("virtio,bridge=vmbr0,tag=x", ""); err == nil {
		t.Fatal("a non-numeric tag must be an error")
	}
}

func TestUpdateParamsKeepsMACAndDeletesRemovedNICs(t *testing.T) {
	old := VM{ID: "0123456789abcdef", Name: "a", Cores: 1, MemoryMB: 512, NICs: []NIC{
		{Model: "virtio", MAC: "BC:24:11:00:00:01", Bridge: "mxv100", IP: netip.MustParsePrefix("10.0.0.2/24"), Gateway: netip.MustParseAddr("10.0.0.1")},
		{Model: "virtio", MAC: "BC:24:11:00:00:02", Bridge: "vmbr0", VLAN: 7},
	}, CloudInit: &CloudInit{}} // its drive, which carries ipconfig0 to the guest
	spec := Spec{Name: "a", Cores: 1, MemoryMB: 512, NICs: []NIC{
		{Model: "virtio", Bridge: "mxv101", IP: netip.MustParsePrefix("10.0.1.2/24"), Gateway: netip.MustParseAddr("10.0.1.1")},
	}}
	p := updateParams(old.ID, old, spec)
	if p["net0"] != "virtio=BC:24:11:00:00:01,bridge=mxv101" {
		t.Fatalf("net0 = %v: the MAC must be kept when moving the NIC", p["net0"])
	}
	if p["ipconfig0"] != "ip=10.0.1.2/24,gw=10.0.1.1" || p["delete"] != "net1" {
		t.Fatalf("params = %v", p)
	}
	if q := updateParams(old.ID, old, Spec{Name: "a", Cores: 1, MemoryMB: 512, NICs: []NIC{{Model: "virtio", Bridge: "mxv100", IP: old.NICs[0].IP, Gateway: old.NICs[0].Gateway}, {Model: "virtio", Bridge: "vmbr0", VLAN: 7}}}); q != nil {
		t.Fatalf("an unchanged VM must need no update, got %v", q)
	}
}

// Every model PVE knows survives a read and a write: an imported VM keeps its MAC and model.
func TestEveryPVEModelRoundTrips(t *testing.T) {
	for _, m := range NICModels {
		in := m + "=BC:24:11:00:00:04,bridge=vmbr0,tag=7"
		n, err := parseNIC(in, "")
		if err != nil || n.Model != m || n.MAC != "BC:24:11:00:00:04" || n.netValue() != in {
			t.Errorf("parseNIC(%q) = %+v (%v), renders %q", in, n, err, n.netValue())
		}
	}
	for _, bad := range []string{"virtio,bridge=vmbr0,tag=-3", "virtio,bridge=vmbr0,tag=4095", "model=xyz,bridge=vmbr0"} {
		if _, err := parseNIC(bad, ""); err == nil {
			t.Errorf("parseNIC(%q) must fail", bad)
		}
	}
}

// A NIC with a managed address needs the cloud-init drive even without cloud-init settings: PVE
// hands ipconfigN to the guest only through it. The drive goes next to the first disk, else on the
// datacenter's storage.
func TestAddressedNICGetsACloudInitDrive(t *testing.T) {
	addressed := NIC{Model: "virtio", Bridge: "mxv100", IP: netip.MustParsePrefix("10.0.0.2/24"), Gateway: netip.MustParseAddr("10.0.0.1")}
	plain := NIC{Model: "virtio", Bridge: "vmbr0"}
	cases := []struct {
		name string
		spec Spec
		want any // ide2, nil: none
	}{
		{"address, no cloud_init, no disk", Spec{Storage: "ceph-rbd", NICs: []NIC{addressed}}, "ceph-rbd:cloudinit"},
		{"address next to the first disk", Spec{Storage: "ceph-rbd", NICs: []NIC{addressed}, Disks: []Disk{{Slot: "scsi0", SizeGB: 8, Storage: "nvme"}}}, "nvme:cloudinit"},
		{"cloud_init without address", Spec{Storage: "zfs", CloudInit: &CloudInit{User: "debian"}}, "zfs:cloudinit"},
		{"plain bridge only", Spec{Storage: "zfs", NICs: []NIC{plain}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Name, tc.spec.Cores, tc.spec.MemoryMB = "a", 1, 512
			if got := createParams("0123456789abcdef", 100, tc.spec)["ide2"]; got != tc.want {
				t.Errorf("create: ide2 = %v, want %v", got, tc.want)
			}
			old := VM{ID: "0123456789abcdef", Name: "a", Cores: 1, MemoryMB: 512}
			if got := updateParams(old.ID, old, tc.spec)["ide2"]; got != tc.want {
				t.Errorf("update of a VM without drive: ide2 = %v, want %v", got, tc.want)
			}
			old.CloudInit = &CloudInit{}
			if p := updateParams(old.ID, old, tc.spec); p != nil && p["ide2"] != nil {
				t.Errorf("a VM that has its drive got another: %v", p["ide2"])
			}
		})
	}
}
