package pvesim

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The target side of remote migration, as qemu-server's mtunnel: POST
// .../mtunnel checks storages and bridges, creates the VM config locked
// "create" and starts a qmtunnel worker; the source then opens
// .../mtunnelwebsocket and drives the migration with JSON commands.
// Disk contents are not streamed: disk-import allocates the volume with
// the size the source announces.

// tunnelIdle bounds how long a tunnel waits for its client or a command.
const tunnelIdle = 60 * time.Second

type tunnel struct {
	vmid      int
	vm        *vmState
	socket    string
	user      string
	lock      string            // the lock the tunnel holds on its VM
	imported  map[string]string // disk-import volname -> volume ID
	connected chan *wsConn
	attached  bool // a websocket took the tunnel
	done      bool
}

// upgrade is a handler result that takes over the connection (WebSocket).
type upgrade func(w http.ResponseWriter, r *http.Request)

func fmtStorageIDList(v string) error {
	for _, id := range splitList(v) {
		if err := fmtStorageID(id); err != nil {
			return err
		}
	}
	return nil
}

func fmtBridgeIDList(v string) error {
	for _, id := range splitList(v) {
		if err := fmtBridge(id); err != nil {
			return err
		}
	}
	return nil
}

func tunnelRoutes() []route {
	return []route{
		{
			method: "POST", path: "/nodes/{node}/qemu/{vmid}/mtunnel",
			params: []Param{nodeParam, vmidParam,
				strP("storages").opt().format(fmtStorageIDList),
				strP("bridges").opt().format(fmtBridgeIDList),
			},
			handle: (*Cluster).openTunnel,
			perm:   checked(allOf(needs("/vms/{vmid}", "VM.Allocate"), needs("/", "Sys.Incoming"))),
		},
		{
			method: "GET", path: "/nodes/{node}/qemu/{vmid}/mtunnelwebsocket",
			params: []Param{nodeParam, vmidParam, strP("socket"), strP("ticket")},
			handle: (*Cluster).tunnelWebSocket,
			perm:   permAll,
		},
	}
}

func (c *Cluster) openTunnel(req *request) (any, error) {
	vmid := int(req.num("vmid", 0))
	c.mu.Lock()
	defer c.mu.Unlock()
	local := c.localFor(req.local).Name
	if node := req.str("node"); node != "localhost" && node != local {
		return nil, paramErr("node", fmt.Sprintf("node needs to be 'localhost' or local hostname '%s'", local))
	}
	for _, id := range splitList(req.str("storages")) {
		if err := c.checkStorageAccessMigrate(req.user, id); err != nil {
			return nil, err
		}
	}
	for _, b := range splitList(req.str("bridges")) {
		if !c.bridgeExists(b) {
			return nil, failf("bridge '%s' does not exist", b)
		}
	}
	if other := c.vms[vmid]; other != nil {
		return nil, paramErr("vmid", fmt.Sprintf("unable to create empty VM config - VM %d already exists on node '%s'", vmid, other.node))
	}
	vm := newVMState(vmid, local)
	vm.conf["lock"] = "create"
	c.vms[vmid] = vm
	t := &tunnel{vmid: vmid, vm: vm, socket: fmt.Sprintf("/run/qemu-server/%d.mtunnel", vmid), user: req.user,
		lock: "create", imported: map[string]string{}, connected: make(chan *wsConn, 1)}
	c.tunnels[vmid] = t
	upid := c.startWorker(local, "qmtunnel", vmidStr(vmid), req.user, func(ctx context.Context, log taskLogger) error {
		return c.runTunnel(ctx, log, t)
	}, func() {
		c.finishTunnel(t, true)
		select {
		case ws := <-t.connected:
			ws.close()
		default:
		}
	})
	return map[string]any{"upid": upid, "ticket": c.sign("tunnel", req.user, t.socket), "socket": t.socket}, nil
}

// checkStorageAccessMigrate is qemu-server's check_storage_access_migrate.
func (c *Cluster) checkStorageAccessMigrate(user, id string) *apiError {
	s, ok := c.storage(id)
	if !ok {
		return failf("storage '%s' does not exist", id)
	}
	if err := c.checkPath(user, "/storage/"+id, "Datastore.AllocateSpace"); err != nil {
		return err
	}
	if !contains(strings.Split(s.Content, ","), "images") {
		return failf("storage '%s' does not support vm images", id)
	}
	return nil
}

