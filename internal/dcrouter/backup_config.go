package dcrouter

import (
	"context"
	"fmt"
	"strings"
)

// BackupConfig is the guest config a backup holds (GET /nodes/{node}/vzdump/extractconfig), read
// before a restore that must override some of it (every NIC of a drill). It needs VM.Backup on
// the backed-up guest and access to the backup's storage.
func (c *Client) BackupConfig(ctx context.Context, node, volid string) (VMConfig, error) {
	if err := checkNode(node); err != nil {
		return nil, fmt.Errorf("%s: %w", c.dc, err)
	}
	var text string
	if err := c.Get(ctx, "/nodes/"+pathSegment(node)+"/vzdump/extractconfig", map[string]any{"volume": volid}, &text); err != nil {
		return nil, err
	}
	conf := VMConfig{}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "[") {
			break // snapshots and pending changes are not part of what is restored
		}
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, "#") {
			conf[k] = v
		}
	}
	return conf, nil
}
