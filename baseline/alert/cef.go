package alert

import (
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ProductInfo names the product in CEF headers. Empty Vendor and Product
// stand for "OTWatch" and "otsensor".
type ProductInfo struct {
	Vendor  string
	Product string
	Version string
}

// CEF field limits (ArcSight CEF implementation standard). Longer values
// are cut, at a UTF-8 boundary, with "..." at the end.
const (
	cefMaxVendor   = 63
	cefMaxProduct  = 63
	cefMaxVersion  = 31
	cefMaxClassID  = 1023
	cefMaxName     = 512
	cefMaxMsg      = 1023
	cefMaxExtValue = 1023
)

// AppendCEF appends the alert as one ArcSight CEF:0 line (without a line
// end) to b:
//
//	CEF:0|OTWatch|otsensor|<version>|<rule>|<title>|<0–10>|<extension>
//
// Header fields escape '\' and '|'; extension values escape '\', '=' and
// line ends (\n, \r); other control characters become spaces and invalid
// UTF-8 becomes U+FFFD, so the line is always one line of valid UTF-8.
// The extension carries, when known: rt (last seen, ms since the epoch),
// start and end (first and last seen), cnt, src and dst (IPv4) or c6a2
// and c6a3 (IPv6, with their labels), smac, dmac, spt, dpt, shost, dhost,
// app (protocol), act (status), cat (engine/category), externalId (alert
// ID), cs1 techniques, cs2 function, cs3 tactics (with their labels),
// deviceSeverity (the sensor's severity name) and msg (description, else
// remediation, cut to 1023 bytes).
func (a *Alert) AppendCEF(b []byte, p ProductInfo) []byte {
	vendor, product := p.Vendor, p.Product
	if vendor == "" {
		vendor = "OTWatch"
	}
	if product == "" {
		product = "otsensor"
	}
	title := a.Title
	if title == "" {
		title = a.Rule
	}
	b = append(b, "CEF:0|"...)
	for _, f := range [...]struct {
		s   string
		max int
	}{{vendor, cefMaxVendor}, {product, cefMaxProduct}, {p.Version, cefMaxVersion}, {a.Rule, cefMaxClassID}, {title, cefMaxName}} {
		b = appendCEFHeader(b, shorten(f.s, f.max))
		b = append(b, '|')
	}
	b = strconv.AppendInt(b, int64(a.Severity.CEF()), 10)
	b = append(b, '|')

	w := cefExt{b: b}
	if !a.LastSeen.IsZero() {
		w.int("rt", a.LastSeen.UnixMilli())
	}
	if !a.FirstSeen.IsZero() {
		w.int("start", a.FirstSeen.UnixMilli())
	}
	if !a.LastSeen.IsZero() {
		w.int("end", a.LastSeen.UnixMilli())
	}
	if a.Count > 0 {
		w.uint("cnt", a.Count)
	}
	w.addr(a.Src, "src", "c6a2", "Source IPv6 Address")
	w.addr(a.Dst, "dst", "c6a3", "Destination IPv6 Address")
	w.str("smac", macString(a.Src.MAC))
	w.str("dmac", macString(a.Dst.MAC))
	if a.Src.Port != 0 {
		w.uint("spt", uint64(a.Src.Port))
	}
	if a.Dst.Port != 0 {
		w.uint("dpt", uint64(a.Dst.Port))
	}
	w.str("shost", a.Src.Name)
	w.str("dhost", a.Dst.Name)
	w.str("app", a.Protocol)
	if a.Status != 0 {
		w.str("act", a.Status.String())
	}
	cat := a.Category
	if a.Engine != 0 {
		cat = a.Engine.String() + "/" + a.Category
	}
	w.str("cat", cat)
	w.str("externalId", a.ID)
	w.labelled("cs1", "techniques", strings.Join(a.Techniques, ","))
	w.labelled("cs2", "function", a.Function)
	w.labelled("cs3", "tactics", strings.Join(Tactics(a.Techniques), ","))
	if a.Severity != 0 {
		w.str("deviceSeverity", a.Severity.String())
	}
	msg := a.Description
	if msg == "" {
		msg = a.Remediation
	}
	w.str("msg", shorten(msg, cefMaxMsg))
	return w.b
}

// cefExt appends space-separated key=value pairs.
type cefExt struct {
	b []byte
	n int
}

func (w *cefExt) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, ' ')
	}
	w.n++
	w.b = append(w.b, k...)
	w.b = append(w.b, '=')
}

func (w *cefExt) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = appendCEFValue(w.b, shorten(v, cefMaxExtValue))
}

