package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// canonicalImportID is the form users type and docs show: a datacenter name and a VMID.
var canonicalImportID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,39}/[1-9][0-9]{2,8}$`)

// FuzzVMImportID: parseVMImportID never panics; every canonical DC/VMID is accepted as written;
// an accepted id has a datacenter without "/" and a VMID PVE allows, and its canonical form
// parses to the same; an error quotes the id it refuses.
func FuzzVMImportID(f *testing.F) {
	for _, s := range []string{"DC1/105", "dc-east/999999999", "DC1-105", "DC1/abc", "DC9/105", "DC1/99", "DC1/1000000000",
		"/105", "DC1/", "DC1/+105", "DC1/0105", "DC1/105/x", " DC1/105", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		dc, vmid, err := parseVMImportID(id)
		if err != nil {
			if canonicalImportID.MatchString(id) {
				t.Fatalf("canonical import ID %q refused: %v", id, err)
			}
			if dc != "" || vmid != 0 {
				t.Fatalf("parseVMImportID(%q) failed but returned %q, %d", id, dc, vmid)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", id)) {
				t.Fatalf("error %q does not quote the id %q", err, id)
			}
			return
		}
		if dc == "" || strings.Contains(dc, "/") || vmid < 100 || vmid > 999999999 {
			t.Fatalf("parseVMImportID(%q) = %q, %d", id, dc, vmid)
		}
		canonical := dc + "/" + strconv.Itoa(vmid)
		if canonicalImportID.MatchString(id) && canonical != id {
			t.Fatalf("parseVMImportID(%q) = %q, %d: not what was written", id, dc, vmid)
		}
		if dc2, vmid2, err := parseVMImportID(canonical); err != nil || dc2 != dc || vmid2 != vmid {
			t.Fatalf("parseVMImportID(%q) = %q, %d, %v; want %q, %d", canonical, dc2, vmid2, err, dc, vmid)
		}
	})
}
