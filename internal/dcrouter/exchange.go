package dcrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// maxErrorBody caps how much of an error response is buffered for its message.
const maxErrorBody = 1 << 20

// exchange records what actually happened on the wire for one logical call.
// go-proxmox reduces a 500 to its status line and treats e.g. an exhausted
// 503 as success, so the response itself is captured here, below it.
type exchange struct {
	mu            sync.Mutex
	attempts      int
	attemptStatus int // status of the latest attempt, for retry log lines
	status        int
	reason        string
	message       string
	errs          map[string]string

	// tflog subsystem for retry lines emitted from inside the transport
	subsystem string
}

type exchangeKey struct{}

func withExchange(ctx context.Context, ex *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

func (ex *exchange) snapshot() (status, attempts int, reason, message string, errs map[string]string) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.status, ex.attempts, ex.reason, ex.message, ex.errs
}

// captureTransport sits between go-proxmox and the retrying transport and
// records the final response of every request carrying an exchange.
type captureTransport struct {
	base http.RoundTripper
}

func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		// A RoundTripper must not return both; the response would leak.
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		return nil, err
	}
	ex := exchangeFrom(req.Context())
	if ex == nil {
		return resp, nil
	}
	rec := exchange{status: resp.StatusCode, reason: reasonPhrase(resp)}
	if resp.StatusCode >= 400 {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		rec.message, rec.errs = parseErrorBody(body)
	}
	ex.mu.Lock()
	ex.status, ex.reason, ex.message, ex.errs = rec.status, rec.reason, rec.message, rec.errs
	ex.mu.Unlock()
	return resp, nil
}

// reasonPhrase is the status line's text after the code; PVE puts its error there.
func reasonPhrase(resp *http.Response) string {
	code := strconv.Itoa(resp.StatusCode)
	return strings.TrimSpace(strings.TrimPrefix(resp.Status, code))
}

// parseErrorBody reads PVE's {"message": "...", "errors": {...}} error body.
func parseErrorBody(body []byte) (string, map[string]string) {
	var doc struct {
		Message json.RawMessage            `json:"message"`
		Errors  map[string]json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return "", nil
	}
	msg := strings.TrimSpace(rawText(doc.Message))
	var errs map[string]string
	if len(doc.Errors) > 0 {
		errs = make(map[string]string, len(doc.Errors))
		for k, v := range doc.Errors {
			errs[k] = strings.TrimSpace(rawText(v))
		}
	}
	return msg, errs
}

// rawText renders a JSON string as its text and anything else as its JSON.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// errorMessage picks the most informative text for an error response: a
// custom status line (what PVE sends), else the body's message, else the
// standard status text.
func errorMessage(status int, reason, message string) string {
	switch {
	case reason != "" && reason != http.StatusText(status):
		// The status line holds only the first line; a body message that
		// continues it (e.g. parameter errors inside SDN writes) says more.
		if rest, ok := strings.CutPrefix(message, reason); ok && strings.TrimSpace(rest) != "" {
			return joinLines(message)
		}
		return reason
	case message != "":
		return message
	case reason != "":
		return reason
	default:
		return http.StatusText(status)
	}
}

// joinLines puts a multi-line PVE message on one line.
func joinLines(s string) string {
	var parts []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, " ")
}
