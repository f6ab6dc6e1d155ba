package failover

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// dcs is two clusters sharing one PBS datastore (a sync job between the sites), with a root
// client each.
type dcs struct {
	simA, simB *pvesim.Cluster
	a, b       *dcrouter.Client
}

func twoDCs(t *testing.T, tweak ...func(cfg *pvesim.Config)) dcs {
	t.Helper()
	shared := pvesim.NewPBSDatastore()
	var d dcs
	var cfgs []dcrouter.Config
	for _, name := range []string{"DC1", "DC2"} {
		cfg := pvesim.Config{Name: name, PBS: shared, Tokens: map[string]string{"root@pam!tok": "s"}}
		for _, f := range tweak {
			f(&cfg)
		}
		cl := pvesim.New(cfg)
		srv, err := pvesim.Start(cl, "127.0.0.1:0", pvesim.ServerOptions{PlainHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		cfgs = append(cfgs, dcrouter.Config{Name: name, URL: srv.URL, TokenID: "root@pam!tok", TokenSecret: "s"})
		if name == "DC1" {
			d.simA = cl
		} else {
			d.simB = cl
		}
	}
	r, err := dcrouter.New(cfgs, dcrouter.WithTaskPoll(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if d.a, err = r.Client("DC1"); err != nil {
		t.Fatal(err)
	}
	if d.b, err = r.Client("DC2"); err != nil {
		t.Fatal(err)
	}
	return d
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func task(t *testing.T, c *dcrouter.Client, path string, params map[string]any) {
	t.Helper()
	ctx := ctxT(t)
	var upid string
	if err := c.Post(ctx, path, params, &upid); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	if err := c.WaitTask(ctx, upid); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
}

const testTag = "moxxie-0123456789abcdef"

// protectedVM makes VM vmid in c's DC, running, with the identity tag, backs it up onto pbs
// and returns the backup as c2 lists it.
func protectedVM(t *testing.T, c, c2 *dcrouter.Client, vmid int) dcrouter.Backup {
	t.Helper()
	task(t, c, "/nodes/pve1/qemu", map[string]any{"vmid": vmid, "name": "web", "tags": testTag + ";prod",
		"scsi0": "local-lvm:4", "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20", "memory": 2048, "onboot": 1})
	task(t, c, "/nodes/pve1/qemu/"+strconv.Itoa(vmid)+"/status/start", nil)
	task(t, c, "/nodes/pve1/vzdump", map[string]any{"vmid": vmid, "storage": "pbs", "mode": "snapshot", "notes-template": "{{guestname}} " + testTag})
	list, err := c2.Backups(ctxT(t), "pve1", "pbs", vmid)
	if err != nil || len(list) == 0 {
		t.Fatalf("backups of %d: %v %v", vmid, err, list)
	}
	return list[len(list)-1]
}
