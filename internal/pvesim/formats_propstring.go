package pvesim

import (
	"errors"
	"fmt"
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

// parse splits and validates s as PVE's parse_property_string does:
// malformed parts (unknown or duplicate keys, a value without key) fail
// the whole string, then every key is checked and failures are reported
// per key. It returns canonical keys with booleans as 1/0.
func (f *propFormat) parse(s string) (map[string]string, error) {
	out := map[string]string{}
	defaultSet := false
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		key, value, hasEq := strings.Cut(part, "=")
		switch {
		case hasEq && key != "" && value != "":
			if _, dup := out[key]; dup {
				return nil, fmt.Errorf("duplicate key in comma-separated list property: %s", key)
			}
			if target, ok := f.modelKeys[key]; ok {
				if _, dup := out[f.defaultKey]; dup {
					return nil, fmt.Errorf("key alias '%s' is already defined", f.defaultKey)
				}
				out[f.defaultKey] = key
				key = target
				if _, dup := out[key]; dup {
					return nil, fmt.Errorf("key '%s' is already defined (via alias)", key)
				}
			} else if target, ok := f.aliases[key]; ok {
				key = target
				if _, dup := out[key]; dup {
					return nil, fmt.Errorf("key '%s' is already defined (via alias)", key)
				}
			}
			p, ok := f.keys[key]
			if !ok {
				return nil, fmt.Errorf("invalid key in comma-separated list property: %s", key)
			}
			if p.Type == TypeBoolean {
				value = parseBoolean(value)
			}
			out[key] = value
		case !hasEq:
			if defaultSet {
				return nil, fmt.Errorf("duplicate key in comma-separated list property: %s", f.defaultKey)
			}
			if f.defaultKey == "" {
				return nil, errors.New("value without key, but schema does not define a default key")
			}
			defaultSet = true
			if _, dup := out[f.defaultKey]; dup {
				return nil, fmt.Errorf("duplicate key in comma-separated list property: %s", f.defaultKey)
			}
			if f.keys[f.defaultKey].Type == TypeBoolean {
				part = parseBoolean(part)
			}
			out[f.defaultKey] = part
		default:
			return nil, errors.New("missing key in comma-separated list property")
		}
	}
	errs := propErrors{}
	for key, p := range f.keys {
		value, ok := out[key]
		if !ok {
			if !p.Optional {
				errs[key] = "property is missing and it is not optional"
			}
			continue
		}
		if msg := p.check(key, value); msg != "" {
			errs[key] = msg
		}
	}
	for key := range out {
		if req := f.keys[key].Requires; req != "" {
			if _, ok := out[req]; !ok {
				errs[req] = fmt.Sprintf("missing property required by '%s'", key)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// parseBoolean is PVE's parse_boolean; other text stays for the type check.
func parseBoolean(v string) string {
	switch strings.ToLower(v) {
	case "1", "on", "yes", "true":
		return "1"
	case "0", "off", "no", "false":
		return "0"
	}
	return v
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

// The qemu config formats the simulator's code reads, all from the schema.
var (
	netFormat      = schemaFormat("net[n]")
	ipconfigFormat = schemaFormat("pve-qm-ipconfig")
	memoryFormat   = schemaFormat("memory")
	agentFormat    = schemaFormat("agent")
	unusedFormat   = schemaFormat("unused[n]")
	bootFormat     = schemaFormat("pve-qm-boot")
	// driveFormats maps each disk bus to its format.
	driveFormats = map[string]*propFormat{
		"scsi":   schemaFormat("scsi[n]"),
		"ide":    schemaFormat("ide[n]"),
		"sata":   schemaFormat("sata[n]"),
		"virtio": schemaFormat("virtio[n]"),
	}
)
