package pvesim

import (
	"sort"
	"strings"
)

// propFormat describes a PVE property string ("virtio=..,bridge=vmbr0").
type propFormat struct {
	defaultKey string
	keys       map[string]Param
	aliases    map[string]string // alternative key -> canonical key
	// modelKeys are keys that name the default key's value and carry
	// another key's value, as net's "virtio=<mac>" does.
	modelKeys map[string]string
}

// propErrors carries per-key messages of a malformed property string.
type propErrors map[string]string

func (e propErrors) Error() string {
	var b strings.Builder
	b.WriteString("format error")
	for _, k := range sortedKeys(e) {
		b.WriteString("\n" + k + ": " + e[k])
	}
	return b.String()
}

// prefixed renders the error with the parameter name in front of each key,
// as PVE reports "net0.tag: ...".
func (e propErrors) prefixed(param string) string {
	var b strings.Builder
	b.WriteString("format error")
	for _, k := range sortedKeys(e) {
		b.WriteString("\n" + param + "." + k + ": " + e[k])
	}
	return b.String()
}

// parse splits and validates s, returning canonical keys.
func (f *propFormat) parse(s string) (map[string]string, error) {
	out := map[string]string{}
	errs := propErrors{}
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		key, value, hasKey := strings.Cut(part, "=")
		if !hasKey {
			if f.defaultKey == "" {
				errs[part] = "value without key, but schema does not define a default key"
				continue
			}
			key, value = f.defaultKey, part
		} else if target, ok := f.modelKeys[key]; ok {
			out[f.defaultKey] = key
			key = target
		}
		if canon, ok := f.aliases[key]; ok {
			key = canon
		}
		if _, dup := out[key]; dup {
			errs[key] = "duplicate key in comma-separated list property"
			continue
		}
		out[key] = value
	}
	for key, value := range out {
		p, ok := f.keys[key]
		if !ok {
			errs[key] = "property is not defined in schema and the schema does not allow additional properties"
			continue
		}
		if msg := p.check(key, value); msg != "" {
			errs[key] = msg
		}
	}
	for key, p := range f.keys {
		if _, ok := out[key]; !ok && !p.Optional {
			errs[key] = "property is missing and it is not optional"
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// validator adapts f to a Param format check.
func (f *propFormat) validator() func(string) error {
	return func(v string) error {
		_, err := f.parse(v)
		return err
	}
}

// print renders m the way PVE's print_property_string orders it: default
// key first, then required keys, then the rest, each group sorted.
func (f *propFormat) print(m map[string]string) string {
	var parts []string
	done := map[string]bool{}
	if dv, ok := m[f.defaultKey]; ok && f.defaultKey != "" {
		done[f.defaultKey] = true
		if target, isModel := f.modelKeys[dv]; isModel && m[target] != "" {
			parts = append(parts, dv+"="+m[target])
			done[target] = true
		} else {
			parts = append(parts, dv)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, required := range []bool{true, false} {
		for _, k := range keys {
			if done[k] || (!f.keys[k].Optional) != required {
				continue
			}
			done[k] = true
			parts = append(parts, k+"="+m[k])
		}
	}
	return strings.Join(parts, ",")
}

var netModels = []string{"e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e",
	"i82551", "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3"}

var netFormat = func() *propFormat {
	f := &propFormat{
		defaultKey: "model",
		keys: map[string]Param{
			"model":     strP("model").oneOf(netModels...),
			"macaddr":   strP("macaddr").opt().format(fmtMAC),
			"bridge":    strP("bridge").opt().format(fmtBridge),
			"firewall":  boolP("firewall").opt(),
			"link_down": boolP("link_down").opt(),
			"mtu":       intP("mtu").opt().between(1, 65520),
			"queues":    intP("queues").opt().between(0, 64),
			"rate":      numberP("rate").opt().atLeast(0),
			"tag":       intP("tag").opt().between(1, 4094),
			"trunks":    strP("trunks").opt().matching(`\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*`),
		},
		modelKeys: map[string]string{},
	}
	for _, m := range netModels {
		f.modelKeys[m] = "macaddr"
	}
	return f
}()

var ipconfigFormat = &propFormat{keys: map[string]Param{
	"ip":  strP("ip").opt().format(orWords(fmtIPv4CIDR, "dhcp")),
	"gw":  strP("gw").opt().format(fmtIPv4),
	"ip6": strP("ip6").opt().format(orWords(fmtIPv6CIDR, "dhcp", "auto")),
	"gw6": strP("gw6").opt().format(fmtIPv6),
}}

var memoryFormat = &propFormat{defaultKey: "current", keys: map[string]Param{
	"current": intP("current").atLeast(16),
}}

var agentFormat = &propFormat{
	defaultKey: "enabled",
	keys: map[string]Param{
		"enabled":             boolP("enabled"),
		"freeze-fs":           boolP("freeze-fs").opt(),
		"fstrim_cloned_disks": boolP("fstrim_cloned_disks").opt(),
		"type":                strP("type").opt().oneOf("virtio", "isa"),
	},
	aliases: map[string]string{"freeze-fs-on-backup": "freeze-fs", "guest-fsfreeze": "freeze-fs"},
}

var unusedFormat = &propFormat{
	defaultKey: "file",
	keys:       map[string]Param{"file": strP("file").format(fmtVolumeID)},
	aliases:    map[string]string{"volume": "file"},
}

// driveFormat builds the drive property format of one bus; the buses share
// most keys and differ in a few (schema: scsi/ide/sata/virtio [n]).
func driveFormat(bus string) *propFormat {
	keys := map[string]Param{
		"file":          strP("file").format(fmtVolume),
		"aio":           strP("aio").opt().oneOf("native", "threads", "io_uring"),
		"backup":        boolP("backup").opt(),
		"cache":         strP("cache").opt().oneOf("none", "writethrough", "writeback", "unsafe", "directsync"),
		"detect_zeroes": boolP("detect_zeroes").opt(),
		"discard":       strP("discard").opt().oneOf("ignore", "on"),
		"format":        strP("format").opt().oneOf("raw", "qcow", "qed", "qcow2", "vmdk", "cloop"),
		"import-from":   strP("import-from").opt(),
		"media":         strP("media").opt().oneOf("cdrom", "disk"),
		"replicate":     boolP("replicate").opt(),
		"rerror":        strP("rerror").opt().oneOf("ignore", "report", "stop"),
		"werror":        strP("werror").opt().oneOf("enospc", "ignore", "report", "stop"),
		"serial":        strP("serial").opt().maxLen(60).format(fmtURLEncoded),
		"shared":        boolP("shared").opt(),
		"size":          strP("size").opt().format(fmtDiskSize),
		"snapshot":      boolP("snapshot").opt(),
		"ssd":           boolP("ssd").opt(),
		"wwn":           strP("wwn").opt().matching(`0x[0-9a-fA-F]{16}`),
		"iothread":      boolP("iothread").opt(),
		"ro":            boolP("ro").opt(),
	}
	for _, k := range []string{"bps", "bps_rd", "bps_wr", "iops", "iops_max", "iops_rd", "iops_rd_max", "iops_wr", "iops_wr_max"} {
		keys[k] = intP(k).opt()
	}
	for _, k := range []string{"bps_max_length", "bps_rd_max_length", "bps_wr_max_length", "iops_max_length", "iops_rd_max_length", "iops_wr_max_length"} {
		keys[k] = intP(k).opt().atLeast(1)
	}
	for _, k := range []string{"mbps", "mbps_max", "mbps_rd", "mbps_rd_max", "mbps_wr", "mbps_wr_max"} {
		keys[k] = numberP(k).opt()
	}
	switch bus {
	case "scsi":
		keys["product"] = strP("product").opt().matching(`[A-Za-z0-9\-_\s]{0,16}`)
		keys["vendor"] = strP("vendor").opt().matching(`[A-Za-z0-9\-_\s]{0,8}`)
		keys["queues"] = intP("queues").opt().atLeast(2)
		keys["scsiblock"] = boolP("scsiblock").opt()
	case "ide":
		keys["model"] = strP("model").opt().maxLen(120).format(fmtURLEncoded)
		delete(keys, "iothread")
		delete(keys, "ro")
	case "sata":
		delete(keys, "iothread")
		delete(keys, "ro")
	case "virtio":
		delete(keys, "ssd")
		delete(keys, "wwn")
	}
	return &propFormat{
		defaultKey: "file",
		keys:       keys,
		aliases: map[string]string{
			"volume":         "file",
			"bps_rd_length":  "bps_rd_max_length",
			"bps_wr_length":  "bps_wr_max_length",
			"iops_rd_length": "iops_rd_max_length",
			"iops_wr_length": "iops_wr_max_length",
		},
	}
}

// driveFormats maps each disk bus to its format.
var driveFormats = map[string]*propFormat{
	"scsi":   driveFormat("scsi"),
	"ide":    driveFormat("ide"),
	"sata":   driveFormat("sata"),
	"virtio": driveFormat("virtio"),
}
