package pvesim

import (
	"crypto/rand"
	"fmt"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
	"regexp"
	"strconv"
	"strings"
)

// Backup jobs (/cluster/backup): vzdump sections of jobs.cfg, as
// pve-manager's API2/Backup.pm keeps them. The simulator stores them; it
// does not run them on their schedule.

func backupJobParams() []Param {
	return []Param{
		strP("schedule").opt().maxLen(128),
		strP("starttime").opt().matching(`\d{1,2}:\d{1,2}`),
		strP("storage").opt(),
		strP("vmid").opt(),
		boolP("all").opt(),
		strP("pool").opt(),
		strP("exclude").opt(),
		strP("mode").opt().oneOf(vzdumpModes...),
		boolP("enabled").opt(),
		strP("notes-template").opt().maxLen(1024).requiring("storage"),
		boolP("protected").opt().requiring("storage"),
		strP("comment").opt().maxLen(512),
		strP("compress").opt().oneOf("0", "1", "gzip", "lzo", "zstd"),
		boolP("repeat-missed").opt(),
		strP("mailnotification").opt().oneOf("always", "failure"),
		strP("node").opt(),
	}
}

var jobIDParam = strP("id").maxLen(50).matching(`\S+`)

func backupJobRoutes() []route {
	return []route{
		{method: "GET", path: "/cluster/backup", handle: (*Cluster).listBackupJobs,
			perm: checked(needs("/", "Sys.Audit"))},
		{method: "POST", path: "/cluster/backup", handle: (*Cluster).createBackupJob,
			params: append(backupJobParams(), strP("id").opt().format(fmtConfigID)),
			perm:   checked(needs("/", "Sys.Modify"))},
		{method: "GET", path: "/cluster/backup/{id}", handle: (*Cluster).readBackupJob,
			params: []Param{jobIDParam}, perm: checked(needs("/", "Sys.Audit"))},
		{method: "PUT", path: "/cluster/backup/{id}", handle: (*Cluster).updateBackupJob,
			params: append(backupJobParams(), jobIDParam, strP("delete").opt()),
			perm:   checked(needs("/", "Sys.Modify"))},
		{method: "DELETE", path: "/cluster/backup/{id}", handle: (*Cluster).deleteBackupJob,
			params: []Param{jobIDParam}, perm: checked(needs("/", "Sys.Modify"))},
	}
}

var backupJobBools = map[string]bool{"all": true, "enabled": true, "protected": true, "repeat-missed": true}

// backupJobJSON types a job the way the API answers: booleans as numbers.
func backupJobJSON(id string, job map[string]string) map[string]any {
	out := map[string]any{"id": id, "type": "vzdump"}
	for k, v := range job {
		if backupJobBools[k] {
			n, _ := strconv.Atoi(v)
			out[k] = n
		} else {
			out[k] = v
		}
	}
	return out
}

// scheduleParams is $schedule_param_check: schedule or the legacy
// starttime (with dow), converted to a schedule.
func scheduleParams(p map[string]string, required bool) *apiError {
	switch {
	case p["schedule"] != "" && p["starttime"] != "":
		return paramErr("starttime", "'starttime' and 'schedule' cannot both be set")
	case p["schedule"] == "" && p["starttime"] == "":
		if required {
			return paramErr("schedule", "neither 'starttime' nor 'schedule' were set")
		}
	case p["schedule"] == "":
		p["schedule"] = p["starttime"]
	}
	delete(p, "starttime")
	return nil
}

func (c *Cluster) listBackupJobs(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []map[string]any{}
	for _, id := range sortedKeys(c.backupJobs) {
		out = append(out, backupJobJSON(id, c.backupJobs[id]))
	}
	return out, nil
}

