package placement

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheckAffinity(t *testing.T) {
	others := []Placed{
		{Name: "db-1", DC: "DC1", Node: "pve1", Tags: []string{"team-db"}},
		{Name: "db-2", DC: "DC2", Node: "pve1", Tags: []string{"team-db"}},
		{Name: "cache", DC: "DC1", Node: "pve2"},
		{Name: "cache", DC: "DC2", Node: "pve1"},
		{Name: "web-1", DC: "DC9", Tags: []string{"team-web"}},
		{Name: "web-2", DC: "DC1", Node: "pve3", Tags: []string{"team-web"}},
	}
	cases := []struct {
		name                   string
		dc                     string
		online                 int
		rules                  Affinity
		errs, warns, unmatched int
		substr                 string // of the first error, else warning, else unmatched
	}{
		{"no rules", "DC1", 3, Affinity{}, 0, 0, 0, ""},
		{"anti-affinity holds", "DC2", 3, Affinity{RequireDifferentDC: []string{"db-1"}}, 0, 0, 0, ""},
		{"anti-affinity broken", "DC1", 3, Affinity{RequireDifferentDC: []string{"db-1", "db-1"}}, 1, 0, 0, `"db-1" is in DC1 too`},
		{"anti-affinity with a VM in two DCs", "DC2", 3, Affinity{RequireDifferentDC: []string{"cache"}}, 1, 0, 0, `"cache"`},
		{"unknown names hold but are reported", "DC1", 3, Affinity{RequireDifferentDC: []string{"ghost"}, PreferSameDC: []string{"ghost"}}, 0, 0, 2, `"ghost", which no datacenter holds`},
		{"preference met", "DC1", 3, Affinity{PreferSameDC: []string{"db-1", "cache"}}, 0, 0, 0, ""},
		{"preference missed is a warning", "DC1", 3, Affinity{PreferSameDC: []string{"db-2"}}, 0, 1, 0, "prefer_same_dc"},
		{"a VM's own name never counts", "DC9", 3, Affinity{RequireDifferentDC: []string{"web-1"}}, 0, 0, 1, ""},
		{"a same-named VM elsewhere counts", "DC1", 3, Affinity{RequireDifferentDC: []string{"web-1"}}, 0, 0, 0, ""},
		{"tag group apart broken", "DC1", 3, Affinity{RequireDifferentDCTags: []string{"team-db"}}, 1, 0, 0, `VMs tagged "team-db" (require_different_dc_tags), but "db-1" is in DC1`},
		{"tag group apart holds", "DC3", 3, Affinity{RequireDifferentDCTags: []string{"team-db"}}, 0, 0, 0, ""},
		{"own tag does not count against itself", "DC9", 3, Affinity{RequireDifferentDCTags: []string{"team-web"}}, 0, 0, 0, ""},
		{"tag nobody carries", "DC1", 3, Affinity{RequireDifferentDCTags: []string{"team-x"}, PreferSameDCTags: []string{"team-y"}}, 0, 0, 2, `tag "team-x"`},
		{"tag group preference missed", "DC3", 3, Affinity{PreferSameDCTags: []string{"team-db"}}, 0, 1, 0, "DC1, DC2"},
		{"node rules resolve in the own DC only", "DC1", 3, Affinity{RequireDifferentNode: []string{"db-2"}, PreferSameNode: []string{"web-1"}}, 0, 0, 2, `"db-2", which DC1 does not hold`},
		{"apart on free nodes", "DC1", 3, Affinity{RequireDifferentNode: []string{"db-1", "cache"}}, 0, 0, 0, ""},
		{"apart needs more nodes than online", "DC1", 2, Affinity{RequireDifferentNode: []string{"db-1", "cache"}}, 1, 0, 0, "needs 3 nodes, but DC1 has 2 online"},
		{"apart but pinned onto the peer's node", "DC1", 3, Affinity{RequireDifferentNode: []string{"db-1"}, Node: "pve1"}, 1, 0, 0, "node is set to pve1"},
		{"apart and pinned elsewhere", "DC1", 3, Affinity{RequireDifferentNode: []string{"db-1"}, Node: "pve2"}, 0, 0, 0, ""},
		{"together and pinned elsewhere", "DC1", 3, Affinity{PreferSameNode: []string{"db-1"}, Node: "pve2"}, 0, 1, 0, "prefer_same_node"},
		{"together, node chosen", "DC1", 3, Affinity{PreferSameNode: []string{"db-1"}}, 0, 0, 0, ""},
		{"together and apart at once", "DC1", 3, Affinity{PreferSameNode: []string{"db-1"}, RequireDifferentNode: []string{"db-1"}}, 1, 0, 0, "both require_different_node and prefer_same_node"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := CheckAffinity(Placed{Name: "web-1", DC: tc.dc, Node: tc.rules.Node, Tags: []string{"team-web"}}, tc.rules, others, tc.online)
			if len(v.Errors) != tc.errs || len(v.Warnings) != tc.warns || len(v.Unmatched) != tc.unmatched {
				t.Fatalf("got %+v, want %d errors, %d warnings, %d unmatched", v, tc.errs, tc.warns, tc.unmatched)
			}
			first := append(append(append([]string(nil), v.Errors...), v.Warnings...), v.Unmatched...)
			if tc.substr != "" && !strings.Contains(first[0], tc.substr) {
				t.Fatalf("%q lacks %q", first[0], tc.substr)
			}
		})
	}
}

