package ipam

import (
	"errors"
	"testing"
)

func TestParseVLANRange(t *testing.T) {
	tests := []struct {
		in      string
		want    VLANRange
		wantErr string
	}{
		{in: "100-2000", want: VLANRange{100, 2000}},
		{in: " 100 - 2000 ", want: VLANRange{100, 2000}},
		{in: "\t1-\t4094", want: VLANRange{1, 4094}},
		{in: "7-7", want: VLANRange{7, 7}},
		{in: "0100-0200", want: VLANRange{100, 200}},
		{in: "100", wantErr: `invalid vlan_range "100": must be A-B (e.g. 100-2000); for a single VLAN write 100-100`},
		{in: "", wantErr: `invalid vlan_range "": must be A-B (e.g. 100-2000)`},
		{in: "100-", wantErr: `invalid vlan_range "100-": must be A-B (e.g. 100-2000)`},
		{in: "-100", wantErr: `invalid vlan_range "-100": must be A-B (e.g. 100-2000)`},
		{in: "1-2-3", wantErr: `invalid vlan_range "1-2-3": must be A-B (e.g. 100-2000)`},
		{in: "100:200", wantErr: `invalid vlan_range "100:200": must be A-B (e.g. 100-2000)`},
		{in: "a-200", wantErr: `invalid vlan_range "a-200": start "a" is not a whole number`},
		{in: "100-2k", wantErr: `invalid vlan_range "100-2k": end "2k" is not a whole number`},
		{in: "+1-5", wantErr: `invalid vlan_range "+1-5": start "+1" is not a whole number`},
		{in: "1 0-20", wantErr: `invalid vlan_range "1 0-20": start "1 0" is not a whole number`},
		{in: "0-100", wantErr: `invalid vlan_range "0-100": start 0 is out of 1..4094`},
		{in: "1-4095", wantErr: `invalid vlan_range "1-4095": end 4095 is out of 1..4094`},
		{in: "99999999999999999999-1", wantErr: `invalid vlan_range "99999999999999999999-1": start 99999999999999999999 is out of 1..4094`},
		{in: "200-100", wantErr: `invalid vlan_range "200-100": start 200 is greater than end 100`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseVLANRange(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseVLANRange(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseVLANRange(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseVLANRange(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestVLANRangeMethods(t *testing.T) {
	tests := []struct {
		r       VLANRange
		size    int
		str     string
		in, out []int
	}{
		{r: VLANRange{100, 2000}, size: 1901, str: "100-2000", in: []int{100, 1000, 2000}, out: []int{0, 99, 2001}},
		{r: VLANRange{5, 5}, size: 1, str: "5-5", in: []int{5}, out: []int{4, 6}},
		{r: VLANRange{1, 4094}, size: 4094, str: "1-4094", in: []int{1, 4094}, out: []int{0, 4095, -1}},
		{r: VLANRange{10, 9}, size: 0, str: "10-9", out: []int{9, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			if got := tt.r.Size(); got != tt.size {
				t.Errorf("Size() = %d, want %d", got, tt.size)
			}
			if got := tt.r.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			for _, v := range tt.in {
				if !tt.r.Contains(v) {
					t.Errorf("Contains(%d) = false, want true", v)
				}
			}
			for _, v := range tt.out {
				if tt.r.Contains(v) {
					t.Errorf("Contains(%d) = true, want false", v)
				}
			}
		})
	}
}

func TestValidateVLANs(t *testing.T) {
	tests := []struct {
		v               int
		vlanErr, svcErr string
	}{
		{v: 1},
		{v: 4094},
		{v: 0, vlanErr: "VLAN 0 is out of 1..4094", svcErr: "service_vlan 0 is out of 1..4094"},
		{v: 4095, vlanErr: "VLAN 4095 is out of 1..4094", svcErr: "service_vlan 4095 is out of 1..4094"},
		{v: -3, vlanErr: "VLAN -3 is out of 1..4094", svcErr: "service_vlan -3 is out of 1..4094"},
	}
	for _, tt := range tests {
		if got := errString(ValidateVLAN(tt.v)); got != tt.vlanErr {
			t.Errorf("ValidateVLAN(%d) = %q, want %q", tt.v, got, tt.vlanErr)
		}
		if got := errString(ValidateServiceVLAN(tt.v)); got != tt.svcErr {
			t.Errorf("ValidateServiceVLAN(%d) = %q, want %q", tt.v, got, tt.svcErr)
		}
	}
}

func TestNextFreeVLAN(t *testing.T) {
	tests := []struct {
		name    string
		r       VLANRange
		used    []int
		want    int
		wantErr string
	}{
		{name: "empty", r: VLANRange{100, 2000}, want: 100},
		{name: "first taken", r: VLANRange{100, 2000}, used: []int{100}, want: 101},
		{name: "gap", r: VLANRange{100, 2000}, used: []int{102, 100, 101, 104}, want: 103},
		{name: "outside ignored", r: VLANRange{100, 2000}, used: []int{1, 99, 2001, 4094, -1, 99999}, want: 100},
		{name: "duplicates", r: VLANRange{100, 102}, used: []int{100, 100, 101, 101}, want: 102},
		{name: "only last free", r: VLANRange{100, 103}, used: []int{103 - 1, 101, 100}, want: 103},
		{name: "single", r: VLANRange{4094, 4094}, want: 4094},
		{name: "full", r: VLANRange{100, 102}, used: []int{102, 101, 100, 100, 7},
			wantErr: `datacenter "DC1": no free VLAN left in vlan_range 100-102 (all 3 in use)`},
		{name: "invalid range", r: VLANRange{0, 10},
			wantErr: `datacenter "DC1": vlan_range 0-10: start 0 is out of 1..4094`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Pool{DC: "DC1", VLANs: tt.r}
			got, err := p.NextFreeVLAN(tt.used)
			if tt.wantErr != "" {
				if errString(err) != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NextFreeVLAN(%v) = %d, %v; want %d", tt.used, got, err, tt.want)
			}
		})
	}
}

func TestNextFreeVLANExhaustedIsTyped(t *testing.T) {
	full := make([]int, 0, 1901)
	for v := 100; v <= 2000; v++ {
		full = append(full, v)
	}
	_, err := Pool{DC: "DC1", VLANs: VLANRange{100, 2000}}.NextFreeVLAN(full)
	var ex *ExhaustedError
	if !errors.As(err, &ex) {
		t.Fatalf("error %v is not an *ExhaustedError", err)
	}
	want := `datacenter "DC1": no free VLAN left in vlan_range 100-2000 (all 1901 in use)`
	if err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
	if ex.DC != "DC1" || ex.Pool != "vlan_range 100-2000" {
		t.Fatalf("fields = %+v", ex)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
