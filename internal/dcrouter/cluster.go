package dcrouter

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Version is GET /version.
type Version struct {
	Version   string
	Release   string
	RepoID    string
	RoundTrip time.Duration // of the request that read it
}

// ClusterStatusItem is one entry of GET /cluster/status: the cluster itself
// (Type "cluster": Nodes, Quorate) or a node (Type "node": NodeID, IP, Online).
type ClusterStatusItem struct {
	Type    string
	Name    string
	ID      string
	IP      string
	Online  bool
	Local   bool // the node that answered (where a remote_migrate to this URL lands)
	Quorate bool
	Nodes   int
	NodeID  int
}

// Resource is one entry of GET /cluster/resources (guests, nodes, storages).
type Resource struct {
	ID       string // "qemu/100", "node/pve1", "storage/pve1/local-lvm"
	Type     string // "qemu", "lxc", "node", "storage", ...
	Node     string
	Name     string
	Status   string
	Tags     string // PVE's raw tag string; see TagList
	Lock     string
	Storage  string
	Content  string // storages: "images,rootdir,..."
	VMID     int
	Template bool
	MaxCPU   float64
	CPU      float64
	MaxMem   int64
	Mem      int64
	MaxDisk  int64
	Disk     int64
}

// TagList splits Tags; PVE writes ';' but also accepts ',' and ' '.
func (r Resource) TagList() []string {
	return splitTags(r.Tags)
}

func splitTags(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
	if len(f) == 0 {
		return nil
	}
	return f
}

// Node is one entry of GET /nodes.
type Node struct {
	Node   string
	Status string // "online", "offline", "unknown"
	MaxCPU int
	CPU    float64
	MaxMem int64
	Mem    int64
	// SSLFingerprint is the SHA-256 of the node's own API certificate: each node serves one of
	// its own, so a connection to another node of the cluster must pin that one.
	SSLFingerprint string
}

// NodeStatus is the part of GET /nodes/{node}/status moxxie needs.
type NodeStatus struct {
	CPUs       int
	MemTotal   int64
	MemUsed    int64
	PVEVersion string
}

// Version returns the PVE version of the DC's API endpoint, read once per view of the cluster
// (see stateCache); RoundTrip is how long that read took.
func (c *Client) Version(ctx context.Context) (Version, error) {
	v, took, err := c.state.get(ctx, "version", func(ctx context.Context) (any, error) { return c.fetchVersion(ctx) })
	if err != nil {
		return Version{}, err
	}
	out := v.(Version)
	out.RoundTrip = took
	return out, nil
}

func (c *Client) fetchVersion(ctx context.Context) (Version, error) {
	var v struct {
		Version flexString `json:"version"`
		Release flexString `json:"release"`
		RepoID  flexString `json:"repoid"`
	}
	if err := c.Get(ctx, "/version", nil, &v); err != nil {
		return Version{}, err
	}
	return Version{Version: string(v.Version), Release: string(v.Release), RepoID: string(v.RepoID)}, nil
}

// ClusterStatus returns GET /cluster/status, read once per view of the cluster (see stateCache).
func (c *Client) ClusterStatus(ctx context.Context) ([]ClusterStatusItem, error) {
	v, _, err := c.state.get(ctx, "status", func(ctx context.Context) (any, error) { return c.fetchClusterStatus(ctx) })
	if err != nil {
		return nil, err
	}
	return append([]ClusterStatusItem(nil), v.([]ClusterStatusItem)...), nil
}

func (c *Client) fetchClusterStatus(ctx context.Context) ([]ClusterStatusItem, error) {
	var items []struct {
		Type    flexString `json:"type"`
		Name    flexString `json:"name"`
		ID      flexString `json:"id"`
		IP      flexString `json:"ip"`
		Online  flexBool   `json:"online"`
		Local   flexBool   `json:"local"`
		Quorate flexBool   `json:"quorate"`
		Nodes   flexInt    `json:"nodes"`
		NodeID  flexInt    `json:"nodeid"`
	}
	if err := c.Get(ctx, "/cluster/status", nil, &items); err != nil {
		return nil, err
	}
	out := make([]ClusterStatusItem, len(items))
	for i, it := range items {
		out[i] = ClusterStatusItem{
			Type: string(it.Type), Name: string(it.Name), ID: string(it.ID), IP: string(it.IP),
			Online: bool(it.Online), Local: bool(it.Local), Quorate: bool(it.Quorate), Nodes: int(it.Nodes), NodeID: int(it.NodeID),
		}
	}
	return out, nil
}

