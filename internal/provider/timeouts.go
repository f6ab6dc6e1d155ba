package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// How long an operation may take unless the configuration's timeouts say otherwise. Waiting
// stops promptly at the deadline or on Ctrl-C: every wait honours the context.
const (
	defaultVMTimeout        = 20 * time.Minute
	defaultNetworkTimeout   = 5 * time.Minute
	defaultMigrationTimeout = 2 * time.Hour
)

// withTimeout bounds ctx by the configured timeout for an operation (one of timeouts.Value's
// Create/Update/Delete methods).
func withTimeout(ctx context.Context, get func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), def time.Duration) (context.Context, context.CancelFunc, diag.Diagnostics) {
	d, diags := get(ctx, def)
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, diags
}
