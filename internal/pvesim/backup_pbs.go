package pvesim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// PBSDatastore is one Proxmox Backup Server datastore. Several clusters may
// attach the same one (Config.PBS), the way a PBS sync job makes one site's
// backups appear at the other: a backup made in DC1 is then listed and
// restorable in DC2. Safe for concurrent use.
type PBSDatastore struct {
	mu    sync.Mutex
	dir   string // "" keeps snapshots in memory
	snaps map[string]PBSSnapshot
}

// PBSSnapshot is one backup snapshot: what vzdump wrote and restore reads.
type PBSSnapshot struct {
	VMID      int               `json:"vmid"`
	Time      time.Time         `json:"time"` // backup-time, whole seconds, UTC
	Notes     string            `json:"notes,omitempty"`
	Size      int64             `json:"size"`
	Protected bool              `json:"protected,omitempty"`
	Conf      map[string]string `json:"conf"` // qemu-server.conf of the guest
	Disks     map[string]int64  `json:"disks"`
}

// NewPBSDatastore is an empty in-memory datastore.
func NewPBSDatastore() *PBSDatastore { return &PBSDatastore{snaps: map[string]PBSSnapshot{}} }

// OpenPBSDatastore keeps snapshots as files in dir, so that several pvesim
// processes (one per DC) share one datastore.
func OpenPBSDatastore(dir string) (*PBSDatastore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &PBSDatastore{dir: dir, snaps: map[string]PBSSnapshot{}}, nil
}

// pbsVolname is the volume name PVE's PBS plugin gives a snapshot.
func pbsVolname(vmid int, t time.Time) string {
	return fmt.Sprintf("backup/vm/%d/%s", vmid, t.UTC().Format("2006-01-02T15:04:05Z"))
}

func (d *PBSDatastore) file(volname string) string {
	return filepath.Join(d.dir, strings.NewReplacer("/", "_", ":", "-").Replace(volname)+".json")
}

// load refreshes the in-memory view from dir. Caller holds mu.
func (d *PBSDatastore) load() {
	if d.dir == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(d.dir, "*.json"))
	snaps := map[string]PBSSnapshot{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		var s PBSSnapshot
		if err != nil || json.Unmarshal(b, &s) != nil {
			continue // a file another process is writing
		}
		snaps[pbsVolname(s.VMID, s.Time)] = s
	}
	d.snaps = snaps
}

// add stores s; a backup takes longer than a second on PBS, so two
// snapshots of one guest never share a backup-time: s moves to the next
// free second. It returns the volume name.
func (d *PBSDatastore) add(s PBSSnapshot) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.load()
	s.Time = s.Time.UTC().Truncate(time.Second)
	for {
		if _, taken := d.snaps[pbsVolname(s.VMID, s.Time)]; !taken {
			break
		}
		s.Time = s.Time.Add(time.Second)
	}
	name := pbsVolname(s.VMID, s.Time)
	if d.dir != "" {
		b, err := json.Marshal(s)
		if err != nil {
			return "", err
		}
		tmp := d.file(name) + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, d.file(name)); err != nil {
			return "", err
		}
	}
	d.snaps[name] = s
	return name, nil
}

func (d *PBSDatastore) get(volname string) (PBSSnapshot, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.load()
	s, ok := d.snaps[volname]
	return s, ok
}

func (d *PBSDatastore) remove(volname string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.load()
	if _, ok := d.snaps[volname]; !ok {
		return false
	}
	if d.dir != "" {
		if err := os.Remove(d.file(volname)); err != nil {
			return false
		}
	}
	delete(d.snaps, volname)
	return true
}

// list returns the volume names, oldest first.
func (d *PBSDatastore) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.load()
	names := make([]string, 0, len(d.snaps))
	for n := range d.snaps {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := d.snaps[names[i]], d.snaps[names[j]]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return names[i] < names[j]
	})
	return names
}

// Snapshots lists the datastore's snapshots, oldest first (for tests and
// inspection).
func (d *PBSDatastore) Snapshots() []PBSSnapshot {
	var out []PBSSnapshot
	for _, n := range d.list() {
		if s, ok := d.get(n); ok {
			out = append(out, s)
		}
	}
	return out
}

// datastore is the PBS datastore behind storage sid, nil when sid is not a
// pbs storage.
func (c *Cluster) datastore(sid string) *PBSDatastore {
	s, ok := c.storage(sid)
	if !ok || s.Type != "pbs" {
		return nil
	}
	return c.pbs
}