// The rules of VMs planned earlier in the run hold against the VM planned now.
func TestCheckRulesOn(t *testing.T) {
	planned := []Planned{
		{Name: "db-1", DC: "DC1", Affinity: Affinity{RequireDifferentDC: []string{"web-1"}}},
		{Name: "db-2", DC: "DC1", Affinity: Affinity{RequireDifferentDCTags: []string{"team-web"}}},
		{Name: "db-3", DC: "DC1", Affinity: Affinity{RequireDifferentNode: []string{"web-1"}, Node: "pve2"}},
		{Name: "db-4", DC: "DC2", Affinity: Affinity{RequireDifferentDC: []string{"web-1"}}},
		{Name: "db-5", DC: "DC1", Affinity: Affinity{PreferSameNode: []string{"web-1"}}},
	}
	cases := []struct {
		name  string
		me    Placed
		rules Affinity
		want  []string
	}{
		{"every rule broken", Placed{Name: "web-1", DC: "DC1", Tags: []string{"team-web"}}, Affinity{Node: "pve2"}, []string{`"db-1"`, `"db-2"`, `"db-3"`}},
		{"other node, other tags", Placed{Name: "web-1", DC: "DC1"}, Affinity{Node: "pve1"}, []string{`"db-1"`}},
		{"node chosen by moxxie", Placed{Name: "web-1", DC: "DC1"}, Affinity{}, []string{`"db-1"`}},
		{"other datacenter", Placed{Name: "web-1", DC: "DC3", Tags: []string{"team-web"}}, Affinity{Node: "pve2"}, nil},
		{"other name", Placed{Name: "web-2", DC: "DC1"}, Affinity{Node: "pve2"}, nil},
		{"apart by one, together by the other", Placed{Name: "web-1", DC: "DC1"}, Affinity{RequireDifferentNode: []string{"db-5"}, PreferSameNode: []string{"db-3"}},
			[]string{`"db-1"`, `VMs "db-3" and "web-1" are to be kept apart`, `VMs "db-5" and "web-1" are to be kept apart`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := CheckRulesOn(tc.me, tc.rules, planned)
			if len(v.Errors) != len(tc.want) {
				t.Fatalf("errors %q, want %d", v.Errors, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(v.Errors[i], w) {
					t.Errorf("error %q lacks %s", v.Errors[i], w)
				}
			}
		})
	}
}

func TestLedgerReplacesByDatacenterAndName(t *testing.T) {
	l := NewLedger()
	l.Record(Planned{Name: "b", DC: "DC1", Cores: 1})
	l.Record(Planned{Name: "a", DC: "DC1", Cores: 2})
	l.Record(Planned{Name: "b", DC: "DC1", Cores: 4}) // planned again during apply
	l.Record(Planned{Name: "b", DC: "DC2", Cores: 8}) // another VM of the same name elsewhere
	got := l.Others(Planned{Name: "x", DC: "DC1"})
	want := []Planned{{Name: "a", DC: "DC1", Cores: 2}, {Name: "b", DC: "DC1", Cores: 4}, {Name: "b", DC: "DC2", Cores: 8}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Others = %+v, want %+v", got, want)
	}
	if got := l.Others(Planned{Name: "b", DC: "DC1"}); len(got) != 2 || got[0].Name != "a" || got[1].DC != "DC2" {
		t.Fatalf("Others(b in DC1) = %+v", got)
	}
}

// InDC is what a VM's checks see of its neighbours: its own datacenter only, never itself, only
// the entries the check keeps, sorted by name, and the latest entry of a VM planned twice.
func TestLedgerInDC(t *testing.T) {
	l := NewLedger()
	l.Record(Planned{Name: "c", DC: "DC1"})
	l.Record(Planned{Name: "a", DC: "DC1", Exists: true})
	l.Record(Planned{Name: "b", DC: "DC1", Exists: true})
	l.Record(Planned{Name: "b", DC: "DC1"}) // planned again: now a create
	l.Record(Planned{Name: "d", DC: "DC2"})
	l.Record(Planned{Name: "me", DC: "DC1"})
	me := Planned{Name: "me", DC: "DC1"}
	creates := l.InDC(me, func(p Planned) bool { return !p.Exists })
	if want := []Planned{{Name: "b", DC: "DC1"}, {Name: "c", DC: "DC1"}}; !reflect.DeepEqual(creates, want) {
		t.Fatalf("InDC(creates) = %+v, want %+v", creates, want)
	}
	if got := l.InDC(me, func(Planned) bool { return false }); len(got) != 0 {
		t.Fatalf("InDC(none) = %+v", got)
	}
	if got := l.InDC(Planned{Name: "x", DC: "DC3"}, func(Planned) bool { return true }); len(got) != 0 {
		t.Fatalf("InDC of an empty datacenter = %+v", got)
	}
	if got := l.InDC(Planned{Name: "z", DC: "DC2"}, func(Planned) bool { return true }); len(got) != 1 || got[0].Name != "d" {
		t.Fatalf("InDC(DC2) = %+v", got)
	}
}
