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
// WAN faults are set per cluster at run time and drawn from a seeded RNG,
// so a run is reproducible:
//
//	c.SetFaults(pvesim.Faults{Latency: 50 * time.Millisecond, Error503Rate: 0.1, Seed: 1})
//	srv.Down() // connection refused until srv.Up(); state and tasks carry on
//	c.Requests() // per route pattern and method; RequestTotal, ResetRequests
//	c.FaultCounts() // how often each fault fired, so a test can show its faults did
//
// Started on 127.0.0.1, each further node answers on an address of its own
// (127.0.0.2, 127.0.0.3, ... on the same port) with a certificate of its own,
// as every PVE node runs its own pveproxy: /cluster/status gives those
// addresses and marks the node a request reached as local, /nodes gives each
// node's ssl_fingerprint, and a remote migration aimed at a node's address
// lands on that node.
//
// Storage is accounted per volume (resize grows it, thin pools overcommit,
// other types enforce capacity); templates, full and linked clones,
// snapshots, cloud-init and HA resources follow qemu-server. Remote
// migration is real: POST .../remote_migrate calls the target simulator
// over HTTPS with the endpoint's token and pinned fingerprint (loopback
// addresses only), opens its mtunnel and drives the copy through a
// WebSocket, as qemu-server does; workers of this kind write a task log
// (GET .../tasks/{upid}/log).
//
// Extending: each concern declares its routes in a func returning []route
// (method, path pattern, parameters as the official schema names them,
// handler) and is listed in allRoutes. The generic layer parses JSON or
// form bodies and query parameters, validates them against the
// declarations and dispatches; the conformance test checks every declared
// route against the official schema. Parameter formats come from the schema
// too: formats_schema_gen.go (go generate ./internal/pvesim) holds every
// property-string format and each route parameter's format, so a route
// declares none by hand.
package pvesim