// tunnelWebSocket hands the upgraded connection to the tunnel's worker.
func (c *Cluster) tunnelWebSocket(req *request) (any, error) {
	vmid := int(req.num("vmid", 0))
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tunnels[vmid]
	if t == nil || t.done || t.socket != req.str("socket") {
		return nil, failf("unknown tunnel socket '%s'", req.str("socket"))
	}
	if !hmac.Equal([]byte(req.str("ticket")), []byte(c.sign("tunnel", req.user, t.socket))) {
		return nil, authError("permission denied - invalid tunnel ticket")
	}
	if t.attached {
		return nil, failf("tunnel '%s' already in use", t.socket)
	}
	t.attached = true
	return upgrade(func(w http.ResponseWriter, r *http.Request) {
		ws, err := acceptWebSocket(w, r)
		if err != nil {
			c.mu.Lock()
			t.attached = false
			c.mu.Unlock()
			writeError(w, &apiError{status: http.StatusBadRequest, message: err.Error()})
			return
		}
		t.connected <- ws
	}), nil
}

// runTunnel is the qmtunnel worker: it serves commands until "quit" or
// until the client goes away, cleaning up an unfinished VM then.
func (c *Cluster) runTunnel(ctx context.Context, log taskLogger, t *tunnel) error {
	var ws *wsConn
	select {
	case ws = <-t.connected:
	case <-time.After(tunnelIdle):
	case <-ctx.Done():
	}
	if ws == nil {
		c.finishTunnel(t, true)
		return errors.New("mtunnel: no client connected")
	}
	log("mtunnel started")
	stop := context.AfterFunc(ctx, func() { _ = ws.conn.Close() })
	defer stop()
	for {
		msg, err := ws.readMessage(tunnelIdle)
		if err != nil {
			break
		}
		var params map[string]any
		reply := map[string]any{}
		if err := json.Unmarshal(msg, &params); err != nil {
			reply = map[string]any{"success": false, "msg": "failed to decode command: " + err.Error()}
		} else {
			cmd, _ := params["cmd"].(string)
			log("received command '%s'", cmd)
			res, err := c.tunnelCommand(t, cmd, params)
			if err != nil {
				reply = map[string]any{"success": false, "msg": err.Error()}
				log("ERROR: command '%s' failed - %v", cmd, err)
			} else {
				for k, v := range res {
					reply[k] = v
				}
				reply["success"] = true
			}
		}
		out, _ := json.Marshal(reply)
		if err := ws.writeFrame(wsText, out); err != nil {
			break
		}
		c.mu.Lock()
		done := t.done
		c.mu.Unlock()
		if done {
			ws.close()
			return nil
		}
	}
	ws.close()
	c.finishTunnel(t, true)
	return errors.New("mtunnel exited unexpectedly")
}

// finishTunnel ends a tunnel; with cleanup it destroys the VM and the
// volumes the tunnel created unless the migration already completed.
func (c *Cluster) finishTunnel(t *tunnel, cleanup bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.done = true
	if c.tunnels[t.vmid] == t {
		delete(c.tunnels, t.vmid)
	}
	if !cleanup || c.vms[t.vmid] != t.vm || t.lock == "" {
		return
	}
	c.freeVolumes(t.vmid)
	delete(c.vms, t.vmid)
}

