package ipam

import (
	"net/netip"
	"testing"
)

func TestParseIPRange(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "172.16.0.0/16", want: "172.16.0.0/16"},
		{in: " 10.0.0.0/8 ", want: "10.0.0.0/8"},
		{in: "192.168.1.4/30", want: "192.168.1.4/30"},
		{in: "192.168.1.4/32", want: "192.168.1.4/32"},
		{in: "172.16.0.1/16", wantErr: `invalid ip_range "172.16.0.1/16": host bits are set; did you mean 172.16.0.0/16?`},
		{in: "10.1.2.3/8", wantErr: `invalid ip_range "10.1.2.3/8": host bits are set; did you mean 10.0.0.0/8?`},
		{in: "fd00::/64", wantErr: `invalid ip_range "fd00::/64": IPv4 only: fd00::/64 is an IPv6 prefix`},
		{in: "::ffff:10.0.0.0/104", wantErr: `invalid ip_range "::ffff:10.0.0.0/104": IPv4 only: ::ffff:10.0.0.0/104 is an IPv6 prefix`},
		{in: "172.16.0.0", wantErr: `invalid ip_range "172.16.0.0": must be an IPv4 CIDR such as 172.16.0.0/16`},
		{in: "172.16.0.0/33", wantErr: `invalid ip_range "172.16.0.0/33": must be an IPv4 CIDR such as 172.16.0.0/16`},
		{in: "300.1.1.0/24", wantErr: `invalid ip_range "300.1.1.0/24": must be an IPv4 CIDR such as 172.16.0.0/16`},
		{in: "", wantErr: `invalid ip_range "": must be an IPv4 CIDR such as 172.16.0.0/16`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseIPRange(tt.in)
			if tt.wantErr != "" {
				if errString(err) != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("ParseIPRange(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestValidateSubnetPrefix(t *testing.T) {
	p16 := netip.MustParsePrefix("172.16.0.0/16")
	tests := []struct {
		name    string
		rng     netip.Prefix
		prefix  int
		wantErr string
	}{
		{name: "same as range", rng: p16, prefix: 16},
		{name: "default", rng: p16, prefix: 24},
		{name: "host", rng: p16, prefix: 32},
		{name: "shorter", rng: p16, prefix: 15,
			wantErr: "prefix length /15 is shorter than ip_range 172.16.0.0/16: a block must fit inside the range (use /16..32)"},
		{name: "too long", rng: p16, prefix: 33, wantErr: "prefix length /33 is longer than /32"},
		{name: "negative", rng: p16, prefix: -1,
			wantErr: "prefix length /-1 is shorter than ip_range 172.16.0.0/16: a block must fit inside the range (use /16..32)"},
		{name: "unmasked range", rng: netip.MustParsePrefix("172.16.0.1/16"), prefix: 24,
			wantErr: "ip_range 172.16.0.1/16: host bits are set; did you mean 172.16.0.0/16?"},
		{name: "zero range", prefix: 24, wantErr: "ip_range is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errString(ValidateSubnetPrefix(tt.rng, tt.prefix)); got != tt.wantErr {
				t.Fatalf("ValidateSubnetPrefix(%s, %d) = %q, want %q", tt.rng, tt.prefix, got, tt.wantErr)
			}
		})
	}
}

func TestOverlaps(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"10.0.0.0/24", "10.0.0.0/24", true},
		{"10.0.0.0/23", "10.0.1.0/24", true},
		{"10.0.1.0/24", "10.0.0.0/23", true},
		{"10.0.0.0/24", "10.0.1.0/24", false},
		{"10.0.0.64/26", "10.0.0.0/24", true},
		{"10.0.0.64/26", "10.0.0.128/26", false},
		{"10.0.0.255/32", "10.0.0.0/24", true},
		{"10.0.1.0/32", "10.0.0.0/24", false},
		{"0.0.0.0/0", "192.168.0.0/16", true},
		{"10.0.0.5/24", "10.0.0.200/25", true}, // host bits ignored
		{"10.0.0.0/8", "::/0", false},
	}
	for _, tt := range tests {
		a, b := netip.MustParsePrefix(tt.a), netip.MustParsePrefix(tt.b)
		if got := Overlaps(a, b); got != tt.want {
			t.Errorf("Overlaps(%s, %s) = %v, want %v", a, b, got, tt.want)
		}
	}
	if Overlaps(netip.Prefix{}, netip.MustParsePrefix("0.0.0.0/0")) {
		t.Error("an invalid prefix must overlap nothing")
	}
}
