package pvesim

import (
	"fmt"
	"strings"
)

func cloneRoutes() []route {
	return []route{
		{
			method: "POST", path: "/nodes/{node}/qemu/{vmid}/clone", proxyNode: true,
			params: []Param{nodeParam, vmidParam,
				intP("newid").between(100, 999999999),
				strP("name").opt(),
				strP("description").opt(),
				strP("pool").opt(),
				strP("snapname").opt().maxLen(40),
				strP("storage").opt(),
				strP("format").opt().oneOf("raw", "qcow2", "vmdk"),
				boolP("full").opt(),
				strP("target").opt(),
				intP("bwlimit").opt().atLeast(0),
			},
			handle: (*Cluster).cloneVM,
			perm:   checked(allOf(needs("/vms/{vmid}", "VM.Clone"), oneOf(needs("/vms/{newid}", "VM.Allocate"), needsIfParam("pool", "/pool/{pool}", "VM.Allocate")))),
		},
		{
			method: "POST", path: "/nodes/{node}/qemu/{vmid}/template", proxyNode: true,
			params: []Param{nodeParam, vmidParam, strP("disk").opt().oneOf(driveNames()...)},
			handle: (*Cluster).templateVM,
			perm:   checked(needs("/vms/{vmid}", "VM.Allocate")),
		},
	}
}

// clonePlan is what the synchronous checks of a clone decide.
type clonePlan struct {
	src              *vmState
	oldconf          map[string]string
	newid            int
	node             string // where the clone's config goes
	full             bool
	storage, name    string
	description      string
	descriptionGiven bool
}

// cloneVM is POST .../clone: PVE's load_and_check runs before the task;
// the new VM holds lock "clone" until the qmclone task (id: the source
// VMID) has copied or linked every disk.
func (c *Cluster) cloneVM(req *request) (any, error) {
	vmid := int(req.num("vmid", 0))
	c.mu.Lock()
	defer c.mu.Unlock()
	p, aerr := c.planClone(req, vmid)
	if aerr != nil {
		return nil, aerr
	}
	placeholder := newVMState(p.newid, p.node)
	placeholder.conf["lock"] = "clone"
	placeholder.pool = req.str("pool")
	c.vms[p.newid] = placeholder
	return c.startTaskRevert(req.node, "qmclone", vmidStr(vmid), req.user, func() error {
		if c.vms[p.newid] != placeholder {
			return fmt.Errorf("clone failed: VM %d was removed during cloning", p.newid)
		}
		conf, err := c.cloneConfig(p, placeholder)
		if err != nil {
			c.freeVolumes(p.newid)
			delete(c.vms, p.newid)
			return fmt.Errorf("clone failed: %v", err)
		}
		placeholder.conf = conf
		return nil
	}, func() {
		if c.vms[p.newid] == placeholder {
			delete(c.vms, p.newid)
		}
	}), nil
}

func (c *Cluster) planClone(req *request, vmid int) (*clonePlan, *apiError) {
	p := &clonePlan{newid: int(req.num("newid", 0)), node: req.node, storage: req.str("storage"), name: req.str("name")}
	p.description, p.descriptionGiven = req.str("description"), req.has("description")
	target := req.str("target")
	if target == req.node || target == "localhost" {
		target = ""
	}
	if err := c.checkPool(req.str("pool")); err != nil {
		return nil, err
	}
	if target != "" && c.node(target) == nil {
		return nil, failf("no such cluster node '%s'", target)
	}
	if p.storage != "" {
		s, aerr := c.imageStorage(p.storage)
		if aerr != nil {
			return nil, aerr
		}
		if target != "" && !s.Shared {
			return nil, failf("can't clone to non-shared storage '%s'", p.storage)
		}
	}
	src, aerr := c.vmOn(req.node, vmid)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := src.checkLock(false); aerr != nil {
		return nil, aerr
	}
	p.src, p.oldconf = src, src.conf
	if snap := req.str("snapname"); snap != "" {
		s := src.snapshots[snap]
		if s == nil {
			return nil, failf("snapshot '%s' does not exist", snap)
		}
		p.oldconf = s.conf
	}
	p.full = !src.template()
	if req.has("full") {
		p.full = req.flag("full")
	}
	if p.storage != "" && !p.full {
		return nil, failf("parameter 'storage' not allowed for linked clones")
	}
	if req.has("format") && !p.full {
		return nil, failf("parameter 'format' not allowed for linked clones")
	}
	if err := c.checkCloneAccess(req.user, p.oldconf, p.storage); err != nil {
		return nil, err
	}
	shared, aerr := c.checkCloneDrives(p)
	if aerr != nil {
		return nil, aerr
	}
	if target != "" {
		if !shared {
			return nil, failf("can't clone VM to node '%s' (VM uses local storage)", target)
		}
		p.node = target
	}
	if c.vms[p.newid] != nil {
		c.faults.count(countVMIDTaken)
		return nil, failf("unable to create VM %d: config file already exists", p.newid)
	}
	return p, nil
}

// checkCloneDrives checks that every disk can be copied or linked and
// reports whether all volumes live on shared storage.
func (c *Cluster) checkCloneDrives(p *clonePlan) (bool, *apiError) {
	shared := true
	for _, key := range diskKeysInOrder(p.oldconf) {
		d, err := driveFormats[busOf(key)].parse(p.oldconf[key])
		if err != nil {
			return false, failf("unable to parse drive options for '%s'", key)
		}
		file := d["file"]
		storage, volname, isVolume := strings.Cut(file, ":")
		if file == "none" || file == "cdrom" || strings.HasPrefix(file, "/") || !isVolume {
			continue
		}
		s, known := c.storage(storage)
		if !known {
			return false, failf("storage '%s' does not exist", storage)
		}
		shared = shared && s.Shared
		if d["media"] == "cdrom" && !isCloudInitVolume(file) {
			continue
		}
		if p.full || isCloudInitVolume(file) {
			continue
		}
		if !linkable(s, volname) {
			return false, failf("Linked clone feature is not supported for '%s' (%s)", file, key)
		}
	}
	return shared, nil
}

