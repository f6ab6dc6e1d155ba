package provider

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// notMatching rejects strings that match re: the inverse of stringvalidator.RegexMatches, which
// Go's regexp (no look-ahead) cannot express.
func notMatching(re *regexp.Regexp, message string) validator.String {
	return notMatchingValidator{re: re, message: message}
}

type notMatchingValidator struct {
	re      *regexp.Regexp
	message string
}

func (v notMatchingValidator) Description(context.Context) string {
	return fmt.Sprintf("value must not match %s", v.re)
}

func (v notMatchingValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v notMatchingValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if s := req.ConfigValue.ValueString(); v.re.MatchString(s) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid value", fmt.Sprintf("%q %s.", s, v.message))
	}
}

// validRegexp checks at validation time that a string compiles as a Go regular expression.
func validRegexp() validator.String { return regexpValidator{} }

type regexpValidator struct{}

func (regexpValidator) Description(context.Context) string {
	return "value must be a Go (RE2) regular expression"
}

func (v regexpValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (regexpValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := regexp.Compile(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid regular expression", err.Error())
	}
}
