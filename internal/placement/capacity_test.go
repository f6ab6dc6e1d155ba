package placement

import (
	"errors"
	"strings"
	"testing"
)

func TestAvailable(t *testing.T) {
	cases := []struct {
		name string
		c    Capacity
		want Available
	}{
		{"no limits: nothing bounds, whatever the hardware",
			Capacity{Physical: Physical{Cores: 64, MemoryMB: 131072}, Allocated: Allocated{VMs: 3, Cores: 100, MemoryMB: 8192}},
			Available{VMs: Unlimited, Cores: Unlimited, MemoryMB: Unlimited}},
		{"limits leave their headroom",
			Capacity{Physical: Physical{Cores: 64, MemoryMB: 131072}, Allocated: Allocated{VMs: 3, Cores: 10, MemoryMB: 8192}, Limits: Limits{MaxVMs: 5, MaxCores: 16, MaxMemoryMB: 16384}},
			Available{VMs: 2, Cores: 6, MemoryMB: 8192}},
		{"a limit above the hardware is not cut to it (overcommit)",
			Capacity{Physical: Physical{Cores: 8, MemoryMB: 4096}, Allocated: Allocated{Cores: 6, MemoryMB: 1024}, Limits: Limits{MaxCores: 100, MaxMemoryMB: 100000}},
			Available{VMs: Unlimited, Cores: 94, MemoryMB: 98976}},
		{"already over the limit reads as zero",
			Capacity{Physical: Physical{Cores: 64, MemoryMB: 65536}, Allocated: Allocated{VMs: 9, Cores: 70}, Limits: Limits{MaxVMs: 8, MaxCores: 64}},
			Available{VMs: 0, Cores: 0, MemoryMB: Unlimited}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Available(); got != tc.want {
				t.Fatalf("Available() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFit(t *testing.T) {
	dc := Capacity{DC: "DC1", Physical: Physical{Cores: 32, MemoryMB: 65536}, Allocated: Allocated{VMs: 2, Cores: 4, MemoryMB: 4096}, Limits: Limits{MaxVMs: 6, MaxMemoryMB: 16384}}
	vm := func(k string, cores, mem int64) Demand { return Demand{Key: k, Cores: cores, MemoryMB: mem} }
	cases := []struct {
		name     string
		planned  []Demand
		resource string // "" = fits
		contains []string
	}{
		{"one small VM fits", []Demand{vm("a", 2, 2048)}, "", nil},
		{"exactly at the limit fits", []Demand{vm("a", 2, 12288)}, "", nil},
		{"one VM over the memory limit", []Demand{vm("big", 2, 12289)}, "memory",
			[]string{"datacenter DC1 has not enough memory", "need 12289 MiB", "12288 MiB are free", "4096 MiB in use", "limit 16384 MiB", "65536 MiB on online nodes"}},
		{"five VMs over only together", []Demand{vm("v1", 1, 1024), vm("v2", 1, 1024), vm("v3", 1, 1024), vm("v4", 1, 1024), vm("v5", 1, 1024)}, "VMs",
			[]string{"need 5", "4 are free", "limit 6", "counted together in this plan: v1, v2, v3, v4, v5"}},
		{"cores over the hardware are no limit's business", []Demand{vm("wide", 29, 1024), vm("wider", 64, 1024)}, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Fit(dc, tc.planned)
			if tc.resource == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ce *CapacityError
			if !errors.As(err, &ce) || ce.Resource != tc.resource {
				t.Fatalf("want a %s CapacityError, got %v", tc.resource, err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err.Error(), s)
				}
			}
		})
	}
}

func TestAvailableWithin(t *testing.T) {
	a := Available{VMs: 3, Cores: Unlimited, MemoryMB: 4096}
	if got, want := a.Within(12, Unlimited), (Available{VMs: 3, Cores: 12, MemoryMB: 4096}); got != want {
		t.Fatalf("Within = %+v, want %+v", got, want)
	}
	if got, want := a.Within(Unlimited, 1024), (Available{VMs: 3, Cores: Unlimited, MemoryMB: 1024}); got != want {
		t.Fatalf("Within = %+v, want %+v", got, want)
	}
}
