package dcrouter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "https://pve.dc1.example.net:8006", want: "https://pve.dc1.example.net:8006/api2/json"},
		{in: "https://pve.dc1.example.net:8006/", want: "https://pve.dc1.example.net:8006/api2/json"},
		{in: "https://pve:8006/api2/json", want: "https://pve:8006/api2/json"},
		{in: "https://pve:8006/api2/json/", want: "https://pve:8006/api2/json"},
		{in: "  HTTPS://PVE.Example.NET:8006  ", want: "https://pve.example.net:8006/api2/json"},
		{in: "http://127.0.0.1:8006", want: "http://127.0.0.1:8006/api2/json"},
		{in: "https://[::1]:8006", want: "https://[::1]:8006/api2/json"},
		{in: "https://pve.example.net", want: "https://pve.example.net/api2/json"},
		{in: "", wantErr: "empty"},
		{in: "pve.example.net:8006", wantErr: "scheme must be http or https"},
		{in: "//pve.example.net:8006", wantErr: "scheme must be http or https"},
		{in: "ftp://pve:8006", wantErr: `not "ftp"`},
		{in: "https://", wantErr: "host is required"},
		{in: "https://:8006", wantErr: "host is required"},
		{in: "https://pve:", wantErr: "port is empty"},
		{in: "https://pve:99999", wantErr: "port must be 1-65535"},
		{in: "https://pve:abc", wantErr: "not valid"},
		{in: "https://pve:8006?x=1", wantErr: "query string"},
		{in: "https://pve:8006/?", wantErr: "query string"},
		{in: "https://pve:8006#top", wantErr: "fragment"},
		{in: "https://pve:8006/api2/extjs", wantErr: "path must be empty or /api2/json"},
		{in: "https://pve:8006/pve", wantErr: "path must be empty or /api2/json"},
		{in: "https://root:hunter2@pve:8006", wantErr: "must not contain credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NormalizeURL(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			// Normalizing is idempotent.
			if again, err := NormalizeURL(got); err != nil || again != got {
				t.Fatalf("NormalizeURL(%q) = %q, %v; want unchanged", got, again, err)
			}
		})
	}
}

