package pvesim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

func qemuConfigRoutes() []route {
	write := withParams(qemuConfigParams, nodeParam, vmidParam,
		strP("delete").opt(),
		strP("revert").opt(),
		strP("digest").opt().maxLen(40),
		boolP("skiplock").opt(),
		boolP("force").opt(),
	)
	return []route{
		{
			method: "GET", path: "/nodes/{node}/qemu/{vmid}/config", proxyNode: true,
			params: []Param{nodeParam, vmidParam, boolP("current").opt(), strP("snapshot").opt().maxLen(40)},
			handle: (*Cluster).getConfig,
			perm:   checked(needs("/vms/{vmid}", "VM.Audit")),
		},
		{
			method: "PUT", path: "/nodes/{node}/qemu/{vmid}/config", proxyNode: true,
			params: write,
			handle: func(c *Cluster, req *request) (any, error) { return c.updateConfig(req, true) },
			perm:   checked(needsAny("/vms/{vmid}", configPrivs...)),
		},
		{
			method: "POST", path: "/nodes/{node}/qemu/{vmid}/config", proxyNode: true,
			params: withParams(write, intP("background_delay").opt().between(1, 30)),
			handle: func(c *Cluster, req *request) (any, error) { return c.updateConfig(req, false) },
			perm:   checked(needsAny("/vms/{vmid}", configPrivs...)),
		},
		{
			method: "GET", path: "/nodes/{node}/qemu/{vmid}/pending", proxyNode: true,
			params: []Param{nodeParam, vmidParam},
			handle: (*Cluster).getPending,
			perm:   checked(needs("/vms/{vmid}", "VM.Audit")),
		},
	}
}

const hiddenPassword = "**********"

func (c *Cluster) getConfig(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, aerr := c.vmOn(req.node, int(req.num("vmid", 0)))
	if aerr != nil {
		return nil, aerr
	}
	conf := vm.effective()
	if req.flag("current") {
		conf = copyMap(vm.conf)
	}
	var snap *snapshot
	if name := req.str("snapshot"); name != "" {
		if snap = vm.snapshots[name]; snap == nil {
			return nil, failf("snapshot '%s' does not exist", name)
		}
		conf = snap.section()
	}
	if _, ok := conf["cipassword"]; ok {
		conf["cipassword"] = hiddenPassword
	}
	out := jsonConfig(conf)
	if snap != nil {
		out["snaptime"] = snap.snaptime // an integer in PVE's answer, not the file's text
	}
	out["digest"] = vm.digest()
	return out, nil
}

func (c *Cluster) getPending(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, aerr := c.vmOn(req.node, int(req.num("vmid", 0)))
	if aerr != nil {
		return nil, aerr
	}
	conf := copyMap(vm.conf)
	conf["digest"] = vm.digest()
	pending := copyMap(vm.pending)
	if _, ok := conf["cipassword"]; ok {
		conf["cipassword"] = hiddenPassword
	}
	if _, ok := pending["cipassword"]; ok {
		pending["cipassword"] = hiddenPassword
	}
	keys := map[string]bool{}
	for _, m := range []map[string]string{conf, pending} {
		for k := range m {
			keys[k] = true
		}
	}
	for k := range vm.pendingDel {
		keys[k] = true
	}
	out := []map[string]any{}
	for _, k := range sortedKeys(keys) {
		item := map[string]any{"key": k}
		if v, ok := conf[k]; ok {
			item["value"] = jsonValue(k, v)
		}
		if v, ok := pending[k]; ok {
			item["pending"] = jsonValue(k, v)
		}
		if vm.pendingDel[k] {
			item["delete"] = 1
		}
		out = append(out, item)
	}
	return out, nil
}

// configUpdate is one validated config write.
type configUpdate struct {
	set    map[string]string
	delete []string
	revert []string
}

