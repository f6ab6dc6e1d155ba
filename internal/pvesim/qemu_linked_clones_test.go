package pvesim

import "testing"

func TestTemplateWithLinkedClonesCannotBeDestroyed(t *testing.T) {
	s := templateSim(t, storageTestConfig())
	mustOK(t, "linked clone", s.runTask(t, "POST", "/nodes/pve1/qemu/100/clone", map[string]any{"newid": 105}))

	want := "base volume 'local-lvm:base-100-disk-0' is still in use by linked cloned"
	if exit := s.runTask(t, "DELETE", "/nodes/pve1/qemu/100", nil); exit != want {
		t.Fatalf("destroy of a used template: exit %q, want %q", exit, want)
	}
	conf := s.config(t, 100)
	if conf["lock"] != "" || s.volumeSize("local-lvm:base-100-disk-0") != 8*gib {
		t.Errorf("failed destroy changed the template: lock %q, base size %d", conf["lock"], s.volumeSize("local-lvm:base-100-disk-0"))
	}

	// Once the clone is gone the template goes too.
	mustOK(t, "destroy clone", s.runTask(t, "DELETE", "/nodes/pve1/qemu/105", nil))
	mustOK(t, "destroy template", s.runTask(t, "DELETE", "/nodes/pve1/qemu/100", nil))
	if _, ok := s.srv.Cluster.VM(100); ok {
		t.Error("template still exists")
	}
}
