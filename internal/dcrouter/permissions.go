package dcrouter

import (
	"context"
	"fmt"
)

// Permissions returns the privileges the client's own credential holds on path, as
// GET /access/permissions?path= answers (effective: ACLs inherited and, for a
// privilege-separated token, intersected with its user's).
func (c *Client) Permissions(ctx context.Context, path string) (map[string]bool, error) {
	var out map[string]map[string]flexInt
	if err := c.Get(ctx, "/access/permissions", map[string]any{"path": path}, &out); err != nil {
		return nil, fmt.Errorf("%s: reading the token's permissions on %s: %w", c.dc, path, err)
	}
	privs := map[string]bool{}
	for priv := range out[path] {
		privs[priv] = true
	}
	return privs, nil
}
