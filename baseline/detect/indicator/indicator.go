// Package indicator imports threat-intelligence indicators (STIX 2.1 bundles
// and plain lists) and matches addresses, domain names and URLs against
// them. The malware engine raises malware.indicator when traffic touches one.
//
// Parsing is strictly bounded: input size, indicator count, line length and
// the number of detailed errors are capped (Limits), and everything skipped
// is counted with its reason in the Result. Matching addresses and domain
// names does not allocate.
package indicator

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Kind is what an indicator matches.
type Kind uint8

// Indicator kinds.
const (
	KindAddr   Kind = iota + 1 // one IPv4 or IPv6 address
	KindPrefix                 // a CIDR prefix
	KindDomain                 // a domain name, exact or with its subdomains
	KindURL                    // a normalised absolute URL
)

var kindNames = [...]string{"", "address", "prefix", "domain", "url"}

// String returns the lower-case kind name.
func (k Kind) String() string {
	if k != 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Minimum prefix lengths: shorter prefixes would match a large part of the
// address space and are refused as too broad.
const (
	MinPrefix4 = 8
	MinPrefix6 = 16
)

// Length limits of names and URLs.
const (
	maxDomain = 253
	maxURL    = 8192
)

// Indicator is one imported indicator of compromise with its provenance.
type Indicator struct {
	Kind Kind
	// Value is the canonical form: "192.0.2.1", "198.51.100.0/24",
	// "evil.example" (exact), "*.evil.example" (the name and its
	// subdomains), "http://evil.example/payload".
	Value string
	// Prefix holds the address (full-length prefix) or the prefix of
	// KindAddr and KindPrefix indicators.
	Prefix netip.Prefix
	// Subdomains: a KindDomain indicator also matches every subdomain.
	Subdomains bool

	Source      string // file name the indicator came from
	Bundle      string // STIX bundle id, if any
	ID          string // STIX indicator id, if any
	Line        int    // line number in a plain list, if any
	Name        string
	Description string
	Labels      []string // STIX labels and indicator_types
	ValidFrom   time.Time
	ValidUntil  time.Time // zero: no end
	// Confidence is the STIX confidence (0–100) when HasConfidence.
	Confidence    int
	HasConfidence bool
}

// String returns the kind and value, e.g. "domain *.evil.example".
func (ind *Indicator) String() string { return ind.Kind.String() + " " + ind.Value }

// Expired reports whether the indicator's validity ended at or before now.
func (ind *Indicator) Expired(now time.Time) bool {
	return !ind.ValidUntil.IsZero() && !ind.ValidUntil.After(now)
}

// key is the index key of a domain indicator (the name without "*.").
func (ind *Indicator) domainKey() string { return strings.TrimPrefix(ind.Value, "*.") }

// Parse classifies one plain value: an IPv4 or IPv6 address, a CIDR prefix,
// an absolute URL (anything with "://"), or a domain name; a leading "*." or
// "." makes a domain match its subdomains too. It returns the indicator with
// Kind, Value, Prefix and Subdomains set.
func Parse(value string) (Indicator, error) {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return Indicator{}, errors.New("empty value")
	case strings.Contains(v, "://"):
		u, err := NormalizeURL(v)
		if err != nil {
			return Indicator{}, err
		}
		return Indicator{Kind: KindURL, Value: u}, nil
	case strings.HasPrefix(v, "*."), strings.HasPrefix(v, "."):
		d, err := canonDomain(v[strings.IndexByte(v, '.')+1:])
		if err != nil {
			return Indicator{}, err
		}
		return Indicator{Kind: KindDomain, Value: "*." + d, Subdomains: true}, nil
	case strings.IndexByte(v, '/') >= 0 || strings.IndexByte(v, ':') >= 0 || isDottedNumeric(v):
		return parseIP(v)
	}
	d, err := canonDomain(v)
	if err != nil {
		return Indicator{}, err
	}
	return Indicator{Kind: KindDomain, Value: d}, nil
}

// isDottedNumeric reports whether s has only digits and dots, as an IPv4
// address (valid or not) does.
func isDottedNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// parseIP parses an address or a CIDR prefix. IPv4-mapped IPv6 values are
// unmapped; zones are refused; host bits of prefixes are cleared.
func parseIP(v string) (Indicator, error) {
	if strings.IndexByte(v, '/') < 0 {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return Indicator{}, fmt.Errorf("address: %w", err)
		}
		if a.Zone() != "" {
			return Indicator{}, fmt.Errorf("address %q: zoned addresses are not indicators", v)
		}
		a = a.Unmap()
		return Indicator{Kind: KindAddr, Value: a.String(), Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return Indicator{}, fmt.Errorf("prefix: %w", err)
	}
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	p = netip.PrefixFrom(a, bits).Masked()
	if bits == a.BitLen() {
		return Indicator{Kind: KindAddr, Value: a.String(), Prefix: p}, nil
	}
	if (a.Is4() && bits < MinPrefix4) || (a.Is6() && bits < MinPrefix6) {
		return Indicator{}, fmt.Errorf("prefix %s: too broad (shorter than /%d for IPv4, /%d for IPv6)", p, MinPrefix4, MinPrefix6)
	}
	return Indicator{Kind: KindPrefix, Value: p.String(), Prefix: p}, nil
}

