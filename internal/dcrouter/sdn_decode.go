package dcrouter

import (
	"context"
	"encoding/json"
	"fmt"
)

// sdnItem is one listed SDN object with its pending values folded in, so
// callers see what the object becomes once applied (or, for State
// "deleted", what is still live).
type sdnItem map[string]json.RawMessage

// sdnList GETs an SDN listing, in the pending view if asked.
func (c *Client) sdnList(ctx context.Context, path string, pending bool) ([]sdnItem, error) {
	var query map[string]any
	if pending {
		query = map[string]any{"pending": true}
	}
	var raw []map[string]json.RawMessage
	if err := c.Get(ctx, path, query, &raw); err != nil {
		return nil, err
	}
	out := make([]sdnItem, len(raw))
	for i, obj := range raw {
		it, err := foldPending(obj)
		if err != nil {
			return nil, fmt.Errorf("%s: GET %s: %w", c.dc, path, err)
		}
		out[i] = it
	}
	return out, nil
}

// foldPending overlays an object's "pending" values on its running ones;
// PVE marks a key removed by the pending change with the value "deleted".
// A non-object "pending" (older PVE lists a boolean) carries no values.
func foldPending(obj map[string]json.RawMessage) (sdnItem, error) {
	it := make(sdnItem, len(obj))
	for k, v := range obj {
		if k != "pending" {
			it[k] = v
		}
	}
	var pend map[string]json.RawMessage
	if p, ok := obj["pending"]; ok {
		_ = json.Unmarshal(p, &pend)
	}
	for k, v := range pend {
		var s string
		if json.Unmarshal(v, &s) == nil && s == "deleted" {
			delete(it, k)
			continue
		}
		it[k] = v
	}
	// An unreadable tag fails the listing: reading it as 0 would hide a
	// used VLAN from allocation.
	for _, k := range []string{"tag", "mtu"} {
		if v, ok := it[k]; ok {
			var n flexInt
			if err := json.Unmarshal(v, &n); err != nil {
				return nil, fmt.Errorf("field %s: %w", k, err)
			}
		}
	}
	return it, nil
}

func (it sdnItem) str(key string) string {
	var s flexString
	if v, ok := it[key]; ok && json.Unmarshal(v, &s) == nil {
		return string(s)
	}
	return ""
}

func (it sdnItem) num(key string) int {
	var n flexInt
	if v, ok := it[key]; ok && json.Unmarshal(v, &n) == nil {
		return int(n)
	}
	return 0
}

func (it sdnItem) flag(key string) bool {
	var b flexBool
	if v, ok := it[key]; ok && json.Unmarshal(v, &b) == nil {
		return bool(b)
	}
	return false
}
