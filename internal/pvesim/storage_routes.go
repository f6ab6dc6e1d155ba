package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
)

// The storage configuration (/storage) and a volume's attributes
// (.../storage/{storage}/content/{volume}), as pve-storage answers them.

var storageTypes = []string{"btrfs", "cephfs", "cifs", "dir", "esxi", "iscsi", "iscsidirect", "lvm", "lvmthin", "nfs", "pbs", "rbd", "zfs", "zfspool"}

func storageRoutes() []route {
	return []route{
		{
			method: "GET", path: "/storage",
			params: []Param{strP("type").opt().oneOf(storageTypes...)},
			handle: (*Cluster).listStorageConfig,
			perm:   permAll, // filtered by Datastore.Audit or AllocateSpace
		},
		{
			method: "GET", path: "/storage/{storage}",
			params: []Param{strP("storage")},
			handle: (*Cluster).readStorageConfig,
			perm:   checked(needs("/storage/{storage}", "Datastore.Allocate")),
		},
		{
			method: "GET", path: "/nodes/{node}/storage/{storage}/content/{volume}", proxyNode: true, rest: true,
			params: []Param{nodeParam, strP("storage").opt(), strP("volume")},
			handle: (*Cluster).volumeInfo,
			perm:   permAll, // the handler checks access to the volume
		},
	}
}

// storageSection is a storage.cfg section as the API lists it.
func storageSection(s StorageConfig) map[string]any {
	out := map[string]any{"storage": s.Name, "type": s.Type, "content": s.Content}
	if s.Shared {
		out["shared"] = 1
	}
	switch s.Type {
	case "dir":
		out["path"] = "/var/lib/vz"
	case "lvmthin":
		out["vgname"], out["thinpool"] = "pve", "data"
	case "lvm":
		out["vgname"] = "pve"
	case "pbs":
		out["server"], out["datastore"], out["username"] = "127.0.0.1", "store1", "backup@pbs"
	}
	return out
}

func (c *Cluster) storageDigest() string {
	h := sha1.New()
	for _, s := range c.cfg.Storages {
		fmt.Fprintf(h, "%s:%s:%s:%t\n", s.Type, s.Name, s.Content, s.Shared)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// listStorageConfig lists the storages the caller holds Datastore.Audit
// or Datastore.AllocateSpace on, as Storage/Config.pm's index does.
func (c *Cluster) listStorageConfig(req *request) (any, error) {
	out := []map[string]any{}
	for _, s := range c.cfg.Storages {
		if !c.acl.HasAny(req.user, "/storage/"+s.Name, "Datastore.Audit", "Datastore.AllocateSpace") {
			continue
		}
		if t := req.str("type"); t != "" && t != s.Type {
			continue
		}
		entry := storageSection(s)
		entry["digest"] = c.storageDigest()
		out = append(out, entry)
	}
	return out, nil
}

func (c *Cluster) readStorageConfig(req *request) (any, error) {
	s, ok := c.storage(req.str("storage"))
	if !ok {
		return nil, failf("storage '%s' does not exist", req.str("storage"))
	}
	entry := storageSection(s)
	entry["digest"] = c.storageDigest()
	return entry, nil
}

// volumeInfo is the content "info" call: the volume ID is {volume} when it
// names its storage, else {storage}:{volume}.
func (c *Cluster) volumeInfo(req *request) (any, error) {
	storage, volid := req.str("storage"), req.str("volume")
	if strings.Contains(volid, ":") {
		sid, _, _ := strings.Cut(volid, ":")
		if err := fmtVolumeID(volid); err != nil {
			return nil, paramErr("volume", err.Error())
		}
		if storage != "" && sid != storage {
			return nil, paramErr("volume", fmt.Sprintf("storage ID mismatch (%s != %s)", sid, storage))
		}
		storage = sid
	} else {
		if storage == "" {
			return nil, paramErr("volume", "no storage specified - incomplete volume ID")
		}
		volid = storage + ":" + volid
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.storage(storage)
	if !ok {
		return nil, failf("storage '%s' does not exist", storage)
	}
	// check_volume_access without a VM: the caller needs read access.
	if err := c.checkVolumeAccess(req.user, 0, volid); err != nil {
		return nil, err
	}
	_, volname, _ := strings.Cut(volid, ":")
	if ds := c.datastore(storage); ds != nil {
		snap, ok := ds.get(volname)
		if !ok {
			return nil, failf("volume_size_info on '%s' failed - no format", volid)
		}
		out := map[string]any{"path": volid, "size": snap.Size, "used": snap.Size, "format": "pbs-vm", "notes": snap.Notes}
		if snap.Protected {
			out["protected"] = 1
		}
		return out, nil
	}
	vol := c.volumes[volid]
	if vol == nil || (vol.node != "" && vol.node != req.node) {
		// LVM plugins ask lvs, the others stat a file that is not there.
		if dev := "/dev/pve/" + volname[strings.LastIndex(volname, "/")+1:]; (s.Type == "lvm" || s.Type == "lvmthin") && !strings.HasSuffix(volname, ".qcow2") {
			return nil, failf("can't get size of '%s': command '/sbin/lvs --separator : --noheadings --units b --unbuffered --nosuffix --options lv_size %s' failed: exit code 5", dev, dev)
		}
		return nil, failf("volume_size_info on '%s' failed - no format", volid)
	}
	out := map[string]any{"size": vol.size, "used": 0, "format": "raw"}
	switch s.Type {
	case "dir":
		out["path"] = "/var/lib/vz/images/" + volname
		out["used"] = vol.size
		if strings.HasSuffix(volname, ".qcow2") {
			out["format"] = "qcow2"
		}
	default:
		out["path"] = "/dev/pve/" + volname[strings.LastIndex(volname, "/")+1:]
	}
	return out, nil
}
