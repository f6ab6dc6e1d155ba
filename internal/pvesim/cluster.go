package pvesim

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim/access"
)

// Cluster is one simulated PVE cluster. It implements http.Handler for the
// API under /api2/json and is safe for concurrent use.
type Cluster struct {
	cfg      Config
	router   *router
	secret   []byte // signs tickets and CSRF tokens
	logger   atomic.Pointer[func(format string, args ...any)]
	faults   faultState     // own mutex: drawn per request without c.mu
	requests requestCounter // own mutex, for the same reason
	onTask   atomic.Pointer[func(typ, id string)]

	mu        sync.Mutex // guards everything below; never held while sleeping
	nodes     []*nodeState
	vms       map[int]*vmState
	volumes   map[string]*volume // volume ID -> allocation
	tasks     map[string]*task
	quit      chan struct{} // closed by Close to fast-forward running tasks
	lastPID   int
	boot      time.Time
	endpoints map[string]nodeEndpoint // by node name: where each node's API answers (set by Server)
	sdn       sdnState
	ha        map[string]*haResource // HA resources by sid ("vm:100")
	haRules   map[string]*haRule     // ha/rules.cfg by rule id
	taskLogs  map[string][]string    // logs of workers that write one, by UPID
	tunnels   map[int]*tunnel        // incoming migration tunnels by VMID

	acl *access.Store // user.cfg: users, tokens, roles, ACLs (own mutex)

	pbs        *PBSDatastore                // behind every pbs storage (own mutex)
	backupJobs map[string]map[string]string // jobs.cfg vzdump sections by id
}

type nodeState struct {
	NodeConfig
	id     int
	online bool
}

// New builds a cluster from cfg (defaults filled in).
func New(cfg Config) *Cluster {
	cfg = cfg.withDefaults()
	c := &Cluster{
		cfg:      cfg,
		router:   newRouter(allRoutes()),
		secret:   make([]byte, 32),
		vms:      map[int]*vmState{},
		volumes:  map[string]*volume{},
		tasks:    map[string]*task{},
		quit:     make(chan struct{}),
		lastPID:  0x1000,
		boot:     time.Now().Add(-time.Hour),
		sdn:      newSDNState(),
		ha:       map[string]*haResource{},
		haRules:  map[string]*haRule{},
		taskLogs: map[string][]string{},
		tunnels:  map[int]*tunnel{},
	}
	_, _ = rand.Read(c.secret)
	c.acl = newAccessStore(cfg)
	c.pbs, c.backupJobs = cfg.PBS, map[string]map[string]string{}
	if c.pbs == nil && hasStorageType(cfg.Storages, "pbs") {
		c.pbs = NewPBSDatastore()
	}
	for i, n := range cfg.Nodes {
		c.nodes = append(c.nodes, &nodeState{NodeConfig: n, id: i + 1, online: true})
	}
	return c
}

// Name is the cluster name from the configuration.
func (c *Cluster) Name() string { return c.cfg.Name }

// SetLogger makes the cluster log every request through logf (nil: quiet).
func (c *Cluster) SetLogger(logf func(format string, args ...any)) {
	if logf == nil {
		c.logger.Store(nil)
		return
	}
	c.logger.Store(&logf)
}

// allRoutes is the simulator's route table; each concern adds its group.
func allRoutes() []route {
	var rs []route
	for _, group := range [][]route{
		accessRoutes(),
		accessAdminRoutes(),
		clusterRoutes(),
		nodeRoutes(),
		nodeNetworkRoutes(),
		qemuRoutes(),
		qemuConfigRoutes(),
		qemuStatusRoutes(),
		taskRoutes(),
		backupRoutes(),
		backupJobRoutes(),
		backupExtractRoutes(),
		sdnRoutes(),
		resizeRoutes(),
		cloneRoutes(),
		snapshotRoutes(),
		cloudInitRoutes(),
		haRoutes(),
		haRuleRoutes(),
		workerRoutes(),
		tunnelRoutes(),
		remoteMigrateRoutes(),
		poolRoutes(),
		storageRoutes(),
		taskListRoutes(),
		agentRoutes(),
	} {
		rs = append(rs, group...)
	}
	return rs
}

// nodeEndpoint is one node's own API address and certificate: every PVE node runs pveproxy with a
// certificate of its own (pve-ssl.pem), and remote migration targets a node by its address.
type nodeEndpoint struct {
	ip          string
	fingerprint string
}

// localNode is the node the cluster-wide API runs on when no request says otherwise.
func (c *Cluster) localNode() *nodeState { return c.nodes[0] }

// localFor is the node a request reached ("localhost" to it): local, the node whose endpoint
// took the connection (request.local), or the first node. Caller holds c.mu.
func (c *Cluster) localFor(local string) *nodeState {
	if n := c.node(local); n != nil {
		return n
	}
	return c.localNode()
}

// nodeIP is the address /cluster/status reports for n: its endpoint's, else a private address
// that no one can reach (a cluster served on one address). Caller holds c.mu.
func (c *Cluster) nodeIP(n *nodeState) string {
	if ep, ok := c.endpoints[n.Name]; ok && ep.ip != "" {
		return ep.ip
	}
	return "10.0.0." + strconv.Itoa(n.id)
}

func (c *Cluster) node(name string) *nodeState {
	for _, n := range c.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// resolveNode maps a proxied {node} to a cluster node the way pveproxy
// does: "localhost" is the node the request reached; an unknown name fails
// its host lookup.
func (c *Cluster) resolveNode(name, local string) (string, *apiError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name == "localhost" {
		return c.localFor(local).Name, nil
	}
	if c.node(name) == nil {
		return "", failf("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", name, name)
	}
	return name, nil
}

// vmOn returns the VM if its config lives on node; PVE only looks in the
// node's own directory, so a VM elsewhere "does not exist". Caller holds mu.
func (c *Cluster) vmOn(node string, vmid int) (*vmState, *apiError) {
	vm := c.vms[vmid]
	if vm == nil || vm.node != node {
		return nil, failf("Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", node, vmid)
	}
	return vm, nil
}

// checkLock is PVE's check_lock.
func (vm *vmState) checkLock(skiplock bool) *apiError {
	if lock := vm.conf["lock"]; lock != "" && !skiplock {
		return failf("VM %d is locked (%s)", vm.vmid, lock)
	}
	return nil
}

func (c *Cluster) String() string { return fmt.Sprintf("pvesim cluster %s", c.cfg.Name) }
