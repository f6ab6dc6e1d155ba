package pvesim

import (
	"testing"
	"time"
)

func TestParamCheck(t *testing.T) {
	tests := []struct {
		p     Param
		value string
		want  string
	}{
		{boolP("b"), "1", ""},
		{boolP("b"), "0", ""},
		{boolP("b"), "true", "type check ('boolean') failed - got 'true'"},
		{intP("i"), "-3", ""},
		{intP("i"), "1.5", "type check ('integer') failed - got '1.5'"},
		{intP("i").between(1, 4094), "4095", "value must have a maximum value of 4094"},
		{intP("i").atLeast(100), "99", "value must have a minimum value of 100"},
		{numberP("n").between(0, 128), "0.5", ""},
		{numberP("n"), "1e3", ""},
		{numberP("n"), "x", "type check ('number') failed - got 'x'"},
		{strP("s").maxLen(3), "abcd", "value may only be 3 characters long"},
		{strP("s").oneOf("a", "b"), "c", "value 'c' does not have a value in the enumeration 'a, b'"},
		{strP("s").matching(`\d+`), "12x", "value does not match the regex pattern"},
		{strP("node").format(fmtNodeName), "pve_1", "invalid format - value does not look like a valid node name"},
		{strP("name").format(fmtDNSName), "web-1.example", ""},
		{strP("name").format(fmtDNSName), "web_1", "invalid format - value does not look like a valid DNS name"},
		{strP("ns").formatRef("address-list"), "1.1.1.1 2001:db8::1 dns.example", ""},
		{strP("ns").formatRef("address-list"), "1.1.1.1,bad_name!", "invalid format - value does not look like a valid address: bad_name!"},
		{strP("peers").formatRef("ip-list"), "10.0.0.1;dns.example", "invalid format - value does not look like a valid IP address"},
		{strP("delete").format(fmtConfigIDList), "net0,Cores", ""}, // CONFIGID_RE ignores case
		{strP("delete").format(fmtConfigIDList), "net0,1net", "invalid format - invalid configuration ID '1net'"},
	}
	for _, tt := range tests {
		if got := tt.p.check("k", tt.value); got != tt.want {
			t.Errorf("%s %q: got %q, want %q", tt.p.Name, tt.value, got, tt.want)
		}
	}
}

func TestFamilyKeys(t *testing.T) {
	ps := newParamSet([]Param{strP("net").opt().family(31), intP("cores").opt()})
	errs := ps.validate(map[string]string{"net0": "virtio", "net31": "virtio", "net32": "x", "net01": "x", "cores": "2"})
	if len(errs) != 2 || errs["net32"] == "" || errs["net01"] == "" {
		t.Errorf("errors = %v", errs)
	}
}

