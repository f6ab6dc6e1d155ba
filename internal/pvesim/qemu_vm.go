package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// vmState is one guest. conf and pending hold raw values exactly as PVE's
// config file would ("scsi0: local-lvm:vm-100-disk-0,size=32G").
type vmState struct {
	vmid       int
	node       string
	conf       map[string]string
	pending    map[string]string
	pendingDel map[string]bool
	running    bool
	started    time.Time
	pid        int
	snapshots  map[string]*snapshot
	pool       string // resource pool the guest is a member of
	// ciOld holds the values the cloud-init image was generated with for
	// cloud-init options changed since (PVE's [special:cloudinit]
	// section); ciAdded the options that did not exist then.
	ciOld   map[string]string
	ciAdded map[string]bool
}

func newVMState(vmid int, node string) *vmState {
	return &vmState{vmid: vmid, node: node, conf: map[string]string{}, pending: map[string]string{},
		pendingDel: map[string]bool{}, snapshots: map[string]*snapshot{}, ciOld: map[string]string{}, ciAdded: map[string]bool{}}
}

// render writes the config file text: description as comments, keys
// sorted, then the [PENDING] section, like write_vm_config.
func (vm *vmState) render() string {
	var b strings.Builder
	renderSection(&b, vm.conf)
	if len(vm.pending) > 0 || len(vm.pendingDel) > 0 {
		b.WriteString("\n[PENDING]\n")
		p := make(map[string]string, len(vm.pending)+1)
		for k, v := range vm.pending {
			p[k] = v
		}
		if len(vm.pendingDel) > 0 {
			p["delete"] = strings.Join(sortedKeys(vm.pendingDel), ",")
		}
		renderSection(&b, p)
	}
	for _, name := range sortedKeys(vm.snapshots) {
		b.WriteString("\n[" + name + "]\n")
		renderSection(&b, vm.snapshots[name].section())
	}
	return b.String()
}

func renderSection(b *strings.Builder, conf map[string]string) {
	if d, ok := conf["description"]; ok {
		for _, line := range strings.Split(d, "\n") {
			b.WriteString("#" + line + "\n")
		}
	}
	for _, k := range sortedKeys(conf) {
		if k == "description" {
			continue
		}
		b.WriteString(k + ": " + conf[k] + "\n")
	}
}

// digest is the SHA-1 of the config file text, as PVE reports it.
func (vm *vmState) digest() string {
	sum := sha1.Sum([]byte(vm.render()))
	return hex.EncodeToString(sum[:])
}

// effective is the config with pending changes applied (config GET default).
func (vm *vmState) effective() map[string]string {
	out := make(map[string]string, len(vm.conf)+len(vm.pending))
	for k, v := range vm.conf {
		if !vm.pendingDel[k] {
			out[k] = v
		}
	}
	for k, v := range vm.pending {
		out[k] = v
	}
	return out
}

// applyPending moves every pending change into the config, as PVE does
// when a VM starts, stops or is changed while stopped.
func (vm *vmState) applyPending(c *Cluster) {
	for k := range vm.pendingDel {
		c.dropValue(vm, k, vm.conf[k])
		delete(vm.conf, k)
	}
	for _, k := range sortedKeys(vm.pending) {
		c.replaceValue(vm, k, vm.pending[k])
	}
	vm.pending = map[string]string{}
	vm.pendingDel = map[string]bool{}
}

// jsonConfig types values the way PVE's parse_vm_config leaves them:
// integers and booleans become numbers, everything else stays a string.
func jsonConfig(conf map[string]string) map[string]any {
	out := make(map[string]any, len(conf))
	for k, v := range conf {
		out[k] = jsonValue(k, v)
	}
	return out
}