// canonDomain lower-cases a domain name, drops a trailing dot and checks
// its syntax: ASCII letters, digits, '-' and '_' in labels of 1–63
// characters, at least two labels, a non-numeric top-level label, 253
// characters at most. Internationalised names must be given in punycode.
func canonDomain(s string) (string, error) {
	orig := s
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errors.New("empty domain name")
	}
	if len(s) > maxDomain {
		return "", fmt.Errorf("domain name of %d characters: longer than %d", len(s), maxDomain)
	}
	var lower []byte
	var last string
	labels, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			l := s[start:i]
			switch {
			case l == "":
				return "", fmt.Errorf("domain name %q: empty label", orig)
			case len(l) > 63:
				return "", fmt.Errorf("domain name %q: label longer than 63 characters", orig)
			case l[0] == '-' || l[len(l)-1] == '-':
				return "", fmt.Errorf("domain name %q: label starts or ends with '-'", orig)
			}
			labels++
			last = l
			start = i + 1
			continue
		}
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if lower == nil {
				lower = []byte(s)
			}
			lower[i] = c + 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			if c >= 0x80 {
				return "", fmt.Errorf("domain name %q: non-ASCII (give internationalised names in punycode)", orig)
			}
			return "", fmt.Errorf("domain name %q: invalid character %q", orig, c)
		}
	}
	if labels < 2 {
		return "", fmt.Errorf("domain name %q: a single label is not a domain indicator", orig)
	}
	if isDottedNumeric(last) {
		return "", fmt.Errorf("domain name %q: numeric top-level label", orig)
	}
	if lower != nil {
		return string(lower), nil
	}
	return s, nil
}

// defaultPort returns the port that normalised URLs of the scheme omit.
func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	case "ftp":
		return "21"
	}
	return ""
}

// NormalizeURL returns the canonical form of an absolute URL, as indicators
// store it and as MatchURL compares it: scheme and host in lower case, the
// host's trailing dot and the scheme's default port removed, IPv6 hosts in
// canonical form, an empty path as "/", percent-escapes in upper case, user
// information and fragment dropped; the query is kept.
func NormalizeURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxURL {
		return "", fmt.Errorf("url of %d bytes: longer than %d", len(raw), maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("url: %w", err)
	}
	if u.Scheme == "" || u.Opaque != "" || u.Host == "" {
		return "", fmt.Errorf("url %q: not an absolute URL with a host", raw)
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", fmt.Errorf("url %q: empty host", raw)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", fmt.Errorf("url %q: zoned host address", raw)
		}
		host = a.Unmap().String()
		if a.Unmap().Is6() {
			host = "[" + host + "]"
		}
	} else if err := checkHostname(host); err != nil {
		return "", fmt.Errorf("url %q: %w", raw, err)
	}
	var b strings.Builder
	b.Grow(len(raw) + 1)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if port := u.Port(); port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return "", fmt.Errorf("url %q: invalid port", raw)
		}
		if port = strconv.FormatUint(n, 10); port != defaultPort(scheme) {
			b.WriteByte(':')
			b.WriteString(port)
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	writeUpperEscapes(&b, path)
	if u.RawQuery != "" {
		b.WriteByte('?')
		writeUpperEscapes(&b, u.RawQuery)
	}
	return b.String(), nil
}

// checkHostname checks the syntax of a lower-case URL host name: like a
// domain name, but a single label ("intranet") is allowed.
func checkHostname(h string) error {
	if len(h) > maxDomain {
		return fmt.Errorf("host name longer than %d", maxDomain)
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("host %q: empty label or label longer than 63", h)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
				return fmt.Errorf("host %q: invalid character %q (give internationalised names in punycode)", h, c)
			}
		}
	}
	return nil
}

// writeUpperEscapes writes s with the hex digits of its percent-escapes in
// upper case.
func writeUpperEscapes(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte('%')
			b.WriteByte(upperHex(s[i+1]))
			b.WriteByte(upperHex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// normalize fills in and checks the canonical fields of an indicator built
// by hand (or by a parser) before it goes into a Set.
func (ind *Indicator) normalize() error {
	switch ind.Kind {
	case 0:
		p, err := Parse(ind.Value)
		if err != nil {
			return err
		}
		ind.Kind, ind.Value, ind.Prefix, ind.Subdomains = p.Kind, p.Value, p.Prefix, p.Subdomains
	case KindAddr, KindPrefix:
		v := ind.Value
		if v == "" && ind.Prefix.IsValid() {
			v = ind.Prefix.String()
		}
		p, err := parseIP(v)
		if err != nil {
			return err
		}
		ind.Kind, ind.Value, ind.Prefix = p.Kind, p.Value, p.Prefix
	case KindDomain:
		v := ind.Value
		if strings.HasPrefix(v, "*.") || strings.HasPrefix(v, ".") {
			v = v[strings.IndexByte(v, '.')+1:]
			ind.Subdomains = true
		}
		d, err := canonDomain(v)
		if err != nil {
			return err
		}
		ind.Value = d
		if ind.Subdomains {
			ind.Value = "*." + d
		}
	case KindURL:
		u, err := NormalizeURL(ind.Value)
		if err != nil {
			return err
		}
		ind.Value = u
	default:
		return fmt.Errorf("indicator %q: unknown kind %d", ind.Value, ind.Kind)
	}
	if ind.Kind != KindDomain {
		ind.Subdomains = false
	}
	return nil
}
