package dcrouter

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// APIError is an HTTP error answer from a PVE API. PVE puts its message in
// the status line (and in the body's "message"); parameter errors (400)
// carry a per-parameter map.
type APIError struct {
	DC      string
	Method  string
	Path    string
	Status  int
	Message string
	Errors  map[string]string // 400 "Parameter verification failed." details
	// Attempts is how many times the request was sent. More than one means an earlier attempt
	// may have been applied before its answer was lost: the error may be about moxxie's own
	// change (a second "lock", a second "create").
	Attempts int

	cause error // what go-proxmox returned, kept for errors.Is
}

// Error renders e.g. "DC1: POST /nodes/pve1/qemu: 500 unable to create VM 100 - ...".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s: %d %s", e.DC, e.Method, e.Path, e.Status, e.Message)
	if len(e.Errors) > 0 {
		keys := make([]string, 0, len(e.Errors))
		for k := range e.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s: %s", k, e.Errors[k])
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap exposes go-proxmox's own error (e.g. proxmox.ErrNotAuthorized).
func (e *APIError) Unwrap() error { return e.cause }

// texts returns the message and every parameter error, lower-cased, for matching.
func (e *APIError) texts() []string {
	out := []string{strings.ToLower(e.Message)}
	for _, v := range e.Errors {
		out = append(out, strings.ToLower(v))
	}
	return out
}

func apiErrorContains(err error, needles ...string) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, t := range ae.texts() {
		for _, n := range needles {
			if strings.Contains(t, n) {
				return true
			}
		}
	}
	return false
}

// IsNotFound reports whether PVE said the object is missing. PVE has no 404
// for VMs: it answers 500 "Configuration file ... does not exist" and similar.
func IsNotFound(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == 404 {
		return true
	}
	return apiErrorContains(err, "does not exist", "no such ")
}

// IsAlreadyExists reports whether PVE refused to create something that exists,
// including nextid's 400 {"vmid": "VM 100 already exists"}.
func IsAlreadyExists(err error) bool {
	return apiErrorContains(err, "already exists", "already defined")
}

// StatusCode returns the HTTP status of an APIError in err's chain, or 0
// (transport errors, context errors, decoding errors).
func StatusCode(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// Resent reports whether err answers a request that was sent more than once, so that an earlier
// attempt may have been applied.
func Resent(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Attempts > 1
}
