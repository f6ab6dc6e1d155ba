package vm

import (
	"reflect"
	"testing"
)

func TestNewIDIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if !ValidID(id) {
			t.Fatalf("NewID() = %q is not valid", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestSplitAndJoinTags(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		wantID string
		user   []string
	}{
		{"identity and user tags", "web;moxxie-0123456789abcdef;prod", "0123456789abcdef", []string{"prod", "web"}},
		{"other separators and duplicates", "b,a a;b", "", []string{"a", "b"}},
		{"look-alike tags stay user tags", "moxxie-xyz;moxxie-0123456789ABCDEF", "", []string{"moxxie-0123456789ABCDEF", "moxxie-xyz"}},
		{"empty", "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, user := SplitTags(ParseTags(tc.in))
			if id != tc.wantID || !reflect.DeepEqual(user, tc.user) {
				t.Fatalf("SplitTags(%q) = %q, %v; want %q, %v", tc.in, id, user, tc.wantID, tc.user)
			}
			back, backUser := SplitTags(ParseTags(JoinTags(id, user)))
			if back != id || !reflect.DeepEqual(backUser, user) {
				t.Fatalf("round trip lost data: %q %v", back, backUser)
			}
		})
	}
}
