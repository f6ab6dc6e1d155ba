package pvesim

import (
	"fmt"
	"net/http"
)

// apiError is an error answer: PVE puts message in the status line and the
// body; parameter errors add a per-parameter map.
type apiError struct {
	status  int
	message string
	errors  map[string]string
}

func (e *apiError) Error() string { return e.message }

// failf is PVE's ordinary "die": HTTP 500 with the message.
func failf(format string, args ...any) *apiError {
	return &apiError{status: http.StatusInternalServerError, message: fmt.Sprintf(format, args...)}
}

// paramError is raise_param_exc: 400 "Parameter verification failed.".
func paramError(errs map[string]string) *apiError {
	return &apiError{status: http.StatusBadRequest, message: "Parameter verification failed.", errors: errs}
}

// paramErr is paramError for a single parameter.
func paramErr(param, msg string) *apiError {
	return paramError(map[string]string{param: msg})
}

func authError(msg string) *apiError {
	return &apiError{status: http.StatusUnauthorized, message: msg}
}

func notImplemented(method, relPath string) *apiError {
	return &apiError{status: http.StatusNotImplemented, message: fmt.Sprintf("Method '%s %s' not implemented", method, relPath)}
}
