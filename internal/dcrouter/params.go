package dcrouter

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// encodeQuery renders query parameters the way PVE parses them: booleans as
// 1/0 (PVE rejects "true" in form values), numbers without exponents, spaces
// as %20. go-proxmox's GetWithParams goes through float64 and "%v" and
// would send 1e+06, hence our own encoder.
func encodeQuery(q map[string]any) (string, error) {
	vals := url.Values{}
	for k, v := range q {
		s, ok, err := paramString(v)
		if err != nil {
			return "", fmt.Errorf("query parameter %q: %w", k, err)
		}
		if ok {
			vals.Set(k, s)
		}
	}
	return strings.ReplaceAll(vals.Encode(), "+", "%20"), nil
}

// paramString renders one scalar; ok is false for nil (parameter omitted).
func paramString(v any) (s string, ok bool, err error) {
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, true, nil
	case bool:
		if x {
			return "1", true, nil
		}
		return "0", true, nil
	case fmt.Stringer:
		return x.String(), true, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), true, nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'f', -1, 64), true, nil
	case reflect.String:
		return rv.String(), true, nil
	case reflect.Bool:
		if rv.Bool() {
			return "1", true, nil
		}
		return "0", true, nil
	}
	return "", false, fmt.Errorf("unsupported value type %T", v)
}

// normalizeParams copies params with booleans as 1/0, the form PVE documents
// for every boolean parameter; everything else is sent as JSON as given.
func normalizeParams(params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		if b, ok := v.(bool); ok {
			if b {
				v = 1
			} else {
				v = 0
			}
		}
		out[k] = v
	}
	return out
}

// pathSegment percent-encodes s for use as one path segment, keeping RFC 3986
// pchars (so UPIDs with ':', '@', '!' stay as PVE prints them).
func pathSegment(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isPChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

func isPChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}
