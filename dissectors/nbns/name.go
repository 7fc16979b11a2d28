package nbns

import "github.com/otwatch/otwatch/dissectors/internal/dnsmsg"

// NameLen is the length of a decoded NetBIOS name (15 characters and the
// suffix byte).
const NameLen = 16

var typeDescr = map[byte]string{
	0x00: "Workstation/Redirector",
	0x01: "Browser",
	0x02: "Workstation/Redirector",
	0x03: "Messenger service/Main name",
	0x05: "Forwarded name",
	0x06: "RAS Server service",
	0x1b: "PDC Domain name",
	0x1c: "BDC Domain name",
	0x1d: "Master Browser backup",
	0x1e: "Browser Election Service",
	0x1f: "Net DDE Service",
	0x20: "Server service",
	0x21: "RAS client service",
	0x22: "Exchange Interchange (MSMail Connector)",
	0x23: "Exchange Store",
	0x24: "Exchange Directory",
	0x2b: "Lotus Notes Server service",
	0x30: "Modem sharing server service",
	0x31: "Modem sharing client service",
	0x43: "SMS Clients Remote Control",
	0x44: "SMS Administrators Remote Control Tool",
	0x45: "SMS Clients Remote Chat",
	0x46: "SMS Clients Remote Transfer",
	0x4c: "DEC Pathworks TCP/IP Service on Windows NT",
	0x52: "DEC Pathworks TCP/IP Service on Windows NT",
	0x6a: "Microsoft Exchange IMC",
	0x87: "Microsoft Exchange MTA",
	0xbe: "Network Monitor Agent",
	0xbf: "Network Monitor Analyzer",
}

// TypeDescr returns the usual meaning of a NetBIOS name suffix, with the
// wording Wireshark uses ("Unknown" for others).
func TypeDescr(suffix byte) string {
	if s, ok := typeDescr[suffix]; ok {
		return s
	}
	return "Unknown"
}

// DecodeName undoes the first-level encoding (RFC 1001 §14.1) of the name
// at off in msg (compression pointers followed). It returns the 16 raw name
// bytes, the scope ID (dotted, without its leading dot; a sub-slice of
// scratch) and whether the name was well formed: 32 letters A–P.
func DecodeName(msg []byte, off int, scratch []byte) (raw [NameLen]byte, scope []byte, ok bool) {
	full, ok := dnsmsg.AppendName(scratch[:0], msg, off)
	if !ok || len(full) < 2*NameLen || (len(full) > 2*NameLen && full[2*NameLen] != '.') {
		return raw, nil, false
	}
	for i := 0; i < NameLen; i++ {
		hi, lo := full[2*i]-'A', full[2*i+1]-'A'
		if hi > 15 || lo > 15 {
			return raw, nil, false
		}
		raw[i] = hi<<4 | lo
	}
	if len(full) > 2*NameLen {
		scope = full[2*NameLen+1:]
	}
	return raw, scope, true
}

// AppendName appends a decoded NetBIOS name as Wireshark prints it: the 15
// name characters with non-printable ones as <xx> and trailing spaces
// removed, then the suffix as <xx>, then ".scope" when there is one.
func AppendName(dst []byte, raw *[NameLen]byte, scope []byte) []byte {
	const hex = "0123456789abcdef"
	start := len(dst)
	for _, c := range raw[:NameLen-1] {
		if c >= ' ' && c <= '~' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '<', hex[c>>4], hex[c&15], '>')
		}
	}
	// Trailing spaces go, unless the name is all spaces (Wireshark keeps
	// those).
	for i := len(dst) - 1; i >= start; i-- {
		if dst[i] != ' ' {
			dst = dst[:i+1]
			break
		}
	}
	dst = append(dst, '<', hex[raw[NameLen-1]>>4], hex[raw[NameLen-1]&15], '>')
	if len(scope) > 0 {
		dst = append(dst, '.')
		dst = append(dst, scope...)
	}
	return dst
}

// TrimName returns the 15 name characters without trailing spaces or NULs,
// for use as a host name.
func TrimName(raw *[NameLen]byte) []byte { return trim(raw[:NameLen-1]) }

func trim(n []byte) []byte {
	for len(n) > 0 && (n[len(n)-1] == ' ' || n[len(n)-1] == 0) {
		n = n[:len(n)-1]
	}
	return n
}