func isCloudInitVolume(volid string) bool {
	return strings.Contains(volid, "-cloudinit")
}

// linkable: only base volumes (of templates) on storages with thin clones
// can back a linked clone.
func linkable(s StorageConfig, volname string) bool {
	base := volname
	if i := strings.LastIndex(base, "/"); i >= 0 {
		base = base[i+1:]
	}
	if !strings.HasPrefix(base, "base-") {
		return false
	}
	switch s.Type {
	case "lvmthin", "zfspool", "rbd":
		return true
	case "lvm":
		return false
	}
	return strings.HasSuffix(base, ".qcow2")
}

// cloneConfig builds the clone's config, allocating its volumes. Caller
// holds c.mu.
func (c *Cluster) cloneConfig(p *clonePlan, vm *vmState) (map[string]string, error) {
	skip := map[string]bool{"parent": true, "snaptime": true, "vmstate": true, "snapstate": true,
		"runningcpu": true, "runningmachine": true, "running-nets-host-mtu": true, "lock": true, "template": true}
	conf := map[string]string{}
	for _, k := range sortedKeys(p.oldconf) {
		v := p.oldconf[k]
		switch {
		case skip[k] || isFamilyKey(k, "unused"):
		case isFamilyKey(k, "net"):
			n, err := netFormat.parse(v)
			if err != nil {
				return nil, err
			}
			n["macaddr"] = randomMAC()
			conf[k] = netFormat.print(n)
		case isDiskKey(k):
			nv, err := c.cloneDrive(p, vm, k, v)
			if err != nil {
				return nil, err
			}
			conf[k] = nv
		default:
			conf[k] = v
		}
	}
	smbios := map[string]string{}
	for _, part := range strings.Split(conf["smbios1"], ",") {
		if k, v, ok := strings.Cut(part, "="); ok {
			smbios[k] = v
		}
	}
	smbios["uuid"] = randomUUID()
	var parts []string
	for _, k := range sortedKeys(smbios) {
		parts = append(parts, k+"="+smbios[k])
	}
	conf["smbios1"] = strings.Join(parts, ",")
	if conf["vmgenid"] != "" {
		conf["vmgenid"] = randomUUID()
	}
	if p.name != "" {
		conf["name"] = p.name
	} else if n := p.oldconf["name"]; n != "" {
		conf["name"] = "Copy-of-VM-" + n
	} else {
		conf["name"] = "Copy-of-VM-" + vmidStr(p.src.vmid)
	}
	if p.descriptionGiven && p.description != "" {
		conf["description"] = p.description
	}
	return conf, nil
}

// cloneDrive copies (full), links (template base volume) or re-creates
// (cloud-init) one drive's volume for the clone.
func (c *Cluster) cloneDrive(p *clonePlan, vm *vmState, key, value string) (string, error) {
	f := driveFormats[busOf(key)]
	d, err := f.parse(value)
	if err != nil {
		return "", err
	}
	file := d["file"]
	storage, volname, isVolume := strings.Cut(file, ":")
	if !isVolume || file == "none" || strings.HasPrefix(file, "/") || (d["media"] == "cdrom" && !isCloudInitVolume(file)) {
		return value, nil
	}
	size := parseSize(d["size"])
	if src := c.volumes[file]; src != nil {
		size = src.size
	}
	dest := storage
	if p.storage != "" {
		dest = p.storage
	}
	switch {
	case isCloudInitVolume(file):
		vol, aerr := c.allocVolume(vm, dest, "cloudinit", 4<<20)
		if aerr != nil {
			return "", aerr
		}
		d["file"], d["size"] = vol.id, formatSize(vol.size)
	case p.full:
		vol, aerr := c.allocVolume(vm, dest, "disk", size)
		if aerr != nil {
			return "", aerr
		}
		d["file"], d["size"] = vol.id, formatSize(size)
	default:
		vol := c.linkVolume(vm, storage, volname, size)
		d["file"], d["size"] = vol.id, formatSize(size)
	}
	return f.print(d), nil
}

// linkVolume registers a linked clone of a base volume, named as PVE names
// them: <base>/vm-<newid>-disk-<n> (dir storages: with the newid directory).
func (c *Cluster) linkVolume(vm *vmState, storage, basename string, size int64) *volume {
	s, _ := c.storage(storage)
	owner := vm.node
	if s.Shared {
		owner = ""
	}
	for n := 0; ; n++ {
		name := fmt.Sprintf("vm-%d-disk-%d", vm.vmid, n)
		if strings.HasSuffix(basename, ".qcow2") {
			name = fmt.Sprintf("%d/%s.qcow2", vm.vmid, name)
		}
		if c.volumeNameTaken(storage, name) {
			continue
		}
		v := &volume{id: storage + ":" + basename + "/" + name, storage: storage, node: owner, vmid: vm.vmid, size: size}
		c.volumes[v.id] = v
		return v
	}
}

// volumeNameTaken reports whether a volume on storage ends in name
// (a linked clone's own name follows its base's).
func (c *Cluster) volumeNameTaken(storage, name string) bool {
	for id, v := range c.volumes {
		if v.storage == storage && (id == storage+":"+name || strings.HasSuffix(id, "/"+name)) {
			return true
		}
	}
	return false
}
