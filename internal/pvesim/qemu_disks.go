package pvesim

import (
	"crypto/rand"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// volume is one allocated disk image.
type volume struct {
	id      string
	storage string
	node    string // owning node of a local storage; "" when shared
	vmid    int
	size    int64
}

var (
	newDiskRe   = regexp.MustCompile(`^([^/:\s]+):(\d+(?:\.\d+)?)$`)
	cloudInitRe = regexp.MustCompile(`^([^/:\s]+):cloudinit$`)
)

func (c *Cluster) storage(name string) (StorageConfig, bool) {
	for _, s := range c.cfg.Storages {
		if s.Name == name {
			return s, true
		}
	}
	return StorageConfig{}, false
}

// imageStorage returns a storage that may hold VM images.
func (c *Cluster) imageStorage(name string) (StorageConfig, *apiError) {
	s, ok := c.storage(name)
	if !ok {
		return s, failf("storage '%s' does not exist", name)
	}
	if !contains(strings.Split(s.Content, ","), "images") {
		return s, paramErr("storage", fmt.Sprintf("storage '%s' does not support vm images", name))
	}
	return s, nil
}

// checkDriveStorage is the synchronous part of PVE's check_storage_access:
// a storage named by a drive must exist, and hold images if a volume is
// to be allocated there.
func (c *Cluster) checkDriveStorage(key, value string) *apiError {
	d, err := driveFormats[busOf(key)].parse(value)
	if err != nil {
		return nil // already rejected by validation
	}
	file := d["file"]
	storage, _, named := strings.Cut(file, ":")
	switch {
	case newDiskRe.MatchString(file) || cloudInitRe.MatchString(file):
		_, aerr := c.imageStorage(storage)
		return aerr
	case named && !strings.HasPrefix(file, "/") && d["media"] != "cdrom":
		if _, ok := c.storage(storage); !ok {
			return failf("storage '%s' does not exist", storage)
		}
	}
	return nil
}

// materializeDrive allocates what a drive value asks for (STORAGE:SIZE or
// STORAGE:cloudinit) and returns the value PVE would store.
func (c *Cluster) materializeDrive(vm *vmState, key, value string) (string, error) {
	f := driveFormats[busOf(key)]
	d, err := f.parse(value)
	if err != nil {
		return "", err
	}
	file := d["file"]
	switch {
	case newDiskRe.MatchString(file):
		m := newDiskRe.FindStringSubmatch(file)
		gibs, _ := strconv.ParseFloat(m[2], 64)
		size := int64(math.Round(gibs * float64(gib)))
		vol, aerr := c.allocVolume(vm, m[1], "disk", size)
		if aerr != nil {
			return "", aerr
		}
		d["file"], d["size"] = vol.id, formatSize(size)
	case cloudInitRe.MatchString(file):
		storage := cloudInitRe.FindStringSubmatch(file)[1]
		vol, aerr := c.allocVolume(vm, storage, "cloudinit", 4<<20)
		if aerr != nil {
			return "", aerr
		}
		d["file"], d["media"], d["size"] = vol.id, "cdrom", formatSize(vol.size)
	case d["media"] == "cdrom" || file == "none" || file == "cdrom" || strings.HasPrefix(file, "/"):
	default:
		vol := c.volumes[file]
		if vol == nil {
			return "", failf("volume '%s' does not exist", file)
		}
		if _, ok := d["size"]; !ok {
			d["size"] = formatSize(vol.size)
		}
	}
	return f.print(d), nil
}

// allocVolume creates vm-<vmid>-disk-<n> (or vm-<vmid>-cloudinit) on storage.
func (c *Cluster) allocVolume(vm *vmState, storage, kind string, size int64) (*volume, *apiError) {
	s, aerr := c.imageStorage(storage)
	if aerr != nil {
		return nil, aerr
	}
	owner := vm.node
	if s.Shared {
		owner = ""
	}
	if free := s.TotalBytes - c.storageUsed(s.Name, owner); s.Type != "lvmthin" && size > free {
		return nil, failf("unable to create image: not enough space on storage '%s'", storage)
	}
	for n := 0; ; n++ {
		name := fmt.Sprintf("vm-%d-disk-%d", vm.vmid, n)
		if kind == "cloudinit" {
			name = fmt.Sprintf("vm-%d-cloudinit", vm.vmid)
		}
		if s.Type == "dir" {
			name = fmt.Sprintf("%d/%s.qcow2", vm.vmid, name)
		}
		id := storage + ":" + name
		if c.volumeNameTaken(storage, name) {
			if kind == "cloudinit" {
				return nil, failf("unable to create image: volume '%s' already exists", id)
			}
			continue
		}
		v := &volume{id: id, storage: storage, node: owner, vmid: vm.vmid, size: size}
		c.volumes[id] = v
		return v, nil
	}
}

// storageUsed sums allocations on a storage (for one node unless shared).
func (c *Cluster) storageUsed(storage, node string) int64 {
	var used int64
	for _, v := range c.volumes {
		if v.storage == storage && v.node == node {
			used += v.size
		}
	}
	return used
}

// dropValue handles a config value going away: an owned disk image becomes
// unusedN, an unusedN or cloud-init volume is freed.
func (c *Cluster) dropValue(vm *vmState, key, old string) {
	if old == "" {
		return
	}
	switch {
	case strings.HasPrefix(key, "unused"):
		if d, err := unusedFormat.parse(old); err == nil {
			delete(c.volumes, d["file"])
		}
	case isDiskKey(key):
		d, err := driveFormats[busOf(key)].parse(old)
		if err != nil {
			return
		}
		vol := c.volumes[d["file"]]
		if vol == nil || vol.vmid != vm.vmid {
			return
		}
		if strings.HasSuffix(vol.id, "-cloudinit") || strings.Contains(vol.id, "-cloudinit.") {
			delete(c.volumes, vol.id)
			return
		}
		for n := 0; ; n++ {
			k := "unused" + strconv.Itoa(n)
			if _, taken := vm.conf[k]; !taken {
				vm.conf[k] = vol.id
				return
			}
		}
	}
}

// freeVolumes removes every volume the VM owns.
func (c *Cluster) freeVolumes(vmid int) {
	for id, v := range c.volumes {
		if v.vmid == vmid {
			delete(c.volumes, id)
		}
	}
}

// parseSize reads a disk-size value ("32G", "512M", bytes without unit).
func parseSize(s string) int64 {
	m := diskSizeRe.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m[2]]
	return int64(f * float64(int64(1)<<shift))
}

// formatSize renders bytes in the largest unit that divides them, as
// PVE's format_size does.
func formatSize(n int64) string {
	unit := ""
	for _, u := range []string{"K", "M", "G", "T"} {
		if n == 0 {
			break
		}
		if n%1024 != 0 {
			break
		}
		n /= 1024
		unit = u
	}
	return strconv.FormatInt(n, 10) + unit
}

// randomMAC uses PVE's default prefix BC:24:11.
func randomMAC() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", b[0], b[1], b[2])
}

// withMAC adds a generated MAC to a net value that has none.
func withMAC(value string) (string, error) {
	n, err := netFormat.parse(value)
	if err != nil {
		return "", err
	}
	if n["macaddr"] == "" {
		n["macaddr"] = randomMAC()
	}
	return netFormat.print(n), nil
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
