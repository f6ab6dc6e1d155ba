package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestResizeDisk(t *testing.T) {
	s := startSim(t, storageTestConfig())
	tests := []struct {
		name     string
		disk     string
		size     string
		setup    map[string]any // extra create parameters
		lock     string
		digest   string
		wantExit string
		wantSize string // drive size= afterwards
	}{
		{name: "relative grow", disk: "scsi0", size: "+10G", wantExit: "OK", wantSize: "42G"},
		{name: "absolute grow", disk: "scsi0", size: "40G", wantExit: "OK", wantSize: "40G"},
		{name: "fractional grow", disk: "scsi0", size: "+0.5G", wantExit: "OK", wantSize: "33280M"},
		{name: "same size is a no-op", disk: "scsi0", size: "32G", wantExit: "OK", wantSize: "32G"},
		{name: "shrink", disk: "scsi0", size: "16G", wantExit: "shrinking disks is not supported", wantSize: "32G"},
		{name: "missing disk", disk: "scsi5", size: "+1G", wantExit: "disk 'scsi5' does not exist"},
		{name: "cdrom", disk: "ide2", size: "+1G", setup: map[string]any{"ide2": "local-lvm:cloudinit"},
			wantExit: "you can't resize a cdrom"},
		{name: "locked", disk: "scsi0", size: "+1G", lock: "backup", wantExit: "VM %d is locked (backup)", wantSize: "32G"},
		{name: "stale digest", disk: "scsi0", size: "+1G", digest: "0123456789abcdef0123456789abcdef01234567",
			wantExit: "checksum mismatch (file change by other user?)", wantSize: "32G"},
		{name: "thick lvm out of room", disk: "scsi1", size: "+30G", setup: map[string]any{"scsi1": "thick:20"},
			wantExit: "command '/sbin/lvextend -L 52428800k /dev/thick/vm-%d-disk-0' failed: exit code 5", wantSize: "20G"},
		{name: "thick lvm within room", disk: "scsi1", size: "+20G", setup: map[string]any{"scsi1": "thick:20"},
			wantExit: "OK", wantSize: "40G"},
		{name: "dir storage out of room", disk: "virtio0", size: "60G", setup: map[string]any{"virtio0": "files:10"},
			wantExit: "command '/usr/bin/qemu-img resize -f qcow2 /mnt/pve/files/images/%[1]d/vm-%[1]d-disk-0.qcow2 64424509440' failed: exit code 1", wantSize: "10G"},
		{name: "thin pool overcommits", disk: "scsi0", size: "2T", wantExit: "OK", wantSize: "2T"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vmid := 100 + i
			params := map[string]any{"vmid": vmid, "scsi0": "local-lvm:32"}
			for k, v := range tt.setup {
				params[k] = v
			}
			mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve1/qemu", params))
			t.Cleanup(func() { s.srv.Cluster.RemoveVM(vmid) }) // frees the shared capacity
			if tt.lock != "" {
				if err := s.srv.Cluster.UpdateVM(vmid, map[string]string{"lock": tt.lock}); err != nil {
					t.Fatal(err)
				}
			}
			req := map[string]any{"disk": tt.disk, "size": tt.size}
			if tt.digest != "" {
				req["digest"] = tt.digest
			}
			upid, _ := s.jok(t, "PUT", "/nodes/pve1/qemu/"+strconv.Itoa(vmid)+"/resize", req).(string)
			if u := upidRe.FindStringSubmatch(upid); len(u) != 9 || u[6] != "resize" || u[7] != strconv.Itoa(vmid) {
				t.Fatalf("resize returned %q, want a resize task UPID", upid)
			}
			want := tt.wantExit
			if strings.Contains(want, "%") {
				want = fmt.Sprintf(want, vmid)
			}
			if got := s.waitExit(t, upid); got != want {
				t.Errorf("exit = %q, want %q", got, want)
			}
			if tt.wantSize == "" {
				return
			}
			d := drive(t, s.config(t, vmid), tt.disk)
			if d["size"] != tt.wantSize {
				t.Errorf("%s size = %q, want %q", tt.disk, d["size"], tt.wantSize)
			}
			if got, want := s.volumeSize(d["file"]), parseSize(tt.wantSize); got != want {
				t.Errorf("volume %s size = %d, want %d", d["file"], got, want)
			}
		})
	}
}

