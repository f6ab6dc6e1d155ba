package dcrouter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/luthermonson/go-proxmox"
)

// Client talks to one datacenter's PVE API. It is safe for concurrent use;
// at most Config.MaxConcurrent requests are in flight at once.
//
// Every method, including writes, is retried on network errors and HTTP
// 429/502/503/504, so a write may reach PVE more than once when a response
// is lost: callers must make writes idempotent (see the package docs).
type Client struct {
	dc        string
	subsystem string
	api       *proxmox.Client
	sem       chan struct{}
	secrets   []string
	pollMin   time.Duration
	pollMax   time.Duration
	ticket    *ticketAuth // nil with token auth
	state     stateCache
	reach     *reach
}

func newClient(cfg Config, set settings) (*Client, error) {
	hc, rch, err := newHTTPClient(cfg, set)
	if err != nil {
		return nil, fmt.Errorf("datacenter %q: %w", cfg.Name, err)
	}
	opts := []proxmox.Option{
		proxmox.WithHTTPClient(hc),
		// go-proxmox's own logger prints request bodies; keep it silent.
		proxmox.WithLogger(quietLogger{}),
		proxmox.WithUserAgent("terraform-provider-moxxie"),
	}
	c := &Client{
		dc:        cfg.Name,
		subsystem: "dc." + cfg.Name,
		sem:       make(chan struct{}, cfg.MaxConcurrent),
		secrets:   cfg.secrets(),
		pollMin:   set.pollMin,
		pollMax:   set.pollMax,
		reach:     rch,
	}
	if cfg.usesToken() {
		opts = append(opts, proxmox.WithAPIToken(cfg.TokenID, cfg.TokenSecret))
	} else {
		creds := &proxmox.Credentials{Username: cfg.Username, Password: cfg.Password}
		opts = append(opts, proxmox.WithCredentials(creds))
		c.ticket = &ticketAuth{creds: creds}
	}
	c.api = proxmox.NewClient(strings.TrimSuffix(cfg.URL, "/"), opts...)
	return c, nil
}

// DC returns the datacenter name this client talks to.
func (c *Client) DC() string { return c.dc }

// Get performs GET path?query and decodes the response's "data" into out (may be nil).
func (c *Client) Get(ctx context.Context, path string, query map[string]any, out any) error {
	return c.do(ctx, http.MethodGet, path, query, nil, out)
}

// Post performs POST path with params as a JSON body and decodes "data" into out.
func (c *Client) Post(ctx context.Context, path string, params map[string]any, out any) error {
	return c.do(ctx, http.MethodPost, path, nil, params, out)
}

// Put performs PUT path with params as a JSON body and decodes "data" into out.
func (c *Client) Put(ctx context.Context, path string, params map[string]any, out any) error {
	return c.do(ctx, http.MethodPut, path, nil, params, out)
}

// Delete performs DELETE path?query (PVE takes DELETE options in the query).
func (c *Client) Delete(ctx context.Context, path string, query map[string]any, out any) error {
	return c.do(ctx, http.MethodDelete, path, query, nil, out)
}

// do runs one logical API call: auth, concurrency slot, the request (with
// retries below), logging, error conversion and decoding.
func (c *Client) do(ctx context.Context, method, path string, query, params map[string]any, out any) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%s: %s %s: path must start with /", c.dc, method, path)
	}
	full := path
	if len(query) > 0 {
		qs, err := encodeQuery(query)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", c.dc, method, path, err)
		}
		full += "?" + qs
	}
	var body any // untyped nil: no body at all rather than "null"
	if len(params) > 0 {
		body = normalizeParams(params)
	}
	if err := c.reach.err(); err != nil {
		// Known not to answer: fail without waiting for it again.
		return fmt.Errorf("%s: %s %s: %w", c.dc, method, path, err)
	}
	ctx = c.logContext(ctx)
	if method != http.MethodGet {
		c.state.invalidate()
		defer c.state.invalidate() // also what was fetched while this write ran
	}

	raw, gen, err := c.send(ctx, method, path, full, body)
	if c.ticket != nil && ticketRejected(err) {
		// PVE dropped our ticket (e.g. restarted with new keys): log in
		// again once and repeat the request.
		c.invalidate(gen)
		raw, _, err = c.send(ctx, method, path, full, body)
	}
	if err != nil {
		return err
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: %s %s: decoding response: %w", c.dc, method, path, err)
	}
	return nil
}

