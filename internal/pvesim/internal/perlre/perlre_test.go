package perlre

import (
	"regexp"
	"strings"
	"testing"
)

func TestToGo(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`(?^:[A-Za-z][A-Za-z0-9\.\-_]+)`, `(?:[A-Za-z][A-Za-z0-9\.\-_]+)`},
		{`(?^i:a{,5})`, `(?i:a{0,5})`},
		{`[0-9a-zA-Z!=]{0,4096}`, strings.Repeat(`[0-9a-zA-Z!=]{0,1000}`, 4) + `[0-9a-zA-Z!=]{0,96}`},
		{`x{0,2000}`, `x{0,1000}x{0,1000}`},
		{`[a]{0,1000}`, `[a]{0,1000}`},
	} {
		if got := ToGo(tt.in); got != tt.want {
			t.Errorf("ToGo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A long range keeps its lengths: 4096 matches, 4097 does not.
	re := regexp.MustCompile(`^(?:` + ToGo(`[0-9a-zA-Z!=]{0,4096}`) + `)$`)
	if !re.MatchString(strings.Repeat("a", 4096)) || !re.MatchString("") || re.MatchString(strings.Repeat("a", 4097)) || re.MatchString("a b") {
		t.Error("rewritten {0,4096} matches other lengths or characters")
	}
}
