package pvesim

import (
	"strconv"
	"time"
)

// DefaultTaskDuration is a small task runtime for demos; Config's zero
// TaskDuration means tasks finish at once (still asynchronously).
const DefaultTaskDuration = 20 * time.Millisecond

// Config describes one simulated PVE cluster (one datacenter).
type Config struct {
	Name         string            // cluster name, e.g. "DC1"
	Nodes        []NodeConfig      // default: pve1 with 16 cores, 64 GiB
	Storages     []StorageConfig   // default: local-lvm (lvmthin, images, 1 TiB) and local (dir)
	Tokens       map[string]string // "root@pam!moxxie" -> "SECRET"
	Users        map[string]string // "root@pam" -> "password"
	TaskDuration time.Duration     // how long every task runs; 0 = finish at once
	Bridges      []string          // bridges every node has; default vmbr0..vmbr9
	Pools        []PoolConfig      // resource pools guests may join at create or clone
	Version      string            // what GET /version reports; default 9.1.1. Before 9 there are no HA rules

	// Tokens above belong to their users without privilege separation: a
	// root@pam token holds every right. Roles and PrivsepTokens set up
	// limited callers at start, as pveum would (see CONTRIBUTING).
	Roles         map[string][]string // custom role -> privileges
	PrivsepTokens []PrivsepToken

	// PBS is the Proxmox Backup Server datastore behind the storage
	// "pbs" (type pbs, content backup), added when Storages has none.
	// Give two clusters the same one to model a PBS sync job between
	// sites. Nil: a pbs storage in Storages gets a datastore of its own.
	PBS *PBSDatastore
}

// PoolConfig is one resource pool.
type PoolConfig struct {
	ID, Comment string
}

// PrivsepToken is a privilege-separated token whose user and the token
// itself are granted Role on / (propagated), as the datacenter-setup
// guide does for moxxie@pve!terraform. The user is created if missing.
type PrivsepToken struct {
	ID, Secret, Role string // ID "user@realm!name"
}

// NodeConfig describes one cluster node.
type NodeConfig struct {
	Name     string
	Cores    int
	MemoryMB int64
}

// StorageConfig describes a storage available on every node. Non-shared
// storages are accounted per node.
type StorageConfig struct {
	Name, Type, Content string // Type: lvmthin or dir; Content: "images,rootdir"
	TotalBytes          int64
	Shared              bool
}

const (
	gib = int64(1) << 30
	tib = int64(1) << 40
)

// withDefaults fills what the caller left out.
func (cfg Config) withDefaults() Config {
	if cfg.Name == "" {
		cfg.Name = "pve"
	}
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = []NodeConfig{{Name: "pve1", Cores: 16, MemoryMB: 64 * 1024}}
	}
	nodes := make([]NodeConfig, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		if n.Cores <= 0 {
			n.Cores = 16
		}
		if n.MemoryMB <= 0 {
			n.MemoryMB = 64 * 1024
		}
		nodes[i] = n
	}
	cfg.Nodes = nodes
	if len(cfg.Storages) == 0 {
		cfg.Storages = []StorageConfig{
			{Name: "local-lvm", Type: "lvmthin", Content: "images,rootdir", TotalBytes: tib},
			{Name: "local", Type: "dir", Content: "iso,vztmpl,backup", TotalBytes: 100 * gib},
		}
	}
	storages := make([]StorageConfig, len(cfg.Storages))
	for i, s := range cfg.Storages {
		if s.Type == "" {
			s.Type = "dir"
		}
		if s.Content == "" {
			s.Content = "images"
		}
		if s.TotalBytes <= 0 {
			s.TotalBytes = tib
		}
		storages[i] = s
	}
	if cfg.PBS != nil && !hasStorageType(storages, "pbs") {
		storages = append(storages, StorageConfig{Name: "pbs", Type: "pbs", Content: "backup", Shared: true, TotalBytes: 10 * tib})
	}
	cfg.Storages = storages
	if len(cfg.Bridges) == 0 {
		for i := 0; i < 10; i++ {
			cfg.Bridges = append(cfg.Bridges, "vmbr"+strconv.Itoa(i))
		}
	} else {
		cfg.Bridges = append([]string(nil), cfg.Bridges...)
	}
	cfg.Tokens = copyMap(cfg.Tokens)
	cfg.Users = copyMap(cfg.Users)
	return cfg
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func hasStorageType(storages []StorageConfig, typ string) bool {
	for _, s := range storages {
		if s.Type == typ {
			return true
		}
	}
	return false
}
