package dcrouter

import (
	"context"
	"fmt"
	"strings"
)

// NodeStorage is one entry of GET /nodes/{node}/storage.
type NodeStorage struct {
	Storage string
	Type    string
	Content string // comma-separated content types, e.g. "images,rootdir"
	Active  bool
	Enabled bool
}

// Holds reports whether the storage takes content of type want (e.g. "images", "backup").
func (s NodeStorage) Holds(want string) bool {
	for _, c := range strings.Split(s.Content, ",") {
		if strings.TrimSpace(c) == want {
			return true
		}
	}
	return false
}

// NodeStorages returns the storages a node offers. Unlike the storage entries of
// /cluster/resources, which PVE shows only with Datastore.Audit, this list also shows the
// storages the caller may allocate on (Datastore.AllocateSpace), which is all a move needs.
func (c *Client) NodeStorages(ctx context.Context, node string) ([]NodeStorage, error) {
	if err := checkNode(node); err != nil {
		return nil, fmt.Errorf("%s: %w", c.dc, err)
	}
	var items []struct {
		Storage flexString `json:"storage"`
		Type    flexString `json:"type"`
		Content flexString `json:"content"`
		Active  flexBool   `json:"active"`
		Enabled flexBool   `json:"enabled"`
	}
	if err := c.Get(ctx, "/nodes/"+pathSegment(node)+"/storage", nil, &items); err != nil {
		return nil, err
	}
	out := make([]NodeStorage, len(items))
	for i, it := range items {
		out[i] = NodeStorage{Storage: string(it.Storage), Type: string(it.Type), Content: string(it.Content), Active: bool(it.Active), Enabled: bool(it.Enabled)}
	}
	return out, nil
}
