// Package textfmt formats addresses into caller buffers without allocating
// and hashes identity fields, for dissectors that build hint text.
package textfmt

const hexDigits = "0123456789abcdef"

// AppendIPv4 appends a 4-byte address in dotted decimal.
func AppendIPv4(dst, ip []byte) []byte {
	for i, b := range ip {
		if i > 0 {
			dst = append(dst, '.')
		}
		if b >= 100 {
			dst = append(dst, '0'+b/100)
		}
		if b >= 10 {
			dst = append(dst, '0'+b/10%10)
		}
		dst = append(dst, '0'+b%10)
	}
	return dst
}

// AppendIPv6 appends a 16-byte address as eight hex groups, leading zeros
// dropped and no :: compression.
func AppendIPv6(dst, ip []byte) []byte {
	for i := 0; i+1 < len(ip) && i < 16; i += 2 {
		if i > 0 {
			dst = append(dst, ':')
		}
		g := uint16(ip[i])<<8 | uint16(ip[i+1])
		started := false
		for s := 12; s >= 0; s -= 4 {
			n := byte(g>>uint(s)) & 15
			if n != 0 || started || s == 0 {
				dst = append(dst, hexDigits[n])
				started = true
			}
		}
	}
	return dst
}

// AppendHex appends b as lower-case hex.
func AppendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

// FNVOffset is the FNV-1a 64-bit offset basis.
const FNVOffset = 14695981039346656037

// FNV folds b into the FNV-1a 64-bit hash h.
func FNV(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
