package pvesim

import (
	"fmt"
	"sort"
)

// The guest-agent routes. No guest OS runs in the simulator, hence no
// agent either: every command fails as assert_agent_available does, with
// "QEMU guest agent is not running" once the agent is configured and the
// VM runs.

// agentCommands are the schema's agent subcommands by method.
var agentCommands = map[string][]string{
	"GET": {"get-fsinfo", "get-host-name", "get-memory-block-info", "get-memory-blocks", "get-osinfo",
		"get-time", "get-timezone", "get-users", "get-vcpus", "info", "network-get-interfaces"},
	"POST": {"fsfreeze-freeze", "fsfreeze-status", "fsfreeze-thaw", "fstrim", "ping", "shutdown",
		"suspend-disk", "suspend-hybrid", "suspend-ram"},
}

// agentPrivs is each subcommand's privilege besides
// VM.GuestAgent.Unrestricted, which every one also accepts (qemu-server's
// register_command); fsfreeze-status takes either of two.
var agentPrivs = map[string][]string{
	"fsfreeze-freeze": {"VM.GuestAgent.FileSystemMgmt"}, "fsfreeze-thaw": {"VM.GuestAgent.FileSystemMgmt"},
	"fstrim":          {"VM.GuestAgent.FileSystemMgmt"},
	"fsfreeze-status": {"VM.GuestAgent.Audit", "VM.GuestAgent.FileSystemMgmt"},
	"shutdown":        {"VM.PowerMgmt"}, "suspend-disk": {"VM.PowerMgmt"},
	"suspend-hybrid": {"VM.PowerMgmt"}, "suspend-ram": {"VM.PowerMgmt"},
}

// agentPerm is a subcommand's check: its privileges or Unrestricted.
func agentPerm(privs ...string) permission {
	return checked(needsAny("/vms/{vmid}", append(privs, "VM.GuestAgent.Unrestricted")...))
}

func agentRoutes() []route {
	base := "/nodes/{node}/qemu/{vmid}/agent"
	unrestricted := checked(needs("/vms/{vmid}", "VM.GuestAgent.Unrestricted"))
	var all []string
	for _, m := range []string{"GET", "POST"} {
		all = append(all, agentCommands[m]...)
	}
	sort.Strings(all)
	routes := []route{
		{method: "GET", path: base, proxyNode: true, params: []Param{nodeParam, vmidParam}, handle: agentIndex, perm: permAll},
		{
			method: "POST", path: base, proxyNode: true,
			params: []Param{nodeParam, vmidParam, strP("command").oneOf(all...)},
			handle: (*Cluster).agentCommand,
			// the old generic endpoint, registered with Unrestricted as its
			// own privilege: the schema lists it twice
			perm: agentPerm("VM.GuestAgent.Unrestricted"),
		},
		{
			method: "GET", path: base + "/exec-status", proxyNode: true,
			params: []Param{nodeParam, vmidParam, intP("pid")},
			handle: (*Cluster).agentCommand, perm: unrestricted,
		},
		{
			method: "GET", path: base + "/file-read", proxyNode: true,
			params: []Param{nodeParam, vmidParam, strP("file"), intP("count").opt().between(1, 16777216),
				boolP("decode").opt(), intP("offset").opt().atLeast(0)},
			handle: (*Cluster).agentCommand, perm: agentPerm("VM.GuestAgent.FileRead"),
		},
		{
			method: "POST", path: base + "/file-write", proxyNode: true,
			params: []Param{nodeParam, vmidParam, strP("file"), strP("content").maxLen(61440), boolP("encode").opt()},
			handle: (*Cluster).agentCommand, perm: agentPerm("VM.GuestAgent.FileWrite"),
		},
		{
			method: "POST", path: base + "/set-user-password", proxyNode: true,
			params: []Param{nodeParam, vmidParam, strP("username"), strP("password").maxLen(1024).minLen(5), boolP("crypted").opt()},
			handle: (*Cluster).agentCommand, perm: unrestricted,
		},
	}
	for _, m := range []string{"GET", "POST"} {
		for _, cmd := range agentCommands[m] {
			privs, ok := agentPrivs[cmd]
			if !ok {
				privs = []string{"VM.GuestAgent.Audit"}
			}
			routes = append(routes, route{
				method: m, path: base + "/" + cmd, proxyNode: true,
				params: []Param{nodeParam, vmidParam},
				handle: (*Cluster).agentCommand, perm: agentPerm(privs...),
			})
		}
	}
	return routes
}

// agentIndex lists the subcommands sorted, as the agent directory index
// does (exec included, which the simulator does not route).
func agentIndex(*Cluster, *request) (any, error) {
	names := []string{"exec", "exec-status", "file-read", "file-write", "set-user-password"}
	for _, m := range []string{"GET", "POST"} {
		names = append(names, agentCommands[m]...)
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]any{"name": n})
	}
	return out, nil
}

// agentCommand is assert_agent_available for a VM without a running agent.
func (c *Cluster) agentCommand(req *request) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, aerr := c.vmOn(req.node, int(req.num("vmid", 0)))
	if aerr != nil {
		return nil, aerr
	}
	if _, configured := vm.conf["agent"]; !configured {
		return nil, failf("No QEMU guest agent configured")
	}
	if !vm.running {
		return nil, failf("VM %d is not running", vm.vmid)
	}
	return nil, fmt.Errorf("QEMU guest agent is not running")
}
