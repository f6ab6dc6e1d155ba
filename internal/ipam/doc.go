// Package ipam decides which VLANs and subnets of a datacenter's network
// pool are free.
//
// It holds no state: the Proxmox cluster's SDN is the source of truth, so
// callers read what the datacenter already uses, pass it in as Used, and
// get back the lowest free VLAN and the lowest free aligned subnet. Results
// are deterministic so that workspaces serialised by the cluster lock always
// agree on what the next allocation is.
package ipam
