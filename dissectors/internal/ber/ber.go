// Package ber is a small allocation-free reader of ASN.1 BER (X.690) for
// the dissectors: it splits a buffer into tag-length-value elements with
// definite lengths, decodes INTEGERs and renders OBJECT IDENTIFIERs as
// dotted text into a caller's buffer. It never panics and never allocates;
// every malformed input is reported through an ok flag.
package ber

// Tag classes (the two top bits of the identifier octet).
const (
	ClassUniversal   = 0
	ClassApplication = 1
	ClassContext     = 2
	ClassPrivate     = 3
)

// Universal tag numbers used by the dissectors.
const (
	TagInteger     = 2
	TagOctetString = 4
	TagNull        = 5
	TagOID         = 6
	TagSequence    = 16
)

// MaxTag is the largest tag number accepted: long-form identifiers may
// have at most four tag octets.
const MaxTag = 1<<28 - 1

// TLV is one BER element; Value points into the input.
type TLV struct {
	Class       uint8
	Constructed bool
	Tag         uint32
	Value       []byte
	HeaderLen   int // identifier and length octets
}

// Is reports whether the element has the given class and tag number.
func (t *TLV) Is(class uint8, tag uint32) bool { return t.Class == class && t.Tag == tag }

// Read decodes the element at the start of b and returns it with the bytes
// after it. Indefinite lengths, lengths over 4 octets and elements longer
// than b are rejected (ok = false).
func Read(b []byte) (t TLV, rest []byte, ok bool) {
	if len(b) < 2 {
		return t, nil, false
	}
	id := b[0]
	t.Class = id >> 6
	t.Constructed = id&0x20 != 0
	t.Tag = uint32(id & 0x1F)
	i := 1
	if t.Tag == 0x1F {
		t.Tag = 0
		for {
			if i >= len(b) || i > 4 {
				return t, nil, false
			}
			c := b[i]
			i++
			t.Tag = t.Tag<<7 | uint32(c&0x7F)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return t, nil, false
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		n := l & 0x7F
		if n == 0 || n > 4 || len(b)-i < n {
			return t, nil, false
		}
		l = 0
		for k := 0; k < n; k++ {
			l = l<<8 | int(b[i+k])
		}
		i += n
		if l < 0 {
			return t, nil, false
		}
	}
	if l > len(b)-i {
		return t, nil, false
	}
	t.HeaderLen = i
	t.Value = b[i : i+l]
	return t, b[i+l:], true
}

// Length returns the total length of the element at the start of b: 0 when
// b is too short to tell, -1 when the header is invalid (indefinite length
// or a length over 4 octets). It is a dissect.LengthFunc for TCP framing.
func Length(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	i := 1
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) {
				return 0
			}
			if i > 4 {
				return -1
			}
			c := b[i]
			i++
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return 0
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		n := l & 0x7F
		if n == 0 || n > 4 {
			return -1
		}
		if len(b)-i < n {
			return 0
		}
		l = 0
		for k := 0; k < n; k++ {
			l = l<<8 | int(b[i+k])
		}
		i += n
	}
	return i + l
}

// Int decodes a two's-complement INTEGER of 1 to 8 octets.
func Int(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 8 {
		return 0, false
	}
	x := int64(int8(v[0]))
	for _, c := range v[1:] {
		x = x<<8 | int64(c)
	}
	return x, true
}

// Uint decodes a non-negative INTEGER of up to 8 value octets (a leading
// zero octet is allowed for a ninth).
func Uint(v []byte) (uint64, bool) {
	if len(v) == 9 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 8 {
		return 0, false
	}
	var x uint64
	for _, c := range v {
		x = x<<8 | uint64(c)
	}
	return x, true
}

// AppendOID appends the dotted form of an encoded OBJECT IDENTIFIER to dst
// as long as dst has capacity; it returns ok = false for a malformed
// encoding or when dst is full (the text so far is returned).
func AppendOID(dst, v []byte) ([]byte, bool) {
	if len(v) == 0 {
		return dst, false
	}
	first := true
	var x uint64
	for i, c := range v {
		if x > 1<<56 {
			return dst, false
		}
		x = x<<7 | uint64(c&0x7F)
		if c&0x80 != 0 {
			if i == len(v)-1 {
				return dst, false
			}
			continue
		}
		if first {
			a, b := x/40, x%40
			if a > 2 {
				a, b = 2, x-80
			}
			var ok bool
			if dst, ok = appendUint(dst, a); !ok {
				return dst, false
			}
			x = b
			first = false
		}
		if len(dst) >= cap(dst) {
			return dst, false
		}
		dst = append(dst, '.')
		var ok bool
		if dst, ok = appendUint(dst, x); !ok {
			return dst, false
		}
		x = 0
	}
	return dst, true
}

// appendUint writes x in decimal if it fits in dst's capacity.
func appendUint(dst []byte, x uint64) ([]byte, bool) {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + x%10)
		x /= 10
		if x == 0 {
			break
		}
	}
	if cap(dst)-len(dst) < len(tmp)-i {
		return dst, false
	}
	return append(dst, tmp[i:]...), true
}