func (w *cefExt) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *cefExt) uint(k string, v uint64) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

// labelled appends a custom field with its label, as "csNLabel=l csN=v".
func (w *cefExt) labelled(k, label, v string) {
	if v == "" {
		return
	}
	w.str(k+"Label", label)
	w.str(k, v)
}

// addr appends an IPv4 address under v4 or an IPv6 one under v6 with its
// label (CEF's src and dst take IPv4 only).
func (w *cefExt) addr(d Device, v4, v6, label string) {
	a := d.Addr()
	if !a.IsValid() {
		return
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		w.str(v4, a.String())
		return
	}
	w.str(v6+"Label", label)
	w.str(v6, a.String())
}

// macString returns a MAC address as CEF wants it (colon-separated hex),
// or "" when s is not a 6-byte MAC address.
func macString(s string) string {
	if s == "" {
		return ""
	}
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return ""
	}
	return hw.String()
}

// escMode says which characters appendClean escapes.
type escMode uint8

const (
	escHeader escMode = iota // CEF header field: \ and |
	escValue                 // CEF extension value: \, =, \n and \r
	escSD                    // syslog SD-PARAM value: ", \ and ]
	escText                  // free text: nothing
)

// appendCEFHeader escapes a header field: '\' and '|' get a backslash;
// line ends and other control characters become spaces.
func appendCEFHeader(b []byte, s string) []byte { return appendClean(b, s, escHeader) }

// appendCEFValue escapes an extension value: '\' and '=' get a backslash,
// line ends are written \n and \r; other control characters become spaces.
func appendCEFValue(b []byte, s string) []byte { return appendClean(b, s, escValue) }

