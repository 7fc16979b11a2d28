package bacnet

// Tag is one BACnet ASN.1 tag (ASHRAE 135 clause 20.2.1): an application
// or context tag with its contents, or a context opening/closing tag.
type Tag struct {
	Num     uint32 // tag number (application type or context number)
	Context bool   // context-specific class
	Open    bool   // opening tag (context only)
	Close   bool   // closing tag (context only)
	LVT     uint32 // length, or the value of an application BOOLEAN
	Data    []byte // contents (nil for open/close tags and BOOLEAN)
}

// Application tag numbers.
const (
	appNull      = 0
	appBoolean   = 1
	appUnsigned  = 2
	appSigned    = 3
	appReal      = 4
	appDouble    = 5
	appOctets    = 6
	appCharStr   = 7
	appBitStr    = 8
	appEnum      = 9
	appDate      = 10
	appTime      = 11
	appObjectID  = 12
	maxTagLength = 1 << 20
)

// ReadTag decodes the tag at b[off:] and returns it with the offset of the
// next tag; ok is false when the tag runs past the end of b.
func ReadTag(b []byte, off int) (t Tag, next int, ok bool) {
	if off < 0 || off >= len(b) {
		return t, off, false
	}
	x := b[off]
	off++
	t.Num = uint32(x >> 4)
	t.Context = x&0x08 != 0
	if t.Num == 15 {
		if off >= len(b) {
			return t, off, false
		}
		t.Num = uint32(b[off])
		off++
	}
	lvt := uint32(x & 7)
	if t.Context && lvt == 6 {
		t.Open = true
		return t, off, true
	}
	if t.Context && lvt == 7 {
		t.Close = true
		return t, off, true
	}
	if !t.Context && t.Num == appBoolean {
		t.LVT = lvt
		return t, off, true
	}
	if lvt == 5 {
		if off >= len(b) {
			return t, off, false
		}
		lvt = uint32(b[off])
		off++
		switch lvt {
		case 254:
			if off+2 > len(b) {
				return t, off, false
			}
			lvt = uint32(b[off])<<8 | uint32(b[off+1])
			off += 2
		case 255:
			if off+4 > len(b) {
				return t, off, false
			}
			lvt = uint32(b[off])<<24 | uint32(b[off+1])<<16 | uint32(b[off+2])<<8 | uint32(b[off+3])
			off += 4
		}
	}
	if lvt > maxTagLength || off+int(lvt) > len(b) {
		return t, off, false
	}
	t.LVT = lvt
	t.Data = b[off : off+int(lvt)]
	return t, off + int(lvt), true
}

// Uint decodes the contents as a big-endian unsigned integer (up to 8 bytes).
func (t *Tag) Uint() uint64 {
	var v uint64
	for i, c := range t.Data {
		if i == 8 {
			break
		}
		v = v<<8 | uint64(c)
	}
	return v
}

// ObjectID decodes a 4-byte BACnetObjectIdentifier: type (10 bits) and
// instance (22 bits).
func (t *Tag) ObjectID() (typ uint16, inst uint32, ok bool) {
	if len(t.Data) != 4 {
		return 0, 0, false
	}
	v := uint32(t.Data[0])<<24 | uint32(t.Data[1])<<16 | uint32(t.Data[2])<<8 | uint32(t.Data[3])
	return uint16(v >> 22), v & 0x3FFFFF, true
}

// appendCharString appends a BACnet CharacterString's text to dst as UTF-8
// or ASCII: character sets 0 (UTF-8) and 5 (ISO 8859-1) are copied, 4
// (UCS-2, big-endian) and 3 (UCS-4) are narrowed to their BMP code points
// below 0x80 (others become '?').
func appendCharString(dst []byte, data []byte) []byte {
	if len(data) == 0 {
		return dst
	}
	set, s := data[0], data[1:]
	switch set {
	case 4: // UCS-2
		for i := 0; i+1 < len(s); i += 2 {
			dst = appendNarrow(dst, uint32(s[i])<<8|uint32(s[i+1]))
		}
	case 3: // UCS-4
		for i := 0; i+3 < len(s); i += 4 {
			dst = appendNarrow(dst, uint32(s[i])<<24|uint32(s[i+1])<<16|uint32(s[i+2])<<8|uint32(s[i+3]))
		}
	default:
		dst = append(dst, s...)
	}
	return dst
}

func appendNarrow(dst []byte, r uint32) []byte {
	if r == 0 {
		return dst
	}
	if r < 0x80 {
		return append(dst, byte(r))
	}
	return append(dst, '?')
}
