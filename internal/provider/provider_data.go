package provider

import (
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
)

// dataFrom unpacks what Configure stored; nil (provider not configured yet, e.g. during
// validation) is not an error.
func dataFrom(v any, diags *diag.Diagnostics) *providerData {
	if v == nil {
		return nil
	}
	d, ok := v.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("Expected *providerData, got %T. Please report this issue to the provider developers.", v))
		return nil
	}
	return d
}

// client returns the datacenter's Proxmox client, or an error that lists the datacenters the
// provider block declares.
func (d *providerData) client(dc string) (*dcrouter.Client, error) {
	if _, ok := d.dcs[dc]; !ok {
		return nil, unknownDCError(dc, d.dcs.Names())
	}
	return d.router.Client(dc)
}

func unknownDCError(dc string, names []string) error {
	return fmt.Errorf("datacenter %q is not declared in the provider block (configured: %s)", dc, strings.Join(names, ", "))
}
