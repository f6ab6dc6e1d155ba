package provider

import (
	"context"
	"fmt"
	"math"
	"math/big"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// wholeNumber is the type of an integer attribute that says which numbers it takes when a value
// is no int64 at all (1.5, 99999999999999999999). The framework's own Int64 type fails those with
// a conversion error that blames the provider; values that are whole numbers still go through
// the attribute's validators, which check the range.
type wholeNumber struct {
	basetypes.Int64Type
	min, max int64
}

// wholeNumberFrom returns the type of an integer attribute taking min..max (math.MaxInt64: no
// upper bound).
func wholeNumberFrom(minimum, maximum int64) wholeNumber {
	return wholeNumber{min: minimum, max: maximum}
}

var _ basetypes.Int64Typable = wholeNumber{}

// Equal also holds for the plain Int64 type: values stay basetypes.Int64Value (so models keep
// types.Int64 fields), and objects and lists check their values' types against the schema's.
func (t wholeNumber) Equal(o attr.Type) bool {
	switch other := o.(type) {
	case wholeNumber:
		return other.min == t.min && other.max == t.max
	case basetypes.Int64Type:
		return true
	}
	return false
}

func (t wholeNumber) String() string { return fmt.Sprintf("wholeNumber(%d..%d)", t.min, t.max) }

// allowed words the range for messages.
func (t wholeNumber) allowed() string {
	if t.max == math.MaxInt64 {
		return fmt.Sprintf("a whole number of at least %d", t.min)
	}
	return fmt.Sprintf("a whole number from %d to %d", t.min, t.max)
}

// ValueFromTerraform reads a value no int64 holds as unknown rather than failing: the framework
// reads whole configurations (and objects around this attribute) through it, and a failure there
// is reported as a provider bug on the enclosing attribute. Validate, which the framework runs on
// every configured value, reports the number on its own attribute, so an unknown from here never
// reaches a plan.
func (t wholeNumber) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	if in.IsKnown() && !in.IsNull() && in.Type() != nil && in.Type().Is(tftypes.Number) {
		var f *big.Float
		if err := in.As(&f); err == nil && !isInt64(f) {
			return basetypes.NewInt64Unknown(), nil
		}
	}
	return t.Int64Type.ValueFromTerraform(ctx, in)
}

func isInt64(f *big.Float) bool {
	if !f.IsInt() {
		return false
	}
	_, acc := f.Int64()
	return acc == big.Exact
}

// Validate runs before the value is converted, wherever the framework reads configuration.
func (t wholeNumber) Validate(ctx context.Context, in tftypes.Value, p path.Path) diag.Diagnostics {
	if in.Type() == nil || !in.Type().Is(tftypes.Number) || !in.IsKnown() || in.IsNull() {
		return t.Int64Type.Validate(ctx, in, p)
	}
	var f *big.Float
	if err := in.As(&f); err != nil {
		return t.Int64Type.Validate(ctx, in, p)
	}
	if isInt64(f) {
		return nil
	}
	var diags diag.Diagnostics
	diags.AddAttributeError(shownPath(p), "Invalid number", fmt.Sprintf("%s must be %s, got %s.", p, t.allowed(), numberText(f)))
	return diags
}

// shownPath is where Terraform can point for a diagnostic at p: inside the provider block's
// datacenters map it underlines nothing deeper than a datacenter's entry (it resolves nested
// attributes of an expression only as far as a map key), and falls back to the provider block's
// first line for anything deeper. Details name the full attribute path.
func shownPath(p path.Path) path.Path {
	steps := p.Steps()
	if len(steps) <= 2 || !steps[0].Equal(path.PathStepAttributeName("datacenters")) {
		return p
	}
	key, ok := steps[1].(path.PathStepElementKeyString)
	if !ok {
		return p
	}
	return path.Root("datacenters").AtMapKey(string(key))
}

// numberText writes a number as the user typed it, in exponent form only when it is huge.
func numberText(f *big.Float) string {
	if f.MantExp(nil) > 128 {
		return f.Text('g', 10)
	}
	return f.Text('f', -1)
}
