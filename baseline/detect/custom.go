package detect

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/dissectors/dissect"
)

// CustomRule is an operator's rule on decoded transaction fields.
//
// Fields: protocol, op, function, func_name, unit, addr_space, addr_start,
// addr_end, status, code, src_port, dst_port, req_bytes, resp_bytes, and
// any transaction attribute as attr.<key> (e.g. attr.class). Operators: ==,
// !=, <, <=, >, >=, in_range (Values: [min, max]), in_set (Values).
// Numbers compare as numbers, anything else as strings (case-insensitive).
type CustomRule struct {
	Name       string         `json:"name" yaml:"name"`
	Severity   string         `json:"severity,omitempty" yaml:"severity"`
	Action     string         `json:"action,omitempty" yaml:"action"` // "alert" (default) or "record"
	Conditions []Condition    `json:"conditions" yaml:"conditions"`
	Sources    []netip.Prefix `json:"sources,omitempty" yaml:"sources"`
	Dests      []netip.Prefix `json:"destinations,omitempty" yaml:"destinations"`
	// Count and Within: raise only when the conditions match Count times
	// within Within from one source (default: every match).
	Count      int      `json:"count,omitempty" yaml:"count"`
	Within     Duration `json:"within,omitempty" yaml:"within"`
	Techniques []string `json:"techniques,omitempty" yaml:"techniques"`

	sev      alert.Severity
	compiled bool
}

// Condition is one test on a field.
type Condition struct {
	Field  string   `json:"field" yaml:"field"`
	Op     string   `json:"op" yaml:"op"`
	Value  string   `json:"value,omitempty" yaml:"value"`
	Values []string `json:"values,omitempty" yaml:"values"`

	attr   string // attribute key for attr.<key>
	num    float64
	isNum  bool
	nums   []float64
	allNum bool
}

var customFields = map[string]bool{"protocol": true, "op": true, "function": true, "func_name": true, "unit": true,
	"addr_space": true, "addr_start": true, "addr_end": true, "status": true, "code": true, "src_port": true,
	"dst_port": true, "req_bytes": true, "resp_bytes": true}

func (r *CustomRule) compile() error {
	if r.compiled {
		return nil
	}
	if strings.TrimSpace(r.Name) == "" {
		return fmt.Errorf("a custom rule needs a name")
	}
	r.sev = alert.Major
	if r.Severity != "" {
		s, err := alert.ParseSeverity(r.Severity)
		if err != nil {
			return err
		}
		r.sev = s
	}
	switch r.Action {
	case "", "alert", "record":
	default:
		return fmt.Errorf("action %q: want alert or record", r.Action)
	}
	if len(r.Conditions) == 0 {
		return fmt.Errorf("a custom rule needs at least one condition")
	}
	for _, t := range r.Techniques {
		if err := alert.ValidTechnique(t); err != nil {
			return err
		}
	}
	for i := range r.Conditions {
		c := &r.Conditions[i]
		if k, ok := strings.CutPrefix(c.Field, "attr."); ok && k != "" {
			c.attr = k
		} else if !customFields[c.Field] {
			return fmt.Errorf("condition %d: unknown field %q", i+1, c.Field)
		}
		switch c.Op {
		case "==", "!=", "<", "<=", ">", ">=":
			if c.Value == "" && len(c.Values) == 0 {
				return fmt.Errorf("condition %d: %s needs a value", i+1, c.Op)
			}
			if c.Value == "" {
				c.Value = c.Values[0]
			}
			c.num, c.isNum = parseNum(c.Value)
			if !c.isNum && c.Op != "==" && c.Op != "!=" {
				return fmt.Errorf("condition %d: %s needs a number, got %q", i+1, c.Op, c.Value)
			}
		case "in_range":
			if len(c.Values) != 2 {
				return fmt.Errorf("condition %d: in_range needs values [min, max]", i+1)
			}
			lo, ok1 := parseNum(c.Values[0])
			hi, ok2 := parseNum(c.Values[1])
			if !ok1 || !ok2 || hi < lo {
				return fmt.Errorf("condition %d: in_range needs numbers min <= max", i+1)
			}
			c.nums = []float64{lo, hi}
		case "in_set":
			if len(c.Values) == 0 {
				return fmt.Errorf("condition %d: in_set needs values", i+1)
			}
			c.allNum = true
			for _, v := range c.Values {
				n, ok := parseNum(v)
				if !ok {
					c.allNum = false
					break
				}
				c.nums = append(c.nums, n)
			}
		default:
			return fmt.Errorf("condition %d: unknown operator %q", i+1, c.Op)
		}
	}
	r.compiled = true
	return nil
}

