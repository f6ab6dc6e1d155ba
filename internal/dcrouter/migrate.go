package dcrouter

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// TargetEndpoint builds the target-endpoint value of remote_migrate for a
// datacenter: "host=H,port=P,apitoken=PVEAPIToken=ID=SECRET[,fingerprint=FP]".
// The port is always given: the URL's own, else 443 for https, since PVE
// itself would assume 8006. The result contains the API token secret:
// never log it (RemoteMigrate masks it in its own logs and errors).
func TargetEndpoint(cfg Config) (string, error) {
	norm, err := NormalizeURL(cfg.URL)
	if err != nil {
		return "", fmt.Errorf("datacenter %q: %w", cfg.Name, err)
	}
	u, err := url.Parse(norm)
	if err != nil {
		return "", fmt.Errorf("datacenter %q: %w", cfg.Name, err)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("datacenter %q: remote migration needs an https URL (PVE connects with TLS), not %s", cfg.Name, u.Scheme)
	}
	if !cfg.usesToken() {
		return "", fmt.Errorf("datacenter %q: remote migration needs an API token; username/password cannot be passed to PVE", cfg.Name)
	}
	if err := validateTokenID(cfg.TokenID); err != nil {
		return "", fmt.Errorf("datacenter %q: API token: %w", cfg.Name, err)
	}
	if err := validateTokenSecret(cfg.TokenSecret); err != nil || strings.Contains(cfg.TokenSecret, ",") {
		// A comma would end the property inside target-endpoint.
		return "", fmt.Errorf("datacenter %q: API token %q: the secret must be non-empty without ',' or whitespace", cfg.Name, cfg.TokenID+"=...")
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	parts := []string{"host=" + u.Hostname(), "port=" + port, "apitoken=PVEAPIToken=" + cfg.TokenID + "=" + cfg.TokenSecret}
	if cfg.TLSFingerprint != "" {
		fp, err := NormalizeFingerprint(cfg.TLSFingerprint)
		if err != nil {
			return "", fmt.Errorf("datacenter %q: %w", cfg.Name, err)
		}
		parts = append(parts, "fingerprint="+fp)
	}
	return strings.Join(parts, ","), nil
}

// RemoteMigrate sends POST .../remote_migrate and returns the qmigrate
// task's UPID (on the source node). params carries PVE's parameters:
// "target-endpoint" (see TargetEndpoint), "target-storage" and
// "target-bridge" (required), "online", "delete", "target-vmid",
// "bwlimit". The token secret inside target-endpoint is masked in logs
// and in the returned error.
//
// PVE refuses at once (an *APIError) a locked or HA-managed VM, a running
// VM without online, identity storage mapping, and a target that is
// unreachable or rejects the token. Everything else fails the task with
// exit status "migration aborted" (see TaskLog for the reason): snapshots,
// linked clones, attached ISOs, missing target storage or bridge, a taken
// target VMID. The source then is unchanged; on success it is stopped and
// keeps lock "migrate" unless delete was set.
func (c *Client) RemoteMigrate(ctx context.Context, node string, vmid int, params map[string]any) (string, error) {
	endpoint, _ := params["target-endpoint"].(string)
	if endpoint == "" {
		return "", fmt.Errorf("%s: remote migration of VM %d: params must include target-endpoint", c.dc, vmid)
	}
	secret := endpointSecret(endpoint)
	if secret != "" {
		ctx = withExtraSecrets(ctx, secret)
	}
	upid, err := c.vmAction(ctx, node, vmid, "/remote_migrate", params)
	if err != nil && secret != "" {
		err = redactError(err, secret)
	}
	return upid, err
}

// endpointSecret extracts the token secret of a target-endpoint value.
func endpointSecret(endpoint string) string {
	for _, part := range strings.Split(endpoint, ",") {
		token, ok := strings.CutPrefix(part, "apitoken=")
		if !ok {
			continue
		}
		token = strings.TrimPrefix(token, "PVEAPIToken=")
		if _, secret, ok := strings.Cut(token, "="); ok {
			return secret
		}
	}
	return ""
}

type extraSecretsKey struct{}

// withExtraSecrets adds values the request log must mask besides the
// DC's own credentials (another DC's token inside a parameter).
func withExtraSecrets(ctx context.Context, secrets ...string) context.Context {
	prev, _ := ctx.Value(extraSecretsKey{}).([]string)
	return context.WithValue(ctx, extraSecretsKey{}, append(append([]string(nil), prev...), secrets...))
}

func extraSecrets(ctx context.Context) []string {
	s, _ := ctx.Value(extraSecretsKey{}).([]string)
	return s
}

// redactedError hides a secret in an error's text but keeps its chain.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

func redactError(err error, secret string) error {
	if !strings.Contains(err.Error(), secret) {
		return err
	}
	// Only a bare *APIError is copied field by field; a wrapped one keeps
	// its wrapper's text through redactedError below.
	var ae *APIError
	if errors.As(err, &ae) && err == error(ae) { //nolint:errorlint // identity check on purpose: err itself, not its chain
		cp := *ae
		cp.Message = strings.ReplaceAll(cp.Message, secret, "***")
		cp.Errors = make(map[string]string, len(ae.Errors))
		for k, v := range ae.Errors {
			cp.Errors[k] = strings.ReplaceAll(v, secret, "***")
		}
		cp.cause = nil // go-proxmox's error repeats the unredacted text
		return &cp
	}
	cause := errors.Unwrap(err)
	if cause != nil && strings.Contains(cause.Error(), secret) {
		cause = nil
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), secret, "***"), cause: cause}
}

// TaskLog returns the lines of a task's log (GET .../tasks/{upid}/log),
// where PVE explains failures that the exit status only summarises (a
// failed remote migration ends "migration aborted").
func (c *Client) TaskLog(ctx context.Context, upid string) ([]string, error) {
	u, err := ParseUPID(upid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.dc, err)
	}
	var lines []struct {
		N flexInt    `json:"n"`
		T flexString `json:"t"`
	}
	path := "/nodes/" + pathSegment(u.Node) + "/tasks/" + pathSegment(upid) + "/log"
	if err := c.Get(ctx, path, map[string]any{"start": 0, "limit": 10000}, &lines); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, string(l.T))
	}
	return out, nil
}
