package pvesim

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Each config key with a value PVE accepts and one it rejects with its
// message, through PUT .../config (400 on that parameter).
func TestConfigFormatsFromSchema(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "scsi0": "local-lvm:1", "net0": "virtio,bridge=vmbr0"}))
	const ife = "invalid format - "
	const fe = ife + "format error\n"
	tests := []struct{ key, valid, invalid, want string }{
		{"cpu", "host", "foo", ife + "Built-in cputype 'foo' is not defined (missing 'custom-' prefix?)"},
		{"cpu", "x86-64-v2-AES,flags=+aes;-pcid", "host,flags=+avx", ife + "VM-specific CPU flags must be a subset of: aes, amd-no-ssb, amd-ssbd, hv-evmcs, hv-tlbflush, ibpb, md-clear, nested-virt, pcid, pdpe1gb, spec-ctrl, ssbd, virt-ssbd"},
		{"cpu", "kvm64,hidden=1", "kvm64,hidden=maybe", fe + "cpu.hidden: type check ('boolean') failed - got 'maybe'"},
		{"cpu", "max,phys-bits=host", "host,phys-bits=99", fe + "cpu.phys-bits: invalid format - value must be an integer between 8 and 64 or 'host'"},
		{"cpu", "EPYC-Rome", "custom-fast", ife + "Custom cputype 'fast' not found"},
		{"cpu", "host,hv-vendor-id=proxmox", "host,reported-model=kvm64", ife + "Property 'reported-model' not allowed in VM-specific CPU config."},
		{"boot", "order=scsi0;net0", "bogus", fe + "boot.legacy: value does not match the regex pattern"},
		{"boot", "cdn", "order=scsi0;ide9", fe + "boot.order: invalid format - invalid boot device 'ide9'"},
		{"startup", "order=1,up=30,down=60", "first", ife + "unable to parse startup options"},
		{"vga", "qxl,memory=32", "fancy", fe + "vga.type: value 'fancy' does not have a value in the enumeration 'cirrus, qxl, qxl2, qxl3, qxl4, none, serial0, serial1, serial2, serial3, std, virtio, virtio-gl, vmware'"},
		{"vga", "std,clipboard=vnc", "std,memory=1024", fe + "vga.memory: value must have a maximum value of 512"},
		{"machine", "pc-q35-9.2+pve1,viommu=intel", "amiga", fe + "machine.type: value does not match the regex pattern"},
		{"rng0", "source=/dev/urandom,max_bytes=1024", "/dev/zero", fe + "rng0.source: value '/dev/zero' does not have a value in the enumeration '/dev/urandom, /dev/random, /dev/hwrng'"},
		{"rng0", "/dev/hwrng", "max_bytes=1024", fe + "rng0.source: property is missing and it is not optional"},
		{"watchdog", "i6300esb,action=reset", "model=bark", fe + "watchdog.model: value 'bark' does not have a value in the enumeration 'i6300esb, ib700'"},
		{"smbios1", "uuid=7b1d9a1e-6f0f-4c55-9a2c-5f1a3b2c1d0e,manufacturer=QUNNRQ==,base64=1", "uuid=nope", fe + "smbios1.uuid: value does not match the regex pattern"},
		{"affinity", "0,5,8-11", "3-1", ife + "unable to parse cpuset option"},
		{"amd-sev", "type=snp,allow-smt=0", "type=xyz", fe + "amd-sev.type: value 'xyz' does not have a value in the enumeration 'std, es, snp'"},
		{"amd-sev", "std", "no-debug=1", fe + "amd-sev.type: property is missing and it is not optional"},
		{"audio0", "device=ich9-intel-hda,driver=spice", "device=sb16", fe + "audio0.device: value 'sb16' does not have a value in the enumeration 'ich9-intel-hda, intel-hda, AC97'"},
		{"numa0", "cpus=0-3,memory=1024,policy=bind", "cpus=x", fe + "numa0.cpus: value does not match the regex pattern"},
		{"usb0", "host=spice,usb3=1", "host=garbage", fe + "usb0.host: value does not match the regex pattern"},
		{"spice_enhancements", "foldersharing=1,videostreaming=all", "videostreaming=some", fe + "spice_enhancements.videostreaming: value 'some' does not have a value in the enumeration 'off, all, filter'"},
		{"efidisk0", "local-lvm:1,efitype=4m", "local-lvm:1,efitype=8m", fe + "efidisk0.efitype: value '8m' does not have a value in the enumeration '2m, 4m'"},
		{"tpmstate0", "local-lvm:1,version=v2.0", "local-lvm:1,version=v3.0", fe + "tpmstate0.version: value 'v3.0' does not have a value in the enumeration 'v1.2, v2.0'"},
		{"hostpci0", "0000:01:00.0,pcie=1", "host=zz:01", fe + "hostpci0.host: value does not match the regex pattern"},
		{"hostpci0", "01:00.0,vendor-id=0x10de", "01:00.0,vendor-id=10de", fe + "hostpci0.vendor-id: value does not match the regex pattern"},
		{"intel-tdx", "tdx,attestation=1", "tdx", fe + "intel-tdx.attestation: property is missing and it is not optional"},
		{"cicustom", "user=local:snippets/u.yaml", "user=nope", fe + "cicustom.user: invalid format - unable to parse volume ID 'nope'"},
		{"ivshmem", "size=32", "size=0", fe + "ivshmem.size: value must have a minimum value of 1"},
		{"bootdisk", "scsi0", "scsi99", ife + "invalid boot disk 'scsi99'"},
		{"hookscript", "local:snippets/h.pl", "h.pl", ife + "unable to parse volume ID 'h.pl'"},
		{"vmstatestorage", "local-lvm", "x", ife + "storage ID 'x' cannot be shorter than 2 characters"},
		// parse_property_string's own failures name no sub-key.
		{"net1", "virtio,bridge=vmbr0,firewall=yes", "virtio,bridge=vmbr0,bogus=1", ife + "invalid key in comma-separated list property: bogus"},
		{"net1", "e1000=BC:24:11:00:00:09,bridge=vmbr0", "virtio,virtio", ife + "duplicate key in comma-separated list property: model"},
		{"net1", "virtio,bridge=vmbr1", "virtio,bridge=vmbr0,bridge=vmbr1", ife + "duplicate key in comma-separated list property: bridge"},
		{"net1", "model=virtio,macaddr=BC:24:11:00:00:0A", "macaddr=BC:24:11:00:00:0B,virtio=BC:24:11:00:00:0A", ife + "key 'macaddr' is already defined (via alias)"},
		{"scsi1", "volume=local-lvm:1", "file=local-lvm:1,volume=local-lvm:2", ife + "key 'file' is already defined (via alias)"},
		{"scsi1", "local-lvm:1,ssd=on", "local-lvm:1,ssd=", ife + "missing key in comma-separated list property"},
		{"net1", "virtio,bridge=vmbr0", "virtio=01:00:00:00:00:01", fe + "net1.macaddr: invalid format - value does not look like a valid unicast MAC address"},
		{"agent", "enabled=on,type=isa", "2", fe + "agent.enabled: type check ('boolean') failed - got '2'"},
		{"ipconfig1", "ip=10.0.0.2/24,gw=10.0.0.1", "ip=10.0.0.2/33", fe + "ipconfig1.ip: invalid format - value does not look like a valid ipv4 network configuration"},
		{"scsi1", "local-lvm:1,cache=none", "local-lvm:1,cache=fast", fe + "scsi1.cache: value 'fast' does not have a value in the enumeration 'none, writethrough, writeback, unsafe, directsync'"},
	}
	// Keys check_vm_modify_config_perm knows no privilege for are root@pam's
	// alone; root@pam's own token is refused them.
	rootOnly := map[string]bool{"affinity": true, "amd-sev": true, "spice_enhancements": true, "intel-tdx": true, "ivshmem": true, "hookscript": true}
	for _, tt := range tests {
		set := s.jcall
		if rootOnly[tt.key] {
			set = s.asRoot
			r := s.jcall(t, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{tt.key: tt.valid})
			if want := "only root can set '" + tt.key + "' config"; r.status != 500 || r.line != want {
				t.Errorf("%s=%s as %s: %d %q, want 500 %q", tt.key, tt.valid, testTokenID, r.status, r.line, want)
			}
		}
		if r := set(t, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{tt.key: tt.valid}); r.status != 200 {
			t.Errorf("%s=%s refused: %d %q %v", tt.key, tt.valid, r.status, r.line, r.errors())
		}
		r := s.jcall(t, "PUT", "/nodes/pve1/qemu/100/config", map[string]any{tt.key: tt.invalid})
		if r.status != 400 || r.line != "Parameter verification failed." || r.errors()[tt.key] != tt.want {
			t.Errorf("%s=%s: %d %q %q,\nwant 400 %q", tt.key, tt.invalid, r.status, r.line, r.errors()[tt.key], tt.want)
		}
	}

	// Create takes the same checks, and other routes their own schema formats.
	for _, tt := range []struct {
		method, path string
		params       map[string]any
		key, want    string
	}{
		{"POST", "/nodes/pve1/qemu", map[string]any{"vmid": 101, "cpu": "foo"}, "cpu", ife + "Built-in cputype 'foo' is not defined (missing 'custom-' prefix?)"},
		{"POST", "/nodes/pve1/qemu/100/clone", map[string]any{"newid": 101, "name": "bad_name"}, "name", ife + "value does not look like a valid DNS name"},
		{"POST", "/nodes/pve1/qemu/100/clone", map[string]any{"newid": 101, "target": "pve_2"}, "target", ife + "value does not look like a valid node name"},
		{"POST", "/nodes/pve1/qemu/100/snapshot", map[string]any{"snapname": "1st"}, "snapname", ife + "invalid configuration ID '1st'"},
		{"GET", "/nodes/pve1/storage", map[string]any{"storage": "a"}, "storage", ife + "storage ID 'a' cannot be shorter than 2 characters"},
	} {
		r := s.jcall(t, tt.method, tt.path, tt.params)
		if r.status != 400 || r.errors()[tt.key] != tt.want {
			t.Errorf("%s %s %v: %d %v, want %s: %q", tt.method, tt.path, tt.params, r.status, r.errors(), tt.key, tt.want)
		}
	}
}

