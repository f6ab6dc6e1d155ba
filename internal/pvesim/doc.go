// Package pvesim simulates the Proxmox VE API of one cluster per instance,
// faithfully enough that moxxie's tests and demo run against it instead of
// real datacenters: same paths, parameter checks, JSON types, error texts
// (in the HTTP status line, as pveproxy sends them), locks, tasks and
// pending changes. What it accepts, real PVE accepts, and vice versa.
//
// Typical use in a test:
//
//	c := pvesim.New(pvesim.Config{Name: "DC1", Tokens: map[string]string{"root@pam!moxxie": "SECRET"}})
//	srv, err := pvesim.Start(c, "127.0.0.1:0", pvesim.ServerOptions{})
//	defer srv.Close()
//	// point a client at srv.URL + "/api2/json", pin srv.Fingerprint
//	vms := c.VMs() // inspect state; AddVM/UpdateVM/RemoveVM change it out of band
//	sdn := c.SDN() // applied and pending SDN zones, vnets, subnets; lock state
//
// SDN follows pve-network: writes edit the pending configuration, PUT
// /cluster/sdn applies it (a reloadnetworkall task), the global lock of PVE
// 8.4+ guards every write once taken, and a VM NIC may name an applied vnet
// as its bridge (node bridges are Config.Bridges, default vmbr0..vmbr9).
//
// Extending: each concern declares its routes in a func returning []route
// (method, path pattern, parameters as the official schema names them,
// handler) and is listed in allRoutes. The generic layer parses JSON or
// form bodies and query parameters, validates them against the
// declarations and dispatches; the conformance test checks every declared
// route against the official schema.
package pvesim
