// Package network turns a datacenter's pools into real Proxmox SDN objects: one moxxie-managed
// zone per datacenter (vlan, or qinq with the service VLAN as outer tag), and per allocation a
// vnet carrying the customer VLAN plus a subnet. The cluster's SDN is the source of truth: free
// VLANs and subnets are computed from what it holds, under its global SDN lock, so separate
// Terraform states never hand out the same network.
package network

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Zone is the SDN zone moxxie owns in every datacenter (pve-sdn-zone-id allows 8 characters).
const Zone = "moxxie"

// QinQProtocol is the outer tag's ethertype for Q-in-Q zones: 802.1ad, as switches expect of an
// S-tag.
const QinQProtocol = "802.1ad"

// Request is what a user asks for.
type Request struct {
	ClientID  string
	Name      string
	VLAN      int // 0: next free
	PrefixLen int // 0: the datacenter's subnet_prefix
}

// Allocation is one customer network as the datacenter holds it.
type Allocation struct {
	DC          string
	Zone        string
	Vnet        string
	VLAN        int
	ServiceVLAN int // 0 without Q-in-Q
	CIDR        netip.Prefix
	Gateway     netip.Addr
	ClientID    string
	Name        string
}

// ID is the Terraform id of an allocation: "DC1/acme/default". It is made of configuration
// values only, so it is known at plan time and a VM's NIC can be checked against its datacenter
// before anything is created.
func (a Allocation) ID() string { return ID(a.DC, a.ClientID, a.Name) }

// ID joins datacenter, client and name into an allocation id.
func ID(dc, clientID, name string) string { return dc + "/" + clientID + "/" + name }

// VnetName derives the vnet id from the customer VLAN, which is unique within moxxie's zone.
func VnetName(vlan int) string { return "mxv" + strconv.Itoa(vlan) }

var vnetName = regexp.MustCompile(`^mxv([1-9][0-9]{0,3})$`)

// Ref names an allocation: by client and name (the resource id), or by vnet (an import id).
type Ref struct {
	DC       string
	ClientID string
	Name     string
	Vnet     string
}

// ParseID reads "DC1/acme/default" or, for imports, "DC1/mxv100".
func ParseID(id string) (Ref, error) {
	parts := strings.Split(id, "/")
	switch {
	case len(parts) == 3 && parts[0] != "" && LabelPattern.MatchString(parts[1]) && LabelPattern.MatchString(parts[2]):
		return Ref{DC: parts[0], ClientID: parts[1], Name: parts[2]}, nil
	case len(parts) == 2 && parts[0] != "" && vnetName.MatchString(parts[1]):
		return Ref{DC: parts[0], Vnet: parts[1]}, nil
	}
	return Ref{}, fmt.Errorf("allocation ID %q must be DATACENTER/CLIENT_ID/NAME (e.g. DC1/acme/default) or DATACENTER/VNET (e.g. DC1/mxv100)", id)
}

// alias records who owns a vnet in the vnet itself, readable in the PVE GUI.
func alias(clientID, name string) string {
	return "moxxie client=" + clientID + " name=" + name
}

var aliasForm = regexp.MustCompile(`^moxxie client=(\S+) name=(\S+)$`)

func parseAlias(s string) (clientID, name string, ok bool) {
	m := aliasForm.FindStringSubmatch(s)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// LabelPattern is what client_id and name may hold: they go into the vnet alias.
var LabelPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
