package migration

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// Copy is one VM carrying an identity, in one datacenter.
type Copy struct {
	DC     string
	Node   string
	VMID   int
	Name   string
	Status string // running, stopped
	Lock   string // "migrate" while a remote_migrate moves it
	Move   *Marker
}

func (c Copy) String() string {
	s := fmt.Sprintf("%s node %s VMID %d (%s", c.DC, c.Node, c.VMID, c.Status)
	if c.Lock != "" {
		s += ", locked " + c.Lock
	}
	return s + ")"
}

// Marker is the record a move keeps on the VM while it is in flight (a PVE tag, copied with
// the VM's config): where it came from and whether it ran.
type Marker struct {
	SourceDC   string
	SourceVMID int
	WasRunning bool
}

// tag renders the marker; PVE tags are lower-case, so the datacenter is matched back
// case-insensitively (parseMarker).
func (m Marker) tag() string {
	run := "0"
	if m.WasRunning {
		run = "1"
	}
	return vm.MovePrefix + strings.ToLower(m.SourceDC) + "." + strconv.Itoa(m.SourceVMID) + "." + run
}

func parseMarker(tag string, dcs []string) *Marker {
	rest, ok := strings.CutPrefix(tag, vm.MovePrefix)
	if !ok {
		return nil
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return nil
	}
	vmid, err := strconv.Atoi(parts[1])
	if err != nil {
		return nil
	}
	for _, dc := range dcs {
		if strings.EqualFold(dc, parts[0]) {
			return &Marker{SourceDC: dc, SourceVMID: vmid, WasRunning: parts[2] == "1"}
		}
	}
	return nil
}

// Found is where an identity lives: every copy, and the datacenters that could not be asked.
// Fenced copies (stale copies a failover replaced, tag vm.FencedTag) are not the VM: they are
// listed apart, never among Copies, so they make no split and no move starts from them.
type Found struct {
	Copies []Copy
	Fenced []Copy
	Down   map[string]error
}

// In returns the copies in dc.
func (f Found) In(dc string) []Copy {
	var out []Copy
	for _, c := range f.Copies {
		if c.DC == dc {
			out = append(out, c)
		}
	}
	return out
}

// Find looks for the identity in every given datacenter, one /cluster/resources call each, and
// returns every VM that carries it. clients' datacenter names are also those a marker may name.
func Find(ctx context.Context, clients []*dcrouter.Client, id string) Found {
	dcs := make([]string, len(clients))
	for i, c := range clients {
		dcs[i] = c.DC()
	}
	f := Found{Down: map[string]error{}}
	for _, c := range clients {
		res, err := vm.TaggedCarriers(ctx, c, id)
		if err != nil {
			f.Down[c.DC()] = err
			continue
		}
		for _, r := range vm.Carriers(res, id) {
			cp := Copy{DC: c.DC(), Node: r.Node, VMID: r.VMID, Name: r.Name, Status: r.Status, Lock: r.Lock}
			if t := vm.MoveTag(r.TagList()); t != "" {
				cp.Move = parseMarker(t, dcs)
			}
			f.Copies = append(f.Copies, cp)
		}
		for _, r := range vm.FencedCarriers(res, id) {
			f.Fenced = append(f.Fenced, Copy{DC: c.DC(), Node: r.Node, VMID: r.VMID, Name: r.Name, Status: r.Status, Lock: r.Lock})
		}
	}
	sortCopies(f.Copies)
	sortCopies(f.Fenced)
	return f
}

func sortCopies(cs []Copy) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].DC != cs[j].DC {
			return cs[i].DC < cs[j].DC
		}
		return cs[i].VMID < cs[j].VMID
	})
}

// SplitError is one identity carried by VMs in more than one place.
type SplitError struct {
	ID     string
	Copies []Copy
}

func (e *SplitError) Error() string {
	parts := make([]string, len(e.Copies))
	for i, c := range e.Copies {
		parts[i] = c.String()
	}
	return fmt.Sprintf("identity moxxie-%s is carried by %d VMs: %s; keep one and delete the others (or remove the tag moxxie-%s from them)",
		e.ID, len(e.Copies), strings.Join(parts, "; "), e.ID)
}

// BothRun reports whether more than one copy runs: then it is an error, not a leftover.
func (e *SplitError) BothRun() bool {
	n := 0
	for _, c := range e.Copies {
		if c.Status == "running" {
			n++
		}
	}
	return n > 1
}
