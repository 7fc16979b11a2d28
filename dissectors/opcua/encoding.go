package opcua

import "github.com/otwatch/otwatch/dissectors/internal/cursor"

// dec reads the OPC UA binary encoding (Part 6, 5.2) over a cursor. The
// cursor flags truncation; bad flags an encoding that is invalid whatever
// follows (an unknown NodeId encoding, a negative length other than -1).
type dec struct {
	c   cursor.Cursor
	bad bool
}

// maxDiagDepth bounds nested DiagnosticInfo.
const maxDiagDepth = 4

func (d *dec) ok() bool { return d.c.OK() && !d.bad }

func (d *dec) u8() uint8   { return d.c.U8() }
func (d *dec) u32() uint32 { return d.c.U32LE() }
func (d *dec) i32() int32  { return int32(d.c.U32LE()) }

// length reads an Int32 length prefix: -1 (null) gives 0; other negative
// values are invalid.
func (d *dec) length() int {
	n := d.i32()
	if n < -1 {
		d.bad = true
		return 0
	}
	if n < 0 {
		return 0
	}
	if int(n) > d.c.Len() && d.c.OK() {
		// Cannot fit: mark truncation without trusting n.
		d.c.Skip(d.c.Len() + 1)
		return 0
	}
	return int(n)
}

// str reads a String or ByteString (nil for null or empty).
func (d *dec) str() []byte {
	n := d.length()
	if n == 0 {
		return nil
	}
	return d.c.Bytes(n)
}

// count reads an array length: -1 (null) gives 0. Every element takes at
// least one byte, so a count larger than the rest is truncation.
func (d *dec) count() int { return d.length() }

// nodeID reads a NodeId or ExpandedNodeId and returns its namespace and, for
// the numeric encodings, its identifier.
func (d *dec) nodeID() (ns uint16, id uint32, numeric bool) {
	enc := d.u8()
	switch enc & 0x3F {
	case 0:
		id, numeric = uint32(d.u8()), true
	case 1:
		ns, id, numeric = uint16(d.u8()), uint32(d.c.U16LE()), true
	case 2:
		ns, id, numeric = d.c.U16LE(), d.u32(), true
	case 3, 5:
		ns = d.c.U16LE()
		d.str()
	case 4:
		ns = d.c.U16LE()
		d.c.Skip(16)
	default:
		d.bad = true
		return 0, 0, false
	}
	if enc&0x80 != 0 { // namespace URI
		d.str()
	}
	if enc&0x40 != 0 { // server index
		d.u32()
	}
	return ns, id, numeric
}

// extObject reads an ExtensionObject and returns its type id and body.
func (d *dec) extObject() (typeID uint32, body []byte) {
	ns, id, numeric := d.nodeID()
	if numeric && ns == 0 {
		typeID = id
	}
	switch d.u8() {
	case 0:
	case 1, 2:
		body = d.str()
	default:
		d.bad = true
	}
	return typeID, body
}

// diagInfo skips a DiagnosticInfo.
func (d *dec) diagInfo(depth int) {
	mask := d.u8()
	for _, bit := range [...]uint8{0x01, 0x02, 0x08, 0x04} {
		if mask&bit != 0 {
			d.i32()
		}
	}
	if mask&0x10 != 0 {
		d.str()
	}
	if mask&0x20 != 0 {
		d.u32()
	}
	if mask&0x40 != 0 {
		if depth >= maxDiagDepth {
			d.bad = true
			return
		}
		d.diagInfo(depth + 1)
	}
}

// locText reads a LocalizedText and returns its text.
func (d *dec) locText() []byte {
	mask := d.u8()
	if mask&0x01 != 0 {
		d.str()
	}
	if mask&0x02 != 0 {
		return d.str()
	}
	return nil
}

// strArray skips an array of String.
func (d *dec) strArray() {
	n := d.count()
	for i := 0; i < n && d.ok(); i++ {
		d.str()
	}
}

// requestHeader reads a RequestHeader (Part 4, 7.28) and returns the
// requestHandle.
func (d *dec) requestHeader() uint32 {
	d.nodeID()    // authenticationToken
	d.c.Skip(8)   // timestamp
	h := d.u32()  // requestHandle
	d.u32()       // returnDiagnostics
	d.str()       // auditEntryId
	d.u32()       // timeoutHint
	d.extObject() // additionalHeader
	return h
}

// responseHeader reads a ResponseHeader (Part 4, 7.29) and returns the
// requestHandle and serviceResult.
func (d *dec) responseHeader() (handle, result uint32) {
	d.c.Skip(8) // timestamp
	handle = d.u32()
	result = d.u32()
	d.diagInfo(0)
	d.strArray()
	d.extObject()
	return handle, result
}

// appDesc is an ApplicationDescription (Part 4, 7.1), its strings pointing
// into the PDU.
type appDesc struct {
	uri, productURI, name []byte
	appType               uint32
}

func (d *dec) appDescription() (a appDesc) {
	a.uri = d.str()
	a.productURI = d.str()
	a.name = d.locText()
	a.appType = d.u32()
	d.str() // gatewayServerUri
	d.str() // discoveryProfileUri
	d.strArray()
	return a
}

// endpointSummary gathers what a list of EndpointDescriptions offers.
type endpointSummary struct {
	server     appDesc
	haveServer bool // server holds the first endpoint's ApplicationDescription
	n          int
	policies   [policyOther + 1]uint8 // bitmask of security modes per policy
	anonymous  bool                   // an anonymous user token policy is offered
	username   bool                   // a user name token policy is offered
	insecure   bool                   // an endpoint with mode None or policy None
}

// endpoints reads an array of EndpointDescription (Part 4, 7.10) into s. It
// stops, keeping what it learnt, when the data ends (first chunk of a
// multi-chunk message).
func (d *dec) endpoints(s *endpointSummary) {
	n := d.count()
	for i := 0; i < n && d.ok(); i++ {
		d.str() // endpointUrl
		a := d.appDescription()
		if !s.haveServer && d.ok() {
			s.server, s.haveServer = a, true
		}
		d.str() // serverCertificate
		mode := d.u32()
		pol := parsePolicy(d.str())
		nt := d.count()
		for j := 0; j < nt && d.ok(); j++ {
			d.str() // policyId
			tt := d.u32()
			d.str() // issuedTokenType
			d.str() // issuerEndpointUrl
			d.str() // securityPolicyUri
			switch tt {
			case 0:
				s.anonymous = s.anonymous || d.ok()
			case 1:
				s.username = s.username || d.ok()
			}
		}
		d.str() // transportProfileUri
		d.u8()  // securityLevel
		if !d.ok() {
			return
		}
		s.n++
		if mode >= 1 && mode <= 3 {
			s.policies[pol] |= 1 << (mode - 1)
		}
		if mode == 1 || pol == policyNone {
			s.insecure = true
		}
	}
}
