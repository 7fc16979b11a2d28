// Package cursor is a bounds-checked reader over a byte slice for the
// dissectors. Reading past the end never panics: it sets a sticky error flag,
// returns zero values, and the caller checks Err (or OK) once at the end of a
// parse, which keeps parsing code linear and allocation-free.
package cursor

import "errors"

// ErrShort is returned by Err when a read ran past the end of the data.
var ErrShort = errors.New("truncated: read past end of data")

// Cursor reads big- and little-endian values from a byte slice.
type Cursor struct {
	b   []byte
	off int
	bad bool
}

// New returns a cursor at the start of b.
func New(b []byte) Cursor { return Cursor{b: b} }

// Reset points the cursor at the start of b and clears the error.
func (c *Cursor) Reset(b []byte) { *c = Cursor{b: b} }

// Err returns ErrShort if any read ran past the end, else nil.
func (c *Cursor) Err() error {
	if c.bad {
		return ErrShort
	}
	return nil
}

// OK reports whether every read so far was in bounds.
func (c *Cursor) OK() bool { return !c.bad }

// Offset returns the number of bytes consumed.
func (c *Cursor) Offset() int { return c.off }

// Len returns the number of unread bytes.
func (c *Cursor) Len() int { return len(c.b) - c.off }

// Rest returns the unread bytes without consuming them.
func (c *Cursor) Rest() []byte { return c.b[c.off:] }

func (c *Cursor) take(n int) []byte {
	if n < 0 || c.bad || len(c.b)-c.off < n {
		c.bad = true
		return nil
	}
	p := c.b[c.off : c.off+n]
	c.off += n
	return p
}

// Skip advances n bytes.
func (c *Cursor) Skip(n int) { c.take(n) }

// Bytes returns the next n bytes (a sub-slice, not a copy).
func (c *Cursor) Bytes(n int) []byte { return c.take(n) }

// U8 reads one byte.
func (c *Cursor) U8() uint8 {
	p := c.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

// Peek8 returns the next byte without consuming it (0 and no error flag at
// the end).
func (c *Cursor) Peek8() (uint8, bool) {
	if c.bad || c.off >= len(c.b) {
		return 0, false
	}
	return c.b[c.off], true
}

// U16 reads a big-endian uint16.
func (c *Cursor) U16() uint16 {
	p := c.take(2)
	if p == nil {
		return 0
	}
	return uint16(p[0])<<8 | uint16(p[1])
}

// U16LE reads a little-endian uint16.
func (c *Cursor) U16LE() uint16 {
	p := c.take(2)
	if p == nil {
		return 0
	}
	return uint16(p[1])<<8 | uint16(p[0])
}

// U24 reads a big-endian 24-bit value.
func (c *Cursor) U24() uint32 {
	p := c.take(3)
	if p == nil {
		return 0
	}
	return uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
}

// U24LE reads a little-endian 24-bit value.
func (c *Cursor) U24LE() uint32 {
	p := c.take(3)
	if p == nil {
		return 0
	}
	return uint32(p[2])<<16 | uint32(p[1])<<8 | uint32(p[0])
}

// U32 reads a big-endian uint32.
func (c *Cursor) U32() uint32 {
	p := c.take(4)
	if p == nil {
		return 0
	}
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

// U32LE reads a little-endian uint32.
func (c *Cursor) U32LE() uint32 {
	p := c.take(4)
	if p == nil {
		return 0
	}
	return uint32(p[3])<<24 | uint32(p[2])<<16 | uint32(p[1])<<8 | uint32(p[0])
}

// U64 reads a big-endian uint64.
func (c *Cursor) U64() uint64 {
	hi := c.U32()
	return uint64(hi)<<32 | uint64(c.U32())
}

// U64LE reads a little-endian uint64.
func (c *Cursor) U64LE() uint64 {
	lo := c.U32LE()
	return uint64(c.U32LE())<<32 | uint64(lo)
}

// Sub returns a cursor over the next n bytes and advances past them. When
// fewer than n bytes remain the parent's error flag is set and the returned
// cursor is empty and failed too.
func (c *Cursor) Sub(n int) Cursor {
	p := c.take(n)
	if p == nil {
		return Cursor{bad: true}
	}
	return Cursor{b: p}
}