func TestPropertyStrings(t *testing.T) {
	tests := []struct {
		name   string
		f      *propFormat
		in     string
		out    string
		errMsg string
	}{
		{"net model only", netFormat, "virtio,bridge=vmbr0", "virtio,bridge=vmbr0", ""},
		{"net ordering", netFormat, "tag=5,firewall=1,virtio=BC:24:11:00:00:01,bridge=vmbr0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=5", ""},
		{"net explicit model and mac", netFormat, "model=e1000,macaddr=BC:24:11:00:00:02", "e1000=BC:24:11:00:00:02", ""},
		{"net multicast mac", netFormat, "virtio=01:00:5E:00:00:01", "", "format error\nmacaddr: invalid format - value does not look like a valid unicast MAC address"},
		{"net unknown key", netFormat, "virtio,colour=red", "", "invalid key in comma-separated list property: colour"},
		{"net missing model", netFormat, "bridge=vmbr0", "", "format error\nmodel: property is missing and it is not optional"},
		{"disk default key and alias", driveFormats["scsi"], "size=32G,volume=local-lvm:vm-1-disk-0,cache=none", "local-lvm:vm-1-disk-0,cache=none,size=32G", ""},
		{"disk key of another bus", driveFormats["ide"], "local-lvm:vm-1-disk-0,iothread=1", "", "invalid key in comma-separated list property: iothread"},
		{"ipconfig", ipconfigFormat, "gw=10.0.0.1,ip=10.0.0.5/24", "gw=10.0.0.1,ip=10.0.0.5/24", ""},
		{"ipconfig dhcp", ipconfigFormat, "ip=dhcp,ip6=auto", "ip=dhcp,ip6=auto", ""},
		{"ipconfig without key", ipconfigFormat, "10.0.0.5/24", "", "value without key, but schema does not define a default key"},
		{"memory", memoryFormat, "2048", "2048", ""},
		{"memory minimum", memoryFormat, "current=8", "", "format error\ncurrent: value must have a minimum value of 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.f.parse(tt.in)
			if tt.errMsg != "" {
				if err == nil || err.Error() != tt.errMsg {
					t.Fatalf("err = %v, want %q", err, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.f.print(m); got != tt.out {
				t.Errorf("print = %q, want %q", got, tt.out)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		bytes int64
		text  string
	}{
		{32 << 30, "32G"}, {512 << 20, "512M"}, {1 << 40, "1T"}, {1536 << 20, "1536M"}, {1000, "1000"}, {4 << 10, "4K"},
	}
	for _, tt := range tests {
		if got := formatSize(tt.bytes); got != tt.text {
			t.Errorf("formatSize(%d) = %q, want %q", tt.bytes, got, tt.text)
		}
		if got := parseSize(tt.text); got != tt.bytes {
			t.Errorf("parseSize(%q) = %d, want %d", tt.text, got, tt.bytes)
		}
	}
}

func TestNormalizeTags(t *testing.T) {
	tests := map[string]string{
		"b;a":          "a;b",
		"web,prod web": "prod;web",
		"X;x;y":        "X;y",
		"":             "",
	}
	for in, want := range tests {
		if got := normalizeTags(in); got != want {
			t.Errorf("normalizeTags(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderIncludesPending(t *testing.T) {
	vm := newVMState(100, "pve1")
	vm.conf = map[string]string{"name": "a", "cores": "2", "description": "x\ny"}
	vm.pending = map[string]string{"cores": "4"}
	vm.pendingDel = map[string]bool{"name": true}
	want := "#x\n#y\ncores: 2\nname: a\n\n[PENDING]\ncores: 4\ndelete: name\n"
	if got := vm.render(); got != want {
		t.Errorf("render = %q, want %q", got, want)
	}
	before := vm.digest()
	vm.pending["cores"] = "8"
	if vm.digest() == before {
		t.Error("digest ignores the pending section")
	}
}

func TestHotpluggable(t *testing.T) {
	vm := newVMState(100, "pve1")
	tests := []struct {
		hotplug, key string
		want         bool
	}{
		{"", "name", true}, {"", "net0", true}, {"", "scsi1", true}, {"", "ide1", false},
		{"", "cores", false}, {"", "memory", false}, {"", "ciuser", true}, {"0", "ipconfig3", true},
		{"network,disk,memory", "memory", true}, {"0", "net0", false}, {"0", "tags", true},
		{"1", "tablet", true}, {"cpu", "vcpus", true}, {"", "vcpus", false},
	}
	for _, tt := range tests {
		vm.conf["hotplug"] = tt.hotplug
		if got := vm.hotpluggable(tt.key); got != tt.want {
			t.Errorf("hotplug %q key %s: %v, want %v", tt.hotplug, tt.key, got, tt.want)
		}
	}
}

func TestCloseFinishesRunningTasks(t *testing.T) {
	c := New(Config{Nodes: []NodeConfig{{Name: "n1"}}, TaskDuration: time.Hour})
	c.mu.Lock()
	ran := false
	upid := c.startTask("n1", "qmstart", "100", "root@pam", func() error { ran = true; return nil })
	c.mu.Unlock()
	start := time.Now()
	c.Close()
	if time.Since(start) > 5*time.Second || !ran {
		t.Fatalf("Close took %v, task ran: %v", time.Since(start), ran)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tasks[upid].exit != "OK" {
		t.Errorf("exit = %q", c.tasks[upid].exit)
	}
}
