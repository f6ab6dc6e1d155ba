package pvesim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// POST .../remote_migrate as qemu-server does it: quick checks and two
// calls to the target API in the request, then a qmigrate worker that
// opens the target's mtunnel, copies the volumes and the config over the
// WebSocket tunnel, starts the copy when migrating online, and stops (or
// deletes) the source. Failures before the copy is complete leave the
// source as it was and remove whatever the target got.

func remoteMigrateRoutes() []route {
	return []route{{
		method: "POST", path: "/nodes/{node}/qemu/{vmid}/remote_migrate", proxyNode: true,
		params: []Param{nodeParam, vmidParam,
			vmidParam.opt().named("target-vmid"),
			strP("target-endpoint").format(remoteFormat.validator()),
			boolP("online").opt(),
			boolP("delete").opt(),
			strP("target-storage").format(fmtStoragePairList),
			strP("target-bridge").format(fmtBridgePairList),
			intP("bwlimit").opt().atLeast(0),
		},
		handle: (*Cluster).remoteMigrate,
		perm:   checked(needs("/vms/{vmid}", "VM.Migrate")),
	}}
}

func (p Param) named(name string) Param { p.Name = name; return p }

// migration is what the request decided for the worker.
type migration struct {
	vmid, targetVMID  int
	node, targetNode  string
	online, deleteSrc bool
	storages, bridges idMap
	remote            *remoteClient
	vm                *vmState
	bwlimit           int64
	problems          bool // phase 2/3 errors: "migration problems"
	tunnel            *tunnelClient
	volumeMap         map[string]string
}

