package dcrouter

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAPIErrorMatchers(t *testing.T) {
	mk := func(status int, msg string, errs map[string]string) error {
		return fmt.Errorf("creating web: %w", &APIError{DC: "DC1", Method: "POST", Path: "/p", Status: status, Message: msg, Errors: errs})
	}
	tests := []struct {
		name           string
		err            error
		notFound, dup  bool
		status         int
		wantErrMessage string
	}{
		{name: "config missing", err: mk(500, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist", nil),
			notFound: true, status: 500, wantErrMessage: "creating web: DC1: POST /p: 500 Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist"},
		{name: "no such node", err: mk(500, "no such cluster node 'pve9'", nil), notFound: true, status: 500},
		{name: "vnet missing", err: mk(500, "sdn vnet 'v100' does not exist", nil), notFound: true, status: 500},
		{name: "http 404", err: mk(404, "Not Found", nil), notFound: true, status: 404},
		{name: "vm exists", err: mk(500, "unable to create VM 100 - VM 100 already exists on node 'pve1'", nil), dup: true, status: 500},
		{name: "vnet defined", err: mk(500, "sdn vnet object ID 'v100' already defined", nil), dup: true, status: 500},
		{name: "nextid taken", err: mk(400, "Parameter verification failed.", map[string]string{"vmid": "VM 100 already exists"}),
			dup: true, status: 400, wantErrMessage: "creating web: DC1: POST /p: 400 Parameter verification failed. (vmid: VM 100 already exists)"},
		{name: "locked", err: mk(500, "VM 100 is locked (migrate)", nil), status: 500},
		{name: "plain error", err: errors.New("already exists but not from PVE"), status: 0},
		{name: "nil", err: nil, status: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsNotFound(tt.err); got != tt.notFound {
				t.Errorf("IsNotFound = %v", got)
			}
			if got := IsAlreadyExists(tt.err); got != tt.dup {
				t.Errorf("IsAlreadyExists = %v", got)
			}
			if got := StatusCode(tt.err); got != tt.status {
				t.Errorf("StatusCode = %d", got)
			}
			if tt.wantErrMessage != "" && tt.err.Error() != tt.wantErrMessage {
				t.Errorf("Error() = %q; want %q", tt.err.Error(), tt.wantErrMessage)
			}
		})
	}
}

func TestErrorMessageChoice(t *testing.T) {
	tests := []struct {
		status          int
		reason, message string
		want            string
	}{
		{500, "VM 100 is locked (clone)", "VM 100 is locked (clone)", "VM 100 is locked (clone)"},
		{500, "Internal Server Error", "disk full", "disk full"}, // HTTP/2-style generic line
		{503, "Service Unavailable", "", "Service Unavailable"},  // no body message
		{502, "", "", "Bad Gateway"},                             // nothing at all
		{400, "Parameter verification failed.", "", "Parameter verification failed."},
		// PVE's status line is the first line only; the body carries the detail.
		{500, "delete sdn vnet object failed: 400 Parameter verification failed.",
			"delete sdn vnet object failed: 400 Parameter verification failed.\nvnet: Can't delete vnet if subnets exists",
			"delete sdn vnet object failed: 400 Parameter verification failed. vnet: Can't delete vnet if subnets exists"},
		{500, "VM 100 is locked (clone)", "something else entirely", "VM 100 is locked (clone)"},
	}
	for _, tt := range tests {
		if got := errorMessage(tt.status, tt.reason, tt.message); got != tt.want {
			t.Errorf("errorMessage(%d, %q, %q) = %q; want %q", tt.status, tt.reason, tt.message, got, tt.want)
		}
	}
}

func TestParseErrorBody(t *testing.T) {
	msg, errs := parseErrorBody([]byte(`{"data":null,"message":"Parameter verification failed.\n","errors":{"vmid":"VM 100 already exists\n","n":3}}`))
	if msg != "Parameter verification failed." || errs["vmid"] != "VM 100 already exists" || errs["n"] != "3" || len(errs) != 2 {
		t.Fatalf("parseErrorBody = %q, %v", msg, errs)
	}
	if msg, errs := parseErrorBody([]byte("<html>proxy error</html>")); msg != "" || errs != nil {
		t.Fatalf("non-JSON body gave %q, %v", msg, errs)
	}
}

type stringerID int

func (s stringerID) String() string { return fmt.Sprintf("id-%d", int(s)) }