// updateConfig is PUT (sync) and POST (qmconfig task) .../config. Checks up
// to the lock run in the request; writing and applying run in the worker.
func (c *Cluster) updateConfig(req *request, sync bool) (any, error) {
	if err := skiplockAllowed(req); err != nil {
		return nil, err
	}
	vmid := int(req.num("vmid", 0))
	upd := configUpdate{set: map[string]string{}, delete: splitList(req.str("delete")), revert: splitList(req.str("revert"))}
	for k, v := range req.params {
		if _, isSetting := qemuConfigParamSet.byKey[k]; isSetting {
			upd.set[k] = v
		}
	}
	if len(upd.set) == 0 && len(upd.delete) == 0 && len(upd.revert) == 0 {
		return nil, failf("no options specified")
	}
	for _, k := range upd.delete {
		if _, ok := qemuConfigParamSet.byKey[k]; !ok {
			return nil, paramErr("delete", fmt.Sprintf("unknown option '%s'", k))
		}
		if _, both := upd.set[k]; both {
			return nil, paramErr("delete", fmt.Sprintf("you can't use '-%s' and -delete %s' at the same time", k, k))
		}
		if contains(upd.revert, k) {
			return nil, paramErr("delete", fmt.Sprintf("you can't use '-delete %s' and '-revert %s' at the same time", k, k))
		}
	}
	for _, k := range upd.revert {
		if _, both := upd.set[k]; both {
			return nil, paramErr("revert", fmt.Sprintf("you can't use '-%s' and '-revert %s' at the same time", k, k))
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkUpdatePerms(req.user, vmid, upd); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(upd.set) {
		if isDiskKey(k) {
			if err := c.checkDriveStorage(k, upd.set[k]); err != nil {
				return nil, err
			}
		}
	}
	if err := normalizeSettings(upd.set); err != nil {
		return nil, err
	}
	vm, aerr := c.vmOn(req.node, vmid)
	if aerr != nil {
		return nil, aerr
	}
	if d := req.str("digest"); d != "" && d != vm.digest() {
		return nil, failf("checksum mismatch (file change by other user?)")
	}
	if aerr := vm.checkLock(req.flag("skiplock")); aerr != nil {
		return nil, aerr
	}
	if sync {
		if err := c.checkUpdateValuePerms(req.user, vm, upd); err != nil {
			return nil, err
		}
		return nil, c.writeConfig(vm, upd)
	}
	return c.startTask(req.node, "qmconfig", vmidStr(vmid), req.user, func() error {
		if c.vms[vmid] != vm {
			return fmt.Errorf("Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", req.node, vmid)
		}
		if err := c.checkUpdateValuePerms(req.user, vm, upd); err != nil {
			return err
		}
		return c.writeConfig(vm, upd)
	}), nil
}

// writeConfig records the update as pending and applies what it can: all
// of it on a stopped VM, the hot-pluggable part on a running one.
func (c *Cluster) writeConfig(vm *vmState, upd configUpdate) error {
	if err := checkBootOrder(vm, upd); err != nil {
		return err
	}
	for _, k := range upd.revert {
		delete(vm.pending, k)
		delete(vm.pendingDel, k)
	}
	for _, k := range upd.delete {
		delete(vm.pending, k)
		if _, set := vm.conf[k]; set {
			vm.pendingDel[k] = true
		}
	}
	for _, k := range sortedKeys(upd.set) {
		v := upd.set[k]
		if isDiskKey(k) {
			var err error
			if v, err = c.materializeDrive(vm, k, v); err != nil {
				return err
			}
		}
		if k == "lock" || vm.conf[k] != v {
			vm.pending[k] = v
		} else {
			delete(vm.pending, k)
		}
		delete(vm.pendingDel, k)
	}
	if !vm.running {
		vm.applyPending(c)
		return nil
	}
	vm.hotplugPending(c)
	return nil
}

// fastPlug settings apply at once even on a running VM (PVE's
// $fast_plug_option).
var fastPlug = map[string]bool{
	"description": true, "hookscript": true, "lock": true, "migrate_downtime": true,
	"migrate_speed": true, "name": true, "onboot": true, "protection": true,
	"shares": true, "startup": true, "tags": true, "vmstatestorage": true,
}

// hotpluggable reports whether a change of key can be applied to the
// running VM given its hotplug features (default network,disk,usb).
func (vm *vmState) hotpluggable(key string) bool {
	if fastPlug[key] {
		return true
	}
	features := hotplugFeatures(vm.conf["hotplug"])
	switch {
	case key == "cpuunits" || key == "cpulimit" || key == "balloon":
		return true
	case key == "tablet":
		return features["usb"]
	case key == "vcpus":
		return features["cpu"]
	case key == "memory":
		return features["memory"]
	case isFamilyKey(key, "net"):
		return features["network"]
	case isFamilyKey(key, "unused"), isCloudInitOption(key):
		return true
	case isDiskKey(key):
		bus := busOf(key)
		return features["disk"] && (bus == "scsi" || bus == "virtio")
	}
	return false
}

func hotplugFeatures(v string) map[string]bool {
	switch v {
	case "":
		v = "network,disk,usb"
	case "1":
		v = "network,disk,usb"
	case "0":
		v = ""
	}
	out := map[string]bool{}
	for _, f := range splitList(v) {
		out[f] = true
	}
	return out
}

// hotplugPending applies the hot-pluggable part of the pending changes.
func (vm *vmState) hotplugPending(c *Cluster) {
	for _, k := range sortedKeys(vm.pendingDel) {
		if vm.hotpluggable(k) {
			if old, had := vm.conf[k]; had {
				vm.recordCloudInit(k, &old, nil)
			}
			c.dropValue(vm, k, vm.conf[k])
			delete(vm.conf, k)
			delete(vm.pendingDel, k)
		}
	}
	for _, k := range sortedKeys(vm.pending) {
		if vm.hotpluggable(k) {
			newValue := vm.pending[k]
			if old, had := vm.conf[k]; had {
				vm.recordCloudInit(k, &old, &newValue)
			} else {
				vm.recordCloudInit(k, nil, &newValue)
			}
			c.replaceValue(vm, k, vm.pending[k])
			delete(vm.pending, k)
		}
	}
}

// replaceValue sets a config value; a replaced disk image becomes unused.
func (c *Cluster) replaceValue(vm *vmState, key, value string) {
	old, had := vm.conf[key]
	vm.conf[key] = value
	if had && isDiskKey(key) && volumeOf(key, old) != volumeOf(key, value) {
		c.dropValue(vm, key, old)
	}
}

func volumeOf(key, value string) string {
	d, err := driveFormats[busOf(key)].parse(value)
	if err != nil {
		return ""
	}
	return d["file"]
}

// reescape stores ssh keys the way PVE does: unescaped, then escaped
// again with only unreserved characters left as they are.
func reescape(v string) string {
	raw, err := url.PathUnescape(v)
	if err != nil {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-._~", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}

// hashPassword stores cloud-init passwords hashed, as PVE does.
func hashPassword(v string) string {
	if strings.HasPrefix(v, "$") {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "$5$pvesim$" + hex.EncodeToString(sum[:])
}