func jsonValue(key, v string) any {
	p := qemuConfigParamSet.byKey[key]
	if p == nil {
		return v
	}
	switch p.Type {
	case TypeInteger, TypeBoolean:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return v
}

func (vm *vmState) name() string {
	if n := vm.conf["name"]; n != "" {
		return n
	}
	return "VM " + strconv.Itoa(vm.vmid)
}

func (vm *vmState) status() string {
	if vm.running {
		return "running"
	}
	return "stopped"
}

func (vm *vmState) template() bool { return vm.conf["template"] == "1" }

// cpus is sockets*cores unless vcpus limits it.
func (vm *vmState) cpus() int {
	cores, sockets := atoiDef(vm.conf["cores"], 1), atoiDef(vm.conf["sockets"], 1)
	n := cores * sockets
	if v := atoiDef(vm.conf["vcpus"], 0); v > 0 && v < n {
		n = v
	}
	return n
}

// memoryMB reads "memory" (a property string since PVE 8: "[current=]N").
func (vm *vmState) memoryMB() int64 {
	v := vm.conf["memory"]
	if v == "" {
		return 512
	}
	m, err := memoryFormat.parse(v)
	if err != nil {
		return 512
	}
	return int64(atoiDef(m["current"], 512))
}

func (vm *vmState) maxmem() int64 { return vm.memoryMB() << 20 }

// maxdisk is the size of the boot disk, as PVE's vmstatus reports it.
func (vm *vmState) maxdisk() int64 {
	for _, key := range diskKeysInOrder(vm.conf) {
		d, err := driveFormats[busOf(key)].parse(vm.conf[key])
		if err != nil || d["media"] == "cdrom" {
			continue
		}
		return parseSize(d["size"])
	}
	return 0
}

func (vm *vmState) uptime() int64 {
	if !vm.running {
		return 0
	}
	return int64(time.Since(vm.started).Seconds())
}

func (vm *vmState) mem() int64 {
	if !vm.running {
		return 0
	}
	return vm.maxmem() * 2 / 5
}

func (vm *vmState) cpuLoad() float64 {
	if !vm.running {
		return 0
	}
	return 0.012
}

// usage holds the fields guest listings share (vmstatus and
// /cluster/resources); tags and lock only when set.
func (vm *vmState) usage() map[string]any {
	u := map[string]any{
		"vmid": vm.vmid, "name": vm.name(), "status": vm.status(),
		"maxmem": vm.maxmem(), "maxdisk": vm.maxdisk(), "mem": vm.mem(), "cpu": vm.cpuLoad(),
		"disk": 0, "uptime": vm.uptime(), "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
	}
	if tags := vm.conf["tags"]; tags != "" {
		u["tags"] = tags
	}
	if lock := vm.conf["lock"]; lock != "" {
		u["lock"] = lock
	}
	return u
}

// tagList splits the stored tags.
func (vm *vmState) tagList() []string { return splitList(vm.conf["tags"]) }

// normalizeTags dedups (case-insensitively) and sorts tags, as PVE does
// with the default tag-style.
func normalizeTags(v string) string {
	seen := map[string]bool{}
	var out []string
	for _, t := range splitList(v) {
		if k := strings.ToLower(t); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}

var diskKeyRe = regexp.MustCompile(`^(ide|sata|scsi|virtio)(\d+)$`)

func isDiskKey(k string) bool { return diskKeyRe.MatchString(k) }

func busOf(k string) string {
	if m := diskKeyRe.FindStringSubmatch(k); m != nil {
		return m[1]
	}
	return ""
}

// diskKeysInOrder lists drive keys in PVE's device order (ide, sata, scsi,
// virtio; by index).
func diskKeysInOrder(conf map[string]string) []string {
	rank := map[string]int{"ide": 0, "sata": 1, "scsi": 2, "virtio": 3}
	var keys []string
	for k := range conf {
		if isDiskKey(k) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := diskKeyRe.FindStringSubmatch(keys[i]), diskKeyRe.FindStringSubmatch(keys[j])
		if rank[a[1]] != rank[b[1]] {
			return rank[a[1]] < rank[b[1]]
		}
		return atoiDef(a[2], 0) < atoiDef(b[2], 0)
	})
	return keys
}

func atoiDef(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
