package dissect

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// The JSON forms below are the one serialisation of dissector output: the
// analyser's --out files and the dissectors' golden files use them, so a
// golden file shows exactly what a user gets. Each appends one JSON object
// (no newline) to b without reflection.

// AppendString appends s as a JSON string.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				const digits = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', digits[c>>4], digits[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// AppendBytesString appends v as a JSON string (invalid UTF-8 replaced).
func AppendBytesString(b []byte, v []byte) []byte { return AppendString(b, string(v)) }

func appendKey(b []byte, k string) []byte {
	if len(b) > 0 && b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = AppendString(b, k)
	return append(b, ':')
}

func appendStrField(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return AppendString(appendKey(b, k), v)
}

func appendUintField(b []byte, k string, v uint64) []byte {
	return strconv.AppendUint(appendKey(b, k), v, 10)
}

func appendTime(b []byte, k string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = appendKey(b, k)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendMAC appends a MAC address in colon notation.
func AppendMAC(b []byte, m [6]byte) []byte {
	const digits = "0123456789abcdef"
	for i, x := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[x>>4], digits[x&15])
	}
	return b
}

func appendEndpoint(b []byte, k string, e *Endpoint) []byte {
	b = appendKey(b, k)
	b = append(b, `{"mac":"`...)
	b = AppendMAC(b, e.MAC)
	b = append(b, '"')
	if e.IP.IsValid() {
		b = append(b, `,"ip":"`...)
		b = e.IP.AppendTo(b)
		b = append(b, '"')
	}
	if e.Port != 0 {
		b = appendUintField(b, "port", uint64(e.Port))
	}
	return append(b, '}')
}

// AppendFlowJSON appends the flow's identity.
func AppendFlowJSON(b []byte, f *Flow) []byte {
	b = append(b, '{')
	b = appendUintField(b, "id", f.ID)
	b = appendStrField(b, "transport", f.Transport.String())
	if f.VLAN != 0 {
		b = appendUintField(b, "vlan", uint64(f.VLAN))
	}
	if f.EtherType != 0 {
		b = appendUintField(b, "ethertype", uint64(f.EtherType))
	}
	b = appendEndpoint(b, "client", &f.Client)
	b = appendEndpoint(b, "server", &f.Server)
	return append(b, '}')
}

func appendAttrs(b []byte, attrs []Attr) []byte {
	if len(attrs) == 0 {
		return b
	}
	b = appendKey(b, "attrs")
	b = append(b, '{')
	for _, a := range attrs {
		if a.IsStr {
			b = AppendBytesString(appendKey(b, a.Key), a.Str)
		} else {
			b = appendUintField(b, a.Key, a.Num)
		}
	}
	return append(b, '}')
}

// AppendTransactionJSON appends t as a JSON object.
func AppendTransactionJSON(b []byte, t *Transaction) []byte {
	b = append(b, `{"type":"transaction"`...)
	b = appendTime(b, "time", t.Time)
	b = appendTime(b, "resp_time", t.RespTime)
	if t.Frame != 0 {
		b = appendUintField(b, "frame", t.Frame)
	}
	b = appendStrField(b, "protocol", t.Protocol)
	if t.Flow != nil {
		b = AppendFlowJSON(appendKey(b, "flow"), t.Flow)
	}
	b = appendStrField(b, "requester", t.Requester.String())
	b = appendStrField(b, "op", t.Op.String())
	b = appendUintField(b, "function", uint64(t.Function))
	b = appendStrField(b, "function_name", t.FuncName)
	if t.HasUnit {
		b = appendUintField(b, "unit", uint64(t.Unit))
	}
	if t.HasAddr {
		b = appendStrField(b, "addr_space", t.AddrSpace)
		b = appendUintField(b, "addr_start", uint64(t.AddrStart))
		b = appendUintField(b, "addr_end", uint64(t.AddrEnd))
	}
	b = appendStrField(b, "status", t.Status.String())
	if t.Status == StatusException {
		b = appendUintField(b, "code", uint64(t.Code))
		b = appendStrField(b, "code_name", t.CodeName)
	}
	b = appendUintField(b, "req_bytes", uint64(t.ReqBytes))
	b = appendUintField(b, "resp_bytes", uint64(t.RespBytes))
	b = appendAttrs(b, t.Attrs)
	return append(b, '}')
}

// AppendHintJSON appends h as a JSON object.
func AppendHintJSON(b []byte, h *AssetHint) []byte {
	b = append(b, `{"type":"hint"`...)
	b = appendTime(b, "time", h.Time)
	b = appendStrField(b, "protocol", h.Protocol)
	b = appendKey(b, "mac")
	b = append(b, '"')
	b = AppendMAC(b, h.MAC)
	b = append(b, '"')
	if h.IP.IsValid() {
		b = appendKey(b, "ip")
		b = append(b, '"')
		b = h.IP.AppendTo(b)
		b = append(b, '"')
	}
	if h.Role != RoleUnknown {
		b = appendStrField(b, "role", h.Role.String())
	}
	b = appendStrField(b, "evidence", h.Evidence)
	b = appendStrField(b, "vendor", h.Vendor)
	if h.VendorID != 0 {
		b = appendUintField(b, "vendor_id", uint64(h.VendorID))
	}
	b = appendStrField(b, "model", h.Model)
	b = appendStrField(b, "product", h.Product)
	b = appendStrField(b, "firmware", h.Firmware)
	b = appendStrField(b, "hardware", h.Hardware)
	b = appendStrField(b, "serial", h.Serial)
	b = appendStrField(b, "name", h.Name)
	b = appendStrField(b, "os", h.OS)
	if h.HasDevice {
		b = appendUintField(b, "device_id", uint64(h.DeviceID))
	}
	b = appendStrField(b, "mode", h.Mode)
	b = appendStrField(b, "slot", h.Slot)
	b = appendAttrs(b, h.Extra)
	return append(b, '}')
}

// AppendViolationJSON appends v as a JSON object.
func AppendViolationJSON(b []byte, v *Violation) []byte {
	b = append(b, `{"type":"violation"`...)
	b = appendTime(b, "time", v.Time)
	if v.Frame != 0 {
		b = appendUintField(b, "frame", v.Frame)
	}
	b = appendStrField(b, "protocol", v.Protocol)
	if v.Flow != nil {
		b = appendUintField(b, "flow_id", v.Flow.ID)
	}
	b = appendStrField(b, "dir", v.Dir.String())
	b = appendStrField(b, "kind", v.Kind.String())
	if v.Function != 0 {
		b = appendUintField(b, "function", uint64(v.Function))
	}
	b = appendStrField(b, "reason", v.Reason)
	return append(b, '}')
}
