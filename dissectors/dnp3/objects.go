package dnp3

// Object data layouts.
const (
	objUnknown  = iota // size not known: the walk stops here
	objNone            // the header carries no object data (class data, "any variation")
	objFixed           // every object has the same size in bytes
	objPacked          // bit-packed points: size is bits per point
	objPrefixed        // variable size given by the object-size prefix of each object
	objAttr            // group 0 device attribute: data type, length, value
)

// objLayout returns how the objects of group g, variation v are laid out in a
// fragment: a kind and, for objFixed, the size in bytes or, for objPacked,
// the bits per point (IEEE 1815-2012 annex A).
func objLayout(g, v uint8) (kind, size int) {
	fixed := func(sizes ...int) (int, int) {
		if v >= 1 && int(v) <= len(sizes) && sizes[v-1] > 0 {
			return objFixed, sizes[v-1]
		}
		return objUnknown, 0
	}
	if v == 0 {
		if g == 60 || g == 110 || g == 111 || g == 112 || g == 113 {
			// Class data has no objects; a string of variation 0 would
			// have length 0, which is only meaningful in a read.
			return objUnknown, 0
		}
		// Variation 0 asks for "any variation" and carries no data.
		return objNone, 0
	}
	switch g {
	case 0:
		return objAttr, 0
	case 1, 10, 80:
		if v == 1 {
			return objPacked, 1
		}
		return fixed(0, 1)
	case 2, 4:
		return fixed(1, 7, 3)
	case 3:
		if v == 1 {
			return objPacked, 2
		}
		return fixed(0, 1)
	case 11, 13:
		return fixed(1, 7)
	case 12:
		if v == 3 {
			return objPacked, 1
		}
		return fixed(11, 11)
	case 20:
		return fixed(5, 3, 5, 3, 4, 2, 4, 2)
	case 21:
		return fixed(5, 3, 5, 3, 11, 9, 11, 9, 4, 2, 4, 2)
	case 22, 23:
		return fixed(5, 3, 5, 3, 11, 9, 11, 9)
	case 30:
		return fixed(5, 3, 4, 2, 5, 9)
	case 31:
		return fixed(5, 3, 11, 9, 4, 2, 5, 9)
	case 32, 33, 42:
		return fixed(5, 3, 5, 9, 11, 9, 11, 15)
	case 34:
		return fixed(2, 4, 4)
	case 40, 41:
		return fixed(5, 3, 5, 9)
	case 43:
		return fixed(5, 3, 11, 9, 5, 9, 11, 15)
	case 50:
		return fixed(6, 10, 6, 11)
	case 51:
		return fixed(6, 6)
	case 52:
		return fixed(2, 2)
	case 60:
		return objNone, 0
	case 70:
		if v >= 2 && v <= 8 {
			return objPrefixed, 0
		}
	case 85, 86, 87, 88, 90:
		return objPrefixed, 0
	case 101:
		return fixed(2, 4, 8)
	case 102:
		return fixed(1)
	case 110, 111, 112, 113:
		// Octet strings and virtual terminal events: the variation is the
		// length of each string.
		return objFixed, int(v)
	case 120:
		switch v {
		case 3:
			return objFixed, 6
		case 4:
			return objFixed, 2
		}
		if v >= 1 && v <= 15 {
			return objPrefixed, 0
		}
	case 121:
		return fixed(7)
	case 122:
		return fixed(7, 13)
	}
	return objUnknown, 0
}

// definedGroup reports whether g is an object group defined by IEEE 1815
// (including obsolete ones), whether or not its objects can be sized here.
func definedGroup(g uint8) bool {
	switch g {
	case 0, 1, 2, 3, 4, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33, 34, 40, 41, 42, 43, 50, 51, 52, 60, 70,
		80, 81, 82, 83, 85, 86, 87, 88, 90, 91, 100, 101, 102, 110, 111, 112, 113, 120, 121, 122:
		return true
	}
	return false
}
