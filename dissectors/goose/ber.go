package goose

// BER helpers for the GOOSE and SV PDUs (IEC 61850-8-1 / 9-2 use a BER
// subset: single-byte tags, definite lengths of at most four bytes).

// tlv splits the element at the start of b. ok is false when the header is
// invalid (multi-byte tag, indefinite or oversized length) or the value runs
// past b; short is set in that case when the value merely runs past b.
func tlv(b []byte) (tag byte, val, rest []byte, ok, short bool) {
	if len(b) < 2 {
		return 0, nil, nil, false, true
	}
	tag = b[0]
	if tag&0x1F == 0x1F {
		return tag, nil, nil, false, false
	}
	n := int(b[1])
	hdr := 2
	if n&0x80 != 0 {
		k := n & 0x7F
		if k == 0 || k > 4 {
			return tag, nil, nil, false, false
		}
		if len(b) < 2+k {
			return tag, nil, nil, false, true
		}
		n = 0
		for _, x := range b[2 : 2+k] {
			n = n<<8 | int(x)
		}
		hdr += k
		if n < 0 || n > 1<<24 {
			return tag, nil, nil, false, false
		}
	}
	if len(b)-hdr < n {
		return tag, nil, nil, false, true
	}
	return tag, b[hdr : hdr+n], b[hdr+n:], true, false
}

// berUint decodes a BER INTEGER known to be non-negative: neg is set for a
// negative value, big for one that does not fit 64 bits.
func berUint(v []byte) (x uint64, neg, big bool) {
	if len(v) == 0 {
		return 0, false, true
	}
	if v[0]&0x80 != 0 {
		return 0, true, false
	}
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) > 8 {
		return 0, false, true
	}
	for _, b := range v {
		x = x<<8 | uint64(b)
	}
	return x, false, false
}

// fnv1a folds one byte into a 32-bit FNV-1a hash.
func fnv1a(h uint32, b byte) uint32 { return (h ^ uint32(b)) * 16777619 }

const fnvOffset = 2166136261

// Data element kinds (MMS Data CHOICE tags as used in GOOSE allData).
const (
	kindArray     = 0xA1
	kindStructure = 0xA2
	kindBoolean   = 0x83
	kindBitString = 0x84
	kindInteger   = 0x85
	kindUnsigned  = 0x86
	kindFloat     = 0x87
	kindOctets    = 0x89
	kindVisible   = 0x8A
	kindBinTime   = 0x8C
	kindBCD       = 0x8D
	kindBoolArray = 0x8E
	kindObjID     = 0x8F
	kindMMSString = 0x90
	kindUTCTime   = 0x91
)

// dataStats summarises the allData of one GOOSE PDU.
type dataStats struct {
	entries    int    // top-level elements
	leaves     int    // primitive values at any depth
	structs    int    // structures and arrays
	booleans   int    // boolean values
	bitStrings int    // bit-string values (quality, Dbpos)
	numbers    int    // integer, unsigned and floating-point values
	times      int    // utc-time and binary-time values
	sig        uint32 // hash of the element types and nesting: the data set layout
	bad        bool   // an unknown tag, a bad length or too deep a nesting
}

// maxDataDepth bounds structure nesting in allData.
const maxDataDepth = 8

// walk visits the Data elements in b.
func (s *dataStats) walk(b []byte, depth int, top bool) {
	for len(b) > 0 {
		tag, val, rest, ok, _ := tlv(b)
		if !ok {
			s.bad = true
			return
		}
		b = rest
		if top {
			s.entries++
		}
		s.sig = fnv1a(s.sig, tag)
		switch tag {
		case kindArray, kindStructure:
			s.structs++
			if depth >= maxDataDepth {
				s.bad = true
				return
			}
			s.walk(val, depth+1, false)
			s.sig = fnv1a(s.sig, 0) // end of the structure
			if s.bad {
				return
			}
			continue
		case kindBoolean:
			s.booleans++
			if len(val) != 1 {
				s.bad = true
			}
		case kindBitString:
			s.bitStrings++
			if len(val) == 0 || val[0] > 7 {
				s.bad = true
			}
		case kindInteger, kindUnsigned, kindFloat:
			s.numbers++
		case kindUTCTime, kindBinTime:
			s.times++
		case kindOctets, kindVisible, kindBCD, kindBoolArray, kindObjID, kindMMSString:
		default:
			s.bad = true
		}
		s.leaves++
	}
}