// ClusterResources returns GET /cluster/resources, optionally filtered by
// typ ("vm", "node", "storage", "sdn"; "" for everything). One call lists
// every guest of the DC, which is how moxxie finds VMs wherever they run.
// Callers get their own copy of the client's view.
func (c *Client) ClusterResources(ctx context.Context, typ string) ([]Resource, error) {
	if !slices.Contains(resourceTypes, typ) {
		return nil, fmt.Errorf("%s: cluster resources: unknown type %q (want vm, node, storage or sdn)", c.dc, typ)
	}
	l, err := c.Listing(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(l.Of(typ)), nil
}

// Listing is this client's current view of GET /cluster/resources, the one ClusterResources
// filters.
func (c *Client) Listing(ctx context.Context) (*Listing, error) {
	return c.state.resources(ctx, c.fetchResources)
}

// GuestsTagged returns (a copy of) the guests (qemu) of the current view that carry tag, from
// the view's tag index: finding each of n VMs by its identity tag does not copy or scan the
// whole listing n times.
func (c *Client) GuestsTagged(ctx context.Context, tag string) ([]Resource, error) {
	l, err := c.Listing(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(l.Tagged(tag)), nil
}

// fetchResources reads every entry: the view serves each type from one answer.
func (c *Client) fetchResources(ctx context.Context) ([]Resource, error) {
	var items []struct {
		ID       flexString `json:"id"`
		Type     flexString `json:"type"`
		Node     flexString `json:"node"`
		Name     flexString `json:"name"`
		Status   flexString `json:"status"`
		Tags     flexString `json:"tags"`
		Lock     flexString `json:"lock"`
		Storage  flexString `json:"storage"`
		Content  flexString `json:"content"`
		VMID     flexInt    `json:"vmid"`
		Template flexBool   `json:"template"`
		MaxCPU   flexFloat  `json:"maxcpu"`
		CPU      flexFloat  `json:"cpu"`
		MaxMem   flexInt    `json:"maxmem"`
		Mem      flexInt    `json:"mem"`
		MaxDisk  flexInt    `json:"maxdisk"`
		Disk     flexInt    `json:"disk"`
	}
	if err := c.Get(ctx, "/cluster/resources", nil, &items); err != nil {
		return nil, err
	}
	out := make([]Resource, len(items))
	for i, it := range items {
		out[i] = Resource{
			ID: string(it.ID), Type: string(it.Type), Node: string(it.Node), Name: string(it.Name),
			Status: string(it.Status), Tags: string(it.Tags), Lock: string(it.Lock), Storage: string(it.Storage), Content: string(it.Content),
			VMID: int(it.VMID), Template: bool(it.Template), MaxCPU: float64(it.MaxCPU), CPU: float64(it.CPU),
			MaxMem: int64(it.MaxMem), Mem: int64(it.Mem), MaxDisk: int64(it.MaxDisk), Disk: int64(it.Disk),
		}
	}
	return out, nil
}

// NextID returns GET /cluster/nextid (PVE sends it as a JSON string). It is
// racy across clients: a create with the id may still fail "already exists".
func (c *Client) NextID(ctx context.Context) (int, error) {
	var id flexInt
	if err := c.Get(ctx, "/cluster/nextid", nil, &id); err != nil {
		return 0, err
	}
	if id < minVMID {
		return 0, fmt.Errorf("%s: GET /cluster/nextid: implausible VMID %d", c.dc, id)
	}
	return int(id), nil
}

// Nodes returns GET /nodes.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var items []struct {
		Node   flexString `json:"node"`
		Status flexString `json:"status"`
		MaxCPU flexInt    `json:"maxcpu"`
		CPU    flexFloat  `json:"cpu"`
		MaxMem flexInt    `json:"maxmem"`
		Mem    flexInt    `json:"mem"`
		FP     flexString `json:"ssl_fingerprint"`
	}
	if err := c.Get(ctx, "/nodes", nil, &items); err != nil {
		return nil, err
	}
	out := make([]Node, len(items))
	for i, it := range items {
		out[i] = Node{
			Node: string(it.Node), Status: string(it.Status), MaxCPU: int(it.MaxCPU),
			CPU: float64(it.CPU), MaxMem: int64(it.MaxMem), Mem: int64(it.Mem), SSLFingerprint: string(it.FP),
		}
	}
	return out, nil
}

// NodeStatus returns the CPU, memory and version part of GET /nodes/{node}/status.
func (c *Client) NodeStatus(ctx context.Context, node string) (NodeStatus, error) {
	if err := checkNode(node); err != nil {
		return NodeStatus{}, fmt.Errorf("%s: %w", c.dc, err)
	}
	var st struct {
		CPUInfo struct {
			CPUs flexInt `json:"cpus"`
		} `json:"cpuinfo"`
		Memory struct {
			Total flexInt `json:"total"`
			Used  flexInt `json:"used"`
		} `json:"memory"`
		PVEVersion flexString `json:"pveversion"`
	}
	if err := c.Get(ctx, "/nodes/"+pathSegment(node)+"/status", nil, &st); err != nil {
		return NodeStatus{}, err
	}
	return NodeStatus{
		CPUs: int(st.CPUInfo.CPUs), MemTotal: int64(st.Memory.Total),
		MemUsed: int64(st.Memory.Used), PVEVersion: string(st.PVEVersion),
	}, nil
}

// checkNode rejects names that cannot be a PVE node, before any request.
func checkNode(node string) error {
	if node == "" {
		return fmt.Errorf("node name is empty")
	}
	if strings.ContainsAny(node, "/?#% \t\r\n") {
		return fmt.Errorf("invalid node name %q", node)
	}
	return nil
}
