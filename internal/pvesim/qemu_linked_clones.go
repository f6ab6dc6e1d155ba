package pvesim

import "strings"

// baseVolumeInUse returns the first base volume of a template that a
// linked clone still builds on ("" if none), checked as destroy_vm does
// before it removes anything: every drive and unused volume but CD-ROMs.
// A linked clone's volume ID is "<storage>:<base name>/<own name>".
// Caller holds c.mu.
func (c *Cluster) baseVolumeInUse(vm *vmState) string {
	if !vm.template() {
		return ""
	}
	for _, k := range sortedKeys(vm.conf) {
		var file string
		switch {
		case isDiskKey(k):
			d, err := driveFormats[busOf(k)].parse(vm.conf[k])
			if err != nil || d["media"] == "cdrom" {
				continue
			}
			file = d["file"]
		case isFamilyKey(k, "unused"):
			d, err := unusedFormat.parse(vm.conf[k])
			if err != nil {
				continue
			}
			file = d["file"]
		default:
			continue
		}
		if file == "" || strings.HasPrefix(file, "/") {
			continue
		}
		for id := range c.volumes {
			if strings.HasPrefix(id, file+"/") {
				return file
			}
		}
	}
	return ""
}