func TestEncodeQuery(t *testing.T) {
	type myString string
	tests := []struct {
		name    string
		in      map[string]any
		want    string
		wantErr bool
	}{
		{name: "bools as 1/0", in: map[string]any{"purge": true, "current": false}, want: "current=0&purge=1"},
		{name: "big ints stay integers", in: map[string]any{"vmid": 1000000, "u": uint64(999999999)}, want: "u=999999999&vmid=1000000"},
		{name: "floats plain", in: map[string]any{"f": 1e6, "g": 0.25}, want: "f=1000000&g=0.25"},
		{name: "spaces and plus", in: map[string]any{"s": "a b+c"}, want: "s=a%20b%2Bc"},
		{name: "nil omitted", in: map[string]any{"a": nil, "b": "x"}, want: "b=x"},
		{name: "named string and stringer", in: map[string]any{"t": myString("vm"), "id": stringerID(7)}, want: "id=id-7&t=vm"},
		{name: "slice rejected", in: map[string]any{"x": []string{"a"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeQuery(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("encodeQuery = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPathSegment(t *testing.T) {
	tests := map[string]string{
		"pve1": "pve1",
		"UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmstart:100:root@pam!moxxie:": "UPID:pve1:0000A1B2:0001C3D4:65F0A1B2:qmstart:100:root@pam!moxxie:",
		"a/b":      "a%2Fb",
		"a b?c#d%": "a%20b%3Fc%23d%25",
	}
	for in, want := range tests {
		if got := pathSegment(in); got != want {
			t.Errorf("pathSegment(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestFlexDecoding(t *testing.T) {
	type row struct {
		I flexInt    `json:"i"`
		F flexFloat  `json:"f"`
		B flexBool   `json:"b"`
		S flexString `json:"s"`
	}
	tests := []struct {
		in      string
		want    row
		wantErr bool
	}{
		{in: `{"i":5,"f":0.5,"b":true,"s":"x"}`, want: row{5, 0.5, true, "x"}},
		{in: `{"i":"5","f":"0.5","b":"1","s":5}`, want: row{5, 0.5, true, "5"}},
		{in: `{"i":5.0,"f":3,"b":0,"s":2.50}`, want: row{5, 3, false, "2.5"}},
		{in: `{"i":null,"f":null,"b":null,"s":null}`, want: row{}},
		{in: `{"i":"","f":"","b":"","s":""}`, want: row{}},
		{in: `{"i":1e3,"b":"false","s":true}`, want: row{I: 1000, S: "1"}},
		{in: `{"i":9007199254740993}`, want: row{I: 9007199254740993}},
		{in: `{"i":1.5}`, wantErr: true},
		{in: `{"i":"x"}`, wantErr: true},
		{in: `{"b":"maybe"}`, wantErr: true},
		{in: `{"f":"NaNx"}`, wantErr: true},
		{in: `{"s":{"a":1}}`, wantErr: true},
		{in: `{"i":[1]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got row
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoded %+v; want error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestNumberText(t *testing.T) {
	tests := map[string]string{
		"4": "4", "2048.0": "2048", "1.5": "1.5", "1e3": "1000", "-3": "-3",
		"12345678901234567890": "12345678901234567890", "0.000001": "0.000001",
	}
	for in, want := range tests {
		if got := numberText(json.Number(in)); got != want {
			t.Errorf("numberText(%s) = %q; want %q", in, got, want)
		}
	}
}

func TestOptions(t *testing.T) {
	r, err := New(nil, WithRetry(-1, 5*time.Second, time.Second), WithHTTPTimeout(-time.Second), WithTaskPoll(0, -1))
	if err != nil {
		t.Fatal(err)
	}
	s := r.set
	if s.retryMax != 0 || s.retryWaitMin != 5*time.Second || s.retryWaitMax != 5*time.Second || s.httpTimeout != 0 ||
		s.pollMin != time.Millisecond || s.pollMax != time.Millisecond {
		t.Fatalf("settings not clamped: %+v", s)
	}
	d := defaultSettings()
	if d.retryMax != 4 || d.retryWaitMin != 200*time.Millisecond || d.retryWaitMax != 3*time.Second ||
		d.pollMin != 250*time.Millisecond || d.pollMax != time.Second {
		t.Fatalf("defaults changed: %+v", d)
	}
}