// tunnelCommand runs one command of the migration protocol.
func (c *Cluster) tunnelCommand(t *tunnel, cmd string, params map[string]any) (map[string]any, error) {
	switch cmd {
	case "version":
		return map[string]any{"api": 2, "age": 0}, nil
	case "quit":
		cleanup := params["cleanup"] == true || params["cleanup"] == float64(1)
		c.finishTunnel(t, cleanup)
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	vm := c.vms[t.vmid]
	if vm != t.vm || (t.lock != "" && vm.conf["lock"] != t.lock) {
		return nil, errors.New("Encountered wrong lock - aborting mtunnel command handling.") //nolint:revive // PVE's own message
	}
	str := func(k string) string { s, _ := params[k].(string); return s }
	switch cmd {
	case "bwlimit":
		return map[string]any{"bwlimit": nil}, nil
	case "disk-import":
		size, _ := params["size"].(float64)
		volid, err := c.importVolume(t, str("storage"), str("volname"), str("format"), int64(size))
		if err != nil {
			return nil, err
		}
		t.imported[str("volname")] = volid
		return map[string]any{"socket": "/run/qemu-server/" + vmidStr(t.vmid) + ".storage"}, nil
	case "query-disk-import":
		for name, volid := range t.imported {
			delete(t.imported, name)
			return map[string]any{"status": "complete", "volid": volid}, nil
		}
		return map[string]any{"status": "error", "msg": "no disk import running"}, nil
	case "config":
		return nil, c.applyTunnelConfig(t, str("conf"))
	case "start":
		if err := c.checkNICBridges(vm.conf); err != nil {
			return nil, err
		}
		vm.start(c)
		return map[string]any{"migrate": map[string]any{"proto": "unix", "addr": fmt.Sprintf("/run/qemu-server/%d.migrate", t.vmid)}}, nil
	case "resume":
		if !vm.running {
			return nil, fmt.Errorf("VM %d not running", t.vmid)
		}
		return nil, nil
	case "stop":
		if vm.running {
			vm.running, vm.pid = false, 0
		}
		return nil, nil
	case "nbdstop", "fstrim":
		return nil, nil
	case "unlock":
		delete(vm.conf, "lock")
		t.lock = ""
		return nil, nil
	}
	return nil, fmt.Errorf("invalid command '%s'", cmd)
}

// importVolume allocates a migrated volume: block storages hold raw
// images, file storages keep the format in the name. Caller holds c.mu.
func (c *Cluster) importVolume(t *tunnel, storage, volname, format string, size int64) (string, error) {
	if aerr := c.checkStorageAccessMigrate(t.user, storage); aerr != nil {
		return "", aerr
	}
	s, _ := c.storage(storage)
	owner := t.vm.node
	if s.Shared {
		owner = ""
	}
	if free := s.TotalBytes - c.storageUsed(storage, owner); s.Type != "lvmthin" && size > free {
		return "", fmt.Errorf("unable to create image: not enough space on storage '%s'", storage)
	}
	block := map[string]bool{"lvmthin": true, "lvm": true, "zfspool": true, "rbd": true}[s.Type]
	if format == "" || block {
		format = "raw"
	}
	base := strings.TrimSuffix(volname, "."+format)
	prefix, n := base, 0
	if i := strings.LastIndex(base, "-disk-"); i >= 0 {
		prefix = base[:i+len("-disk-")]
		n, _ = strconv.Atoi(base[i+len("-disk-"):])
	}
	for {
		name := base
		if !block {
			name = fmt.Sprintf("%d/%s.%s", t.vmid, base, format)
		}
		if !c.volumeNameTaken(storage, name) {
			id := storage + ":" + name
			c.volumes[id] = &volume{id: id, storage: storage, node: owner, vmid: t.vmid, size: size}
			return id, nil
		}
		if prefix == base { // cloud-init and state volumes have fixed names
			return "", fmt.Errorf("volume '%s:%s' already exists", storage, name)
		}
		n++
		base = prefix + strconv.Itoa(n)
	}
}

// applyTunnelConfig writes the migrated config: lock, digest, snapshots
// and pending changes are dropped, every disk must have been imported,
// and the VM stays locked "migrate" until unlocked. Caller holds c.mu.
func (c *Cluster) applyTunnelConfig(t *tunnel, text string) error {
	conf, err := parseConfigText(text)
	if err != nil {
		return err
	}
	for _, k := range []string{"lock", "digest", "parent"} {
		delete(conf, k)
	}
	errs := map[string]string{}
	for k, v := range conf {
		p, ok := qemuConfigParamSet.byKey[k]
		if !ok && k != "meta" && k != "vmgenid" {
			errs[k] = "property is not defined in schema and the schema does not allow additional properties"
			continue
		}
		if ok {
			if msg := p.check(k, v); msg != "" {
				errs[k] = msg
			}
		}
	}
	if len(errs) > 0 {
		return paramError(errs)
	}
	// The config goes through update_vm_api as the tunnel's caller, with
	// its per-key checks; vmgenid and meta are set aside before.
	upd := configUpdate{set: map[string]string{}}
	for k, v := range conf {
		if k != "meta" && k != "vmgenid" {
			upd.set[k] = v
		}
	}
	if aerr := c.checkUpdatePerms(t.user, t.vmid, upd); aerr != nil {
		return aerr
	}
	if aerr := c.checkUpdateValuePerms(t.user, t.vm, upd); aerr != nil {
		return aerr
	}
	for k, v := range conf {
		var file string
		switch {
		case isDiskKey(k):
			d, _ := driveFormats[busOf(k)].parse(v)
			if d["media"] == "cdrom" && !isCloudInitVolume(d["file"]) {
				continue
			}
			file = d["file"]
		case isFamilyKey(k, "unused"):
			file = strings.TrimPrefix(v, "file=")
		default:
			continue
		}
		if vol := c.volumes[file]; vol == nil || vol.vmid != t.vmid {
			return fmt.Errorf("volume '%s' does not exist", file)
		}
	}
	conf["lock"] = "migrate"
	t.vm.conf = conf
	t.lock = "migrate"
	return nil
}

// parseConfigText reads the main section of a VM config file: "#" lines
// are the description, "key: value" lines the settings.
func parseConfigText(text string) (map[string]string, error) {
	conf := map[string]string{}
	var desc []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "[") {
			break // pending or snapshot sections are not migrated
		}
		if strings.HasPrefix(line, "#") {
			desc = append(desc, strings.TrimPrefix(line, "#"))
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("unable to parse config line '%s'", line)
		}
		conf[k] = v
	}
	if len(desc) > 0 {
		conf["description"] = strings.Join(desc, "\n")
	}
	return conf, nil
}
