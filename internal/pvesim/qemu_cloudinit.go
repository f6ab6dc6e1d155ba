package pvesim

// Cloud-init options are "fast plug": they change the config at once even
// on a running VM, since they only matter to the generated image. While a
// VM runs, PVE records what the image was generated with for every
// changed option (the [special:cloudinit] section) until the image is
// regenerated (VM start or PUT .../cloudinit); GET .../cloudinit shows the
// difference.

// cloudInitOptions are listed by GET .../cloudinit when set.
var cloudInitOptions = map[string]bool{
	"cicustom": true, "cipassword": true, "citype": true, "ciupgrade": true,
	"ciuser": true, "nameserver": true, "searchdomain": true, "sshkeys": true,
}

// isCloudInitOption: options that apply without hotplug.
func isCloudInitOption(key string) bool {
	return cloudInitOptions[key] || isFamilyKey(key, "ipconfig")
}

// ciRecorded: changes recorded against the generated image (PVE's
// cloudinit_pending_properties).
func ciRecorded(key string) bool {
	return isCloudInitOption(key) || key == "name" || isFamilyKey(key, "net")
}

func cloudInitRoutes() []route {
	return []route{
		{
			method: "GET", path: "/nodes/{node}/qemu/{vmid}/cloudinit", proxyNode: true,
			params: []Param{nodeParam, vmidParam},
			handle: (*Cluster).cloudInitPending,
			perm:   checked(needs("/vms/{vmid}", "VM.Audit")),
		},
		{
			method: "PUT", path: "/nodes/{node}/qemu/{vmid}/cloudinit", proxyNode: true,
			params: []Param{nodeParam, vmidParam},
			handle: (*Cluster).cloudInitRegenerate,
			perm:   checked(needs("/vms/{vmid}", "VM.Config.Cloudinit")),
		},
	}
}

// recordCloudInit notes a change of a running VM's option against the
// generated image, as PVE's cloudinit_record_changed does: the first
// change keeps the generated value, changing it back forgets it. old and
// updated are nil when absent. Caller holds c.mu.
func (vm *vmState) recordCloudInit(key string, old, updated *string) {
	if !ciRecorded(key) || (old != nil && updated != nil && *old == *updated) {
		return
	}
	recorded, isRecorded := vm.ciOld[key]
	switch {
	case updated != nil && isRecorded && *updated == recorded:
		delete(vm.ciOld, key)
		delete(vm.ciAdded, key)
	case updated != nil && (isRecorded || vm.ciAdded[key]):
	case updated != nil && old != nil:
		vm.ciOld[key] = *old
	case updated != nil:
		vm.ciAdded[key] = true
	case old == nil || isRecorded:
	case vm.ciAdded[key]:
		delete(vm.ciAdded, key)
	default:
		vm.ciOld[key] = *old
	}
}

// regenerateCloudInit forgets the recorded differences: the image now
// matches the config.
func (vm *vmState) regenerateCloudInit() {
	vm.ciOld = map[string]string{}
	vm.ciAdded = map[string]bool{}
}

func (c *Cluster) cloudInitPending(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, aerr := c.vmOn(req.node, int(req.num("vmid", 0)))
	if aerr != nil {
		return nil, aerr
	}
	mask := func(key, v string) string {
		if key == "cipassword" {
			return hiddenPassword
		}
		return v
	}
	out := []map[string]any{}
	for _, k := range sortedKeys(vm.ciAdded) {
		out = append(out, map[string]any{"key": k, "pending": mask(k, vm.conf[k])})
	}
	for _, k := range sortedKeys(cloudInitOptions) {
		cur, set := vm.conf[k]
		if !set || vm.ciAdded[k] {
			continue
		}
		item := map[string]any{"key": k, "value": mask(k, cur)}
		if old, changed := vm.ciOld[k]; changed {
			item["value"], item["pending"] = mask(k, old), mask(k, cur)
		}
		out = append(out, item)
	}
	for _, k := range sortedKeys(vm.ciOld) {
		if _, set := vm.conf[k]; !set {
			out = append(out, map[string]any{"key": k, "delete": 1})
		}
	}
	return out, nil
}

func (c *Cluster) cloudInitRegenerate(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, aerr := c.vmOn(req.node, int(req.num("vmid", 0)))
	if aerr != nil {
		return nil, aerr
	}
	vm.regenerateCloudInit()
	return nil, nil
}
