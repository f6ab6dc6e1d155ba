package pvesim

import "fmt"

// Shared declarations of the qemu API (types and limits from the official
// schema). Settings without a cheap format check are stored as given.

var (
	nodeParam = strP("node")
	vmidParam = intP("vmid").between(100, 999999999)

	ostypes = []string{"other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris"}
	scsihws = []string{"lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"}
	locks   = []string{"backup", "clone", "create", "migrate", "rollback", "snapshot", "snapshot-delete", "suspending", "suspended"}
	keymaps = []string{"de", "de-ch", "da", "en-gb", "en-us", "es", "fi", "fr", "fr-be", "fr-ca", "fr-ch", "hu", "is", "it", "ja", "lt", "mk", "nl", "no", "pl", "pt", "pt-br", "sv", "sl", "tr"}
)

// qemuConfigParams are the VM settings that create and config writes take
// and that end up in the config file; their formats are the schema's.
var qemuConfigParams = withSchemaFormats("POST", "/nodes/{node}/qemu/{vmid}/config", []Param{
	boolP("acpi").opt(),
	strP("affinity").opt(),
	strP("agent").opt(),
	boolP("allow-ksm").opt(),
	strP("amd-sev").opt(),
	strP("arch").opt().oneOf("x86_64", "aarch64"),
	strP("args").opt(),
	strP("audio0").opt(),
	boolP("autostart").opt(),
	intP("balloon").opt().atLeast(0),
	strP("bios").opt().oneOf("seabios", "ovmf"),
	strP("boot").opt(),
	strP("bootdisk").opt().matching(`(ide|sata|scsi|virtio)\d+`),
	strP("cdrom").opt(),
	strP("cicustom").opt(),
	strP("cipassword").opt(),
	strP("citype").opt().oneOf("configdrive2", "nocloud", "opennebula"),
	boolP("ciupgrade").opt(),
	strP("ciuser").opt(),
	intP("cores").opt().atLeast(1),
	strP("cpu").opt(),
	numberP("cpulimit").opt().between(0, 128),
	intP("cpuunits").opt().between(1, 262144),
	strP("description").opt().maxLen(8192),
	strP("efidisk0").opt(),
	boolP("freeze").opt(),
	strP("hookscript").opt(),
	strP("hostpci").opt().family(15),
	strP("hotplug").opt(),
	strP("hugepages").opt().oneOf("any", "2", "1024"),
	strP("ide").opt().family(3),
	strP("intel-tdx").opt(),
	strP("ipconfig").opt().family(31),
	strP("ivshmem").opt(),
	boolP("keephugepages").opt(),
	strP("keyboard").opt().oneOf(keymaps...),
	boolP("kvm").opt(),
	boolP("localtime").opt(),
	strP("lock").opt().oneOf(locks...),
	strP("machine").opt(),
	strP("memory").opt(),
	numberP("migrate_downtime").opt().atLeast(0),
	intP("migrate_speed").opt().atLeast(0),
	strP("name").opt(),
	strP("nameserver").opt(),
	strP("net").opt().family(31),
	boolP("numa").opt(),
	strP("numa").opt().family(7),
	boolP("onboot").opt(),
	strP("ostype").opt().oneOf(ostypes...),
	strP("parallel").opt().family(2).matching(`/dev/parport\d+|/dev/usb/lp\d+`),
	boolP("protection").opt(),
	boolP("reboot").opt(),
	strP("rng0").opt(),
	strP("sata").opt().family(5),
	strP("scsi").opt().family(30),
	strP("scsihw").opt().oneOf(scsihws...),
	strP("searchdomain").opt(),
	strP("serial").opt().family(3).matching(`(/dev/.+|socket)`),
	intP("shares").opt().between(0, 50000),
	strP("smbios1").opt().maxLen(512),
	intP("smp").opt().atLeast(1),
	intP("sockets").opt().atLeast(1),
	strP("spice_enhancements").opt(),
	strP("sshkeys").opt(),
	strP("startdate").opt().matching(`(now|\d{4}-\d{1,2}-\d{1,2}(T\d{1,2}:\d{1,2}:\d{1,2})?)`),
	strP("startup").opt(),
	boolP("tablet").opt(),
	strP("tags").opt(),
	boolP("tdf").opt(),
	boolP("template").opt(),
	strP("tpmstate0").opt(),
	strP("unused").opt().family(255),
	strP("usb").opt().family(13),
	intP("vcpus").opt().atLeast(1),
	strP("vga").opt(),
	strP("virtio").opt().family(15),
	strP("virtiofs").opt().family(9),
	strP("vmgenid").opt().matching(`(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01])`),
	strP("vmstatestorage").opt(),
	strP("watchdog").opt(),
})

// qemuConfigParamSet types config values for JSON output.
var qemuConfigParamSet = newParamSet(qemuConfigParams)

func withParams(base []Param, extra ...Param) []Param {
	out := make([]Param, 0, len(base)+len(extra))
	out = append(out, base...)
	return append(out, extra...)
}

// fmtHotplug accepts PVE's pve-hotplug-features: 0, 1 or a feature list.
func fmtHotplug(v string) error {
	if v == "0" || v == "1" {
		return nil
	}
	for _, f := range splitList(v) {
		if !contains([]string{"network", "disk", "cpu", "memory", "usb", "cloudinit"}, f) {
			return fmt.Errorf("invalid hotplug feature '%s'", f)
		}
	}
	return nil
}