// appendClean appends s escaped for mode m. Control characters that m does
// not escape become spaces and invalid UTF-8 becomes U+FFFD, so the output
// is one line of valid UTF-8.
func appendClean(b []byte, s string, m escMode) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '\\' && m != escText, c == '|' && m == escHeader, c == '=' && m == escValue,
				(c == '"' || c == ']') && m == escSD:
				b = append(b, '\\', c)
			case c == '\n' && m == escValue:
				b = append(b, '\\', 'n')
			case c == '\r' && m == escValue:
				b = append(b, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				b = append(b, ' ')
			default:
				b = append(b, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = utf8.AppendRune(b, utf8.RuneError)
		case r < 0xa0: // C1 control characters
			b = append(b, ' ')
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// shorten cuts s to at most n bytes at a rune boundary, ending it with
// "..." when it was cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// SyslogSDID is the SD-ID of the structured-data element of syslog alerts.
// 32473 is the private enterprise number that RFC 5612 reserves for
// documentation; a deployment with its own number may rewrite it.
const SyslogSDID = "otwatch@32473"

// SyslogSeverity maps the sensor severity to a syslog severity (RFC 5424):
// Critical→2 (crit), Major→3 (err), Minor→4 (warning), Warning→5 (notice),
// anything else→6 (informational).
func (s Severity) SyslogSeverity() int {
	switch s {
	case Critical:
		return 2
	case Major:
		return 3
	case Minor:
		return 4
	case Warning:
		return 5
	}
	return 6
}

// AppendSyslog appends the alert as one RFC 5424 message (without a line
// end or octet count: the transport adds its framing) to b, with a plain
// text MSG. facility is the syslog facility, 0–23 (16–23 are local0–7);
// other values are taken as 1 (user). The header is
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [otwatch@32473 ...] MSG
//
// with PRI = facility×8 + SyslogSeverity, TIMESTAMP the alert's last
// sighting in UTC with microseconds, MSGID the rule ID, and the
// structured data id, rule, engine, severity, status, count, src, sport,
// dst, dport, protocol, function, techniques and tactics (empty ones left
// out).
// Header fields are cut to their RFC 5424 lengths and characters outside
// printable ASCII become '_'; "-" stands for an empty one.
func AppendSyslog(b []byte, a *Alert, hostname, appName string, facility int) []byte {
	b = appendSyslogHead(b, a, hostname, appName, facility)
	return appendPlain(b, a)
}

// AppendSyslogCEF is AppendSyslog with the alert's CEF line (AppendCEF) as
// MSG, the usual way of feeding CEF to a SIEM over syslog.
func AppendSyslogCEF(b []byte, a *Alert, hostname, appName string, facility int, p ProductInfo) []byte {
	b = appendSyslogHead(b, a, hostname, appName, facility)
	return a.AppendCEF(b, p)
}

func appendSyslogHead(b []byte, a *Alert, hostname, appName string, facility int) []byte {
	if facility < 0 || facility > 23 {
		facility = 1
	}
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(facility*8+a.Severity.SyslogSeverity()), 10)
	b = append(b, ">1 "...)
	if a.LastSeen.IsZero() {
		b = append(b, '-')
	} else {
		b = a.LastSeen.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	}
	b = append(b, ' ')
	b = appendHeaderField(b, hostname, 255)
	b = append(b, ' ')
	b = appendHeaderField(b, appName, 48)
	b = append(b, " - "...) // PROCID
	b = appendHeaderField(b, a.Rule, 32)
	b = append(b, ' ')

	b = append(b, '[')
	b = append(b, SyslogSDID...)
	sd := func(name, v string) {
		if v == "" {
			return
		}
		b = append(b, ' ')
		b = append(b, name...)
		b = append(b, '=', '"')
		b = appendSDValue(b, shorten(v, cefMaxExtValue))
		b = append(b, '"')
	}
	sd("id", a.ID)
	sd("rule", a.Rule)
	if a.Engine != 0 {
		sd("engine", a.Engine.String())
	}
	if a.Severity != 0 {
		sd("severity", a.Severity.String())
	}
	if a.Status != 0 {
		sd("status", a.Status.String())
	}
	if a.Count > 0 {
		sd("count", strconv.FormatUint(a.Count, 10))
	}
	sd("src", deviceID(a.Src))
	if a.Src.Port != 0 {
		sd("sport", strconv.Itoa(int(a.Src.Port)))
	}
	sd("dst", deviceID(a.Dst))
	if a.Dst.Port != 0 {
		sd("dport", strconv.Itoa(int(a.Dst.Port)))
	}
	sd("protocol", a.Protocol)
	sd("function", a.Function)
	sd("techniques", strings.Join(a.Techniques, ","))
	sd("tactics", strings.Join(Tactics(a.Techniques), ","))
	b = append(b, "] "...)
	return b
}

// appendHeaderField appends a syslog header field: printable US-ASCII
// only (others become '_'), at most max bytes, "-" when empty.
func appendHeaderField(b []byte, s string, max int) []byte {
	if s == "" {
		return append(b, '-')
	}
	if len(s) > max {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// appendSDValue escapes an SD-PARAM value: '"', '\' and ']' get a
// backslash; control characters become spaces.
func appendSDValue(b []byte, s string) []byte { return appendClean(b, s, escSD) }

// deviceID returns the IP address of a device (IPv4-mapped addresses
// unmapped, zones dropped), or else its MAC address or name.
func deviceID(d Device) string {
	if a := d.Addr(); a.IsValid() {
		return a.Unmap().WithZone("").String()
	}
	if d.IP != "" {
		return d.IP
	}
	if d.MAC != "" {
		return d.MAC
	}
	return d.Name
}

// endpoint returns "ip:port" ("[ipv6]:port") or deviceID.
func endpoint(d Device) string {
	if a := d.Addr(); a.IsValid() && d.Port != 0 {
		return net.JoinHostPort(a.Unmap().WithZone("").String(), strconv.Itoa(int(d.Port)))
	}
	return deviceID(d)
}

// appendPlain appends the human-readable MSG of a syslog alert:
// "Title: src (name) -> dst (name) [protocol function] count=N".
func appendPlain(b []byte, a *Alert) []byte {
	title := a.Title
	if title == "" {
		title = a.Rule
	}
	b = appendText(b, title)
	src, dst := deviceText(a.Src), deviceText(a.Dst)
	if src != "" || dst != "" {
		b = append(b, ": "...)
		if src == "" {
			src = "?"
		}
		b = appendText(b, src)
		if dst != "" {
			b = append(b, " -> "...)
			b = appendText(b, dst)
		}
	}
	if pf := strings.TrimSpace(a.Protocol + " " + a.Function); pf != "" {
		b = append(b, " ["...)
		b = appendText(b, pf)
		b = append(b, ']')
	}
	if a.Count > 0 {
		b = append(b, " count="...)
		b = strconv.AppendUint(b, a.Count, 10)
	}
	return b
}

// deviceText is endpoint plus the device name, when it adds something.
func deviceText(d Device) string {
	e := endpoint(d)
	if d.Name != "" && d.Name != e {
		if e == "" {
			return d.Name
		}
		return e + " (" + d.Name + ")"
	}
	return e
}

// appendText appends free text on one line: control characters become
// spaces and invalid UTF-8 becomes U+FFFD.
func appendText(b []byte, s string) []byte { return appendClean(b, s, escText) }
