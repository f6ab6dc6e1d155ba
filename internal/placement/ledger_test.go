package placement

import "testing"

// A VM is one entry whatever the plan calls it meanwhile: planned again under its identity after
// a rename, or booked by Create under the identity it was just given.
func TestLedgerKeysByIdentity(t *testing.T) {
	l := NewLedger()
	all := func(Planned) bool { return true }
	l.Record(Planned{ID: "aa", Name: "old-name", DC: "DC1", MemoryMB: 1024})
	l.Record(Planned{ID: "aa", Name: "new-name", DC: "DC1", MemoryMB: 2048}) // renamed: replaces
	l.Record(Planned{Name: "fresh", DC: "DC1", MemoryMB: 512})
	got := l.InDC(Planned{Name: "x", DC: "DC1"}, all)
	if len(got) != 2 || got[0].Name != "fresh" || got[1].Name != "new-name" || got[1].MemoryMB != 2048 {
		t.Fatalf("InDC = %+v", got)
	}
	l.Book(Planned{Name: "fresh", DC: "DC1", MemoryMB: 512}, "bb", "pve2")
	got = l.InDC(Planned{Name: "x", DC: "DC1"}, all)
	if len(got) != 2 || got[0].ID != "bb" || got[0].Node != "pve2" || got[0].Name != "fresh" {
		t.Fatalf("after Book, InDC = %+v", got)
	}
	// The booked VM is itself by identity and not by its old plan key any more.
	if got := l.InDC(Planned{ID: "bb", Name: "fresh", DC: "DC1"}, all); len(got) != 1 || got[0].ID != "aa" {
		t.Fatalf("InDC(booked VM) = %+v", got)
	}
	// Two VMs of one name with different identities stay apart.
	l.Record(Planned{ID: "cc", Name: "new-name", DC: "DC1"})
	if got := l.InDC(Planned{Name: "x", DC: "DC1"}, all); len(got) != 3 {
		t.Fatalf("InDC with two same-named VMs = %+v", got)
	}
}
