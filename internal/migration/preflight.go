package migration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// Field names what a preflight problem is about, so the provider can put it on its attribute.
type Field string

const (
	FieldVM      Field = "vm"      // the VM itself (snapshots, HA, clone, media, lock)
	FieldType    Field = "type"    // live of a stopped VM
	FieldTarget  Field = "target"  // the target datacenter (unreachable, token)
	FieldNode    Field = "node"    // the target node
	FieldStorage Field = "storage" // storage mapping
	FieldNetwork Field = "network" // network mapping
)

// Problem is one reason a move cannot start.
type Problem struct {
	Field Field
	Msg   string
}

// PreflightError lists every reason found; nothing was changed.
type PreflightError struct {
	VM       string // "VM web-1 (DC1, VMID 100)"
	Problems []Problem
}

func (e *PreflightError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Msg
	}
	return fmt.Sprintf("%s cannot be moved, nothing was changed: %s", e.VM, strings.Join(msgs, "; "))
}

// Of returns the messages about f.
func (e *PreflightError) Of(f Field) []string {
	var out []string
	for _, p := range e.Problems {
		if p.Field == f {
			out = append(out, p.Msg)
		}
	}
	return out
}

// IsPreflight reports whether err is a refusal found before the VM was touched.
func IsPreflight(err error) bool {
	var pe *PreflightError
	return errors.As(err, &pe)
}

var volumeKey = regexp.MustCompile(`^(scsi|virtio|sata|ide|efidisk|tpmstate)[0-9]+$`)

// volume is one storage volume in a VM's config.
type volume struct {
	key, file, storage string
	cdrom              bool
}

func volumes(cfg dcrouter.VMConfig) []volume {
	var out []volume
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := cfg[k]
		if !volumeKey.MatchString(k) && !strings.HasPrefix(k, "unused") {
			continue
		}
		parts := strings.Split(v, ",")
		file := strings.TrimPrefix(parts[0], "file=")
		vol := volume{key: k, file: file}
		for _, p := range parts[1:] {
			if p == "media=cdrom" {
				vol.cdrom = true
			}
		}
		if s, _, ok := strings.Cut(file, ":"); ok && !strings.HasPrefix(file, "/") {
			vol.storage = s
		}
		out = append(out, vol)
	}
	return out
}

// check is what a move needs before anything changes; target is where it lands.
type check struct {
	src, dst   *dcrouter.Client
	loc        vm.Location
	cur        vm.VM
	cfg        dcrouter.VMConfig
	live       bool
	storage    func(string) string // source storage -> target storage
	nics       []NICTarget
	targetNode string
	releaseHA  bool // the engine takes moxxie's own HA resources (vm.HAComment) away before the move
}

