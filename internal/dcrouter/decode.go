package dcrouter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// PVE is written in Perl: the same field may arrive as 5, 5.0, "5", true or
// 1 depending on version and code path. These types accept all of them.

// flexString accepts strings, numbers (rendered without needless decimals) and booleans (1/0).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	*f = flexString(s)
	return err
}

// flexInt accepts integers, integral floats, numeric strings and booleans.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		*f = 0
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*f = flexInt(n)
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x != math.Trunc(x) || math.Abs(x) > 1<<62 {
		return fmt.Errorf("cannot read %s as an integer", b)
	}
	*f = flexInt(x)
	return nil
}

// flexFloat accepts numbers, numeric strings and booleans.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		*f = 0
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("cannot read %s as a number", b)
	}
	*f = flexFloat(x)
	return nil
}

// flexBool accepts booleans, numbers (non-zero is true) and their string forms.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "no", "off":
		*f = false
		return nil
	case "1", "true", "yes", "on":
		*f = true
		return nil
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil {
		*f = x != 0
		return nil
	}
	return fmt.Errorf("cannot read %s as a boolean", b)
}

// scalarText renders a JSON scalar as text: strings as-is, numbers without
// exponent or trailing ".0", booleans as 1/0, null as "". Objects and arrays
// are an error.
func scalarText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "", fmt.Errorf("empty JSON value")
	}
	switch b[0] {
	case '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case 'n':
		if string(b) == "null" {
			return "", nil
		}
	case 't':
		if string(b) == "true" {
			return "1", nil
		}
	case 'f':
		if string(b) == "false" {
			return "0", nil
		}
	case '{', '[':
		return "", fmt.Errorf("expected a scalar, got %.40s", b)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return "", err
		}
		return numberText(n), nil
	}
	return "", fmt.Errorf("invalid JSON value %.40s", b)
}

// numberText prints integers exactly (even beyond float precision) and
// other numbers in the shortest plain decimal form.
func numberText(n json.Number) string {
	s := n.String()
	if isIntegerLiteral(s) {
		return s
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

func isIntegerLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// optionalText is like flexString but keeps "absent/null" distinct from "".
type optionalText struct {
	set bool
	val string
}

func (o *optionalText) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*o = optionalText{}
		return nil
	}
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	*o = optionalText{set: true, val: s}
	return nil
}

func (o optionalText) ptr() *string {
	if !o.set {
		return nil
	}
	v := o.val
	return &v
}
