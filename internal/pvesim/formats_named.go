package pvesim

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Formats PVE implements as code (register_format with a function), with
// the texts of pve-common's PVE::JSONSchema and qemu-server.

var (
	vmidRe      = regexp.MustCompile(`^[1-9][0-9]{2,8}$`)
	ifaceRe     = regexp.MustCompile(`^(?i:[a-z][a-z0-9_]{1,20}([:.]\d+)?)$`)
	physBitsRe  = regexp.MustCompile(`^(host|\d{1,2})$`)
	cpusetRe    = regexp.MustCompile(`^\s*(\d+)(?:-(\d+))?\s*$`)
	startupRe   = regexp.MustCompile(`^(?:(order=)?(\d+)|up=(\d+)|down=(\d+))$`)
	cpuFlagsRe  = regexp.MustCompile(`^[+-](` + strings.Join(vmCPUFlags, "|") + `)(;[+-](` + strings.Join(vmCPUFlags, "|") + `))*$`)
	validDrives = func() map[string]bool {
		out := map[string]bool{"efidisk0": true, "tpmstate0": true}
		for bus, last := range map[string]int{"ide": 3, "sata": 5, "scsi": 30, "virtio": 15} {
			for i := 0; i <= last; i++ {
				out[bus+strconv.Itoa(i)] = true
			}
		}
		return out
	}()
	// bootDevices are the other keys a boot order may name (net, usb,
	// hostpci within their families).
	bootDevices = func() map[string]bool {
		out := map[string]bool{}
		for prefix, last := range map[string]int{"net": 31, "usb": 13, "hostpci": 15} {
			for i := 0; i <= last; i++ {
				out[prefix+strconv.Itoa(i)] = true
			}
		}
		return out
	}()
)

func fmtVMID(v string) error {
	if !vmidRe.MatchString(v) {
		return errors.New("value does not look like a valid VM ID")
	}
	return nil
}

func fmtVolumeOrPath(v string) error {
	if strings.HasPrefix(v, "/") {
		return nil
	}
	return fmtVolumeID(v)
}

func fmtBootdisk(v string) error {
	if !validDrives[v] {
		return fmt.Errorf("invalid boot disk '%s'", v)
	}
	return nil
}

// fmtBootdev is pve-qm-bootdev: a drive other than efidisk/tpmstate, or a
// NIC, USB or PCI device key.
func fmtBootdev(v string) error {
	if (validDrives[v] && v != "efidisk0" && v != "tpmstate0") || bootDevices[v] {
		return nil
	}
	return fmt.Errorf("invalid boot device '%s'", v)
}

// fmtCPUSet is pve-cpuset ("0,5,8-11"), parsed as PVE::CpuSet does.
func fmtCPUSet(v string) error {
	for _, part := range strings.Split(v, ",") {
		m := cpusetRe.FindStringSubmatch(part)
		if m == nil {
			return errors.New("unable to parse cpuset option")
		}
		if m[2] != "" {
			from, _ := strconv.Atoi(m[1])
			to, _ := strconv.Atoi(m[2])
			if to < from {
				return errors.New("unable to parse cpuset option")
			}
		}
	}
	return nil
}

// fmtStartupOrder is pve-startup-order: "[order=]N,up=N,down=N".
func fmtStartupOrder(v string) error {
	parsed := false
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		if !startupRe.MatchString(part) {
			return errors.New("unable to parse startup options")
		}
		parsed = true
	}
	if !parsed {
		return errors.New("unable to parse startup options")
	}
	return nil
}

func fmtPhysBits(v string) error {
	err := errors.New("value must be an integer between 8 and 64 or 'host'")
	if !physBitsRe.MatchString(v) {
		return err
	}
	if n, convErr := strconv.Atoi(v); convErr == nil && (n < 8 || n > 64) {
		return err
	}
	return nil
}

func fmtIPv4Config(v string) error {
	if v == "dhcp" || v == "manual" || fmtIPv4CIDR(v) == nil {
		return nil
	}
	return errors.New("value does not look like a valid ipv4 network configuration")
}

func fmtIPv6Config(v string) error {
	if v == "auto" || v == "dhcp" || v == "manual" || fmtIPv6CIDR(v) == nil {
		return nil
	}
	return errors.New("value does not look like a valid ipv6 network configuration")
}

func fmtCIDR(v string) error {
	if fmtIPv4CIDR(v) == nil || fmtIPv6CIDR(v) == nil {
		return nil
	}
	return errors.New("value does not look like a valid CIDR network")
}

func fmtIface(v string) error {
	if !ifaceRe.MatchString(v) {
		return fmt.Errorf("invalid network interface name '%s'", v)
	}
	return nil
}

