package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// readyInfo is what -ready-file holds once every datacenter listens: the addresses the OS chose
// for :0 ports and the certificates, for scripts that start pvesim as a separate process.
type readyInfo struct {
	Datacenters map[string]readyDC `json:"datacenters"`
	Stats       string             `json:"stats,omitempty"`
}

type readyDC struct {
	URL         string `json:"url"`
	Fingerprint string `json:"fingerprint,omitempty"` // empty with -plain-http
	CertPEM     string `json:"cert_pem,omitempty"`
}

// writeReadyFile writes the file whole or not at all (through a rename), so that a script
// polling for it never reads half of it.
func writeReadyFile(path string, names []string, servers []*pvesim.Server, statsURL string) error {
	info := readyInfo{Datacenters: map[string]readyDC{}, Stats: statsURL}
	for i, s := range servers {
		info.Datacenters[names[i]] = readyDC{URL: s.URL, Fingerprint: s.Fingerprint, CertPEM: s.CertPEM}
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pvesim-ready-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