func parseNum(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		return float64(v), err == nil
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// fieldOf returns a transaction field as a number or a string.
func fieldOf(t *dissect.Transaction, c *Condition, src, dst *dissect.Endpoint) (num float64, str string, bs []byte, isNum, ok bool) {
	if c.attr != "" {
		for i := range t.Attrs {
			a := &t.Attrs[i]
			if a.Key == c.attr {
				if a.IsStr {
					return 0, "", a.Str, false, true
				}
				return float64(a.Num), "", nil, true, true
			}
		}
		return 0, "", nil, false, false
	}
	switch c.Field {
	case "protocol":
		return 0, t.Protocol, nil, false, true
	case "op":
		return 0, t.Op.String(), nil, false, true
	case "function":
		return float64(t.Function), "", nil, true, true
	case "func_name":
		return 0, t.FuncName, nil, false, true
	case "unit":
		return float64(t.Unit), "", nil, true, t.HasUnit
	case "addr_space":
		return 0, t.AddrSpace, nil, false, t.HasAddr
	case "addr_start":
		return float64(t.AddrStart), "", nil, true, t.HasAddr
	case "addr_end":
		return float64(t.AddrEnd), "", nil, true, t.HasAddr
	case "status":
		return 0, t.Status.String(), nil, false, true
	case "code":
		return float64(t.Code), "", nil, true, t.Status == dissect.StatusException
	case "src_port":
		return float64(src.Port), "", nil, true, true
	case "dst_port":
		return float64(dst.Port), "", nil, true, true
	case "req_bytes":
		return float64(t.ReqBytes), "", nil, true, true
	case "resp_bytes":
		return float64(t.RespBytes), "", nil, true, true
	}
	return 0, "", nil, false, false
}

func eqFoldBytes(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// match evaluates one condition.
func (c *Condition) match(t *dissect.Transaction, src, dst *dissect.Endpoint) bool {
	num, str, bs, isNum, ok := fieldOf(t, c, src, dst)
	if !ok {
		return c.Op == "!="
	}
	eqStr := func(v string) bool {
		if bs != nil {
			return eqFoldBytes(bs, v)
		}
		return strings.EqualFold(str, v)
	}
	switch c.Op {
	case "==":
		if isNum && c.isNum {
			return num == c.num
		}
		return !isNum && eqStr(c.Value)
	case "!=":
		if isNum && c.isNum {
			return num != c.num
		}
		return isNum || !eqStr(c.Value)
	case "<":
		return isNum && num < c.num
	case "<=":
		return isNum && num <= c.num
	case ">":
		return isNum && num > c.num
	case ">=":
		return isNum && num >= c.num
	case "in_range":
		return isNum && num >= c.nums[0] && num <= c.nums[1]
	case "in_set":
		if isNum && c.allNum {
			for _, n := range c.nums {
				if n == num {
					return true
				}
			}
			return false
		}
		if isNum {
			return false
		}
		for _, v := range c.Values {
			if eqStr(v) {
				return true
			}
		}
	}
	return false
}

// Matches reports whether the transaction, sent from src to dst, meets
// every condition and the address sets of the rule.
func (r *CustomRule) Matches(t *dissect.Transaction, src, dst *dissect.Endpoint) bool {
	if len(r.Sources) > 0 && !anyContains(r.Sources, src.IP) {
		return false
	}
	if len(r.Dests) > 0 && !anyContains(r.Dests, dst.IP) {
		return false
	}
	for i := range r.Conditions {
		if !r.Conditions[i].match(t, src, dst) {
			return false
		}
	}
	return true
}
