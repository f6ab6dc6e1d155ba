package provider

import (
	"os/exec"
	"strings"
	"testing"
)

// CONTRIBUTING.md's layout rule: only the provider glue (and main) imports Terraform's plugin
// packages; domain packages stay plain Go. terraform-plugin-log is the one exception, for
// dcrouter's request logging.
func TestOnlyTheProviderImportsTerraform(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/moxxie/terraform-provider-moxxie/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/moxxie/terraform-provider-moxxie"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		if pkg == mod || pkg == mod+"/internal/provider" {
			continue // main and the glue
		}
		checked++
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, "github.com/hashicorp/terraform-") && imp != "github.com/hashicorp/terraform-plugin-log/tflog" {
				t.Errorf("%s imports %s: Terraform types belong in internal/provider", pkg, imp)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d packages checked: go list did not list the module", checked)
	}
}
