package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"
)

// SDN configuration as PVE keeps it: three section-config files (zones,
// vnets, subnets) that every write edits, and a "running" copy that only
// PUT /cluster/sdn replaces. Sections hold raw option values, so pending
// and running copies can be diffed key by key the way pve-network does.

// sdnSection is one object: its section type under "type" plus options.
type sdnSection map[string]string

// sdnFile is one config file: object ID -> section.
type sdnFile map[string]sdnSection

// sdnConfig is a complete SDN configuration.
type sdnConfig struct {
	zones, vnets, subnets sdnFile
}

// sdnState is the cluster-wide SDN state. Caller holds Cluster.mu.
type sdnState struct {
	pending   sdnConfig // /etc/pve/sdn/*.cfg: every write lands here
	running   sdnConfig // .running-config: what the last apply made live
	version   int       // running config version, bumped per apply
	lockToken string    // global SDN lock (PVE 8.4+); "" when free
}

func newSDNState() sdnState {
	return sdnState{pending: emptySDNConfig(), running: emptySDNConfig()}
}

func emptySDNConfig() sdnConfig {
	return sdnConfig{zones: sdnFile{}, vnets: sdnFile{}, subnets: sdnFile{}}
}

func (s sdnSection) clone() sdnSection {
	out := make(sdnSection, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

func (f sdnFile) clone() sdnFile {
	out := make(sdnFile, len(f))
	for id, s := range f {
		out[id] = s.clone()
	}
	return out
}

func (c sdnConfig) clone() sdnConfig {
	return sdnConfig{zones: c.zones.clone(), vnets: c.vnets.clone(), subnets: c.subnets.clone()}
}

// render writes the file as PVE's SectionConfig does: "type: id" headers,
// tab-indented options, sorted for a stable digest.
func (f sdnFile) render() string {
	var b strings.Builder
	for _, id := range sortedKeys(f) {
		s := f[id]
		b.WriteString(s["type"] + ": " + id + "\n")
		for _, k := range sortedKeys(s) {
			if k != "type" {
				b.WriteString("\t" + k + " " + s[k] + "\n")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// digest is the SHA-1 of the file text, as PVE reports and checks it.
func (f sdnFile) digest() string {
	sum := sha1.Sum([]byte(f.render()))
	return hex.EncodeToString(sum[:])
}

// equal reports whether two files hold the same objects and values.
func (f sdnFile) equal(g sdnFile) bool {
	if len(f) != len(g) {
		return false
	}
	for id, s := range f {
		t, ok := g[id]
		if !ok || len(s) != len(t) {
			return false
		}
		for k, v := range s {
			if w, ok := t[k]; !ok || w != v {
				return false
			}
		}
	}
	return true
}

// hasPendingChanges is PVE's has_pending_changes: any difference between
// the edited files and the running copy.
func (s *sdnState) hasPendingChanges() bool {
	return !s.pending.zones.equal(s.running.zones) ||
		!s.pending.vnets.equal(s.running.vnets) ||
		!s.pending.subnets.equal(s.running.subnets)
}

// sdnIntegerKeys and sdnBooleanKeys type stored values for JSON output;
// PVE emits these as numbers.
var (
	sdnIntegerKeys = map[string]bool{"tag": true, "mtu": true, "vrf-vxlan": true, "vxlan-port": true, "dp-id": true}
	sdnBooleanKeys = map[string]bool{
		"vlanaware": true, "isolate-ports": true, "snat": true, "bridge-disable-mac-learning": true,
		"advertise-subnets": true, "disable-arp-nd-suppression": true, "exitnodes-local-routing": true,
	}
)

func sdnJSONValue(key, v string) any {
	if sdnIntegerKeys[key] || sdnBooleanKeys[key] {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return v
}

func (s sdnSection) json() map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		out[k] = sdnJSONValue(k, v)
	}
	return out
}

// sdnListMode is how a listing reads the configuration.
type sdnListMode int

const (
	sdnEdited  sdnListMode = iota // default: the edited (pending) files
	sdnRunning                    // running=1: the applied copy only
	sdnPending                    // pending=1: edited files diffed against running
)

func listMode(req *request) sdnListMode {
	switch {
	case req.flag("pending"):
		return sdnPending
	case req.flag("running"):
		return sdnRunning
	}
	return sdnEdited
}

// view returns the objects of one file as the API shows them in mode. The
// digest is null in the running and pending views, as in PVE (neither
// comes from a file with a digest).
func (s *sdnState) view(mode sdnListMode, pick func(sdnConfig) sdnFile) (map[string]map[string]any, any) {
	switch mode {
	case sdnRunning:
		return plainObjects(pick(s.running)), nil
	case sdnPending:
		return pendingObjects(pick(s.running), pick(s.pending)), nil
	}
	f := pick(s.pending)
	return plainObjects(f), f.digest()
}

func plainObjects(f sdnFile) map[string]map[string]any {
	out := make(map[string]map[string]any, len(f))
	for id, s := range f {
		out[id] = s.json()
	}
	return out
}

// pendingObjects is pve-network's pending_config: objects carry their
// running values, a "state" (new, changed, deleted) and a "pending" map of
// values that differ ("deleted" for a removed key). Unchanged objects have
// neither. "type" and "vnet" are shown at top level from the edited file.
func pendingObjects(running, edited sdnFile) map[string]map[string]any {
	out := map[string]map[string]any{}
	pendingOf := func(o map[string]any) map[string]any {
		p, ok := o["pending"].(map[string]any)
		if !ok {
			p = map[string]any{}
			o["pending"] = p
		}
		return p
	}
	for id, run := range running {
		o := map[string]any{}
		out[id] = o
		cur, exists := edited[id]
		for k, v := range run {
			o[k] = sdnJSONValue(k, v)
			switch ev, ok := cur[k]; {
			case !exists:
				o["state"] = "deleted"
			case !ok:
				pendingOf(o)[k] = "deleted"
				o["state"] = "changed"
			case ev != v:
				o["state"] = "changed"
			}
		}
	}
	for id, cur := range edited {
		o := out[id]
		if o == nil {
			o = map[string]any{}
			out[id] = o
		}
		run, inRunning := running[id]
		for k, v := range cur {
			rv, ok := run[k]
			if k == "type" || k == "vnet" {
				o[k] = sdnJSONValue(k, v)
			} else if !ok || rv != v {
				pendingOf(o)[k] = sdnJSONValue(k, v)
			}
			if !inRunning {
				o["state"] = "new"
			} else if !ok {
				o["state"] = "changed"
			}
		}
	}
	for _, o := range out {
		if _, has := o["state"]; has {
			pendingOf(o)
		}
	}
	return out
}
