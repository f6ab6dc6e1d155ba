package pvesim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ParamType is a JSON-schema type as PVE's API schema names it.
type ParamType string

// Parameter types used by the PVE API schema.
const (
	TypeString  ParamType = "string"
	TypeInteger ParamType = "integer"
	TypeBoolean ParamType = "boolean"
	TypeNumber  ParamType = "number"
)

// Param declares one API parameter the way the official schema does. Per-key
// families are declared once with the schema's name ("net[n]") and FamilyMax,
// the highest index PVE accepts.
type Param struct {
	Name      string
	Type      ParamType
	Optional  bool
	Enum      []string
	Minimum   *float64
	Maximum   *float64
	MaxLength int
	MinLength int
	Pattern   *regexp.Regexp // anchored
	Format    func(string) error
	// FormatRef names the schema format (formats_schema.go) checked when
	// Format is nil.
	FormatRef string
	// Requires names a parameter that must be present with this one.
	Requires  string
	FamilyMax int
}

func strP(name string) Param    { return Param{Name: name, Type: TypeString} }
func intP(name string) Param    { return Param{Name: name, Type: TypeInteger} }
func boolP(name string) Param   { return Param{Name: name, Type: TypeBoolean} }
func numberP(name string) Param { return Param{Name: name, Type: TypeNumber} }

func (p Param) opt() Param { p.Optional = true; return p }

func (p Param) atLeast(lo float64) Param { p.Minimum = &lo; return p }

func (p Param) between(lo, hi float64) Param {
	p.Minimum, p.Maximum = &lo, &hi
	return p
}

func (p Param) oneOf(values ...string) Param { p.Enum = values; return p }

func (p Param) format(f func(string) error) Param { p.Format = f; return p }

func (p Param) maxLen(n int) Param { p.MaxLength = n; return p }

func (p Param) minLen(n int) Param { p.MinLength = n; return p }

// matching anchors re the way PVE does (^(?:re)$).
func (p Param) matching(re string) Param {
	p.Pattern = regexp.MustCompile(`^(?:` + re + `)$`)
	return p
}

// family turns p into a per-key family "prefix[n]" with indexes 0..last.
func (p Param) family(last int) Param {
	p.Name += "[n]"
	p.FamilyMax = last
	return p
}

// IsFamily reports whether p stands for keys like net0..netN.
func (p Param) IsFamily() bool { return strings.HasSuffix(p.Name, "[n]") }

// keys lists the concrete request keys p accepts.
func (p Param) keys() []string {
	if !p.IsFamily() {
		return []string{p.Name}
	}
	prefix := strings.TrimSuffix(p.Name, "[n]")
	out := make([]string, 0, p.FamilyMax+1)
	for i := 0; i <= p.FamilyMax; i++ {
		out = append(out, prefix+strconv.Itoa(i))
	}
	return out
}

// paramSet indexes a route's declarations by concrete key.
type paramSet struct {
	list  []Param
	byKey map[string]*Param
}

func newParamSet(params []Param) paramSet {
	ps := paramSet{list: params, byKey: map[string]*Param{}}
	for i := range ps.list {
		for _, k := range ps.list[i].keys() {
			ps.byKey[k] = &ps.list[i]
		}
	}
	return ps
}

var (
	integerRe = regexp.MustCompile(`^[+-]?\d+$`)
	numberRe  = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)
)

// validate checks raw string values against the declarations and returns
// PVE's per-parameter messages (empty when everything is fine).
func (ps paramSet) validate(values map[string]string) map[string]string {
	errs := map[string]string{}
	for key, value := range values {
		p, ok := ps.byKey[key]
		if !ok {
			errs[key] = "property is not defined in schema and the schema does not allow additional properties"
			continue
		}
		if msg := p.check(key, value); msg != "" {
			errs[key] = msg
		}
	}
	for key := range values {
		if p, ok := ps.byKey[key]; ok && p.Requires != "" {
			if _, ok := values[p.Requires]; !ok {
				errs[p.Requires] = fmt.Sprintf("missing property required by '%s'", key)
			}
		}
	}
	for _, p := range ps.list {
		if p.Optional || p.IsFamily() {
			continue
		}
		if _, ok := values[p.Name]; !ok {
			errs[p.Name] = "property is missing and it is not optional"
		}
	}
	return errs
}

// check validates one value; the messages and their order (type, format,
// pattern, length, bounds, enum) follow PVE::JSONSchema's check_prop.
func (p *Param) check(key, value string) string {
	switch p.Type {
	case TypeBoolean:
		if value != "1" && value != "0" && value != "" {
			return fmt.Sprintf("type check ('boolean') failed - got '%s'", value)
		}
		return ""
	case TypeInteger:
		if !integerRe.MatchString(value) {
			return fmt.Sprintf("type check ('integer') failed - got '%s'", value)
		}
	case TypeNumber:
		if !numberRe.MatchString(value) {
			return fmt.Sprintf("type check ('number') failed - got '%s'", value)
		}
	}
	format := p.Format
	if format == nil && p.FormatRef != "" {
		format = resolveFormat(p.FormatRef)
	}
	if format != nil {
		if err := format(value); err != nil {
			return formatError(key, err)
		}
	}
	if p.Pattern != nil && !p.Pattern.MatchString(value) {
		return "value does not match the regex pattern"
	}
	if p.MaxLength > 0 && len(value) > p.MaxLength {
		return fmt.Sprintf("value may only be %d characters long", p.MaxLength)
	}
	if p.MinLength > 0 && len(value) < p.MinLength {
		return fmt.Sprintf("value must be at least %d characters long", p.MinLength)
	}
	if p.Type == TypeInteger || p.Type == TypeNumber || numberRe.MatchString(value) {
		if msg := p.checkRange(value); msg != "" {
			return msg
		}
	}
	if len(p.Enum) > 0 && !contains(p.Enum, value) {
		return fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'", value, strings.Join(p.Enum, ", "))
	}
	return ""
}

func (p *Param) checkRange(value string) string {
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return fmt.Sprintf("type check ('%s') failed - got '%s'", p.Type, value)
	}
	if p.Maximum != nil && v > *p.Maximum {
		return "value must have a maximum value of " + fmtNum(*p.Maximum)
	}
	if p.Minimum != nil && v < *p.Minimum {
		return "value must have a minimum value of " + fmtNum(*p.Minimum)
	}
	return ""
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
