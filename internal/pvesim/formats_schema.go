package pvesim

import (
	"errors"
	"strings"
)

//go:generate go run ./internal/genformats

// Formats come from the official schema: formats_schema_gen.go holds every
// property-string format the schema (and, for formats it only names,
// internal/genformats/named.json) defines, and each route parameter's
// format reference. Formats that are code in PVE (pve-vmid, mac-addr, ...)
// are the scalar checks below; a few property strings add a validator of
// their own (PVE's register_format third argument).

// formatRef sets the format reference a parameter is checked against.
func (p Param) formatRef(ref string) Param { p.FormatRef = ref; return p }

// requiring declares the parameter p needs alongside (schema "requires").
func (p Param) requiring(other string) Param { p.Requires = other; return p }

// schemaFormat is the property-string format under ref; it panics when the
// generated table lacks it, which a test of every reference rules out.
func schemaFormat(ref string) *propFormat {
	f := schemaFormats[ref]
	if f == nil {
		panic("pvesim: no schema format " + ref)
	}
	return f
}

// propAliases are named formats that are another key's property string.
var propAliases = map[string]string{"pve-qm-ide": "ide[n]"}

// propValidators run after a property string parsed, as PVE's format
// validators do.
var propValidators = map[string]func(map[string]string) error{
	"pve-vm-cpu-conf": validateVMCPU,
}

// scalarFormats are the formats PVE implements as code, by name.
var scalarFormats = map[string]func(string) error{
	"pve-vmid":                       fmtVMID,
	"pve-node":                       fmtNodeName,
	"pve-storage-id":                 fmtStorageID,
	"pve-configid":                   fmtConfigID,
	"pve-calendar-event":             fmtCalendarEvent,
	"pve-bridge-id":                  fmtBridge,
	"mac-addr":                       fmtMAC,
	"dns-name":                       fmtDNSName,
	"address":                        fmtAddress,
	"urlencoded":                     fmtURLEncoded,
	"pve-tag-list":                   fmtTagList,
	"disk-size":                      fmtDiskSize,
	"pve-volume-id":                  fmtVolumeID,
	"pve-volume-id-or-qm-path":       fmtVolume,
	"pve-volume-id-or-absolute-path": fmtVolumeOrPath,
	"pve-hotplug-features":           fmtHotplug,
	"pve-qm-bootdisk":                fmtBootdisk,
	"pve-qm-bootdev":                 fmtBootdev,
	"pve-cpuset":                     fmtCPUSet,
	"pve-startup-order":              fmtStartupOrder,
	"pve-phys-bits":                  fmtPhysBits,
	"pve-ipv4-config":                fmtIPv4Config,
	"pve-ipv6-config":                fmtIPv6Config,
	"ipv4":                           fmtIPv4,
	"ipv6":                           fmtIPv6,
	"ip":                             fmtIP,
	"CIDR":                           fmtCIDR,
	"CIDRv4":                         fmtIPv4CIDR,
	"CIDRv6":                         fmtIPv6CIDR,
	"pve-iface":                      fmtIface,
	"pve-sdn-zone-id":                fmtSDNZoneID,
	"pve-sdn-vnet-id":                fmtSDNVnetID,
	"pve-sdn-subnet-id":              fmtSDNSubnetID,
	"pve-storage-content":            fmtStorageContent,
	"pve-poolid":                     fmtPoolID,
	"pve-userid":                     fmtUserID,
	"pve-tokenid":                    fmtTokenID,
	"pve-groupid":                    fmtGroupID,
	"pve-roleid":                     fmtRoleID,
	"email":                          fmtEmail,
	"pve-ha-resource-id":             fmtHAResourceID,
	"pve-ha-node":                    fmtHANode,
}

// resolveFormat returns the check for a format reference, nil when the
// simulator does not check it. A "-list" reference checks each element of
// a split list, "-opt" a non-empty value, as PVE's check_format does.
func resolveFormat(ref string) func(string) error {
	if alias, ok := propAliases[ref]; ok {
		ref = alias
	}
	if f, ok := schemaFormats[ref]; ok {
		validate := propValidators[ref]
		return func(v string) error {
			m, err := f.parse(v)
			if err == nil && validate != nil {
				err = validate(m)
			}
			return err
		}
	}
	if f, ok := scalarFormats[ref]; ok {
		return f
	}
	if base, ok := strings.CutSuffix(ref, "-list"); ok {
		if f, ok := scalarFormats[base]; ok {
			return func(v string) error {
				for _, item := range splitList(v) {
					if err := f(item); err != nil {
						return err
					}
				}
				return nil
			}
		}
	}
	if base, ok := strings.CutSuffix(ref, "-opt"); ok {
		if f, ok := scalarFormats[base]; ok {
			return func(v string) error {
				if v == "" {
					return nil
				}
				return f(v)
			}
		}
	}
	return nil
}

// withSchemaFormats gives every parameter without a check of its own the
// format the schema declares for it on this route.
func withSchemaFormats(method, path string, params []Param) []Param {
	refs := schemaParamFormats[method+" "+path]
	out := make([]Param, len(params))
	for i, p := range params {
		if p.Format == nil && p.FormatRef == "" {
			p.FormatRef = refs[p.Name]
		}
		out[i] = p
	}
	return out
}

// formatError renders a failed format check as PVE's check_prop does.
func formatError(key string, err error) string {
	var pe propErrors
	if errors.As(err, &pe) {
		return "invalid format - " + pe.prefixed(key)
	}
	return "invalid format - " + err.Error()
}
