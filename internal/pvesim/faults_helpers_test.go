package pvesim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// try is a raw API request that returns transport errors instead of
// failing the test: with faults injected they are the expected outcome.
// A non-empty body is sent form-encoded.
func (s *sim) try(ctx context.Context, method, path, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.srv.URL+"/api2/json"+path, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", form)
	}
	req.Header.Set("Authorization", "PVEAPIToken="+testTokenID+"="+testSecret)
	res, err := s.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return res, data, err
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// handlersIdle reports whether no request handler of the current server
// generation is running (none holds the gate).
func (s *sim) handlersIdle() bool {
	s.srv.mu.Lock()
	g := s.srv.gate
	s.srv.mu.Unlock()
	if !g.mu.TryLock() {
		return false
	}
	g.mu.Unlock()
	return true
}
