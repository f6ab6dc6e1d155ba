package vm

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// NIC is one network interface as moxxie writes it: netN on a bridge (a plain bridge with a VLAN
// tag, or an SDN vnet, which carries its own tag and makes Q-in-Q invisible to the VM), and the
// cloud-init ipconfigN that gives the guest its address.
type NIC struct {
	Model   string
	MAC     string // empty on create: PVE generates one
	Bridge  string
	VLAN    int          // 0: untagged (vnets carry their tag themselves)
	IP      netip.Prefix // address with the subnet's prefix length; invalid: no ipconfig
	Gateway netip.Addr
}

// netValue renders PVE's net[n] property string.
func (n NIC) netValue() string {
	model := n.Model
	if model == "" {
		model = "virtio"
	}
	v := model
	if n.MAC != "" {
		v += "=" + n.MAC
	}
	v += ",bridge=" + n.Bridge
	if n.VLAN > 0 {
		v += ",tag=" + strconv.Itoa(n.VLAN)
	}
	return v
}

// ipconfigValue renders cloud-init's ipconfig[n], or "" when the NIC has no managed address.
func (n NIC) ipconfigValue() string {
	if !n.IP.IsValid() {
		return ""
	}
	v := "ip=" + n.IP.String()
	if n.Gateway.IsValid() {
		v += ",gw=" + n.Gateway.String()
	}
	return v
}

// NICModels are the models PVE's net[n] takes (its macaddr aliases).
var NICModels = []string{"e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b", "i82559er",
	"ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3"}

var nicModels = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range NICModels {
		m[n] = true
	}
	return m
}()

// parseNIC reads net[n] and ipconfig[n] back.
func parseNIC(netValue, ipconfig string) (NIC, error) {
	var n NIC
	for i, part := range strings.Split(netValue, ",") {
		k, v, hasValue := strings.Cut(part, "=")
		switch {
		case i == 0 && nicModels[k]:
			n.Model, n.MAC = k, strings.ToUpper(v)
		case k == "model":
			if !nicModels[v] {
				return n, fmt.Errorf("model %q is not a NIC model PVE knows", v)
			}
			n.Model = v
		case k == "macaddr":
			n.MAC = strings.ToUpper(v)
		case k == "bridge":
			n.Bridge = v
		case k == "tag" && hasValue:
			tag, err := strconv.Atoi(v)
			if err != nil || tag < 1 || tag > 4094 {
				return n, fmt.Errorf("tag %q is not a VLAN (1-4094)", v)
			}
			n.VLAN = tag
		}
	}
	for _, part := range strings.Split(ipconfig, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "ip":
			if p, err := netip.ParsePrefix(v); err == nil {
				n.IP = p
			}
		case "gw":
			if a, err := netip.ParseAddr(v); err == nil {
				n.Gateway = a
			}
		}
	}
	return n, nil
}

// nicsFromConfig collects net0..netN in order; moxxie manages a dense list from net0.
func nicsFromConfig(cfg map[string]string) ([]NIC, error) {
	var out []NIC
	for i := 0; ; i++ {
		v, ok := cfg["net"+strconv.Itoa(i)]
		if !ok {
			return out, nil
		}
		n, err := parseNIC(v, cfg["ipconfig"+strconv.Itoa(i)])
		if err != nil {
			return nil, fmt.Errorf("net%d: %w", i, err)
		}
		out = append(out, n)
	}
}

// NetValue renders n as PVE's net[n] property string, for callers outside this package that
// rewrite NICs (migrations).
func NetValue(n NIC) string { return n.netValue() }

// IPConfigValue renders n's cloud-init ipconfig[n], or "".
func IPConfigValue(n NIC) string { return n.ipconfigValue() }
