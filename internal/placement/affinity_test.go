package placement

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheckAffinity(t *testing.T) {
	others := []Placed{{"db-1", "DC1"}, {"db-2", "DC2"}, {"cache", "DC1"}, {"cache", "DC2"}, {"web-1", "DC9"}}
	cases := []struct {
		name      string
		dc        string
		rules     Affinity
		errs      int
		warns     int
		errSubstr string
	}{
		{"no rules", "DC1", Affinity{}, 0, 0, ""},
		{"anti-affinity holds", "DC2", Affinity{RequireDifferentDC: []string{"db-1"}}, 0, 0, ""},
		{"anti-affinity broken", "DC1", Affinity{RequireDifferentDC: []string{"db-1", "db-1"}}, 1, 0, `"db-1" is in DC1 too`},
		{"anti-affinity with a VM in two DCs", "DC2", Affinity{RequireDifferentDC: []string{"cache"}}, 1, 0, `"cache"`},
		{"unknown names are ignored", "DC1", Affinity{RequireDifferentDC: []string{"ghost"}, PreferSameDC: []string{"ghost"}}, 0, 0, ""},
		{"preference met", "DC1", Affinity{PreferSameDC: []string{"db-1", "cache"}}, 0, 0, ""},
		{"preference missed is a warning", "DC1", Affinity{PreferSameDC: []string{"db-2"}}, 0, 1, ""},
		{"a VM's own name never counts", "DC9", Affinity{RequireDifferentDC: []string{"web-1"}}, 0, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := CheckAffinity("web-1", tc.dc, tc.rules, others)
			if len(v.Errors) != tc.errs || len(v.Warnings) != tc.warns {
				t.Fatalf("got %+v, want %d errors and %d warnings", v, tc.errs, tc.warns)
			}
			if tc.errSubstr != "" && !strings.Contains(v.Errors[0], tc.errSubstr) {
				t.Fatalf("error %q lacks %q", v.Errors[0], tc.errSubstr)
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
