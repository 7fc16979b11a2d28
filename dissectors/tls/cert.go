package tls

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/internal/ber"
)

// cert is what OTWatch keeps of an X.509 certificate; slices point into
// the DER encoding.
type cert struct {
	issuer    []byte // the encoded Name
	subject   []byte
	issuerCN  []byte
	subjectCN []byte
	notBefore certTime
	notAfter  certTime
}

// certTime is a UTCTime or GeneralizedTime, to the second.
type certTime struct {
	year                       int
	month, day, hour, min, sec int
	ok                         bool
}

// oidCN is the encoded OID 2.5.4.3 (commonName).
var oidCN = [3]byte{0x55, 0x04, 0x03}

// parseCert reads the issuer, validity and subject of a certificate.
func parseCert(c *cert, der []byte) bool {
	top, _, ok := ber.Read(der)
	if !ok || !top.Is(ber.ClassUniversal, ber.TagSequence) {
		return false
	}
	tbs, _, ok := ber.Read(top.Value)
	if !ok || !tbs.Is(ber.ClassUniversal, ber.TagSequence) {
		return false
	}
	p := tbs.Value
	el, rest, ok := ber.Read(p)
	if !ok {
		return false
	}
	if el.Is(ber.ClassContext, 0) { // explicit version
		p = rest
	}
	// serialNumber, signature
	for i := 0; i < 2; i++ {
		if _, p, ok = ber.Read(p); !ok {
			return false
		}
	}
	issuer, p, ok := ber.Read(p)
	if !ok || !issuer.Is(ber.ClassUniversal, ber.TagSequence) {
		return false
	}
	validity, p, ok := ber.Read(p)
	if !ok || !validity.Is(ber.ClassUniversal, ber.TagSequence) {
		return false
	}
	subject, _, ok := ber.Read(p)
	if !ok || !subject.Is(ber.ClassUniversal, ber.TagSequence) {
		return false
	}
	c.issuer, c.subject = issuer.Value, subject.Value
	c.issuerCN, c.subjectCN = commonName(issuer.Value), commonName(subject.Value)
	nb, rest, ok := ber.Read(validity.Value)
	if ok {
		c.notBefore = parseTime(nb)
		if na, _, ok := ber.Read(rest); ok {
			c.notAfter = parseTime(na)
		}
	}
	return true
}

// commonName returns the last CN attribute of a Name.
func commonName(name []byte) []byte {
	var cn []byte
	for len(name) > 0 {
		set, rest, ok := ber.Read(name)
		if !ok {
			break
		}
		name = rest
		for s := set.Value; len(s) > 0; {
			atv, r, ok := ber.Read(s)
			if !ok {
				break
			}
			s = r
			oid, v, ok := ber.Read(atv.Value)
			if !ok || !oid.Is(ber.ClassUniversal, ber.TagOID) || string(oid.Value) != string(oidCN[:]) {
				continue
			}
			if val, _, ok := ber.Read(v); ok {
				cn = val.Value
			}
		}
	}
	return cn
}

// parseTime reads UTCTime (tag 23, YYMMDDHHMMSSZ) and GeneralizedTime
// (tag 24, YYYYMMDDHHMMSSZ).
func parseTime(el ber.TLV) certTime {
	v := el.Value
	var t certTime
	switch {
	case el.Is(ber.ClassUniversal, 23) && len(v) >= 12:
		y, ok := digits(v[0:2])
		if !ok {
			return t
		}
		if y < 50 {
			y += 2000
		} else {
			y += 1900
		}
		t.year = y
		v = v[2:]
	case el.Is(ber.ClassUniversal, 24) && len(v) >= 14:
		y, ok := digits(v[0:4])
		if !ok {
			return t
		}
		t.year = y
		v = v[4:]
	default:
		return t
	}
	var ok [5]bool
	t.month, ok[0] = digits(v[0:2])
	t.day, ok[1] = digits(v[2:4])
	t.hour, ok[2] = digits(v[4:6])
	t.min, ok[3] = digits(v[6:8])
	t.sec, ok[4] = digits(v[8:10])
	t.ok = ok == [5]bool{true, true, true, true, true} && t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31
	return t
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// before reports whether the time lies before now.
func (t certTime) before(now time.Time) bool {
	return time.Date(t.year, time.Month(t.month), t.day, t.hour, t.min, t.sec, 0, time.UTC).Before(now)
}

// text writes the date as YYYY-MM-DD into dst (10 bytes).
func (t certTime) text(dst []byte) []byte {
	dst = append(dst, byte('0'+t.year/1000%10), byte('0'+t.year/100%10), byte('0'+t.year/10%10), byte('0'+t.year%10), '-')
	dst = append(dst, byte('0'+t.month/10), byte('0'+t.month%10), '-')
	return append(dst, byte('0'+t.day/10), byte('0'+t.day%10))
}
