package vm

import (
	"reflect"
	"testing"
)

func TestCloudInitRoundTrip(t *testing.T) {
	ci := CloudInit{User: "debian", SSHKeys: []string{"ssh-ed25519 AAAAC3Nza user@host", "ssh-rsa AAAAB3 other+key@x"}, DNSServers: []string{"1.1.1.1", "9.9.9.9"}, SearchDomain: "dc1.example.net"}
	p := map[string]any{}
	var del []string
	ci.params(p, &del)
	if len(del) != 0 {
		t.Fatalf("nothing to delete, got %v", del)
	}
	if enc := p["sshkeys"].(string); enc != "ssh-ed25519%20AAAAC3Nza%20user%40host%0Assh-rsa%20AAAAB3%20other%2Bkey%40x" {
		t.Fatalf("sshkeys = %q", enc)
	}
	cfg := map[string]string{"ide2": "local-lvm:vm-1-cloudinit,media=cdrom"}
	for k, v := range p {
		cfg[k] = v.(string)
	}
	back, ok := cloudInitFromConfig(cfg)
	if !ok || !reflect.DeepEqual(back, ci) {
		t.Fatalf("round trip = %+v %v", back, ok)
	}
	var del2 []string
	CloudInit{User: "debian"}.params(map[string]any{}, &del2)
	if !reflect.DeepEqual(del2, []string{"sshkeys", "nameserver", "searchdomain"}) {
		t.Fatalf("deletes = %v", del2)
	}
}
