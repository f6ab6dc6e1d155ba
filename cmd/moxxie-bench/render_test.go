package main

import (
	"strings"
	"testing"
	"time"
)

// A report without the scale rows says why they are missing and how to run them; one with them
// does not.
func TestRenderNotesMissingScaleRows(t *testing.T) {
	rows := []row{{what: "a row", figure: "1", target: "at most 1", ok: true}}
	now := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)
	if got := render(rows, now, "1 1 1", "1 1 1", false); !strings.Contains(got, scaleNote) {
		t.Errorf("report without scale rows lacks the note:\n%s", got)
	}
	if got := render(rows, now, "1 1 1", "1 1 1", true); strings.Contains(got, scaleNote) {
		t.Errorf("report with scale rows carries the note for their absence:\n%s", got)
	}
}
