package dcrouter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

func TestPeerCertificateUsesTheDatacentersTrust(t *testing.T) {
	cluster := pvesim.New(pvesim.Config{Name: "DC2", Tokens: map[string]string{testTokenID: testTokenSecret}})
	srv, err := pvesim.Start(cluster, "127.0.0.1:0", pvesim.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	other, err := pvesim.Start(pvesim.New(pvesim.Config{Name: "X"}), "127.0.0.1:0", pvesim.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := tokenConfig("DC2", srv.URL)
	cases := []struct {
		name     string
		set      func(c *Config)
		verified bool
		wantErr  string
	}{
		{name: "insecure", set: func(c *Config) { c.TLSInsecure = true }, verified: false},
		{name: "CA PEM", set: func(c *Config) { c.TLSCAPEM = srv.CertPEM }, verified: true},
		{name: "pinned", set: func(c *Config) { c.TLSFingerprint = srv.Fingerprint }, verified: true},
		{name: "untrusted", set: func(*Config) {}, wantErr: "certificate"},
		{name: "another CA", set: func(c *Config) { c.TLSCAPEM = other.CertPEM }, wantErr: "certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.set(&cfg)
			peer, err := PeerCertificate(ctx, cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one about the %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if peer.Fingerprint != srv.Fingerprint || peer.Verified != tc.verified {
				t.Errorf("peer = %+v, want fingerprint %s verified %v", peer, srv.Fingerprint, tc.verified)
			}
		})
	}
}

func TestNodeNetworkAgainstSimulator(t *testing.T) {
	c, _ := simClient(t)
	ctx := ctxTimeout(t, 10*time.Second)
	ifaces, err := c.NodeNetwork(ctx, "pve1", "any_bridge")
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 10 || ifaces[0].Iface != "vmbr0" || ifaces[0].Type != "bridge" || !ifaces[0].Active {
		t.Errorf("any_bridge = %+v, want vmbr0..vmbr9", ifaces)
	}
	if _, err := c.NodeNetwork(ctx, "pve1", "nonsense"); StatusCode(err) != 400 {
		t.Errorf("an unknown type: %v, want a 400", err)
	}
}
