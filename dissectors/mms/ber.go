package mms

// BER classes (the two top bits of the identifier octet).
const (
	classUniversal   = 0
	classApplication = 1
	classContext     = 2
)

// tlv is one decoded BER element.
type tlv struct {
	class uint8
	cons  bool
	tag   uint32
	val   []byte
}

// is reports whether the element has the class and tag number.
func (t *tlv) is(class uint8, tag uint32) bool { return t.class == class && t.tag == tag }

// next decodes the element at the start of b and returns the rest. An
// indefinite length takes the rest of b (without the end-of-contents
// octets when they are present). ok is false when b is truncated or
// malformed.
func next(b []byte) (t tlv, rest []byte, ok bool) {
	if len(b) < 2 {
		return t, nil, false
	}
	id := b[0]
	t.class = id >> 6
	t.cons = id&0x20 != 0
	t.tag = uint32(id & 0x1f)
	i := 1
	if t.tag == 0x1f {
		t.tag = 0
		for {
			if i >= len(b) || i > 5 {
				return t, nil, false
			}
			c := b[i]
			i++
			t.tag = t.tag<<7 | uint32(c&0x7f)
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
	switch {
	case l == 0x80:
		v := b[i:]
		if len(v) >= 2 && v[len(v)-2] == 0 && v[len(v)-1] == 0 {
			v = v[:len(v)-2]
		}
		t.val = v
		return t, nil, true
	case l > 0x80:
		n := l & 0x7f
		if n > 3 || i+n > len(b) {
			return t, nil, false
		}
		l = 0
		for _, c := range b[i : i+n] {
			l = l<<8 | int(c)
		}
		i += n
	}
	if i+l > len(b) {
		return t, nil, false
	}
	t.val = b[i : i+l]
	return t, b[i+l:], true
}

// child returns the first child element of b with the class and tag.
func child(b []byte, class uint8, tag uint32) (tlv, bool) {
	for len(b) > 0 {
		t, rest, ok := next(b)
		if !ok {
			return t, false
		}
		if t.is(class, tag) {
			return t, true
		}
		b = rest
	}
	return tlv{}, false
}

// uintVal decodes an INTEGER's contents as unsigned (at most 8 octets).
func uintVal(v []byte) (uint64, bool) {
	if len(v) == 0 || len(v) > 9 || (len(v) == 9 && v[0] != 0) {
		return 0, false
	}
	var x uint64
	for _, c := range v {
		x = x<<8 | uint64(c)
	}
	return x, true
}
