package vm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// Spec is what the user asks for.
type Spec struct {
	Name        string
	Node        string // required unless cloning (a clone is made on its template's node)
	Cores       int64
	MemoryMB    int64
	Started     bool
	Tags        []string
	Description string
	NICs        []NIC
	Disks       []Disk
	CloudInit   *CloudInit // nil: no cloud-init settings (a drive all the same when a NIC has an address)
	Clone       *Clone     // nil: a new, empty VM
	// Storage is the datacenter's default storage, where drives moxxie adds by itself go.
	Storage string
	// RebootOnPending lets moxxie reboot a running VM when PVE keeps a change pending until then.
	RebootOnPending bool
}

// Clone names the template a VM starts from, resolved in the VM's own datacenter.
type Clone struct {
	TemplateVMID int
	TemplateNode string
	Full         bool
}

// VM is what a datacenter holds.
type VM struct {
	ID          string // identity; empty when the VM carries no identity tag (not yet managed)
	DC          string
	Node        string
	VMID        int
	Name        string
	Cores       int64
	MemoryMB    int64
	Running     bool
	Status      string
	Lock        string
	Tags        []string // the user's tags, sorted, identity tag removed
	Move        string   // the tag of a cross-datacenter move in flight, "" when none
	Fenced      bool     // a stale copy a failover replaced (FencedTag): never started
	Description string
	NICs        []NIC
	Disks       []Disk
	CloudInit   *CloudInit
	Pending     []string // config keys PVE applies only at the next reboot
}

// Location is where a VM is in one datacenter.
type Location struct {
	Node   string
	VMID   int
	Lock   string
	Status string
}

// fromConfig reads the settings moxxie manages out of a PVE config, tolerating the forms PVE
// normalises to (memory as a property string, tags in any separator).
func fromConfig(dc, node string, vmid int, cfg dcrouter.VMConfig) (VM, error) {
	v := VM{DC: dc, Node: node, VMID: vmid, Name: cfg["name"], Description: cfg["description"], Lock: cfg["lock"]}
	v.ID, v.Tags = SplitTags(ParseTags(cfg["tags"]))
	v.Move = MoveTag(ParseTags(cfg["tags"]))
	v.Fenced = IsFenced(ParseTags(cfg["tags"]))
	nics, err := nicsFromConfig(cfg)
	if err != nil {
		return v, fmt.Errorf("VM %d: %w", vmid, err)
	}
	v.NICs = nics
	if v.Disks, err = disksFromConfig(cfg); err != nil {
		return v, fmt.Errorf("VM %d: %w", vmid, err)
	}
	if ci, ok := cloudInitFromConfig(cfg); ok {
		v.CloudInit = &ci
	}
	v.Cores = 1
	if s := cfg["cores"]; s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return v, fmt.Errorf("VM %d: cores %q: %w", vmid, s, err)
		}
		v.Cores = n
	}
	v.MemoryMB = 512
	if s := cfg["memory"]; s != "" {
		n, err := parseMemory(s)
		if err != nil {
			return v, fmt.Errorf("VM %d: memory %q: %w", vmid, s, err)
		}
		v.MemoryMB = n
	}
	return v, nil
}

// parseMemory reads PVE's "[current=]<integer>" memory property string.
func parseMemory(s string) (int64, error) {
	for _, part := range strings.Split(s, ",") {
		k, val, found := strings.Cut(part, "=")
		if !found {
			return strconv.ParseInt(strings.TrimSpace(k), 10, 64)
		}
		if strings.TrimSpace(k) == "current" {
			return strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		}
	}
	return 0, fmt.Errorf("no current memory size")
}

// createParams is the POST /nodes/{node}/qemu body for a new VM.
func createParams(id string, vmid int, s Spec) map[string]any {
	p := map[string]any{
		"vmid":   vmid,
		"name":   s.Name,
		"cores":  s.Cores,
		"memory": strconv.FormatInt(s.MemoryMB, 10),
		"tags":   JoinTags(id, s.Tags),
	}
	if s.Description != "" {
		p["description"] = s.Description
	}
	for i, n := range s.NICs {
		p["net"+strconv.Itoa(i)] = n.netValue()
		if ipc := n.ipconfigValue(); ipc != "" {
			p["ipconfig"+strconv.Itoa(i)] = ipc
		}
	}
	for _, d := range s.Disks {
		p[d.Slot] = d.createValue()
		if d.IOThread && strings.HasPrefix(d.Slot, "scsi") {
			p["scsihw"] = "virtio-scsi-single" // iothread on SCSI needs one controller per disk
		}
	}
	if len(s.Disks) > 0 {
		p["boot"] = "order=" + s.Disks[0].Slot
	}
	if s.needsCloudInitDrive() {
		p["ide2"] = s.cloudInitStorage() + ":cloudinit"
	}
	if s.CloudInit != nil {
		var del []string
		s.CloudInit.params(p, &del)
	}
	return p
}

