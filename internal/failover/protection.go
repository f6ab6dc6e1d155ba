package failover

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// DefaultSchedule is the backup job's schedule when protection names none (a PVE calendar
// event: once a day at midnight).
const DefaultSchedule = "daily"

// Job is what moxxie asks of a protected VM's backup job.
type Job struct {
	VMID     int
	Storage  string // a pbs storage of the VM's datacenter
	Schedule string // PVE calendar event
}

// JobID is the id of the one backup job moxxie keeps per protected VM: its identity tag
// ("moxxie-<16 hex>"), which is a pve-configid as POST /cluster/backup requires (a letter, then
// letters, digits, '-' and '_').
func JobID(identityTag string) string { return identityTag }

// NotesTemplate makes every backup of the job carry the identity in its notes, by which the
// failover datacenter finds it (RecoveryPoint) whatever VMID it was made under.
func NotesTemplate(identityTag string) string { return "{{guestname}} " + identityTag }

// params is the job's PVE settings. Snapshot mode keeps the VM running while it is backed up.
func (j Job) params(identityTag string) map[string]string {
	schedule := j.Schedule
	if schedule == "" {
		schedule = DefaultSchedule
	}
	return map[string]string{
		"vmid": strconv.Itoa(j.VMID), "storage": j.Storage, "schedule": schedule, "mode": "snapshot",
		"enabled": "1", "notes-template": NotesTemplate(identityTag),
	}
}

// EnsureJob makes the VM's backup job in c's datacenter what j says: created when missing,
// updated where it differs (someone edited it, or the VM got a new VMID), left alone when equal.
func EnsureJob(ctx context.Context, c *dcrouter.Client, identityTag string, j Job) error {
	id := JobID(identityTag)
	want := j.params(identityTag)
	cur, found, err := readJob(ctx, c, id)
	if err != nil {
		return err
	}
	if !found {
		p := map[string]any{"id": id}
		for k, v := range want {
			p[k] = v
		}
		err := c.Post(ctx, "/cluster/backup", p, nil)
		if err == nil || !dcrouter.IsAlreadyExists(err) {
			return jobErr(c, "creating", id, err)
		}
		// A create whose answer was lost and that was sent again: compare with what is there.
		if cur, found, err = readJob(ctx, c, id); err != nil || !found {
			return jobErr(c, "reading", id, err)
		}
	}
	upd := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if cur[k] != want[k] {
			upd[k] = want[k]
		}
	}
	if len(upd) == 0 {
		return nil
	}
	return jobErr(c, "updating", id, c.Put(ctx, "/cluster/backup/"+id, upd, nil))
}

// RemoveJob deletes the VM's backup job from c's datacenter; a job that is not there is fine.
func RemoveJob(ctx context.Context, c *dcrouter.Client, identityTag string) error {
	id := JobID(identityTag)
	err := c.Delete(ctx, "/cluster/backup/"+id, nil, nil)
	if err != nil && dcrouter.IsNotFound(err) {
		return nil
	}
	return jobErr(c, "removing", id, err)
}

// HasJob reports whether c's datacenter holds the VM's backup job.
func HasJob(ctx context.Context, c *dcrouter.Client, identityTag string) (bool, error) {
	_, found, err := readJob(ctx, c, JobID(identityTag))
	return found, err
}

// readJob is GET /cluster/backup/{id} as text; found is false on PVE's "No such job".
func readJob(ctx context.Context, c *dcrouter.Client, id string) (map[string]string, bool, error) {
	var raw map[string]any
	err := c.Get(ctx, "/cluster/backup/"+id, nil, &raw)
	if err != nil {
		if dcrouter.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, jobErr(c, "reading", id, err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch x := v.(type) {
		case string:
			out[k] = x
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			out[k] = map[bool]string{true: "1", false: "0"}[x]
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out, true, nil
}

func jobErr(c *dcrouter.Client, what, id string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s the backup job %s in datacenter %s: %w", what, id, c.DC(), err)
}

// JobSummary names a job for messages: "moxxie-… (VMID 100 to pbs, daily)".
func (j Job) String() string {
	return strings.TrimSpace(fmt.Sprintf("VMID %d to %s, %s", j.VMID, j.Storage, j.params("")["schedule"]))
}
