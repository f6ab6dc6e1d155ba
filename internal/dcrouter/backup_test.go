package dcrouter

import (
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// A backup made in DC1 onto the PBS datastore both DCs share is listed by
// DC2's client with the fields a restore needs.
func TestBackupsAgainstSimulator(t *testing.T) {
	shared := pvesim.NewPBSDatastore()
	start := func(name string) *Client {
		srv, err := pvesim.Start(pvesim.New(pvesim.Config{Name: name, PBS: shared, Tokens: map[string]string{testTokenID: testTokenSecret}}), "127.0.0.1:0", pvesim.ServerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		cfg := tokenConfig(name, srv.URL)
		cfg.TLSFingerprint = srv.Fingerprint
		return clientFor(t, cfg, WithTaskPoll(time.Millisecond, 10*time.Millisecond))
	}
	dc1, dc2 := start("DC1"), start("DC2")
	ctx := ctxTimeout(t, 20*time.Second)
	var upid string
	must(t, dc1.Post(ctx, "/nodes/pve1/qemu", map[string]any{"vmid": 100, "name": "web", "scsi0": "local-lvm:2"}, &upid))
	must(t, dc1.WaitTask(ctx, upid))
	must(t, dc1.Post(ctx, "/nodes/pve1/vzdump", map[string]any{"vmid": "100", "storage": "pbs", "notes-template": `{{guestname}}\nsecond line`}, &upid))
	must(t, dc1.WaitTask(ctx, upid))

	got, err := dc2.Backups(ctx, "pve1", "pbs", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("backups %+v", got)
	}
	b := got[0]
	if !strings.HasPrefix(b.VolID, "pbs:backup/vm/100/") || b.VMID != 100 || b.Notes != "web" || b.Size != 2<<30 || b.Format != "pbs-vm" || time.Since(b.CTime) > time.Minute {
		t.Errorf("backup %+v", b)
	}
	if other, err := dc2.Backups(ctx, "pve1", "pbs", 101); err != nil || len(other) != 0 {
		t.Errorf("vmid 101: %v %+v", err, other)
	}
}
