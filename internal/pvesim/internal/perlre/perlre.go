// Package perlre rewrites the Perl regular expressions of the PVE API
// schema into Go's RE2 syntax.
package perlre

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	openRangeRe = regexp.MustCompile(`\{,(\d+)\}`)
	// longRangeRe is a single-character atom (class, escape or literal)
	// repeated {0,n}.
	longRangeRe = regexp.MustCompile(`(\[(?:\\.|[^\]\\])*\]|\\.|[^\\\])}])\{0,(\d+)\}`)
)

// maxRepeat is RE2's largest repeat count.
const maxRepeat = 1000

// ToGo rewrites what Perl's stringified regexes use and RE2 spells
// otherwise: (?^:...) and (?^i:...) groups, {,n} quantifiers, and
// {0,n} of one character beyond RE2's limit of 1000, spelt as runs of at
// most 1000 (the same lengths match).
func ToGo(p string) string {
	p = strings.ReplaceAll(p, "(?^i:", "(?i:")
	p = strings.ReplaceAll(p, "(?^:", "(?:")
	p = openRangeRe.ReplaceAllString(p, "{0,$1}")
	return longRangeRe.ReplaceAllStringFunc(p, func(m string) string {
		sub := longRangeRe.FindStringSubmatch(m)
		n, err := strconv.Atoi(sub[2])
		if err != nil || n <= maxRepeat {
			return m
		}
		// RE2 also refuses nested repeats beyond the limit: spell the
		// runs out one after another.
		var b strings.Builder
		for ; n > 0; n -= maxRepeat {
			fmt.Fprintf(&b, "%s{0,%d}", sub[1], min(n, maxRepeat))
		}
		return b.String()
	})
}