func TestParseAPIToken(t *testing.T) {
	const secret = "0d4c8b1e-7a1f-4c33-9d2e-b1c2d3e4f5a6"
	tests := []struct {
		name, in, wantID, wantSecret, wantErr string
	}{
		{name: "plain", in: "root@pam!moxxie=" + secret, wantID: "root@pam!moxxie", wantSecret: secret},
		{name: "header form", in: "PVEAPIToken=terraform@pve!tf-01=" + secret, wantID: "terraform@pve!tf-01", wantSecret: secret},
		{name: "surrounding space", in: "  root@pam!moxxie=" + secret + "\n", wantID: "root@pam!moxxie", wantSecret: secret},
		{name: "equals in secret", in: "root@pam!moxxie=ab=cd", wantID: "root@pam!moxxie", wantSecret: "ab=cd"},
		{name: "secret only", in: secret, wantErr: `no "=" found`},
		{name: "no token name", in: "root@pam=" + secret, wantErr: `lacks "!TOKENID"`},
		{name: "no realm", in: "root!moxxie=" + secret, wantErr: "USER@REALM"},
		{name: "empty user", in: "@pam!moxxie=" + secret, wantErr: "USER@REALM"},
		{name: "empty token name", in: "root@pam!=" + secret, wantErr: "token name"},
		{name: "token name starts with digit", in: "root@pam!1x=" + secret, wantErr: "token name"},
		{name: "bad realm", in: "root@p am!moxxie=" + secret, wantErr: "realm"},
		{name: "empty secret", in: "root@pam!moxxie=", wantErr: "secret is empty"},
		{name: "space in secret", in: "root@pam!moxxie=ab " + secret, wantErr: "whitespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, sec, err := ParseAPIToken(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseAPIToken = %q, %q, %v; want error containing %q", id, sec, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil || id != tt.wantID || sec != tt.wantSecret {
				t.Fatalf("ParseAPIToken = %q, %q, %v; want %q, %q", id, sec, err, tt.wantID, tt.wantSecret)
			}
		})
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	sum := sha256.Sum256([]byte("leaf"))
	canon := formatFingerprint(sum[:])
	plain := hex.EncodeToString(sum[:])
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "canonical", in: canon, want: canon},
		{name: "lower case", in: strings.ToLower(canon), want: canon},
		{name: "no colons", in: plain, want: canon},
		{name: "upper no colons", in: strings.ToUpper(plain), want: canon},
		{name: "spaces around", in: " " + canon + " ", want: canon},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "sha1 length", in: plain[:40], wantErr: "got 20 bytes"},
		{name: "too long", in: plain + "00", wantErr: "got 33 bytes"},
		{name: "odd digits", in: plain[:63], wantErr: "must be hex"},
		{name: "not hex", in: "ZZ" + plain[2:], wantErr: "must be hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeFingerprint(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NormalizeFingerprint(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeFingerprint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNewValidatesConfigs(t *testing.T) {
	srv := httptest.NewTLSServer(nil)
	srv.Close()
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	base := func(mut func(*Config)) []Config {
		c := tokenConfig("DC1", "https://pve1:8006")
		mut(&c)
		return []Config{c}
	}
	tests := []struct {
		name    string
		cfgs    []Config
		wantErr string
	}{
		{name: "token ok", cfgs: base(func(*Config) {})},
		{name: "password ok", cfgs: base(func(c *Config) {
			c.TokenID, c.TokenSecret, c.Username, c.Password = "", "", "root@pam", "pw"
		})},
		{name: "ca pem ok", cfgs: base(func(c *Config) { c.TLSCAPEM = caPEM })},
		{name: "empty name", cfgs: base(func(c *Config) { c.Name = " " }), wantErr: "name is empty"},
		{name: "bad url", cfgs: base(func(c *Config) { c.URL = "pve1:8006" }), wantErr: `datacenter "DC1": URL`},
		{name: "no credentials", cfgs: base(func(c *Config) { c.TokenID, c.TokenSecret = "", "" }), wantErr: "no credentials"},
		{name: "both credentials", cfgs: base(func(c *Config) { c.Username, c.Password = "root@pam", "pw" }), wantErr: "not both"},
		{name: "bad token id", cfgs: base(func(c *Config) { c.TokenID = "root@pam" }), wantErr: `lacks "!TOKENID"`},
		{name: "empty secret", cfgs: base(func(c *Config) { c.TokenSecret = "" }), wantErr: "secret is empty"},
		{name: "user without realm", cfgs: base(func(c *Config) {
			c.TokenID, c.TokenSecret, c.Username, c.Password = "", "", "root", "pw"
		}), wantErr: "USER@REALM"},
		{name: "empty password", cfgs: base(func(c *Config) {
			c.TokenID, c.TokenSecret, c.Username = "", "", "root@pam"
		}), wantErr: "password is empty"},
		{name: "bad fingerprint", cfgs: base(func(c *Config) { c.TLSFingerprint = "AB:CD" }), wantErr: "SHA-256"},
		{name: "bad ca pem", cfgs: base(func(c *Config) { c.TLSCAPEM = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n" }), wantErr: "no valid certificate"},
		{name: "negative concurrency", cfgs: base(func(c *Config) { c.MaxConcurrent = -1 }), wantErr: "must not be negative"},
		{name: "duplicate", cfgs: append(base(func(*Config) {}), tokenConfig("DC1", "https://pve2:8006")), wantErr: "configured twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfgs)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v; want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testTokenSecret) {
				t.Fatalf("error leaks the token secret: %v", err)
			}
		})
	}
}

func TestRouterNamesAndNormalizedConfig(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	c2 := tokenConfig("DC2", "https://pve2:8006/")
	c2.TLSFingerprint = strings.ToLower(hex.EncodeToString(sum[:]))
	c2.MaxConcurrent = 3
	r, err := New([]Config{c2, tokenConfig("DC1", "https://pve1:8006"), tokenConfig("AMS", "http://10.0.0.1:8006/api2/json")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(r.Names(), ","), "AMS,DC1,DC2"; got != want {
		t.Fatalf("Names = %s; want %s", got, want)
	}
	got, ok := r.Config("DC2")
	if !ok {
		t.Fatal("Config(DC2) not found")
	}
	if got.URL != "https://pve2:8006/api2/json" || got.TLSFingerprint != formatFingerprint(sum[:]) || got.MaxConcurrent != 3 {
		t.Fatalf("Config(DC2) = %+v", got)
	}
	if dc1, _ := r.Config("DC1"); dc1.MaxConcurrent != defaultMaxConcurrent {
		t.Fatalf("default MaxConcurrent = %d; want %d", dc1.MaxConcurrent, defaultMaxConcurrent)
	}
	if _, ok := r.Config("DC9"); ok {
		t.Fatal("Config(DC9) found")
	}
	// The returned slice is a copy.
	r.Names()[0] = "mutated"
	if r.Names()[0] != "AMS" {
		t.Fatal("Names exposes internal state")
	}
}