// A boot order may only name devices the VM has, gets in the same write,
// and does not delete in it (update_vm_api's check).
func TestBootOrderNamesExistingDevices(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", map[string]any{"vmid": 100, "scsi0": "local-lvm:1", "net0": "virtio,bridge=vmbr0"}))
	for _, tt := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"boot": "order=scsi0;net0"}, ""},
		{map[string]any{"boot": "order=virtio3;net0"}, "invalid bootorder: device 'virtio3' does not exist'"},
		{map[string]any{"boot": "order=scsi0;net1", "net1": "virtio,bridge=vmbr0"}, ""},
		{map[string]any{"boot": "order=scsi0;net0", "delete": "net0"}, "invalid bootorder: device 'net0' does not exist'"},
	} {
		r := s.jcall(t, "PUT", "/nodes/pve1/qemu/100/config", tt.params)
		if tt.want == "" && r.status != 200 || tt.want != "" && (r.status != 500 || r.line != tt.want) {
			t.Errorf("%v: %d %q, want %q", tt.params, r.status, r.line, tt.want)
		}
	}
	// The asynchronous write fails its task instead.
	if exit := s.runTask(t, "POST", "/nodes/pve1/qemu/100/config", map[string]any{"boot": "order=sata2"}); exit != "invalid bootorder: device 'sata2' does not exist'" {
		t.Errorf("POST config: task exit %q", exit)
	}
}

