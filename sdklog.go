package main

import (
	"os"
	"strings"
)

// quietSDKLogs turns the plugin SDK's and the provider's log levels off when the environment asks
// for no log at all. terraform-plugin-go and the framework log at TRACE by default and leave the
// filtering to Terraform, so every request and attribute builds and serialises log lines that
// Terraform then drops; at thousands of resources that is about half the plan's time and much of
// the provider's memory. Terraform shows plugin logs only when a TF_LOG* variable is set, and the
// provider inherits Terraform's environment, so any such variable keeps the SDK defaults.
func quietSDKLogs() {
	for _, kv := range os.Environ() {
		if name, value, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "TF_LOG") && value != "" {
			return
		}
	}
	// The names terraform-plugin-log reads: the SDK's root logger, its proto and framework
	// subsystems (each defaults to TRACE on its own), and this provider's logger.
	for _, name := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_MOXXIE"} {
		_ = os.Setenv(name, "off")
	}
}
