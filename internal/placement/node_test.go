package placement

import (
	"errors"
	"testing"
)

func TestChooseNode(t *testing.T) {
	const gib = int64(1) << 30
	cases := []struct {
		name  string
		nodes []NodeUsage
		want  string
		err   error
	}{
		{"most free memory wins", []NodeUsage{
			{Name: "pve1", Online: true, MemoryBytes: 64 * gib, UsedBytes: 60 * gib},
			{Name: "pve2", Online: true, MemoryBytes: 32 * gib, UsedBytes: 2 * gib},
		}, "pve2", nil},
		{"offline nodes are skipped", []NodeUsage{
			{Name: "pve1", Online: false, MemoryBytes: 512 * gib},
			{Name: "pve2", Online: true, MemoryBytes: 8 * gib, UsedBytes: 7 * gib},
		}, "pve2", nil},
		{"ties go to the lowest name", []NodeUsage{
			{Name: "pve3", Online: true, MemoryBytes: 8 * gib},
			{Name: "pve1", Online: true, MemoryBytes: 8 * gib},
		}, "pve1", nil},
		{"no online node", []NodeUsage{{Name: "pve1"}}, "", ErrNoOnlineNode},
		{"no nodes at all", nil, "", ErrNoOnlineNode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChooseNode(tc.nodes)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("node = %q, want %q", got, tc.want)
			}
		})
	}
}