// ticketRejected: a request (not the login itself) was refused as unauthenticated.
func ticketRejected(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && ae.Path != ticketPath
}

// send makes one request through go-proxmox while holding the ticket (if
// any) and a concurrency slot; retries happen below, in the transport.
func (c *Client) send(ctx context.Context, method, path, full string, body any) (json.RawMessage, uint64, error) {
	gen, release, err := c.authorize(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	if err := c.acquire(ctx); err != nil {
		return nil, gen, fmt.Errorf("%s: %s %s: %w", c.dc, method, path, err)
	}
	defer c.releaseSlot()

	var raw json.RawMessage
	ex := &exchange{subsystem: c.subsystem}
	rctx := withExchange(ctx, ex)
	start := time.Now()
	switch method {
	case http.MethodGet:
		err = c.api.Get(rctx, full, &raw)
	case http.MethodPost:
		err = c.api.Post(rctx, full, body, &raw)
	case http.MethodPut:
		err = c.api.Put(rctx, full, body, &raw)
	case http.MethodDelete:
		err = c.api.Delete(rctx, full, &raw)
	default:
		err = fmt.Errorf("unsupported method %s", method)
	}
	c.reach.exhausted(ctx, err)
	err = c.convert(ctx, method, path, ex, err)
	c.logRequest(ctx, method, full, ex, time.Since(start), err)
	c.logUnreachable(ctx)
	return raw, gen, err
}

// convert turns what go-proxmox returned plus what the wire showed into
// moxxie's errors. Any error status wins: go-proxmox reports some (e.g. an
// exhausted 503) as success.
func (c *Client) convert(ctx context.Context, method, path string, ex *exchange, err error) error {
	status, attempts, reason, message, errs := ex.snapshot()
	if status >= 400 {
		return &APIError{
			DC: c.dc, Method: method, Path: path, Status: status,
			Message:  errorMessage(status, reason, message),
			Errors:   errs,
			Attempts: attempts,
			cause:    err,
		}
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return fmt.Errorf("%s: %s %s: %w", c.dc, method, path, err)
}

func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) releaseSlot() { <-c.sem }

// logContext attaches the DC's tflog subsystem with every secret masked.
func (c *Client) logContext(ctx context.Context) context.Context {
	ctx = tflog.NewSubsystem(ctx, c.subsystem)
	ctx = tflog.SubsystemSetField(ctx, c.subsystem, "dc", c.dc)
	secrets := append(append([]string(nil), c.secrets...), extraSecrets(ctx)...)
	if len(secrets) > 0 {
		ctx = tflog.SubsystemMaskMessageStrings(ctx, c.subsystem, secrets...)
		ctx = tflog.SubsystemMaskAllFieldValuesStrings(ctx, c.subsystem, secrets...)
		ctx = tflog.MaskMessageStrings(ctx, secrets...)
		ctx = tflog.MaskAllFieldValuesStrings(ctx, secrets...)
	}
	return ctx
}

// logRequest writes one Debug line per call; bodies are never logged.
func (c *Client) logRequest(ctx context.Context, method, path string, ex *exchange, d time.Duration, err error) {
	status, attempts, _, _, _ := ex.snapshot()
	fields := map[string]any{
		"method":      method,
		"path":        path,
		"status":      status,
		"duration_ms": d.Milliseconds(),
		"attempts":    attempts,
	}
	if err != nil {
		fields["error"] = err.Error()
	}
	tflog.SubsystemDebug(ctx, c.subsystem, "Proxmox VE request", fields)
}

// logUnreachable warns once per process when the DC has been marked unreachable.
func (c *Client) logUnreachable(ctx context.Context) {
	if ue := c.reach.announce(); ue != nil {
		tflog.SubsystemWarn(ctx, c.subsystem, "datacenter unreachable: later calls to it fail at once", map[string]any{
			"url":             ue.URL,
			"since":           ue.Since.UTC().Format(time.RFC3339),
			"connect_timeout": ue.Timeout.String(),
			"error":           ue.Error(),
		})
	}
}

// quietLogger discards go-proxmox's internal log output.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
