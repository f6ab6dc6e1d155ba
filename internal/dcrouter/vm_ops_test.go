package dcrouter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestVMOperationsAgainstSimulator(t *testing.T) {
	c, sim := simClient(t)
	ctx := ctxTimeout(t, 20*time.Second)
	if err := sim.AddVM("pve1", 9000, map[string]string{"name": "tmpl", "template": "1",
		"scsi0": "local-lvm:base-9000-disk-0,size=8G", "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0"}, false); err != nil {
		t.Fatal(err)
	}
	wait := func(what string, upid string, err error) {
		t.Helper()
		if err == nil {
			err = c.WaitTask(ctx, upid)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	upid, err := c.CloneVM(ctx, "pve1", 9000, map[string]any{"newid": 105, "name": "web", "full": false})
	if u, perr := ParseUPID(upid); err == nil && (perr != nil || u.Type != "qmclone" || u.ID != "9000") {
		t.Errorf("clone UPID %q", upid)
	}
	wait("clone", upid, err)
	cfg, err := c.VMConfig(ctx, "pve1", 105, false)
	if err != nil || cfg["scsi0"] != "local-lvm:base-9000-disk-0/vm-105-disk-0,size=8G" {
		t.Fatalf("clone config %v, %v", cfg, err)
	}

	upid, err = c.ResizeDisk(ctx, "pve1", 105, "scsi0", "+2G")
	wait("resize", upid, err)
	if cfg, _ := c.VMConfig(ctx, "pve1", 105, false); !strings.HasSuffix(cfg["scsi0"], ",size=10G") {
		t.Errorf("after resize: scsi0 %q", cfg["scsi0"])
	}
	upid, err = c.ResizeDisk(ctx, "pve1", 105, "scsi0", "4G")
	if err != nil {
		t.Fatal(err)
	}
	var te *TaskError
	if err := c.WaitTask(ctx, upid); !errors.As(err, &te) || te.ExitStatus != "shrinking disks is not supported" || te.Type != "resize" {
		t.Errorf("shrink: %v", err)
	}

	upid, err = c.CreateSnapshot(ctx, "pve1", 105, "before-upgrade")
	wait("snapshot", upid, err)
	snaps, err := c.Snapshots(ctx, "pve1", 105)
	if err != nil || len(snaps) != 1 || snaps[0].Name != "before-upgrade" || snaps[0].Parent != "" || snaps[0].SnapTime == 0 {
		t.Errorf("snapshots = %+v, %v", snaps, err)
	}
	if snaps, _ := c.Snapshots(ctx, "pve1", 9000); len(snaps) != 0 {
		t.Errorf("template snapshots = %+v (current must be left out)", snaps)
	}

	if _, err := c.RebootVM(ctx, "pve1", 105); StatusCode(err) != 500 || !apiErrorContains(err, "vm 105 not running") {
		t.Errorf("reboot of a stopped VM: %v", err)
	}
	upid, err = c.StartVM(ctx, "pve1", 105)
	wait("start", upid, err)
	upid, err = c.RebootVM(ctx, "pve1", 105)
	wait("reboot", upid, err)

	if ha, err := c.HAResources(ctx); err != nil || len(ha) != 0 {
		t.Errorf("HA resources = %v, %v", ha, err)
	}
	if err := c.Post(ctx, "/cluster/ha/resources", map[string]any{"sid": "vm:105", "state": "started"}, nil); err != nil {
		t.Fatal(err)
	}
	if ha, err := c.HAResources(ctx); err != nil || !reflect.DeepEqual(ha, []HAResource{{SID: "vm:105", State: "started"}}) {
		t.Errorf("HA resources = %v, %v", ha, err)
	}
}

func TestVMOperationRequestShapes(t *testing.T) {
	const upid = `"UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:resize:100:root@pam!moxxie:"`
	tests := []struct {
		name     string
		route    string
		data     string
		call     func(c *Client) (string, error)
		want     string
		wantBody string
		wantErr  string
	}{
		{name: "resize task", route: "PUT " + api + "/nodes/pve1/qemu/100/resize", data: upid,
			call: func(c *Client) (string, error) {
				return c.ResizeDisk(ctxTimeout(t, 5*time.Second), "pve1", 100, "scsi0", "+10G")
			},
			want: trimQuotes(upid), wantBody: `{"disk":"scsi0","size":"+10G"}`},
		{name: "resize answered null", route: "PUT " + api + "/nodes/pve1/qemu/100/resize", data: "null",
			call: func(c *Client) (string, error) {
				return c.ResizeDisk(ctxTimeout(t, 5*time.Second), "pve1", 100, "scsi0", "40G")
			},
			want: "", wantBody: `{"disk":"scsi0","size":"40G"}`},
		{name: "resize answered garbage", route: "PUT " + api + "/nodes/pve1/qemu/100/resize", data: "17",
			call: func(c *Client) (string, error) {
				return c.ResizeDisk(ctxTimeout(t, 5*time.Second), "pve1", 100, "scsi0", "40G")
			},
			wantErr: "expected a task id"},
		{name: "snapshot", route: "POST " + api + "/nodes/pve1/qemu/100/snapshot", data: upid,
			call: func(c *Client) (string, error) {
				return c.CreateSnapshot(ctxTimeout(t, 5*time.Second), "pve1", 100, "s1")
			},
			want: trimQuotes(upid), wantBody: `{"snapname":"s1"}`},
		{name: "clone", route: "POST " + api + "/nodes/pve1/qemu/9000/clone", data: upid,
			call: func(c *Client) (string, error) {
				return c.CloneVM(ctxTimeout(t, 5*time.Second), "pve1", 9000, map[string]any{"newid": 101, "full": true})
			},
			want: trimQuotes(upid), wantBody: `{"full":1,"newid":101}`},
		{name: "reboot", route: "POST " + api + "/nodes/pve1/qemu/100/status/reboot", data: upid,
			call: func(c *Client) (string, error) { return c.RebootVM(ctxTimeout(t, 5*time.Second), "pve1", 100) },
			want: trimQuotes(upid)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := jsonFake(t, rec, map[string]string{tt.route: tt.data})
			got, err := tt.call(c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			if reqs := rec.all(); len(reqs) != 1 || reqs[0].Body != tt.wantBody {
				t.Errorf("requests %+v; want body %s", reqs, tt.wantBody)
			}
		})
	}
}

func TestVMOperationArgumentChecks(t *testing.T) {
	rec := &recorder{}
	c := jsonFake(t, rec, nil)
	ctx := ctxTimeout(t, 5*time.Second)
	if _, err := c.CloneVM(ctx, "pve1", 100, map[string]any{"name": "x"}); err == nil || !strings.Contains(err.Error(), "newid") {
		t.Errorf("clone without newid: %v", err)
	}
	if _, err := c.CreateSnapshot(ctx, "pve1", 100, ""); err == nil {
		t.Error("snapshot without a name accepted")
	}
	if _, err := c.ResizeDisk(ctx, "pve1", 42, "scsi0", "+1G"); err == nil {
		t.Error("resize of VMID 42 accepted")
	}
	if n := rec.count(); n != 0 {
		t.Errorf("%d requests sent for invalid arguments", n)
	}
}