func (c *Cluster) remoteMigrate(req *request) (any, error) {
	vmid := int(req.num("vmid", 0))
	m := &migration{vmid: vmid, targetVMID: int(req.num("target-vmid", int64(vmid))), node: req.node,
		online: req.flag("online"), deleteSrc: req.flag("delete"), bwlimit: req.num("bwlimit", 0)}
	c.mu.Lock()
	vm, aerr := c.vmOn(req.node, vmid)
	if aerr == nil {
		aerr = vm.checkLock(false)
	}
	if aerr == nil && c.haManaged(vmid) != nil {
		aerr = paramErr("vmid", "cannot remote-migrate VM that is configured for HA")
	}
	running := aerr == nil && vm.running
	c.mu.Unlock()
	if aerr != nil {
		return nil, aerr
	}
	ep, err := parseRemote(req.str("target-endpoint"))
	if err != nil {
		return nil, paramErr("target-endpoint", err.Error())
	}
	m.remote = newRemoteClient(ep)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if ep.fingerprint == "" {
		if err := m.remote.pinFromCertificateInfo(ctx); err != nil {
			return nil, failf("%v", err)
		}
	}
	if running && !m.online {
		return nil, failf("can't migrate running VM without --online")
	}
	m.online = m.online && running
	if m.storages, err = parseIDMap(req.str("target-storage"), fmtStorageID); err != nil {
		return nil, paramErr("target-storage", "failed to parse storage map: "+err.Error())
	}
	if m.bridges, err = parseIDMap(req.str("target-bridge"), fmtBridge); err != nil {
		return nil, paramErr("target-bridge", "failed to parse bridge map: "+err.Error())
	}
	if m.storages.identity {
		return nil, failf("remote migration requires explicit storage mapping!")
	}
	if m.targetNode, err = m.remote.localNodeName(ctx); err != nil {
		return nil, failf("%v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.vm, aerr = c.vmOn(req.node, vmid); aerr != nil {
		return nil, aerr
	}
	return c.startWorker(req.node, "qmigrate", vmidStr(vmid), req.user, func(ctx context.Context, log taskLogger) error {
		return c.runMigration(ctx, log, m)
	}, nil), nil
}

// runMigration reports the outcome as AbstractMigrate does: details in
// the log, "migration aborted" or "migration problems" as exit status.
func (c *Cluster) runMigration(ctx context.Context, log taskLogger, m *migration) error {
	start := time.Now()
	err := c.migrate(ctx, log, m)
	d := time.Since(start).Round(time.Second)
	duration := fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	switch {
	case err != nil:
		log("ERROR: migration aborted (duration %s): %v", duration, err)
		return errors.New("migration aborted")
	case m.problems:
		log("ERROR: migration finished with problems (duration %s)", duration)
		return errors.New("migration problems")
	}
	log("migration finished successfully (duration %s)", duration)
	return nil
}

// migrationVolume is one volume of the source VM to copy.
type migrationVolume struct {
	volid, key, storage, volname, format string
	size                                 int64
}

func (c *Cluster) migrate(ctx context.Context, log taskLogger, m *migration) error {
	// prepare: checks under the config lock, then the tunnel.
	c.mu.Lock()
	vm := c.vms[m.vmid]
	var err error
	switch {
	case vm != m.vm:
		err = fmt.Errorf("Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", m.node, m.vmid)
	case vm.conf["lock"] != "":
		err = fmt.Errorf("VM %d is locked (%s)", m.vmid, vm.conf["lock"])
	case vm.running && !m.online:
		err = errors.New("can't migrate running VM without --online")
	}
	var vols []migrationVolume
	var scanErrs []string
	var conf map[string]string
	if err == nil {
		vols, scanErrs = c.scanVolumes(vm)
		conf = copyMap(vm.conf)
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	storages := map[string]bool{}
	for _, v := range vols {
		storages[m.storages.mapID(v.storage)] = true
	}
	bridges := map[string]bool{}
	for _, k := range sortedKeys(conf) {
		if n, err := netFormat.parse(conf[k]); isFamilyKey(k, "net") && err == nil && n["bridge"] != "" {
			bridges[m.bridges.mapID(n["bridge"])] = true
		}
	}
	if m.tunnel, err = c.openRemoteTunnel(ctx, log, m, sortedKeys(storages), sortedKeys(bridges)); err != nil {
		return err
	}
	defer m.tunnel.close()

	// phase 1: lock, copy volumes, send the config.
	log("starting migration of VM %d to node '%s' (%s)", m.vmid, m.targetNode, m.remote.ep.host)
	c.mu.Lock()
	vm.conf["lock"] = "migrate"
	c.mu.Unlock()
	if err := c.phase1(ctx, log, m, vols, scanErrs); err != nil {
		log("ERROR: %v", err)
		log("aborting phase 1 - cleanup resources")
		c.unlockSource(m)
		if _, qerr := m.tunnel.cmd(ctx, "quit", map[string]any{"cleanup": 1}); qerr != nil {
			log("ERROR: %v", qerr)
		}
		return err
	}

	// phase 2: start the copy when the source runs.
	if m.online {
		log("starting VM %d on remote node '%s'", m.targetVMID, m.targetNode)
		if m.bwlimit > 0 {
			log("migration speed limit: %d KiB/s", m.bwlimit)
		}
		_, err := m.tunnel.cmd(ctx, "start", map[string]any{
			"start_params": map[string]any{"statefile": "unix", "skiplock": 1},
			"migrate_opts": map[string]any{"type": "websocket", "remote_node": m.targetNode, "migratedfrom": m.node},
		})
		if err == nil {
			log("migration status: completed")
			_, err = m.tunnel.cmd(ctx, "resume", nil)
		}
		if err != nil {
			log("ERROR: online migrate failure - %v", err)
			log("aborting phase 2 - cleanup resources")
			m.problems = true
			c.unlockSource(m)
			for _, cmd := range []string{"stop", "quit"} {
				if _, err := m.tunnel.cmd(ctx, cmd, map[string]any{"cleanup": 1}); err != nil {
					log("ERROR: %v", err)
				}
			}
			return nil
		}
	}

	// phase 3: stop the source, unlock the target, delete the source if asked.
	c.mu.Lock()
	if c.vms[m.vmid] == vm {
		vm.running, vm.pid = false, 0
	}
	c.mu.Unlock()
	for _, cmd := range []string{"unlock", "quit"} {
		if _, err := m.tunnel.cmd(ctx, cmd, nil); err != nil {
			log("ERROR: %v", err)
			m.problems = true
		}
	}
	if m.deleteSrc {
		c.mu.Lock()
		if c.vms[m.vmid] == vm {
			c.freeVolumes(m.vmid)
			delete(c.vms, m.vmid)
		}
		c.mu.Unlock()
	}
	return nil
}

// scanVolumes lists what must be copied and what blocks the migration
// (PVE's scan_local_volumes). Caller holds c.mu.
func (c *Cluster) scanVolumes(vm *vmState) ([]migrationVolume, []string) {
	var vols []migrationVolume
	var errs []string
	for _, k := range sortedKeys(vm.conf) {
		v := vm.conf[k]
		var file string
		var size int64
		switch {
		case isDiskKey(k):
			d, err := driveFormats[busOf(k)].parse(v)
			if err != nil || d["file"] == "none" {
				continue
			}
			file, size = d["file"], parseSize(d["size"])
			if file == "cdrom" {
				errs = append(errs, "can't migrate local cdrom drive")
				continue
			}
			if d["media"] == "cdrom" && !isCloudInitVolume(file) {
				errs = append(errs, fmt.Sprintf("can't migrate local disk '%s': local cdrom image", file))
				continue
			}
		case isFamilyKey(k, "unused"):
			file = strings.TrimPrefix(v, "file=")
		default:
			continue
		}
		if strings.HasPrefix(file, "/") {
			errs = append(errs, fmt.Sprintf("can't migrate local disk '%s': local file/device", file))
			continue
		}
		storage, volname, _ := strings.Cut(file, ":")
		if vol := c.volumes[file]; vol != nil {
			size = vol.size
		}
		if len(vm.snapshots) > 0 && !isCloudInitVolume(file) {
			errs = append(errs, fmt.Sprintf("can't migrate local disk '%s': remote migration with snapshots not supported yet", file))
			continue
		}
		format := "raw"
		if i := strings.LastIndex(volname, "."); i >= 0 && !strings.Contains(volname[i:], "/") {
			format = volname[i+1:]
		}
		vols = append(vols, migrationVolume{volid: file, key: k, storage: storage, volname: volname, format: format, size: size})
	}
	return vols, errs
}

type copyTimeKey struct{}

// copyTime is how long a qmigrate task copies (the task's duration), spent holding the lock.
func copyTime(ctx context.Context) time.Duration {
	d, _ := ctx.Value(copyTimeKey{}).(time.Duration)
	return d
}

func (c *Cluster) phase1(ctx context.Context, log taskLogger, m *migration, vols []migrationVolume, scanErrs []string) error {
	if d := copyTime(ctx); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	for _, v := range vols {
		log("found local disk '%s' (%s)", v.volid, map[bool]string{true: "unused", false: "attached"}[isFamilyKey(v.key, "unused")])
	}
	for _, e := range scanErrs {
		log("WARN: %s", e)
	}
	if len(scanErrs) > 0 {
		return errors.New("Problem found while scanning volumes - can't migrate VM - check log")
	}
	for _, v := range vols {
		if base, _, linked := strings.Cut(v.volname, "/"); linked && strings.HasPrefix(base, "base-") {
			return fmt.Errorf("Problem found while scanning volumes - can't migrate '%s' as it's a clone of '%s'", v.volid, base)
		}
	}
	m.volumeMap = map[string]string{}
	if len(vols) > 0 {
		log("copying local disk images")
	}
	for _, v := range vols {
		target := m.storages.mapID(v.storage)
		name := v.volname
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		name = strings.TrimSuffix(name, "."+v.format)
		name = strings.Replace(name, fmt.Sprintf("-%d-", m.vmid), fmt.Sprintf("-%d-", m.targetVMID), 1)
		name = strings.Replace(name, fmt.Sprintf("-%d-cloudinit", m.vmid), fmt.Sprintf("-%d-cloudinit", m.targetVMID), 1)
		if _, err := m.tunnel.cmd(ctx, "disk-import", map[string]any{
			"storage": target, "volname": name, "format": v.format, "size": v.size, "allow-rename": 1,
		}); err != nil {
			return fmt.Errorf("storage migration for '%s' to storage '%s' failed - %v", v.volid, target, err)
		}
		res, err := m.tunnel.cmd(ctx, "query-disk-import", nil)
		if err != nil {
			return err
		}
		newID, _ := res["volid"].(string)
		if res["status"] != "complete" || newID == "" {
			return fmt.Errorf("disk import of '%s' failed: %v", v.volid, res["msg"])
		}
		m.volumeMap[v.volid] = newID
		log("volume '%s' is '%s' on the target", v.volid, newID)
	}
	c.mu.Lock()
	remote := copyMap(m.vm.conf)
	c.mu.Unlock()
	for _, k := range sortedKeys(remote) {
		v := remote[k]
		switch {
		case isDiskKey(k):
			if d, err := driveFormats[busOf(k)].parse(v); err == nil {
				if newID, ok := m.volumeMap[d["file"]]; ok {
					d["file"] = newID
					remote[k] = driveFormats[busOf(k)].print(d)
				}
			}
		case isFamilyKey(k, "unused"):
			if newID, ok := m.volumeMap[strings.TrimPrefix(v, "file=")]; ok {
				remote[k] = newID
			}
		case isFamilyKey(k, "net"):
			n, err := netFormat.parse(v)
			if err != nil || n["bridge"] == "" {
				continue
			}
			target := m.bridges.mapID(n["bridge"])
			log("mapped: %s from %s to %s", k, n["bridge"], target)
			n["bridge"] = target
			remote[k] = netFormat.print(n)
		}
	}
	var b strings.Builder
	renderSection(&b, remote)
	_, err := m.tunnel.cmd(ctx, "config", map[string]any{"conf": b.String()})
	return err
}

// unlockSource drops the migrate lock after a failed migration.
func (c *Cluster) unlockSource(m *migration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vms[m.vmid] == m.vm && m.vm.conf["lock"] == "migrate" {
		delete(m.vm.conf, "lock")
	}
}

// tunnelClient is the source end of a migration tunnel.
type tunnelClient struct {
	ws *wsConn
}

func (c *Cluster) openRemoteTunnel(ctx context.Context, log taskLogger, m *migration, storages, bridges []string) (*tunnelClient, error) {
	path := fmt.Sprintf("/nodes/%s/qemu/%d/mtunnel", m.targetNode, m.targetVMID)
	data, err := m.remote.call(ctx, http.MethodPost, path, url.Values{
		"storages": {strings.Join(storages, ",")}, "bridges": {strings.Join(bridges, ",")}})
	if err != nil {
		return nil, err
	}
	var res struct{ UPID, Ticket, Socket string }
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("unexpected mtunnel answer: %v", err)
	}
	log("remote: started migration tunnel worker '%s'", res.UPID)
	hostport := net.JoinHostPort(m.remote.ep.host, strconv.Itoa(m.remote.ep.port))
	conn, err := loopbackDialer().DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, m.remote.transportError(err)
	}
	tc := tlsClient(conn, m.remote)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, m.remote.transportError(err)
	}
	q := url.Values{"socket": {res.Socket}, "ticket": {res.Ticket}}
	target := fmt.Sprintf("%s/nodes/%s/qemu/%d/mtunnelwebsocket?%s", apiBase, m.targetNode, m.targetVMID, q.Encode())
	ws, err := dialWebSocket(tc, hostport, target, http.Header{"Authorization": {m.remote.ep.apitoken}})
	if err != nil {
		tc.Close()
		return nil, err
	}
	t := &tunnelClient{ws: ws}
	ver, err := t.cmd(ctx, "version", nil)
	if err != nil {
		t.close()
		return nil, err
	}
	log("local WS tunnel version: 2")
	log("remote WS tunnel version: %v", ver["api"])
	log("minimum required WS tunnel version: 2")
	log("websocket tunnel started")
	return t, nil
}

// cmd sends one command and waits for its answer.
func (t *tunnelClient) cmd(ctx context.Context, name string, params map[string]any) (map[string]any, error) {
	msg := map[string]any{"cmd": name}
	for k, v := range params {
		msg[k] = v
	}
	out, _ := json.Marshal(msg)
	if err := t.ws.writeFrame(wsText, out); err != nil {
		return nil, fmt.Errorf("tunnel command '%s' failed - %v", name, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = t.ws.conn.Close() })
	defer stop()
	data, err := t.ws.readMessage(tunnelIdle)
	if err != nil {
		return nil, fmt.Errorf("tunnel command '%s' failed - no reply: %v", name, err)
	}
	var res map[string]any
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("tunnel command '%s' failed - unexpected reply %.80q", name, data)
	}
	if res["success"] != true {
		return nil, fmt.Errorf("tunnel command '%s' failed - %v", name, res["msg"])
	}
	return res, nil
}

func (t *tunnelClient) close() { t.ws.close() }
