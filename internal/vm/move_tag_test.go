package vm

import "testing"

// A move's tag is moxxie's, not the user's: it is not listed among the tags, and an update of
// the user's tags keeps it, so an interrupted move can still be finished.
func TestMoveTagIsKeptOutOfUserTagsAndSurvivesATagUpdate(t *testing.T) {
	const id = "0123456789abcdef"
	tags := ParseTags("db;moxxie-" + id + ";moxxie-move.dc1.100.1")
	gotID, user := SplitTags(tags)
	if gotID != id || len(user) != 1 || user[0] != "db" {
		t.Fatalf("SplitTags = %q, %q", gotID, user)
	}
	if MoveTag(tags) != "moxxie-move.dc1.100.1" {
		t.Errorf("MoveTag = %q", MoveTag(tags))
	}
	old := VM{ID: id, Tags: user, Move: MoveTag(tags)}
	p := updateParams(id, old, Spec{Tags: []string{"db", "web"}})
	if p["tags"] != "db;moxxie-"+id+";moxxie-move.dc1.100.1;web" {
		t.Errorf("tags written = %v, want the move tag kept", p["tags"])
	}
}
