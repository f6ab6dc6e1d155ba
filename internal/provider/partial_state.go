package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// partialState stores what a failed create leaves behind: the planned values with everything
// still unknown set to null, plus the given string attributes. Terraform keeps such a resource as
// tainted, so the next apply replaces it instead of creating a second one beside it.
func partialState(ctx context.Context, plan tftypes.Value, state *tfsdk.State, set map[string]string) diag.Diagnostics {
	var diags diag.Diagnostics
	raw, err := tftypes.Transform(plan, func(_ *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if !v.IsKnown() {
			return tftypes.NewValue(v.Type(), nil), nil
		}
		return v, nil
	})
	if err != nil {
		diags.AddError("Cannot record the partly created resource", err.Error())
		return diags
	}
	state.Raw = raw
	for k, v := range set {
		diags.Append(state.SetAttribute(ctx, path.Root(k), v)...)
	}
	return diags
}
