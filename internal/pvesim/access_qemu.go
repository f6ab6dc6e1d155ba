package pvesim

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// The per-key checks qemu-server makes for config writes, creates and
// clones (check_vm_modify_config_perm, check_storage_access,
// check_bridge_access and friends). Callers hold c.mu.

// configKeyPrivs is which privilege a config key needs, from
// qemu-server's option groups.
var configKeyPrivs = func() map[string][]string {
	m := map[string][]string{}
	add := func(privs []string, keys ...string) {
		for _, k := range keys {
			m[k] = privs
		}
	}
	add([]string{"VM.Config.CPU"}, "cores", "cpu", "runningcpu", "cpulimit", "cpuunits", "numa", "smp", "sockets", "vcpus")
	add([]string{"VM.Config.Memory"}, "memory", "balloon", "shares", "allow-ksm")
	add([]string{"VM.Config.HWType"}, "acpi", "hotplug", "kvm", "machine", "runningmachine", "scsihw", "smbios1", "tablet", "vga", "watchdog", "audio0", "rng0")
	add([]string{"VM.Config.Options"}, "agent", "autostart", "bios", "description", "keyboard", "localtime", "migrate_downtime",
		"migrate_speed", "name", "onboot", "ostype", "protection", "reboot", "startdate", "startup", "tdf", "template")
	add([]string{"VM.PowerMgmt"}, "freeze")
	add([]string{"VM.Config.Disk"}, "boot", "bootdisk", "vmstatestorage")
	add([]string{"VM.Config.Disk", "VM.PowerMgmt"}, "vmstate")
	return m
}()

var cloudInitKeys = map[string]bool{"cicustom": true, "cipassword": true, "citype": true, "ciuser": true, "ciupgrade": true,
	"nameserver": true, "searchdomain": true, "sshkeys": true}

var familyRe = regexp.MustCompile(`^([a-z]+)(\d+)$`)

// checkConfigKeys is check_vm_modify_config_perm: each key's privilege on
// /vms/<vmid>; keys with value-dependent checks (drives, serial, usb,
// hostpci, tags) are checked elsewhere, unknown ones are root's.
func (c *Cluster) checkConfigKeys(user string, vmid int, keys []string) *apiError {
	if user == access.Root {
		return nil
	}
	for _, k := range keys {
		fam := ""
		if m := familyRe.FindStringSubmatch(k); m != nil {
			fam = m[1]
		}
		if isDriveName(k) || k == "cdrom" || k == "tags" {
			continue
		}
		switch fam {
		case "unused", "serial", "usb", "hostpci", "virtiofs":
			continue
		}
		switch {
		case configKeyPrivs[k] != nil:
			if err := c.vmPerm(user, vmid, configKeyPrivs[k]...); err != nil {
				return err
			}
			if k == "startup" {
				if err := c.checkPath(user, "/", "Sys.Modify"); err != nil {
					return err
				}
			}
		case fam == "numa":
			if err := c.vmPerm(user, vmid, "VM.Config.CPU"); err != nil {
				return err
			}
		case fam == "net" || k == "running-nets-host-mtu":
			if err := c.vmPerm(user, vmid, "VM.Config.Network"); err != nil {
				return err
			}
		case cloudInitKeys[k] || fam == "ipconfig":
			if err := c.acl.CheckAny(user, "/vms/"+vmidStr(vmid), "VM.Config.Cloudinit", "VM.Config.Network"); err != nil {
				return apiErr(err)
			}
		default:
			return failf("only root can set '%s' config", k)
		}
	}
	return nil
}

func (c *Cluster) checkPath(user, path string, privs ...string) *apiError {
	if err := c.acl.Check(user, path, privs...); err != nil {
		return apiErr(err)
	}
	return nil
}

