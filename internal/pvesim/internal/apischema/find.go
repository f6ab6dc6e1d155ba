// Package apischema finds the official Proxmox VE API schema that the simulator is held against:
// shared/pve/api-schema.json in the working directory or one of its parents (the repository sits
// beside shared/).
package apischema

import (
	"errors"
	"os"
	"path/filepath"
)

// ErrNotFound means no parent folder holds shared/pve/api-schema.json.
var ErrNotFound = errors.New("shared/pve/api-schema.json not found above the working directory")

// Find returns the path of the schema file nearest above the working directory.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "shared", "pve", "api-schema.json")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotFound
		}
		dir = parent
	}
}