func TestResizeParameterChecks(t *testing.T) {
	s := startSim(t, storageTestConfig())
	tests := []struct {
		params map[string]any
		key    string
		want   string
	}{
		{map[string]any{"disk": "scsi0", "size": "-5G"}, "size", "value does not match the regex pattern"},
		{map[string]any{"disk": "scsi0", "size": "10P"}, "size", "value does not match the regex pattern"},
		{map[string]any{"disk": "net0", "size": "10G"}, "disk", "value 'net0' does not have a value in the enumeration"},
		{map[string]any{"disk": "scsi0"}, "size", "property is missing and it is not optional"},
	}
	for _, tt := range tests {
		r := s.jcall(t, "PUT", "/nodes/pve1/qemu/100/resize", tt.params)
		if r.status != 400 || !strings.HasPrefix(r.errors()[tt.key].(string), tt.want) {
			t.Errorf("%v: %d %v, want %s: %s", tt.params, r.status, r.errors(), tt.key, tt.want)
		}
	}
	// Everything else is checked in the task: a missing VM still gets a UPID.
	exit := s.runTask(t, "PUT", "/nodes/pve1/qemu/777/resize", map[string]any{"disk": "scsi0", "size": "+1G"})
	if exit != "Configuration file 'nodes/pve1/qemu-server/777.conf' does not exist" {
		t.Errorf("resize of missing VM: %q", exit)
	}
}

func TestDetachedDisksAndStorageAccounting(t *testing.T) {
	s := startSim(t, storageTestConfig())
	mustOK(t, "create", s.runTask(t, "POST", "/nodes/pve2/qemu", map[string]any{
		"vmid": 300, "scsi0": "local-lvm:8", "scsi1": "local-lvm:4", "virtio0": "thick:10"}))
	if got := s.storageUsed(t, "pve2", "local-lvm"); got != 12*gib {
		t.Fatalf("local-lvm used %d, want 12 GiB", got)
	}
	if got := s.storageUsed(t, "pve1", "local-lvm"); got != 0 {
		t.Errorf("pve1 local-lvm used %d: local storages are per node", got)
	}

	// Detaching keeps the volume as unused0: still allocated.
	s.jok(t, "PUT", "/nodes/pve2/qemu/300/config", map[string]any{"delete": "scsi1"})
	conf := s.config(t, 300)
	if conf["unused0"] != "local-lvm:vm-300-disk-1" || conf["scsi1"] != "" {
		t.Fatalf("after detach: unused0 %q scsi1 %q", conf["unused0"], conf["scsi1"])
	}
	if got := s.storageUsed(t, "pve2", "local-lvm"); got != 12*gib {
		t.Errorf("detached disk freed space: used %d", got)
	}
	// Deleting unused0 destroys the volume.
	s.jok(t, "PUT", "/nodes/pve2/qemu/300/config", map[string]any{"delete": "unused0"})
	if got := s.storageUsed(t, "pve2", "local-lvm"); got != 8*gib {
		t.Errorf("after deleting unused0: used %d, want 8 GiB", got)
	}
	if s.volumeSize("local-lvm:vm-300-disk-1") != -1 {
		t.Error("volume of unused0 still exists")
	}

	// /cluster/resources agrees, and reports the boot disk as maxdisk.
	mustOK(t, "grow", s.runTask(t, "PUT", "/nodes/pve2/qemu/300/resize", map[string]any{"disk": "scsi0", "size": "+2G"}))
	var vmMaxDisk, lvmDisk, thickDisk float64
	for _, item := range s.jok(t, "GET", "/cluster/resources", nil).([]any) {
		r := item.(map[string]any)
		switch r["id"] {
		case "qemu/300":
			vmMaxDisk = r["maxdisk"].(float64)
		case "storage/pve2/local-lvm":
			lvmDisk = r["disk"].(float64)
		case "storage/pve2/thick":
			thickDisk = r["disk"].(float64)
			if r["maxdisk"].(float64) != float64(40*gib) {
				t.Errorf("thick maxdisk = %v", r["maxdisk"])
			}
		}
	}
	if vmMaxDisk != float64(10*gib) || lvmDisk != float64(10*gib) || thickDisk != float64(10*gib) {
		t.Errorf("resources: qemu maxdisk %v, local-lvm disk %v, thick disk %v", vmMaxDisk, lvmDisk, thickDisk)
	}

	// A destroyed VM frees everything.
	mustOK(t, "destroy", s.runTask(t, "DELETE", "/nodes/pve2/qemu/300", nil))
	if a, b := s.storageUsed(t, "pve2", "local-lvm"), s.storageUsed(t, "pve2", "thick"); a != 0 || b != 0 {
		t.Errorf("after destroy: local-lvm %d thick %d", a, b)
	}
}