// checkSerialUSB is check_vm_create_serial_perm and check_usb_perm for
// the values a simulator accepts: sockets and spice need HWType.
func (c *Cluster) checkSerialUSB(user string, vmid int, settings map[string]string) *apiError {
	if user == access.Root {
		return nil
	}
	for _, k := range sortedKeys(settings) {
		m := familyRe.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		switch m[1] {
		case "serial":
			if settings[k] != "socket" {
				return failf("only root can set '%s' config for real devices", k)
			}
		case "usb":
			if !strings.HasPrefix(strings.ToLower(settings[k]), "host=spice") {
				return failf("only root can set '%s' config for real devices", k)
			}
		case "hostpci":
			return failf("only root can set '%s' config for non-mapped devices", k)
		default:
			continue
		}
		if err := c.vmPerm(user, vmid, "VM.Config.HWType"); err != nil {
			return err
		}
	}
	return nil
}

// checkStorageAccess is check_storage_access: a new disk needs
// Datastore.AllocateSpace on its storage, a physical CD drive Sys.Console,
// an existing volume check_volume_access.
func (c *Cluster) checkStorageAccess(user string, vmid int, settings map[string]string) *apiError {
	for _, k := range sortedKeys(settings) {
		if !isDriveName(k) {
			continue
		}
		d, err := driveFormatOf(k).parse(settings[k])
		if err != nil {
			continue // validation answers
		}
		file := d["file"]
		cdrom := d["media"] == "cdrom"
		switch {
		case file == "" || file == "none" || cloudInitRe.MatchString(file) || isCloudInitVolume(file):
		case cdrom && file == "cdrom":
			if err := c.checkPath(user, "/", "Sys.Console"); err != nil {
				return err
			}
		case !cdrom && newDiskRe.MatchString(file):
			if err := c.checkPath(user, "/storage/"+newDiskRe.FindStringSubmatch(file)[1], "Datastore.AllocateSpace"); err != nil {
				return err
			}
		default:
			if err := c.checkVolumeAccess(user, vmid, file); err != nil {
				return err
			}
		}
	}
	return nil
}

// isDriveName is is_valid_drivename: the bus drives plus efidisk0 and
// tpmstate0, whose checks depend on the volume.
func isDriveName(k string) bool { return isDiskKey(k) || k == "efidisk0" || k == "tpmstate0" }

// driveFormatOf is a drive key's property-string format.
func driveFormatOf(k string) *propFormat {
	if f, ok := driveFormats[busOf(k)]; ok {
		return f
	}
	return schemaFormat(k)
}

// backupOwnerRe is a PBS or vzdump backup's volume name and its guest.
var backupOwnerRe = regexp.MustCompile(`^backup/(?:vm|ct)/(\d+)/`)

var ownerRe = regexp.MustCompile(`^(?:[^/]+/)?(?:vm|base)-(\d+)-`)

// checkVolumeAccess is PVE::Storage::check_volume_access.
func (c *Cluster) checkVolumeAccess(user string, vmid int, volid string) *apiError {
	sid, volname, ok := strings.Cut(volid, ":")
	if !ok || strings.HasPrefix(volid, "/") {
		if user != access.Root {
			return failf("Only root can pass arbitrary filesystem paths.")
		}
		return nil
	}
	if c.can(user, "/storage/"+sid, "Datastore.Allocate") {
		return nil
	}
	if strings.HasPrefix(volname, "iso/") || strings.HasPrefix(volname, "vztmpl/") || strings.HasPrefix(volname, "import/") {
		if err := c.acl.CheckAny(user, "/storage/"+sid, "Datastore.AllocateSpace", "Datastore.Audit"); err != nil {
			return apiErr(err)
		}
		return nil
	}
	if m := backupOwnerRe.FindStringSubmatch(volname); m != nil {
		owner, _ := strconv.Atoi(m[1])
		if owner == vmid {
			return nil
		}
		// a backup: AllocateSpace on its storage and VM.Backup on its guest
		if err := c.checkPath(user, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
			return err
		}
		return c.vmPerm(user, owner, "VM.Backup")
	}
	m := ownerRe.FindStringSubmatch(volname)
	if m == nil {
		return failf("missing privileges to access %s", volid)
	}
	owner, _ := strconv.Atoi(m[1])
	if owner == vmid {
		return nil
	}
	if err := c.checkPath(user, "/storage/"+sid, "Datastore.Audit"); err != nil {
		return err
	}
	return c.vmPerm(user, owner, "VM.Config.Disk")
}

