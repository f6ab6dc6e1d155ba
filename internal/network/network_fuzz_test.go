package network

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzParseAllocationID: ParseID never panics; an error names the id and returns no partial Ref;
// an accepted id is exactly what ID (or DC/VNET) renders from the Ref, and parses back to it.
func FuzzParseAllocationID(f *testing.F) {
	for _, s := range []string{
		"DC1/acme/default", "DC2/mxv4094", "dc-east/team_a.b/net-7", "DC1", "DC1/vnet1", "/acme/default",
		"DC1//default", "DC1/acme/default/x", "DC1/mxv", "DC1/mxv12345", "DC1/ac me/default", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ref, err := ParseID(id)
		if err != nil {
			if ref != (Ref{}) {
				t.Fatalf("ParseID(%q) failed but returned %+v", id, ref)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", id)) {
				t.Fatalf("error %q does not name the id %q", err, id)
			}
			return
		}
		if ref.DC == "" || strings.Contains(ref.DC, "/") {
			t.Fatalf("ParseID(%q): datacenter %q", id, ref.DC)
		}
		var back string
		if ref.Vnet != "" {
			if ref.ClientID != "" || ref.Name != "" {
				t.Fatalf("ParseID(%q) = %+v: a vnet ref with client or name", id, ref)
			}
			back = ref.DC + "/" + ref.Vnet
		} else {
			if !LabelPattern.MatchString(ref.ClientID) || !LabelPattern.MatchString(ref.Name) {
				t.Fatalf("ParseID(%q) = %+v: client or name outside LabelPattern", id, ref)
			}
			back = ID(ref.DC, ref.ClientID, ref.Name)
			if a := (Allocation{DC: ref.DC, ClientID: ref.ClientID, Name: ref.Name}).ID(); a != back {
				t.Fatalf("Allocation.ID = %q, ID = %q", a, back)
			}
		}
		if back != id {
			t.Fatalf("ParseID(%q) = %+v renders back as %q", id, ref, back)
		}
		if again, err := ParseID(back); err != nil || again != ref {
			t.Fatalf("ParseID(%q) = %+v, %v; want %+v", back, again, err, ref)
		}
	})
}
