package pvesim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// Backups: vzdump onto a PBS storage, the storage's backup content, and
// restore (POST /nodes/{node}/qemu with archive, in qemu_routes.go's
// createVM), as pve-manager's VZDump.pm and qemu-server's create_vm do.

var vzdumpModes = []string{"snapshot", "suspend", "stop"}

func backupRoutes() []route {
	return []route{
		{
			method: "POST", path: "/nodes/{node}/vzdump", proxyNode: true,
			params: []Param{strP("node").opt(),
				strP("vmid").opt(),
				boolP("all").opt(),
				strP("exclude").opt(),
				strP("pool").opt(),
				strP("storage").opt(),
				strP("mode").opt().oneOf(vzdumpModes...),
				strP("notes-template").opt().maxLen(1024).requiring("storage"),
				boolP("protected").opt().requiring("storage"),
				strP("compress").opt().oneOf("0", "1", "gzip", "lzo", "zstd"),
				boolP("remove").opt(),
				boolP("quiet").opt(),
				intP("lockwait").opt().atLeast(0),
				intP("stopwait").opt().atLeast(0),
				strP("mailnotification").opt().oneOf("always", "failure"),
				strP("notification-mode").opt().oneOf("auto", "legacy-sendmail", "notification-system"),
				strP("pbs-change-detection-mode").opt().oneOf("legacy", "data", "metadata"),
				strP("job-id").opt().maxLen(50).matching(`\S+`),
			},
			handle: (*Cluster).vzdump,
			perm:   permAll, // VM.Backup per guest in the worker, Datastore.AllocateSpace on the storage
		},
		{
			method: "GET", path: "/nodes/{node}/storage/{storage}/content", proxyNode: true,
			params: []Param{nodeParam, strP("storage"), strP("content").opt(), vmidParam.opt()},
			handle: (*Cluster).storageContent,
			perm:   checked(needsAny("/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace")),
		},
		{
			method: "DELETE", path: "/nodes/{node}/storage/{storage}/content/{volume}", proxyNode: true, rest: true,
			params: []Param{nodeParam, strP("storage").opt(), strP("volume"), intP("delay").opt().between(1, 30)},
			handle: (*Cluster).deleteVolume,
			perm:   permAll, // Datastore.Allocate, or AllocateSpace plus VM.Backup for a backup
		},
	}
}

var (
	notesEscapeRe = regexp.MustCompile(`\\(.)`)
	notesVarRe    = regexp.MustCompile(`\{\{([^\s{}]+)\}\}`)
)

