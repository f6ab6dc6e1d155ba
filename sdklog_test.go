package main

import (
	"os"
	"strings"
	"testing"
)

// clearTFLog empties every TF_LOG* variable for the test, so the environment it runs in does not
// decide the outcome.
func clearTFLog(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "TF_LOG") {
			t.Setenv(name, "")
		}
	}
}

var quietNames = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_MOXXIE"}

func TestQuietSDKLogsWithoutTFLog(t *testing.T) {
	clearTFLog(t)
	for _, n := range quietNames {
		t.Setenv(n, "") // restored after the test, since quietSDKLogs sets them
	}
	quietSDKLogs()
	for _, n := range quietNames {
		if got := os.Getenv(n); got != "off" {
			t.Errorf("%s = %q, want off", n, got)
		}
	}
}

func TestQuietSDKLogsKeepsAskedForLogs(t *testing.T) {
	for _, asked := range []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PATH"} {
		t.Run(asked, func(t *testing.T) {
			clearTFLog(t)
			for _, n := range quietNames {
				t.Setenv(n, "")
			}
			t.Setenv(asked, "TRACE")
			quietSDKLogs()
			for _, n := range quietNames {
				if got := os.Getenv(n); n != asked && got != "" {
					t.Errorf("with %s set, %s = %q, want it left unset", asked, n, got)
				}
			}
		})
	}
}