// needsCloudInitDrive: the guest reads its settings, ipconfigN among them, only from the
// cloud-init drive, so a NIC with a managed address needs one even without cloud-init settings.
func (s Spec) needsCloudInitDrive() bool {
	if s.CloudInit != nil {
		return true
	}
	for _, n := range s.NICs {
		if n.ipconfigValue() != "" {
			return true
		}
	}
	return false
}

// cloudInitStorage puts the cloud-init drive next to the first disk, else on the datacenter's
// default storage.
func (s Spec) cloudInitStorage() string {
	switch {
	case len(s.Disks) > 0 && s.Disks[0].Storage != "":
		return s.Disks[0].Storage
	case s.Storage != "":
		return s.Storage
	}
	return "local-lvm" // PVE's default storage; only callers that know no datacenter get here
}

// updateParams is the PUT .../config body that turns old into s, or nil when nothing changes.
func updateParams(id string, old VM, s Spec) map[string]any {
	p := map[string]any{}
	var del []string
	if old.Name != s.Name {
		p["name"] = s.Name
	}
	if old.Cores != s.Cores {
		p["cores"] = s.Cores
	}
	if old.MemoryMB != s.MemoryMB {
		p["memory"] = strconv.FormatInt(s.MemoryMB, 10)
	}
	if old.ID != id || JoinTags("", old.Tags) != JoinTags("", s.Tags) {
		p["tags"] = JoinTags(id, append(append([]string(nil), s.Tags...), nonEmpty(old.Move)...))
	}
	if old.Description != s.Description {
		if s.Description == "" {
			del = append(del, "description")
		} else {
			p["description"] = s.Description
		}
	}
	del = append(del, nicUpdates(p, old.NICs, s.NICs)...)
	if s.needsCloudInitDrive() && old.CloudInit == nil {
		p["ide2"] = s.cloudInitStorage() + ":cloudinit"
	}
	switch {
	case s.CloudInit != nil && old.CloudInit == nil:
		s.CloudInit.params(p, &del)
	case s.CloudInit != nil && (!s.CloudInit.equal(*old.CloudInit) || s.CloudInit.Password != ""):
		var cidel []string
		s.CloudInit.params(p, &cidel)
		had := map[string]bool{"ciuser": old.CloudInit.User != "", "sshkeys": len(old.CloudInit.SSHKeys) > 0,
			"nameserver": len(old.CloudInit.DNSServers) > 0, "searchdomain": old.CloudInit.SearchDomain != ""}
		for _, k := range cidel {
			if had[k] {
				del = append(del, k)
			}
		}
	}
	if len(del) > 0 {
		p["delete"] = strings.Join(del, ",")
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// nicUpdates writes changed NICs into p and returns the keys to delete. A NIC keeps its MAC unless
// the spec names one: PVE would otherwise generate a new one on every write.
func nicUpdates(p map[string]any, old, want []NIC) []string {
	var del []string
	for i, n := range want {
		key := strconv.Itoa(i)
		var cur NIC
		if i < len(old) {
			cur = old[i]
			if n.MAC == "" {
				n.MAC = cur.MAC
			}
		}
		if i >= len(old) || n.netValue() != cur.netValue() {
			p["net"+key] = n.netValue()
		}
		switch ipc := n.ipconfigValue(); {
		case ipc == "" && cur.ipconfigValue() != "":
			del = append(del, "ipconfig"+key)
		case ipc != "" && ipc != cur.ipconfigValue():
			p["ipconfig"+key] = ipc
		}
	}
	for i := len(want); i < len(old); i++ {
		del = append(del, "net"+strconv.Itoa(i))
		if old[i].ipconfigValue() != "" {
			del = append(del, "ipconfig"+strconv.Itoa(i))
		}
	}
	return del
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