// preflight collects every reason PVE (or moxxie) would refuse the move once it began.
func preflight(ctx context.Context, k check) []Problem {
	var ps []Problem
	add := func(f Field, format string, a ...any) {
		ps = append(ps, Problem{Field: f, Msg: fmt.Sprintf(format, a...)})
	}
	src := k.src.DC()
	if k.cur.Lock != "" {
		add(FieldVM, "it is locked (%s) in %s", k.cur.Lock, src)
	}
	if k.live && !k.cur.Running {
		add(FieldType, "it is stopped; a live migration needs a running VM (use migration_type = \"offline\")")
	}
	if snaps, err := k.src.Snapshots(ctx, k.loc.Node, k.loc.VMID); err != nil {
		add(FieldVM, "its snapshots cannot be read in %s: %v", src, err)
	} else if len(snaps) > 0 {
		names := make([]string, len(snaps))
		for i, s := range snaps {
			names[i] = s.Name
		}
		add(FieldVM, "it has snapshots (%s); PVE cannot migrate a VM with snapshots to another cluster: remove them first", strings.Join(names, ", "))
	}
	if ha, err := k.src.HAResources(ctx); err != nil {
		add(FieldVM, "HA resources of %s cannot be read: %v", src, err)
	} else {
		for _, h := range ha {
			if h.SID == "vm:"+strconv.Itoa(k.loc.VMID) && !(k.releaseHA && h.Comment == vm.HAComment) {
				add(FieldVM, "it is managed by HA (%s); PVE cannot migrate HA-managed VMs to another cluster: remove it from HA first", h.SID)
			}
		}
	}
	need := map[string][]string{} // target storage -> source volumes
	for _, v := range volumes(k.cfg) {
		switch {
		case v.file == "none" || v.file == "":
		case v.file == "cdrom":
			add(FieldVM, "%s is a physical CD-ROM drive; PVE cannot migrate it: set it to none", v.key)
		case v.cdrom && !strings.Contains(v.file, "cloudinit"):
			add(FieldVM, "%s has the ISO %s attached; PVE cannot migrate attached ISO images: eject it (set the drive's media to none) first", v.key, v.file)
		case strings.HasPrefix(v.file, "/"):
			add(FieldVM, "%s is the local file or device %s, which PVE cannot migrate", v.key, v.file)
		default:
			if _, name, _ := strings.Cut(v.file, ":"); strings.HasPrefix(name, "base-") && strings.Contains(name, "/") {
				add(FieldVM, "%s (%s) is a linked clone of a template; PVE cannot migrate linked clones to another cluster: make a full clone first", v.key, v.file)
				continue
			}
			t := k.storage(v.storage)
			need[t] = append(need[t], v.file)
		}
	}
	status, err := k.dst.ClusterStatus(ctx)
	if err != nil {
		add(FieldTarget, "target datacenter %s does not answer or refuses the API token: %v", k.dst.DC(), err)
		return ps
	}
	node := k.targetNode
	found := false
	for _, s := range status {
		if s.Type != "node" {
			continue
		}
		if node == "" && s.Local || node == s.Name {
			node, found = s.Name, true
			if !s.Online {
				add(FieldNode, "node %s of %s is offline", s.Name, k.dst.DC())
			}
		}
	}
	if !found {
		add(FieldNode, "datacenter %s has no node %q", k.dst.DC(), k.targetNode)
		return ps
	}
	targetVMID, err := k.dst.NextID(ctx)
	if err != nil {
		add(FieldTarget, "datacenter %s gives no free VMID: %v", k.dst.DC(), err)
	}
	if res, err := k.dst.NodeStorages(ctx, node); err != nil {
		add(FieldStorage, "storages of node %s in %s cannot be read: %v", node, k.dst.DC(), err)
	} else {
		have := map[string]dcrouter.NodeStorage{}
		for _, r := range res {
			have[r.Storage] = r
		}
		for _, t := range slices.Sorted(maps.Keys(need)) {
			st, ok := have[t]
			switch {
			case !ok:
				add(FieldStorage, "target storage %q (for %s) does not exist on node %s of %s (it has: %s)", t, strings.Join(need[t], ", "), node, k.dst.DC(), strings.Join(slices.Sorted(maps.Keys(have)), ", "))
			case !st.Holds("images"):
				add(FieldStorage, "target storage %q of %s does not hold disk images (content: %s)", t, k.dst.DC(), st.Content)
			}
		}
	}
	bridges := map[string]bool{}
	ifaces, err := k.dst.NodeNetwork(ctx, node, "any_bridge")
	if err != nil {
		add(FieldNetwork, "bridges of node %s in %s cannot be read: %v", node, k.dst.DC(), err)
		return ps
	}
	for _, i := range ifaces {
		bridges[i.Iface] = true
	}
	vnets, err := k.dst.SDNVnets(ctx, false)
	if err != nil {
		add(FieldNetwork, "SDN vnets of %s cannot be read: %v", k.dst.DC(), err)
		return ps
	}
	zones := map[string]string{} // vnet -> zone
	for _, v := range vnets {
		bridges[v.Vnet] = true
		zones[v.Vnet] = v.Zone
	}
	for i, t := range k.nics {
		if !bridges[t.Bridge] {
			add(FieldNetwork, "net%d's target bridge %q exists neither as a bridge of node %s nor as an applied SDN vnet of %s", i, t.Bridge, node, k.dst.DC())
		}
	}
	ps = append(ps, privileges(ctx, k, targetVMID, slices.Sorted(maps.Keys(need)), zones)...)
	return ps
}

// privileges asks both datacenters, before anything changes, for what PVE will check during the
// move: VM.Migrate on the VM in the source; in the target, Sys.Incoming on / (the migration
// tunnel), VM.Allocate on the new VMID, Datastore.AllocateSpace on each target storage and
// SDN.Use on each target bridge or vnet (as qemu-server's check_vnet_access does, with the VLAN).
// A token missing one would otherwise fail the move after the VM was shut down.
func privileges(ctx context.Context, k check, targetVMID int, storages []string, zones map[string]string) []Problem {
	type need struct {
		c          *dcrouter.Client
		path, priv string
		field      Field
	}
	needs := []need{{k.src, "/vms/" + strconv.Itoa(k.loc.VMID), "VM.Migrate", FieldVM}, {k.dst, "/", "Sys.Incoming", FieldTarget}}
	if targetVMID > 0 {
		needs = append(needs, need{k.dst, "/vms/" + strconv.Itoa(targetVMID), "VM.Allocate", FieldTarget})
	}
	for _, s := range storages {
		needs = append(needs, need{k.dst, "/storage/" + s, "Datastore.AllocateSpace", FieldStorage})
	}
	for _, t := range k.nics {
		zone := zones[t.Bridge]
		if zone == "" {
			zone = "localnetwork"
		}
		p := "/sdn/zones/" + zone + "/" + t.Bridge
		if t.VLAN > 0 {
			p += "/" + strconv.Itoa(t.VLAN)
		}
		needs = append(needs, need{k.dst, p, "SDN.Use", FieldNetwork})
	}
	var ps []Problem
	seen := map[string]bool{}
	for _, n := range needs {
		key := n.c.DC() + " " + n.path + " " + n.priv
		if seen[key] {
			continue
		}
		seen[key] = true
		privs, err := n.c.Permissions(ctx, n.path)
		switch {
		case err != nil:
			ps = append(ps, Problem{Field: n.field, Msg: err.Error()})
		case !privs[n.priv]:
			ps = append(ps, Problem{Field: n.field, Msg: fmt.Sprintf("the API token of %s lacks a privilege the move needs there: PVE would answer \"Permission check failed (%s, %s)\"", n.c.DC(), n.path, n.priv)})
		}
	}
	return ps
}
