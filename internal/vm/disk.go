package vm

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Disk is one virtual disk. Storage and Volume are what PVE reports; on create Storage names
// where PVE allocates the disk.
type Disk struct {
	Slot     string // scsi0, virtio1, sata2, ide0
	SizeGB   int64
	Storage  string
	Volume   string // "local-lvm:vm-105-disk-0"; empty before creation
	Discard  bool
	SSD      bool
	IOThread bool
}

var diskSlot = regexp.MustCompile(`^(scsi|virtio|sata|ide)([0-9]+)$`)

// ValidSlot reports whether s names a disk slot PVE knows (scsi0-30, virtio0-15, sata0-5, ide0-3).
func ValidSlot(s string) bool {
	m := diskSlot.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	n, _ := strconv.Atoi(m[2])
	limit := map[string]int{"scsi": 30, "virtio": 15, "sata": 5, "ide": 3}[m[1]]
	return n <= limit
}

// createValue renders the drive string that makes PVE allocate the disk: STORAGE:SIZE_GB.
func (d Disk) createValue() string {
	return d.Storage + ":" + strconv.FormatInt(d.SizeGB, 10) + d.options()
}

func (d Disk) options() string {
	var b strings.Builder
	if d.Discard {
		b.WriteString(",discard=on")
	}
	if d.IOThread {
		b.WriteString(",iothread=1")
	}
	if d.SSD && !strings.HasPrefix(d.Slot, "virtio") { // virtio-blk has no ssd emulation
		b.WriteString(",ssd=1")
	}
	return b.String()
}

// optionsChanged reports whether d's flags differ from cur's, which needs the drive rewritten.
func (d Disk) optionsChanged(cur Disk) bool {
	return d.Discard != cur.Discard || d.IOThread != cur.IOThread || (d.SSD != cur.SSD && !strings.HasPrefix(d.Slot, "virtio"))
}

// parseDisk reads a drive string such as "local-lvm:vm-105-disk-0,size=32G,discard=on".
// ok is false for drives that are not disks moxxie manages (CD-ROMs, cloud-init drives).
func parseDisk(slot, value string) (Disk, bool, error) {
	parts := strings.Split(value, ",")
	file := parts[0]
	if k, v, found := strings.Cut(file, "="); found && k == "file" {
		file = v
	}
	d := Disk{Slot: slot, Volume: file}
	storage, _, _ := strings.Cut(file, ":")
	d.Storage = storage
	if file == "none" || strings.Contains(file, "cloudinit") {
		return d, false, nil
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "media":
			if v == "cdrom" {
				return d, false, nil
			}
		case "size":
			gb, err := parseSizeGB(v)
			if err != nil {
				return d, false, fmt.Errorf("%s: %w", slot, err)
			}
			d.SizeGB = gb
		case "discard":
			d.Discard = v == "on"
		case "ssd":
			d.SSD = v == "1" || v == "on"
		case "iothread":
			d.IOThread = v == "1" || v == "on"
		}
	}
	return d, true, nil
}

// parseSizeGB reads PVE's size suffixes, rounding up to whole GiB (moxxie sizes disks in GiB).
func parseSizeGB(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty size")
	}
	unit := s[len(s)-1]
	num := s
	mult := float64(1)
	switch unit {
	case 'K', 'k':
		mult, num = 1.0/(1<<20), s[:len(s)-1]
	case 'M', 'm':
		mult, num = 1.0/1024, s[:len(s)-1]
	case 'G', 'g':
		num = s[:len(s)-1]
	case 'T', 't':
		mult, num = 1024, s[:len(s)-1]
	default: // bytes
		mult = 1.0 / (1 << 30)
	}
	f, err := strconv.ParseFloat(num, 64)
	// Beyond 2^40 GiB is no disk: it is NaN, Inf or a typo, and would overflow int64.
	if err != nil || f < 0 || math.IsNaN(f) || f*mult > 1<<40 || strings.ContainsAny(num, "xXpPnNiI") {
		return 0, fmt.Errorf("size %q is not a PVE size", s)
	}
	gb := f * mult
	whole := int64(gb)
	if float64(whole) < gb {
		whole++
	}
	return whole, nil
}

// disksFromConfig collects the managed disks, ordered by slot.
func disksFromConfig(cfg map[string]string) ([]Disk, error) {
	var out []Disk
	for k, v := range cfg {
		if !diskSlot.MatchString(k) {
			continue
		}
		d, ok, err := parseDisk(k, v)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	sortDisks(out)
	return out, nil
}

func sortDisks(ds []Disk) {
	sort.Slice(ds, func(i, j int) bool { return slotLess(ds[i].Slot, ds[j].Slot) })
}

func slotLess(a, b string) bool {
	ma, mb := diskSlot.FindStringSubmatch(a), diskSlot.FindStringSubmatch(b)
	if ma == nil || mb == nil || ma[1] != mb[1] {
		return a < b
	}
	na, _ := strconv.Atoi(ma[2])
	nb, _ := strconv.Atoi(mb[2])
	return na < nb
}
