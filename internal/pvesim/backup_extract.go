package pvesim

import (
	"strconv"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// GET /nodes/{node}/vzdump/extractconfig: the guest config a backup holds,
// as pve-manager's VZDump.pm extractconfig returns it (a drill reads the
// NICs it must put on an isolated bridge before restoring).
func backupExtractRoutes() []route {
	return []route{{
		method: "GET", path: "/nodes/{node}/vzdump/extractconfig", proxyNode: true,
		params: []Param{nodeParam, strP("volume")},
		handle: (*Cluster).extractConfig,
		perm:   permAll, // check_volume_access, then VM.Backup on the backed-up guest
	}}
}

func (c *Cluster) extractConfig(req *request) (any, error) {
	volume := req.str("volume")
	c.mu.Lock()
	defer c.mu.Unlock()
	sid, volname, ok := strings.Cut(volume, ":")
	if !ok || strings.HasPrefix(volume, "/") {
		if req.user != access.Root {
			return nil, failf("Only root can pass arbitrary filesystem paths.")
		}
		return nil, failf("the simulator extracts from storage backup volumes only")
	}
	if _, ok := c.storage(sid); !ok {
		return nil, failf("storage '%s' does not exist", sid)
	}
	ds := c.datastore(sid)
	m := backupOwnerRe.FindStringSubmatch(volname)
	if ds == nil || m == nil {
		return nil, failf("unable to use volume %s - content type needs to be 'backup'", volume)
	}
	if err := c.checkVolumeAccess(req.user, 0, volume); err != nil {
		return nil, err
	}
	owner, _ := strconv.Atoi(m[1])
	if err := c.vmPerm(req.user, owner, "VM.Backup"); err != nil {
		return nil, err
	}
	snap, ok := ds.get(volname)
	if !ok {
		return nil, failf("unable to extract configuration: snapshot '%s' does not exist", volname)
	}
	var b strings.Builder
	renderSection(&b, snap.Conf)
	return b.String(), nil
}