// CPU models a VM config may name (CPUConfig.pm's built-in QEMU models
// plus the x86-64-v* models PVE defines itself), and the flags a VM config
// may set.
var (
	cpuModels = strings.Fields(`486 pentium pentium2 pentium3 coreduo core2duo Conroe Penryn Nehalem
		Nehalem-IBRS Westmere Westmere-IBRS SandyBridge SandyBridge-IBRS IvyBridge IvyBridge-IBRS Haswell
		Haswell-IBRS Haswell-noTSX Haswell-noTSX-IBRS Broadwell Broadwell-IBRS Broadwell-noTSX
		Broadwell-noTSX-IBRS Skylake-Client Skylake-Client-IBRS Skylake-Client-noTSX-IBRS Skylake-Client-v4
		Skylake-Server Skylake-Server-IBRS Skylake-Server-noTSX-IBRS Skylake-Server-v4 Skylake-Server-v5
		Cascadelake-Server Cascadelake-Server-v2 Cascadelake-Server-noTSX Cascadelake-Server-v4
		Cascadelake-Server-v5 Cooperlake Cooperlake-v2 KnightsMill Icelake-Client Icelake-Client-noTSX
		Icelake-Server Icelake-Server-noTSX Icelake-Server-v3 Icelake-Server-v4 Icelake-Server-v5
		Icelake-Server-v6 Icelake-Server-v7 SapphireRapids SapphireRapids-v2 SapphireRapids-v3
		SapphireRapids-v4 GraniteRapids GraniteRapids-v2 GraniteRapids-v3 SierraForest SierraForest-v2
		SierraForest-v3 ClearwaterForest athlon phenom Opteron_G1 Opteron_G2 Opteron_G3 Opteron_G4
		Opteron_G5 EPYC EPYC-IBPB EPYC-v3 EPYC-v4 EPYC-v5 EPYC-Rome EPYC-Rome-v2 EPYC-Rome-v3 EPYC-Rome-v4
		EPYC-Rome-v5 EPYC-Milan EPYC-Milan-v2 EPYC-Milan-v3 EPYC-Genoa EPYC-Genoa-v2 EPYC-Turin kvm32 kvm64
		qemu32 qemu64 max host a64fx cortex-a35 cortex-a53 cortex-a55 cortex-a57 cortex-a710 cortex-a72
		cortex-a76 neoverse-n1 neoverse-n2 neoverse-v1 x86-64-v2 x86-64-v2-AES x86-64-v3 x86-64-v4`)
	vmCPUFlags = []string{"aes", "amd-no-ssb", "amd-ssbd", "hv-evmcs", "hv-tlbflush", "ibpb", "md-clear",
		"nested-virt", "pcid", "pdpe1gb", "spec-ctrl", "ssbd", "virt-ssbd"}
)

// validateVMCPU is qemu-server's validate_vm_cpu_conf: a known model (the
// simulator has no custom models), VM-specific flags only, no reported-model.
func validateVMCPU(cpu map[string]string) error {
	model := cpu["cputype"]
	switch {
	case model == "":
		return errors.New("CPU is missing cputype")
	case strings.HasPrefix(model, "custom-"):
		return fmt.Errorf("Custom cputype '%s' not found", strings.TrimPrefix(model, "custom-"))
	case !contains(cpuModels, model):
		return fmt.Errorf("Built-in cputype '%s' is not defined (missing 'custom-' prefix?)", model)
	}
	if f := cpu["flags"]; f != "" && !cpuFlagsRe.MatchString(f) {
		return errors.New("VM-specific CPU flags must be a subset of: " + strings.Join(vmCPUFlags, ", "))
	}
	if _, ok := cpu["reported-model"]; ok {
		return errors.New("Property 'reported-model' not allowed in VM-specific CPU config.") //nolint:revive // qemu-server's text, period included
	}
	return nil
}

// fmtStorageContent is pve-storage-content: a content type a dir storage
// may hold (which covers every other storage type's).
func fmtStorageContent(v string) error {
	if !contains([]string{"images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"}, v) {
		return fmt.Errorf("invalid content type '%s'", v)
	}
	return nil
}

var poolIDRe = regexp.MustCompile(`^[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}$`)

// fmtPoolID is pve-poolid: up to three levels of "a/b/c".
func fmtPoolID(v string) error {
	if strings.Count(v, "/") > 2 {
		return fmt.Errorf("pool name '%s' nested too deeply (max levels = 3)", v)
	}
	if !poolIDRe.MatchString(v) {
		return fmt.Errorf("pool name '%s' contains invalid characters", v)
	}
	return nil
}
