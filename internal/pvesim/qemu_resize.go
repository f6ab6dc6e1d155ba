package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// driveNames is PVE's valid_drive_names in its order (the resize and
// template enums).
func driveNames() []string {
	var out []string
	for _, bus := range []struct {
		name string
		max  int
	}{{"ide", 3}, {"scsi", 30}, {"virtio", 15}, {"sata", 5}} {
		for i := 0; i <= bus.max; i++ {
			out = append(out, bus.name+strconv.Itoa(i))
		}
	}
	return append(out, "efidisk0", "tpmstate0")
}

var resizeSizeRe = regexp.MustCompile(`^(\+)?(\d+(?:\.\d+)?)([KMGT])?$`)

func resizeRoutes() []route {
	return []route{{
		method: "PUT", path: "/nodes/{node}/qemu/{vmid}/resize", proxyNode: true,
		params: []Param{nodeParam, vmidParam,
			boolP("skiplock").opt(),
			strP("disk").oneOf(driveNames()...),
			strP("size").matching(`\+?\d+(\.\d+)?[KMGT]?`),
			strP("digest").opt().maxLen(40),
		},
		handle: (*Cluster).resizeDisk,
		perm:   checked(needs("/vms/{vmid}", "VM.Config.Disk")),
	}}
}

// resizeDisk is PUT .../resize. PVE 9 does every check in the resize
// task, so even a missing VM or a shrink yields a UPID whose task fails.
func (c *Cluster) resizeDisk(req *request) (any, error) {
	if err := skiplockAllowed(req); err != nil {
		return nil, err
	}
	vmid, disk, sizestr, digest := int(req.num("vmid", 0)), req.str("disk"), req.str("size"), req.str("digest")
	skiplock := req.flag("skiplock")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.startTask(req.node, "resize", vmidStr(vmid), req.user, func() error {
		vm, aerr := c.vmOn(req.node, vmid)
		if aerr != nil {
			return aerr
		}
		if digest != "" && digest != vm.digest() {
			return fmt.Errorf("checksum mismatch (file change by other user?)")
		}
		if !skiplock {
			if aerr := vm.checkLock(false); aerr != nil {
				return aerr
			}
		}
		if aerr := c.checkResizeStorage(req.user, vm, disk); aerr != nil {
			return aerr
		}
		return c.growDrive(vm, disk, sizestr)
	}), nil
}

// growDrive applies a resize to the drive and its volume. Caller holds c.mu.
func (c *Cluster) growDrive(vm *vmState, disk, sizestr string) error {
	value, ok := vm.conf[disk]
	if !ok {
		return fmt.Errorf("disk '%s' does not exist", disk)
	}
	f := driveFormats[busOf(disk)]
	if f == nil { // efidisk0, tpmstate0: not modelled beyond their size
		return fmt.Errorf("disk '%s' has no associated volume", disk)
	}
	d, err := f.parse(value)
	if err != nil {
		return err
	}
	if d["file"] == "" || d["file"] == "none" {
		return fmt.Errorf("disk '%s' has no associated volume", disk)
	}
	if d["media"] == "cdrom" {
		return fmt.Errorf("you can't resize a cdrom")
	}
	vol := c.volumes[d["file"]]
	size := parseSize(d["size"])
	if vol != nil {
		size = vol.size
	}
	m := resizeSizeRe.FindStringSubmatch(sizestr)
	if m == nil {
		return fmt.Errorf("internal error")
	}
	n, _ := strconv.ParseFloat(m[2], 64)
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m[3]]
	newSize := int64(n * float64(int64(1)<<shift))
	if m[1] == "+" {
		newSize += size
	}
	if newSize < size {
		return fmt.Errorf("shrinking disks is not supported")
	}
	if newSize == size {
		return nil
	}
	if vol != nil {
		if err := c.checkGrowth(vol, newSize); err != nil {
			return err
		}
		vol.size = newSize
	}
	d["size"] = formatSize(newSize)
	vm.conf[disk] = f.print(d)
	return nil
}

// checkGrowth enforces capacity on storages that allocate up front; thin
// pools overcommit as LVM-thin does. The errors are those of the command
// PVE runs for the storage type.
func (c *Cluster) checkGrowth(vol *volume, newSize int64) error {
	s, ok := c.storage(vol.storage)
	if !ok || s.Type == "lvmthin" {
		return nil
	}
	free := s.TotalBytes - c.storageUsed(s.Name, vol.node)
	if newSize-vol.size <= free {
		return nil
	}
	_, volname, _ := strings.Cut(vol.id, ":")
	if s.Type == "lvm" {
		return fmt.Errorf("command '/sbin/lvextend -L %dk /dev/%s/%s' failed: exit code 5", newSize>>10, s.Name, volname)
	}
	format := "raw"
	if strings.HasSuffix(volname, ".qcow2") {
		format = "qcow2"
	}
	return fmt.Errorf("command '/usr/bin/qemu-img resize -f %s %s %d' failed: exit code 1", format, storagePath(s, volname), newSize)
}

// storagePath is where a directory storage keeps an image.
func storagePath(s StorageConfig, volname string) string {
	base := "/mnt/pve/" + s.Name
	if s.Name == "local" {
		base = "/var/lib/vz"
	}
	return base + "/images/" + volname
}