// verifyNotesTemplate is vzdump's $verify_notes_template, positions as it
// reports them.
func verifyNotesTemplate(tmpl string) error {
	if strings.Contains(tmpl, "\n") {
		return fmt.Errorf("contains a line feed")
	}
	var problems []string
	for _, m := range notesEscapeRe.FindAllStringSubmatchIndex(tmpl, -1) {
		if ch := tmpl[m[2]:m[3]]; ch != "n" && ch != `\` {
			problems = append(problems, fmt.Sprintf("escape sequence '\\%s' at char %d", ch, m[0]))
		}
	}
	for _, m := range notesVarRe.FindAllStringSubmatchIndex(tmpl, -1) {
		switch v := tmpl[m[2]:m[3]]; v {
		case "cluster", "guestname", "node", "vmid":
		default:
			problems = append(problems, fmt.Sprintf("variable '%s' at char %d", v, m[1]-len(v)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("found unknown: %s", strings.Join(problems, ", "))
	}
	return nil
}

// expandNotes is vzdump's $generate_notes: unescape, then the variables.
func (c *Cluster) expandNotes(tmpl string, vm *vmState, node string) string {
	tmpl = notesEscapeRe.ReplaceAllStringFunc(tmpl, func(m string) string {
		if m == `\n` {
			return "\n"
		}
		return m[1:]
	})
	vars := map[string]string{"cluster": c.cfg.Name, "guestname": vm.name(), "node": node, "vmid": vmidStr(vm.vmid)}
	return notesVarRe.ReplaceAllStringFunc(tmpl, func(m string) string {
		if v, ok := vars[m[2:len(m)-2]]; ok {
			return v
		}
		return m
	})
}

// parseVMIDList is pve-vmid-list: VMIDs separated by commas, spaces or
// semicolons.
func parseVMIDList(s string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// verifyVzdumpParams is verify_vzdump_parameters with check_missing.
func verifyVzdumpParams(p map[string]string) *apiError {
	switch {
	case p["all"] == "1" && p["vmid"] != "":
		return paramErr("all", "option conflicts with option 'vmid'")
	case p["exclude"] != "" && p["vmid"] != "":
		return paramErr("exclude", "option conflicts with option 'vmid'")
	case p["pool"] != "" && p["vmid"] != "":
		return paramErr("pool", "option conflicts with option 'vmid'")
	}
	if t := p["notes-template"]; t != "" {
		if err := verifyNotesTemplate(t); err != nil {
			return paramErr("notes-template", err.Error())
		}
	}
	if p["all"] != "1" && p["exclude"] == "" && p["pool"] == "" && p["vmid"] == "" {
		return paramErr("vmid", "property is missing")
	}
	return nil
}

func (c *Cluster) vzdump(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := req.str("node"); n != "" && n != req.node {
		return nil, paramErr("node", "option is only allowed on the command line interface.")
	}
	if req.user != access.Root && req.has("job-id") {
		return nil, paramErr("job-id", "Only root may set this option.")
	}
	if err := verifyVzdumpParams(req.params); err != nil {
		return nil, err
	}
	// get_included_guests: the selection, split by node; guests on other
	// nodes are skipped, unknown VMIDs fail visibly in the worker.
	var selected []int
	switch {
	case req.str("vmid") != "":
		selected = parseVMIDList(req.str("vmid"))
	case req.str("pool") != "":
		if err := c.checkPool(req.str("pool")); err != nil {
			return nil, err
		}
		for _, id := range c.sortedVMIDs() {
			if c.vms[id].pool == req.str("pool") {
				selected = append(selected, id)
			}
		}
	default:
		excluded := map[int]bool{}
		for _, id := range parseVMIDList(req.str("exclude")) {
			excluded[id] = true
		}
		for _, id := range c.sortedVMIDs() {
			if !excluded[id] {
				selected = append(selected, id)
			}
		}
	}
	var local []int
	for _, id := range selected {
		if vm := c.vms[id]; vm == nil || vm.node == req.node {
			local = append(local, id)
		}
	}
	sort.Ints(local)
	if len(local) == 0 && req.str("all") != "1" {
		return "OK", nil // silent exit: the guests run on other nodes
	}
	storage := req.str("storage")
	if storage == "" {
		storage = "local" // vzdump.conf's default
	}
	if err := c.checkPath(req.user, "/storage/"+storage, "Datastore.AllocateSpace"); err != nil {
		return nil, err
	}
	s, ok := c.storage(storage)
	if !ok {
		return nil, failf("storage '%s' does not exist", storage)
	}
	if !contentAllows(s.Content, "backup") {
		return nil, failf("storage '%s' does not support vzdump backups", storage)
	}
	ds := c.datastore(storage)
	if ds == nil {
		return nil, failf("storage '%s': the simulator keeps backups on pbs storages only", storage)
	}
	// The worker locks each guest ("lock: backup") while its backup runs
	// and takes the config as it was when the backup started; the guest
	// keeps running in every mode (suspend and stop resume or restart it).
	type job struct {
		vm   *vmState
		snap PBSSnapshot
		err  string
	}
	all := req.str("all") == "1"
	var jobs []*job
	for _, id := range local {
		vm := c.vms[id]
		j := &job{vm: vm}
		switch {
		case vm == nil:
			j.err = fmt.Sprintf("unable to find VM %d", id)
		case !c.can(req.user, "/vms/"+vmidStr(id), "VM.Backup"):
			if all {
				continue // "all" skips guests the caller may not back up
			}
			j.err = fmt.Sprintf("Permission check failed (/vms/%d, VM.Backup)", id)
		case vm.conf["lock"] != "":
			j.err = fmt.Sprintf("VM %d is locked (%s)", id, vm.conf["lock"])
		default:
			conf := make(map[string]string, len(vm.conf))
			for k, v := range vm.conf {
				conf[k] = v
			}
			disks := map[string]int64{}
			var size int64
			for k, v := range conf {
				if isDiskKey(k) && !strings.Contains(v, "media=cdrom") {
					if file, _, _ := strings.Cut(v, ","); c.volumes[file] != nil {
						disks[k] = c.volumes[file].size
						size += c.volumes[file].size
					}
				}
			}
			j.snap = PBSSnapshot{VMID: id, Time: time.Now(), Conf: conf, Disks: disks, Size: size,
				Protected: req.flag("protected")}
			if t := req.str("notes-template"); t != "" {
				j.snap.Notes = c.expandNotes(t, vm, req.node)
			}
			vm.conf["lock"] = "backup"
		}
		jobs = append(jobs, j)
	}
	taskID := ""
	if len(local) == 1 {
		taskID = vmidStr(local[0])
	}
	unlock := func() {
		for _, j := range jobs {
			if j.err == "" && c.vms[j.vm.vmid] == j.vm && j.vm.conf["lock"] == "backup" {
				delete(j.vm.conf, "lock")
			}
		}
	}
	return c.startTaskRevert(req.node, "vzdump", taskID, req.user, func() error {
		defer unlock()
		// exec_backup checks VM.Backup while it builds its task list:
		// one refusal ends the job before any backup runs.
		for _, j := range jobs {
			if strings.HasPrefix(j.err, "Permission check failed") {
				return fmt.Errorf("%s", j.err)
			}
		}
		failed := 0
		for _, j := range jobs {
			if j.err != "" {
				failed++
				continue
			}
			if _, err := ds.add(j.snap); err != nil {
				failed++
			}
		}
		if failed > 0 {
			return fmt.Errorf("job errors")
		}
		return nil
	}, unlock), nil
}

// backupEntry is one backup as the storage content index lists it.
func backupEntry(sid, volname string, s PBSSnapshot) map[string]any {
	out := map[string]any{
		"volid": sid + ":" + volname, "content": "backup", "format": "pbs-vm", "subtype": "qemu",
		"vmid": s.VMID, "ctime": s.Time.Unix(), "size": s.Size,
	}
	if s.Notes != "" {
		first, _, _ := strings.Cut(s.Notes, "\n")
		out["notes"] = first
	}
	if s.Protected {
		out["protected"] = 1
	}
	return out
}

// storageContent is Storage/Content.pm's index: every volume the caller
// may access (check_volume_access), filtered by content type and owner.
func (c *Cluster) storageContent(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sid := req.str("storage")
	s, ok := c.storage(sid)
	if !ok {
		return nil, failf("storage '%s' does not exist", sid)
	}
	want, vmid := req.str("content"), int(req.num("vmid", 0))
	for _, ct := range strings.Split(want, ",") {
		if ct != "" && !contentAllows(s.Content, ct) {
			return []map[string]any{}, nil
		}
	}
	out := []map[string]any{}
	if ds := c.datastore(sid); ds != nil && (want == "" || contentAllows(want, "backup")) {
		for _, name := range ds.list() {
			snap, ok := ds.get(name)
			if !ok || (vmid != 0 && snap.VMID != vmid) || c.checkVolumeAccess(req.user, 0, sid+":"+name) != nil {
				continue
			}
			out = append(out, backupEntry(sid, name, snap))
		}
	}
	if want == "" || contentAllows(want, "images") {
		ids := make([]string, 0)
		for id, v := range c.volumes {
			if v.storage == sid && (v.node == "" || v.node == req.node) && (vmid == 0 || v.vmid == vmid) {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			if c.checkVolumeAccess(req.user, 0, id) != nil {
				continue
			}
			v := c.volumes[id]
			format := "raw"
			if strings.HasSuffix(id, ".qcow2") {
				format = "qcow2"
			}
			out = append(out, map[string]any{"volid": id, "content": "images", "format": format, "vmid": v.vmid, "size": v.size, "used": v.size})
		}
	}
	return out, nil
}

// splitVolume resolves {storage} and {volume} to a volume ID, as the content
// calls do.
func splitVolume(storage, volid string) (string, string, *apiError) {
	if strings.Contains(volid, ":") {
		sid, _, _ := strings.Cut(volid, ":")
		if err := fmtVolumeID(volid); err != nil {
			return "", "", paramErr("volume", err.Error())
		}
		if storage != "" && sid != storage {
			return "", "", paramErr("volume", fmt.Sprintf("storage ID mismatch (%s != %s)", sid, storage))
		}
		return sid, volid, nil
	}
	if storage == "" {
		return "", "", paramErr("volume", "no storage specified - incomplete volume ID")
	}
	return storage, storage + ":" + volid, nil
}

// deleteVolume removes a backup (Content.pm's delete): Datastore.Allocate
// on the storage, or AllocateSpace plus VM.Backup on the owner. Image
// volumes stay with the VM's own disk calls.
func (c *Cluster) deleteVolume(req *request) (any, error) {
	sid, volid, aerr := splitVolume(req.str("storage"), req.str("volume"))
	if aerr != nil {
		return nil, aerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.storage(sid); !ok {
		return nil, failf("storage '%s' does not exist", sid)
	}
	ds := c.datastore(sid)
	_, volname, _ := strings.Cut(volid, ":")
	if ds == nil || !strings.HasPrefix(volname, "backup/") {
		if err := c.checkPath(req.user, "/storage/"+sid, "Datastore.Allocate"); err != nil {
			return nil, err
		}
		return nil, failf("the simulator deletes backup volumes only")
	}
	if err := c.checkVolumeAccess(req.user, 0, volid); err != nil {
		return nil, err
	}
	snap, ok := ds.get(volname)
	if !ok {
		return nil, failf("no such snapshot '%s'", volname)
	}
	if snap.Protected {
		return nil, failf("backup is protected, cannot remove")
	}
	// the task ID names the owner and the storage, as Content.pm's delete does
	return c.startTask(req.node, "imgdel", fmt.Sprintf("%d@%s", snap.VMID, sid), req.user, func() error {
		if !ds.remove(volname) {
			return fmt.Errorf("no such snapshot '%s'", volname)
		}
		return nil
	}), nil
}