func (c *Cluster) createBackupJob(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	job := map[string]string{}
	for k, v := range req.params {
		if k != "id" {
			job[k] = v
		}
	}
	if err := c.checkJobStorage(req.user, job); err != nil {
		return nil, err
	}
	if pool := job["pool"]; pool != "" {
		if err := c.checkPool(pool); err != nil {
			return nil, err
		}
		if err := c.checkPath(req.user, "/pool/"+pool, "VM.Backup"); err != nil {
			return nil, err
		}
	}
	if err := scheduleParams(job, true); err != nil {
		return nil, err
	}
	if job["enabled"] == "" {
		job["enabled"] = "1"
	}
	id := req.str("id")
	if id == "" {
		id = newJobUUID()
	}
	if c.backupJobs[id] != nil {
		return nil, failf("Job '%s' already exists", id)
	}
	if err := verifyVzdumpParams(job); err != nil {
		return nil, err
	}
	c.backupJobs[id] = job
	return nil, nil
}

// newJobUUID is the id PVE generates when none is given (a UUID).
func newJobUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (c *Cluster) readBackupJob(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := req.str("id")
	job := c.backupJobs[id]
	if job == nil {
		return nil, paramErr("id", fmt.Sprintf("No such job '%s'", id))
	}
	return backupJobJSON(id, job), nil
}

func (c *Cluster) updateBackupJob(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := req.str("id")
	old := c.backupJobs[id]
	if old == nil {
		return nil, failf("no such vzdump job")
	}
	upd := map[string]string{}
	for k, v := range req.params {
		if k != "id" && k != "delete" {
			upd[k] = v
		}
	}
	dels := strings.FieldsFunc(req.str("delete"), func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
	if len(upd) == 0 && len(dels) == 0 {
		return nil, failf("no options specified")
	}
	// assert_param_permission_update: the new storage (or 'local' when storage is deleted),
	// then the storage the job writes to now.
	if _, set := upd["storage"]; set {
		if err := c.checkJobStorage(req.user, upd); err != nil {
			return nil, err
		}
	} else if contains(dels, "storage") {
		if err := c.checkJobStorage(req.user, map[string]string{}); err != nil {
			return nil, err
		}
	}
	if err := c.checkJobStorage(req.user, old); err != nil {
		return nil, err
	}
	if err := scheduleParams(upd, false); err != nil {
		return nil, err
	}
	job := map[string]string{}
	for k, v := range old {
		job[k] = v
	}
	for _, k := range dels {
		if _, known := backupJobParamSet.byKey[k]; !known {
			return nil, paramErr("delete", fmt.Sprintf("unknown option '%s'", k))
		}
		delete(job, k)
	}
	for k, v := range upd {
		job[k] = v
	}
	// a new selection replaces the old one
	for _, sel := range []string{"vmid", "all", "pool", "exclude"} {
		if _, set := upd[sel]; set {
			for _, other := range []string{"vmid", "all", "pool", "exclude"} {
				if other != sel && !(sel == "all" && other == "exclude") && !(sel == "exclude" && other == "all") {
					if _, alsoSet := upd[other]; !alsoSet {
						delete(job, other)
					}
				}
			}
		}
	}
	if err := verifyVzdumpParams(job); err != nil {
		return nil, err
	}
	c.backupJobs[id] = job
	return nil, nil
}

var backupJobParamSet = newParamSet(backupJobParams())

// checkJobStorage is the storage half of Backup.pm's assert_param_permission_create/update: a
// job may only write where its creator may allocate (Datastore.Allocate, not just AllocateSpace),
// get_storage_param's 'local' when the job names none; root@pam is exempt.
func (c *Cluster) checkJobStorage(user string, job map[string]string) *apiError {
	if user == access.Root {
		return nil
	}
	storage := job["storage"]
	if storage == "" {
		storage = "local"
	}
	return c.checkPath(user, "/storage/"+storage, "Datastore.Allocate")
}

func (c *Cluster) deleteBackupJob(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := req.str("id")
	if c.backupJobs[id] == nil {
		return nil, paramErr("id", fmt.Sprintf("No such job '%s'", id))
	}
	delete(c.backupJobs, id)
	return nil, nil
}

var calendarEventRe = regexp.MustCompile(`^[0-9a-z*/,.:~ -]+$`)

// fmtCalendarEvent is a coarse pve-calendar-event check (PVE parses it in
// Rust): the characters a systemd-like calendar event is made of.
func fmtCalendarEvent(v string) error {
	if !calendarEventRe.MatchString(strings.ToLower(v)) {
		return fmt.Errorf("unable to parse calendar event '%s'", v)
	}
	return nil
}
