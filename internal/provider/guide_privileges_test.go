package provider

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/failover"
	"github.com/moxxie/terraform-provider-moxxie/internal/inventory"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
	"github.com/moxxie/terraform-provider-moxxie/internal/migration"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// The datacenter-setup guide's role is minimal: for each of its privileges, an operation moxxie
// performs works with the whole role and fails with PVE's 403 when only that privilege is gone.
// (That the role is sufficient for everything moxxie does is the acceptance suite's part: it runs
// with this role.)

const (
	templateVMID = 900
)

// privEnv is DC1 and DC2 where moxxie's token holds privs, plus root clients for setup.
type privEnv struct {
	moxxie, root *dcrouter.Router
}

func newPrivEnv(t *testing.T, privs []string) *privEnv {
	t.Helper()
	var mox, root []dcrouter.Config
	pbs := pvesim.NewPBSDatastore() // one datastore both DCs see, as a PBS sync job makes it
	for _, dc := range []string{"DC1", "DC2"} {
		cfg := withGuideToken(t, pvesim.Config{Name: dc, TaskDuration: time.Millisecond, PBS: pbs,
			Tokens: map[string]string{adminTokenID: adminTokenSecret}}, testTokenSecret)
		cfg.Roles[guideRole] = privs
		srv, err := pvesim.Start(pvesim.New(cfg), "127.0.0.1:0", pvesim.ServerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		base := dcrouter.Config{Name: dc, URL: srv.URL, TLSFingerprint: srv.Fingerprint}
		m, r := base, base
		m.TokenID, m.TokenSecret = testTokenID, testTokenSecret
		r.TokenID, r.TokenSecret = adminTokenID, adminTokenSecret
		mox, root = append(mox, m), append(root, r)
	}
	opts := []dcrouter.Option{dcrouter.WithRetry(1, 5*time.Millisecond, 20*time.Millisecond), dcrouter.WithTaskPoll(2*time.Millisecond, 20*time.Millisecond)}
	m, err := dcrouter.New(mox, opts...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := dcrouter.New(root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &privEnv{moxxie: m, root: r}
}

func (e *privEnv) client(t *testing.T, r *dcrouter.Router, dc string) *dcrouter.Client {
	t.Helper()
	c, err := r.Client(dc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// webSpec is a VM as moxxie's resource creates it: every setting the guide's VM rows name.
func webSpec() vm.Spec {
	return vm.Spec{Name: "web", Node: "pve1", Cores: 2, MemoryMB: 1024, Started: true, Tags: []string{"prod"}, Description: "web server",
		NICs:      []vm.NIC{{Bridge: "vmbr0", VLAN: 10, IP: netip.MustParsePrefix("10.9.0.5/24"), Gateway: netip.MustParseAddr("10.9.0.1")}},
		Disks:     []vm.Disk{{Slot: "scsi0", SizeGB: 4, Storage: "local-lvm", IOThread: true}},
		CloudInit: &vm.CloudInit{User: "ops"}}
}

// operations moxxie performs, each as its domain package does it.
var privOps = map[string]func(ctx context.Context, t *testing.T, e *privEnv) error{
	"read a datacenter (inventory)": func(ctx context.Context, t *testing.T, e *privEnv) error {
		_, err := inventory.Take(ctx, e.client(t, e.moxxie, "DC1"))
		return err
	},
	"create and start a VM (vm.Create)": func(ctx context.Context, t *testing.T, e *privEnv) error {
		_, err := vm.NewManager().Create(ctx, e.client(t, e.moxxie, "DC1"), vm.NewID(), webSpec())
		return err
	},
	"clone a template (vm.Create with clone)": func(ctx context.Context, t *testing.T, e *privEnv) error {
		root := e.client(t, e.root, "DC1")
		if err := waitUPID(ctx, root, func() (string, error) {
			return root.CreateVM(ctx, "pve1", map[string]any{"vmid": templateVMID, "name": "tmpl", "scsi0": "local-lvm:2", "net0": "virtio,bridge=vmbr0"})
		}); err != nil {
			t.Fatal(err)
		}
		if err := waitUPID(ctx, root, func() (string, error) {
			var upid string
			err := root.Post(ctx, "/nodes/pve1/qemu/900/template", nil, &upid)
			return upid, err
		}); err != nil {
			t.Fatal(err)
		}
		s := webSpec()
		s.Clone, s.Started = &vm.Clone{TemplateVMID: templateVMID, TemplateNode: "pve1"}, false
		_, err := vm.NewManager().Create(ctx, e.client(t, e.moxxie, "DC1"), vm.NewID(), s)
		return err
	},
	"allocate a network (network.Allocate)": func(ctx context.Context, t *testing.T, e *privEnv) error {
		vlans, err := ipam.ParseVLANRange("100-199")
		if err != nil {
			t.Fatal(err)
		}
		n := datacenter.Network{Bridge: "vmbr0", Pool: ipam.Pool{DC: "DC1", IPRange: netip.MustParsePrefix("10.60.0.0/16"), VLANs: vlans}}
		_, err = network.Allocate(ctx, e.client(t, e.moxxie, "DC1"), n, network.Request{ClientID: "acme", Name: "default"})
		return err
	},
	"move a VM to another datacenter (migration.Engine.Move)": func(ctx context.Context, t *testing.T, e *privEnv) error {
		id := vm.NewID()
		s := webSpec()
		s.Started = false
		if _, err := vm.NewManager().Create(ctx, e.client(t, e.root, "DC1"), id, s); err != nil {
			t.Fatal(err)
		}
		eng := &migration.Engine{DCs: map[string]migration.Datacenter{}, Nets: &migration.Networks{Addrs: network.NewAddresses()}}
		for _, dc := range []string{"DC1", "DC2"} {
			cfg, _ := e.moxxie.Config(dc)
			eng.DCs[dc] = migration.Datacenter{Client: e.client(t, e.moxxie, dc), Config: cfg, Storage: "local-lvm"}
		}
		_, err := eng.Move(ctx, migration.Request{ID: id, Name: "web", Target: "DC2", RequireMove: true,
			NICs: migration.Mapping{Nets: eng.Nets, Map: map[string]string{"vlan10": "vlan20"}}})
		return err
	},
	"drill a VM backed up elsewhere (failover.RunDrill)": func(ctx context.Context, t *testing.T, e *privEnv) error {
		// VM 100 is backed up in DC1 (as the backup job would, by root) onto the datastore DC2 sees
		root := e.client(t, e.root, "DC1")
		for _, p := range []struct {
			path   string
			params map[string]any
		}{
			{"/nodes/pve1/qemu", map[string]any{"vmid": 100, "name": "web", "tags": "moxxie-0123456789abcdef", "scsi0": "local-lvm:2", "net0": "virtio,bridge=vmbr0,tag=10"}},
			{"/nodes/pve1/vzdump", map[string]any{"vmid": 100, "storage": "pbs", "notes-template": "{{guestname}} moxxie-0123456789abcdef"}},
		} {
			if err := waitUPID(ctx, root, func() (string, error) {
				var upid string
				err := root.Post(ctx, p.path, p.params, &upid)
				return upid, err
			}); err != nil {
				t.Fatal(err)
			}
		}
		src, ok, err := failover.NewestBackup(ctx, e.client(t, e.root, "DC2"), "0123456789abcdef")
		if err != nil || !ok {
			t.Fatalf("backup: %v %v", ok, err)
		}
		_, err = failover.RunDrill(ctx, e.client(t, e.moxxie, "DC2"), failover.DrillSpec{ID: vm.NewID(), Source: src, Storage: "local-lvm", Bridge: "vmbr3"})
		return err
	},
	"keep VMs together on a node (vm.Manager.SyncNodeRules)": func(ctx context.Context, t *testing.T, e *privEnv) error {
		root := e.client(t, e.root, "DC1")
		m := vm.NewManager()
		var ids []int
		for range 2 {
			v, err := m.Create(ctx, root, vm.NewID(), webSpec())
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, v.VMID)
		}
		return m.SyncNodeRules(ctx, e.client(t, e.moxxie, "DC1"), ids[0], vm.NodeRules{Together: ids[1:]})
	},
	"protect a VM (failover.EnsureJob)": func(ctx context.Context, t *testing.T, e *privEnv) error {
		id := vm.NewID()
		v, err := vm.NewManager().Create(ctx, e.client(t, e.root, "DC1"), id, webSpec())
		if err != nil {
			t.Fatal(err)
		}
		return failover.EnsureJob(ctx, e.client(t, e.moxxie, "DC1"), vm.IdentityTag(id), failover.Job{VMID: v.VMID, Storage: "pbs"})
	},
	"fail a VM over and fence its stale copy (failover.RecoveryPoint, Run, Fence)": func(ctx context.Context, t *testing.T, e *privEnv) error {
		id := vm.NewID()
		root := e.client(t, e.root, "DC1")
		v, err := vm.NewManager().Create(ctx, root, id, webSpec())
		if err != nil {
			t.Fatal(err)
		}
		if err := waitUPID(ctx, root, func() (string, error) {
			var upid string
			err := root.Post(ctx, "/nodes/pve1/vzdump", map[string]any{"vmid": v.VMID, "storage": "pbs", "notes-template": failover.NotesTemplate(vm.IdentityTag(id))}, &upid)
			return upid, err
		}); err != nil {
			t.Fatal(err)
		}
		dc2 := e.client(t, e.moxxie, "DC2")
		b, found, err := failover.RecoveryPoint(ctx, dc2, "pve1", "pbs", vm.IdentityTag(id))
		if err != nil || !found {
			return fmt.Errorf("recovery point: found=%v: %w", found, err)
		}
		if _, err := failover.Run(ctx, failover.Spec{ID: id, Client: dc2, Storage: "local-lvm", Backup: b, NICs: v.NICs,
			Targets: []migration.NICTarget{{Bridge: "vmbr0", VLAN: 20}}}); err != nil {
			return err
		}
		dc1 := e.client(t, e.moxxie, "DC1")
		f := migration.Find(ctx, []*dcrouter.Client{dc1, dc2}, id)
		stale := failover.Stale(f, "DC2")
		if len(stale) != 1 {
			t.Fatalf("stale copies %v", stale)
		}
		return failover.Fence(ctx, dc1, stale[0], vm.IdentityTag(id))
	},
}

func waitUPID(ctx context.Context, c *dcrouter.Client, submit func() (string, error)) error {
	upid, err := submit()
	if err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}

// The row per privilege: the operation that needs it and PVE's answer without it ("" in want
// stands for the bare "Permission check failed" of create_vm's VM.Allocate test).
var privRows = []struct{ priv, op, want string }{
	{"Sys.Audit", "read a datacenter (inventory)", "(/, Sys.Audit)"},
	{"VM.Audit", "create and start a VM (vm.Create)", "(/vms/100, VM.Audit)"},
	{"VM.Allocate", "create and start a VM (vm.Create)", ""},
	{"Datastore.AllocateSpace", "create and start a VM (vm.Create)", "(/storage/local-lvm, Datastore.AllocateSpace)"},
	{"VM.Config.CPU", "create and start a VM (vm.Create)", "(/vms/100, VM.Config.CPU)"},
	{"VM.Config.Memory", "create and start a VM (vm.Create)", "(/vms/100, VM.Config.Memory)"},
	{"VM.Config.Disk", "create and start a VM (vm.Create)", "(/vms/100, VM.Config.Disk)"},
	{"VM.Config.Network", "create and start a VM (vm.Create)", "(/vms/100, VM.Config.Network)"},
	{"VM.Config.Options", "create and start a VM (vm.Create)", "(/vms/100, VM.Config.Options)"},
	{"VM.Config.HWType", "create and start a VM (vm.Create)", "(/vms/100, VM.Config.HWType)"},
	{"SDN.Use", "create and start a VM (vm.Create)", "(/sdn/zones/localnetwork/vmbr0/10, SDN.Use)"},
	{"VM.PowerMgmt", "create and start a VM (vm.Create)", "(/vms/100, VM.PowerMgmt)"},
	{"VM.Clone", "clone a template (vm.Create with clone)", "(/vms/900, VM.Clone)"},
	{"VM.Config.Cloudinit", "clone a template (vm.Create with clone)", "(/vms/100, VM.Config.Cloudinit)"},
	{"VM.Config.CDROM", "clone a template (vm.Create with clone)", "(/vms/100, VM.Config.CDROM)"},
	{"SDN.Allocate", "allocate a network (network.Allocate)", "(/sdn, SDN.Allocate)"},
	{"VM.Migrate", "move a VM to another datacenter (migration.Engine.Move)", "(/vms/100, VM.Migrate)"},
	{"Sys.Incoming", "move a VM to another datacenter (migration.Engine.Move)", "(/, Sys.Incoming)"},
	{"VM.Backup", "drill a VM backed up elsewhere (failover.RunDrill)", "(/vms/100, VM.Backup)"},
	{"Sys.Modify", "protect a VM (failover.EnsureJob)", "(/, Sys.Modify)"},
	{"Sys.Console", "keep VMs together on a node (vm.Manager.SyncNodeRules)", "(/, Sys.Console)"},
	{"Datastore.Allocate", "protect a VM (failover.EnsureJob)", "(/storage/pbs, Datastore.Allocate)"},
}

func TestGuideRole_eachPrivilegeNeeded(t *testing.T) {
	privs := guidePrivileges(t)
	covered := map[string]bool{}
	for _, r := range privRows {
		covered[r.priv] = true
		if !slices.Contains(privs, r.priv) {
			t.Errorf("row for %s, which the guide's role does not hold", r.priv)
		}
	}
	for _, p := range privs {
		if !covered[p] {
			t.Errorf("the guide's role holds %s, but no operation here shows moxxie needs it", p)
		}
	}
	for name, op := range privOps {
		t.Run("whole role/"+name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := op(ctx, t, newPrivEnv(t, privs)); err != nil {
				t.Fatalf("with the guide's whole role: %v", err)
			}
		})
	}
	for _, r := range privRows {
		t.Run("without "+r.priv, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			less := slices.DeleteFunc(slices.Clone(privs), func(p string) bool { return p == r.priv })
			err := privOps[r.op](ctx, t, newPrivEnv(t, less))
			want := "Permission check failed"
			if r.want != "" {
				want += " " + r.want
			}
			switch {
			case err == nil:
				t.Fatalf("%s succeeded without %s", r.op, r.priv)
			case !strings.Contains(err.Error(), want):
				t.Fatalf("%s without %s: %v; want %q", r.op, r.priv, err, want)
			case r.want == "" && strings.Contains(err.Error(), want+" ("):
				t.Fatalf("%s without %s: %v; want the bare %q", r.op, r.priv, err, want)
			}
		})
	}
}