// checkBridgeAccess is check_bridge_access: SDN.Use on each NIC's bridge
// or vnet (check_vnet_access), in the vnet's zone or "localnetwork".
func (c *Cluster) checkBridgeAccess(user string, conf map[string]string) *apiError {
	if user == access.Root {
		return nil
	}
	for _, k := range sortedKeys(conf) {
		if !isFamilyKey(k, "net") {
			continue
		}
		nic, err := netFormat.parse(conf[k])
		if err != nil || nic["bridge"] == "" {
			continue
		}
		if err := c.checkVnetAccess(user, nic["bridge"], nic["tag"], nic["trunks"]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) checkVnetAccess(user, bridge, tag, trunks string) *apiError {
	zone := "localnetwork"
	if v, ok := c.sdn.pending.vnets[bridge]; ok && v["zone"] != "" {
		zone = v["zone"]
	}
	path := "/sdn/zones/" + zone + "/" + bridge
	var err error
	if tag != "" {
		err = c.acl.CheckAny(user, path+"/"+tag, "SDN.Use")
	} else {
		err = c.acl.CheckSDNBridge(user, zone, bridge, "SDN.Use")
	}
	if err != nil {
		return apiErr(err)
	}
	for _, vlan := range strings.Split(trunks, ";") {
		if vlan == "" {
			continue
		}
		if err := c.acl.CheckAny(user, path+"/"+vlan, "SDN.Use"); err != nil {
			return apiErr(err)
		}
	}
	return nil
}

// checkDrivePerm is update_vm_api's check_drive_perms: a cloud-init drive
// needs VM.Config.Cloudinit and VM.Config.CDROM, a CD-ROM VM.Config.CDROM,
// a disk VM.Config.Disk.
func (c *Cluster) checkDrivePerm(user string, vmid int, key, value string) *apiError {
	d, err := driveFormats[busOf(key)].parse(value)
	if err != nil {
		return nil
	}
	switch {
	case cloudInitRe.MatchString(d["file"]) || isCloudInitVolume(d["file"]):
		return c.vmPerm(user, vmid, "VM.Config.Cloudinit", "VM.Config.CDROM")
	case d["media"] == "cdrom":
		return c.vmPerm(user, vmid, "VM.Config.CDROM")
	}
	return c.vmPerm(user, vmid, "VM.Config.Disk")
}

// checkTags is assert_tag_permissions for a simulator without registered
// tags: changing tags needs VM.Config.Options.
func (c *Cluster) checkTags(user string, vmid int, before, after string) *apiError {
	if before == after {
		return nil
	}
	return c.vmPerm(user, vmid, "VM.Config.Options")
}

// checkCreatePerms is create_vm's permission part, in PVE's order.
func (c *Cluster) checkCreatePerms(req *request, vmid int, settings map[string]string) *apiError {
	user := req.user
	if st := req.str("storage"); st != "" {
		if err := c.checkPath(user, "/storage/"+st, "Datastore.AllocateSpace"); err != nil {
			return err
		}
	}
	if req.flag("ha-managed") {
		if err := c.checkPath(user, "/", "Sys.Console"); err != nil {
			return err
		}
	}
	if req.flag("start") {
		if err := c.vmPerm(user, vmid, "VM.PowerMgmt"); err != nil {
			return err
		}
	}
	if !c.can(user, "/vms/"+vmidStr(vmid), "VM.Allocate") {
		return denied("")
	}
	return c.checkSettingsPerms(user, vmid, settings)
}

// checkSettingsPerms is create_vm's check of the config keys it is given,
// for a new guest or as overrides of a restore.
func (c *Cluster) checkSettingsPerms(user string, vmid int, settings map[string]string) *apiError {
	if len(settings) == 0 {
		return nil
	}
	if err := c.checkStorageAccess(user, vmid, settings); err != nil {
		return err
	}
	if err := c.checkConfigKeys(user, vmid, sortedKeys(settings)); err != nil {
		return err
	}
	if err := c.checkSerialUSB(user, vmid, settings); err != nil {
		return err
	}
	if _, ok := settings["tags"]; ok && user != access.Root {
		if err := c.checkTags(user, vmid, "", settings["tags"]); err != nil {
			return err
		}
	}
	return c.checkBridgeAccess(user, settings)
}

// checkUpdatePerms is update_vm_api's synchronous permission part.
func (c *Cluster) checkUpdatePerms(user string, vmid int, upd configUpdate) *apiError {
	if err := c.checkConfigKeys(user, vmid, upd.delete); err != nil {
		return err
	}
	if err := c.checkConfigKeys(user, vmid, sortedKeys(upd.set)); err != nil {
		return err
	}
	if err := c.checkStorageAccess(user, vmid, upd.set); err != nil {
		return err
	}
	return c.checkBridgeAccess(user, upd.set)
}

// checkUpdateValuePerms is the part update_vm_api checks per key while
// applying (in the task for POST): drives by kind, old NICs' bridges,
// tags, serial and USB devices, for deleted and set keys.
func (c *Cluster) checkUpdateValuePerms(user string, vm *vmState, upd configUpdate) *apiError {
	if user == access.Root {
		return nil
	}
	conf := vm.effective()
	for _, k := range upd.delete {
		old, ok := conf[k]
		if !ok {
			continue
		}
		if err := c.checkValuePerm(user, vm.vmid, k, old, "", true); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(upd.set) {
		if err := c.checkValuePerm(user, vm.vmid, k, conf[k], upd.set[k], false); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) checkValuePerm(user string, vmid int, key, before, after string, deleting bool) *apiError {
	switch {
	case isDiskKey(key):
		if before != "" {
			if err := c.checkDrivePerm(user, vmid, key, before); err != nil {
				return err
			}
		}
		if !deleting {
			return c.checkDrivePerm(user, vmid, key, after)
		}
	case key == "tags":
		return c.checkTags(user, vmid, before, after)
	case isFamilyKey(key, "net") && before != "":
		return c.checkBridgeAccess(user, map[string]string{key: before})
	case isFamilyKey(key, "serial") || isFamilyKey(key, "usb"):
		v := after
		if deleting {
			v = before
		}
		return c.checkSerialUSB(user, vmid, map[string]string{key: v})
	}
	return nil
}

// checkCloneAccess is check_storage_access_clone and the bridge check of
// clone_vm: AllocateSpace on the target storage, or on each disk's own.
func (c *Cluster) checkCloneAccess(user string, oldconf map[string]string, storage string) *apiError {
	for _, k := range diskKeysInOrder(oldconf) {
		d, err := driveFormats[busOf(k)].parse(oldconf[k])
		if err != nil {
			continue
		}
		file := d["file"]
		if file == "" || file == "none" {
			continue
		}
		if d["media"] == "cdrom" {
			if file == "cdrom" {
				if err := c.checkPath(user, "/", "Sys.Console"); err != nil {
					return err
				}
			}
			continue
		}
		sid, _, _ := strings.Cut(file, ":")
		if storage != "" {
			sid = storage
		}
		if err := c.checkPath(user, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
			return err
		}
	}
	if st, ok := oldconf["vmstatestorage"]; ok {
		if err := c.checkPath(user, "/storage/"+st, "Datastore.AllocateSpace"); err != nil {
			return err
		}
	}
	return c.checkBridgeAccess(user, oldconf)
}

// checkResizeStorage is resize_vm's Datastore.AllocateSpace check on the
// disk's storage; drives growDrive refuses pass through to its errors.
func (c *Cluster) checkResizeStorage(user string, vm *vmState, disk string) *apiError {
	f := driveFormats[busOf(disk)]
	if f == nil {
		return nil
	}
	d, err := f.parse(vm.conf[disk])
	if err != nil || d["media"] == "cdrom" {
		return nil
	}
	sid, _, ok := strings.Cut(d["file"], ":")
	if !ok || strings.HasPrefix(d["file"], "/") {
		return nil
	}
	return c.checkPath(user, "/storage/"+sid, "Datastore.AllocateSpace")
}
