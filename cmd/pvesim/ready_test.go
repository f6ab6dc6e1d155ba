package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// -ready-file names the ports the OS chose and each datacenter's own certificate, and is gone
// once pvesim exits.
func TestReadyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ready.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-dc", "DC1=127.0.0.1:0", "-dc", "DC2=127.0.0.1:0", "-token", "root@pam!moxxie=SECRET", "-ready-file", path}, io.Discard, io.Discard)
	}()
	var data []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		if data, err = os.ReadFile(path); err == nil {
			break
		}
	}
	var info readyInfo
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatalf("ready file %q: %v", data, err)
	}
	if len(info.Datacenters) != 2 {
		t.Fatalf("datacenters = %v", info.Datacenters)
	}
	for name, dc := range info.Datacenters {
		if !strings.HasPrefix(dc.URL, "https://127.0.0.1:") || strings.HasSuffix(dc.URL, ":0") {
			t.Errorf("%s: url %q", name, dc.URL)
		}
		block, _ := pem.Decode([]byte(dc.CertPEM))
		if block == nil {
			t.Fatalf("%s: no certificate in %q", name, dc.CertPEM)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum := sha256.Sum256(block.Bytes)
		var hexParts []string
		for _, b := range sum {
			hexParts = append(hexParts, fmt.Sprintf("%02X", b))
		}
		if fp := strings.Join(hexParts, ":"); dc.Fingerprint != fp {
			t.Errorf("%s: fingerprint %s, certificate's %s", name, dc.Fingerprint, fp)
		}
	}
	if info.Datacenters["DC1"].URL == info.Datacenters["DC2"].URL || info.Datacenters["DC1"].Fingerprint == info.Datacenters["DC2"].Fingerprint {
		t.Errorf("the datacenters share an address or a certificate: %v", info.Datacenters)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("ready file still there after exit: %v", err)
	}
}