// uncheckedFormats are schema formats on simulator routes left unchecked,
// each for a reason.
var uncheckedFormats = map[string]string{
	"pve-realm":           "the ticket route answers a bad realm with the failed login PVE gives",
	"pve-priv-list":       "privileges belong to the permission model",
	"pve-sdn-fabric-id":   "SDN fabrics are not simulated",
	"pve-sdn-bgp-rt-list": "BGP route targets are stored, not used",
	"pve-qm-bootdev-list": "resolved as a -list of pve-qm-bootdev",
}

// Every format a simulator route's parameter carries, and every format a
// property-string key refers to, must resolve to a check.
func TestEveryDeclaredFormatResolves(t *testing.T) {
	refs := map[string]string{}
	for _, r := range newRouter(allRoutes()).routes {
		for _, p := range r.params {
			if p.Format == nil && p.FormatRef != "" {
				refs[p.FormatRef] = r.method + " " + r.path + " " + p.Name
			}
		}
	}
	for ref, f := range schemaFormats {
		for k, p := range f.keys {
			if p.FormatRef != "" {
				refs[p.FormatRef] = ref + "." + k
			}
		}
	}
	for _, ref := range sortedKeys(refs) {
		if resolveFormat(ref) == nil {
			if _, ok := uncheckedFormats[ref]; !ok {
				t.Errorf("format %q (%s) has no check", ref, refs[ref])
			}
		}
	}
	if resolveFormat("pve-qm-bootdev-list") == nil {
		t.Error("list formats do not resolve")
	}
}

// The committed table must be what the generator makes of the schema.
func TestGeneratedFormatsAreCurrent(t *testing.T) {
	findSchemaFile(t)
	if testing.Short() {
		t.Skip("runs the generator")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./internal/genformats", "-o", filepath.Join(dir, "gen.go"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, out)
	}
	fresh, err := os.ReadFile(filepath.Join(dir, "gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("formats_schema_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(fresh) != string(committed) {
		t.Error("formats_schema_gen.go is stale: run go generate ./internal/pvesim")
	}
	if !strings.Contains(string(committed), `"pve-vm-cpu-conf": {`) {
		t.Error("named formats missing from the generated table")
	}
}

// SDN parameters get the schema's formats the same way.
func TestSDNFormatsFromSchema(t *testing.T) {
	s := startSim(t, testConfig())
	for _, tt := range []struct {
		params url.Values
		key    string
		want   string
	}{
		{kv("zone", "x1", "type", "evpn", "mac", "01:00:5E:00:00:01"), "mac", "invalid format - value does not look like a valid unicast MAC address"},
		{kv("zone", "x1", "type", "simple", "nodes", "pve1,bad_node"), "nodes", "invalid format - value does not look like a valid node name"},
	} {
		r := s.call(t, "POST", "/cluster/sdn/zones", tt.params)
		if r.status != 400 || r.errors()[tt.key] != tt.want {
			t.Errorf("%v: %d %v, want %s: %q", tt.params, r.status, r.errors(), tt.key, tt.want)
		}
	}
}
