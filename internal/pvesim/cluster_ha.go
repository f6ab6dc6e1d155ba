package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// haResource is one entry of the cluster's HA resource configuration.
type haResource struct {
	sid, typ, name, state, comment, group string
	maxRestart, maxRelocate               int
	failback                              bool
}

var haStates = []string{"started", "stopped", "enabled", "disabled", "ignored"}

var haSIDRe = regexp.MustCompile(`^(?:(\w+):(\S+)|(\d+))$`)

// fmtHASID is pve-ha-resource-or-vm-id: "vm:100", "ct:100" or just "100".
func fmtHASID(v string) error {
	if !haSIDRe.MatchString(v) {
		return fmt.Errorf("unable to parse service id '%s'", v)
	}
	return nil
}

func haRoutes() []route {
	sid := strP("sid").format(fmtHASID)
	return []route{
		{
			method: "GET", path: "/cluster/ha/resources",
			params: []Param{strP("type").opt().oneOf("ct", "vm")},
			handle: (*Cluster).listHAResources,
			perm:   checked(needs("/", "Sys.Audit")),
		},
		{
			method: "POST", path: "/cluster/ha/resources",
			params: []Param{
				sid,
				strP("comment").opt().maxLen(4096),
				boolP("failback").opt(),
				strP("group").opt().format(fmtConfigID),
				intP("max_relocate").opt().atLeast(0),
				intP("max_restart").opt().atLeast(0),
				strP("state").opt().oneOf(haStates...),
				strP("type").opt().oneOf("ct", "vm"),
			},
			handle: (*Cluster).createHAResource,
			perm:   checked(needs("/", "Sys.Console")),
		},
		{
			method: "GET", path: "/cluster/ha/resources/{sid}",
			params: []Param{sid},
			handle: (*Cluster).getHAResource,
			perm:   checked(needs("/", "Sys.Audit")),
		},
		{
			method: "DELETE", path: "/cluster/ha/resources/{sid}",
			params: []Param{sid, boolP("purge").opt()},
			handle: (*Cluster).deleteHAResource,
			perm:   checked(needs("/", "Sys.Console")),
		},
	}
}

// parseSID is PVE::HA::Config::parse_sid: a bare number names the guest
// with that id. Caller holds c.mu.
func (c *Cluster) parseSID(raw string) (sid, typ, name string, err error) {
	m := haSIDRe.FindStringSubmatch(raw)
	if m == nil {
		return "", "", "", fmt.Errorf("unable to parse service id '%s'", raw)
	}
	if m[3] != "" {
		// Only VMs exist here; an unknown id is still taken as a VM.
		return "vm:" + m[3], "vm", m[3], nil
	}
	return m[1] + ":" + m[2], m[1], m[2], nil
}

func (r *haResource) json() map[string]any {
	out := map[string]any{
		"sid": r.sid, "type": r.typ, "state": r.state,
		"max_restart": r.maxRestart, "max_relocate": r.maxRelocate, "failback": boolNum(r.failback),
	}
	if r.comment != "" {
		out["comment"] = r.comment
	}
	if r.group != "" {
		out["group"] = r.group
	}
	return out
}

// haDigest is the digest of the resources configuration.
func (c *Cluster) haDigest() string {
	var b strings.Builder
	for _, sid := range sortedKeys(c.ha) {
		r := c.ha[sid]
		fmt.Fprintf(&b, "%s: %s\n\tstate %s\n\tmax_restart %d\n\tmax_relocate %d\n", r.typ, r.name, r.state, r.maxRestart, r.maxRelocate)
	}
	sum := sha1.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func (c *Cluster) listHAResources(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	digest := c.haDigest()
	out := []map[string]any{}
	for _, sid := range sortedKeys(c.ha) {
		r := c.ha[sid]
		if t := req.str("type"); t != "" && t != r.typ {
			continue
		}
		item := r.json()
		item["digest"] = digest
		out = append(out, item)
	}
	return out, nil
}

func (c *Cluster) createHAResource(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sid, typ, name, err := c.parseSID(req.str("sid"))
	if err != nil {
		return nil, failf("%v", err)
	}
	if t := req.str("type"); t != "" && t != typ {
		return nil, failf("types does not match")
	}
	if typ != "vm" && typ != "ct" {
		return nil, failf("unknown resource type '%s'", typ)
	}
	vmid, _ := strconv.Atoi(name)
	if typ == "ct" || c.vms[vmid] == nil {
		return nil, failf("resource '%s' does not exist in cluster", sid)
	}
	if c.ha[sid] != nil {
		return nil, failf("resource ID '%s' already defined", sid)
	}
	r := &haResource{sid: sid, typ: typ, name: name, state: "started", maxRestart: 1, maxRelocate: 1, failback: true,
		comment: req.str("comment"), group: req.str("group")}
	if s := req.str("state"); s != "" {
		r.state = s
	}
	if req.has("max_restart") {
		r.maxRestart = int(req.num("max_restart", 1))
	}
	if req.has("max_relocate") {
		r.maxRelocate = int(req.num("max_relocate", 1))
	}
	if req.has("failback") {
		r.failback = req.flag("failback")
	}
	c.ha[sid] = r
	return nil, nil
}

func (c *Cluster) getHAResource(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sid, _, _, err := c.parseSID(req.str("sid"))
	if err != nil {
		return nil, failf("%v", err)
	}
	r := c.ha[sid]
	if r == nil {
		return nil, failf("no such resource '%s'", sid)
	}
	out := r.json()
	out["digest"] = c.haDigest()
	return out, nil
}

func (c *Cluster) deleteHAResource(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sid, _, _, err := c.parseSID(req.str("sid"))
	if err != nil {
		return nil, failf("%v", err)
	}
	if c.ha[sid] == nil {
		return nil, failf("cannot delete service '%s', not HA managed!", sid)
	}
	delete(c.ha, sid)
	if !req.has("purge") || req.flag("purge") { // purge defaults to 1
		c.purgeFromRules(sid)
	}
	return nil, nil
}

// haManaged reports whether the VM is an HA resource. Caller holds c.mu.
func (c *Cluster) haManaged(vmid int) *haResource {
	return c.ha["vm:"+strconv.Itoa(vmid)]
}

func (c *Cluster) isHAManaged(vmid int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.haManaged(vmid) != nil
}

// haRequest is how qemu-server starts and stops an HA-managed VM: its task (hastart, hastop)
// only sets the HA resource's requested state; the HA stack acts on it afterwards, in a task of
// its own (lrmTyp, run as root@pam) on the VM's node. So the VM is not yet in the state when the
// API's task ends, as with real PVE.
func (c *Cluster) haRequest(req *request, typ, state, lrmTyp string, act func(*vmState) error) (any, error) {
	return c.vmTask(req, typ, nil, func(vm *vmState) error {
		r := c.haManaged(vm.vmid)
		if r == nil {
			return nil // removed meanwhile: nothing asks HA any more
		}
		r.state = state
		c.startTask(vm.node, lrmTyp, vmidStr(vm.vmid), "root@pam", func() error {
			if c.vms[vm.vmid] != vm || c.haManaged(vm.vmid) != r || r.state != state {
				return nil // the request was overtaken
			}
			return act(vm)
		})
		return nil
	})
}
