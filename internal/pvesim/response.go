package pvesim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

const jsonContentType = "application/json;charset=UTF-8"

func writeData(w http.ResponseWriter, data any) {
	body, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		writeError(w, failf("internal error: %v", err))
		return
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// writeError answers like pveproxy: the message is the reason phrase of the
// status line (its first line only) and, with a trailing newline, the body's
// "message". net/http cannot set a reason phrase, so the connection is
// hijacked and the response written by hand.
func writeError(w http.ResponseWriter, e *apiError) {
	payload := map[string]any{"data": nil, "message": e.message + "\n"}
	if len(e.errors) > 0 {
		payload["errors"] = e.errors
	}
	body, _ := json.Marshal(payload)
	reason, _, _ := strings.Cut(e.message, "\n")
	reason = strings.ReplaceAll(reason, "\r", " ")

	hj, ok := w.(http.Hijacker)
	if !ok { // e.g. httptest.ResponseRecorder: the reason phrase is lost
		w.Header().Set("Content-Type", jsonContentType)
		w.WriteHeader(e.status)
		_, _ = w.Write(body)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	writeRaw(rw.Writer, e.status, reason, body)
}

func writeRaw(bw *bufio.Writer, status int, reason string, body []byte) {
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", status, reason)
	fmt.Fprintf(bw, "Content-Type: %s\r\n", jsonContentType)
	fmt.Fprintf(bw, "Content-Length: %d\r\n", len(body))
	fmt.Fprintf(bw, "Connection: close\r\n\r\n")
	_, _ = bw.Write(body)
	_ = bw.Flush()
}
