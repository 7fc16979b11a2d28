package enip

import (
	"strconv"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// maxTag is the longest symbolic tag name kept for a request (longer names
// are cut; the transaction carries the first maxTag bytes).
const maxTag = 48

// Path is a decoded CIP EPATH (padded form, Vol. 1 Appendix C): the last
// logical class/instance/attribute/member/connection point seen, the first
// port segment, and the symbolic segments joined with '.' (Logix tag names,
// with element indexes appended as [n]).
type Path struct {
	Class, Instance, Attribute, Member, ConnPoint                uint32
	HasClass, HasInstance, HasAttribute, HasMember, HasConnPoint bool
	Port                                                         uint16 // first port segment: port number
	Link                                                         uint8  // and its (first byte of) link address, e.g. the slot
	HasPort                                                      bool
	Symbolic                                                     bool // holds a symbolic segment
	TagLen                                                       int
	Tag                                                          [maxTag]byte
}

// TagName returns the symbolic name (valid while p is).
func (p *Path) TagName() []byte { return p.Tag[:p.TagLen] }

func (p *Path) appendTag(sym []byte) {
	if p.TagLen > 0 && p.TagLen < maxTag {
		p.Tag[p.TagLen] = '.'
		p.TagLen++
	}
	p.TagLen += copy(p.Tag[p.TagLen:], sym)
	p.Symbolic = true
}

func (p *Path) appendIndex(v uint32) {
	if p.TagLen == 0 || p.TagLen+12 > maxTag {
		return
	}
	p.Tag[p.TagLen] = '['
	b := strconv.AppendUint(p.Tag[:p.TagLen+1], uint64(v), 10)
	b = append(b, ']')
	p.TagLen = len(b)
}

// ParsePath decodes an EPATH into p. It reports false when a segment is
// unknown, reserved, or runs past the end of b; the fields decoded before
// the bad segment are kept.
func ParsePath(b []byte, p *Path) bool {
	*p = Path{}
	i := 0
	for i < len(b) {
		seg := b[i]
		switch {
		case seg < 0x20: // port segment
			port := uint16(seg & 0x0F)
			i++
			size := 1
			if seg&0x10 != 0 {
				if i >= len(b) {
					return false
				}
				size = int(b[i])
				i++
			}
			if port == 0x0F {
				if i+2 > len(b) {
					return false
				}
				port = uint16(b[i]) | uint16(b[i+1])<<8
				i += 2
			}
			if size == 0 || i+size > len(b) {
				return false
			}
			if !p.HasPort {
				p.Port, p.Link, p.HasPort = port, b[i], true
			}
			i += size
			if i%2 == 1 { // port segments are padded to an even length
				i++
			}
		case seg < 0x40: // logical segment
			typ := (seg >> 2) & 7
			if typ == 5 { // special: electronic key (format 4: 8 bytes)
				if i+2 > len(b) || b[i+1] != 4 || i+10 > len(b) {
					return false
				}
				i += 10
				continue
			}
			var v uint32
			switch seg & 3 {
			case 0:
				if i+2 > len(b) {
					return false
				}
				v = uint32(b[i+1])
				i += 2
			case 1:
				if i+4 > len(b) {
					return false
				}
				v = uint32(b[i+2]) | uint32(b[i+3])<<8
				i += 4
			case 2:
				if i+6 > len(b) {
					return false
				}
				v = uint32(b[i+2]) | uint32(b[i+3])<<8 | uint32(b[i+4])<<16 | uint32(b[i+5])<<24
				i += 6
			default:
				return false
			}
			switch typ {
			case 0:
				p.Class, p.HasClass = v, true
			case 1:
				p.Instance, p.HasInstance = v, true
			case 2:
				p.Member, p.HasMember = v, true
				if p.Symbolic {
					p.appendIndex(v)
				}
			case 3:
				p.ConnPoint, p.HasConnPoint = v, true
			case 4:
				p.Attribute, p.HasAttribute = v, true
			}
		case seg < 0x60: // network segment
			n := 2
			if seg == 0x5F { // extended: 16-bit length in words
				if i+3 > len(b) {
					return false
				}
				n = 3 + 2*(int(b[i+1])|int(b[i+2])<<8)
			}
			if i+n > len(b) {
				return false
			}
			i += n
		case seg < 0x80: // symbolic segment
			n := int(seg & 0x1F)
			if n == 0 {
				return false // extended symbols (double-byte) are not decoded
			}
			if i+1+n > len(b) {
				return false
			}
			p.appendTag(b[i+1 : i+1+n])
			i += 1 + n
			if i%2 == 1 {
				i++
			}
		case seg == 0x80: // simple data segment
			if i+2 > len(b) || i+2+2*int(b[i+1]) > len(b) {
				return false
			}
			i += 2 + 2*int(b[i+1])
		case seg == 0x91: // ANSI extended symbol
			if i+2 > len(b) {
				return false
			}
			n := int(b[i+1])
			if i+2+n > len(b) {
				return false
			}
			p.appendTag(b[i+2 : i+2+n])
			i += 2 + n
			if n%2 == 1 {
				i++
			}
		default:
			return false
		}
	}
	return i <= len(b)+1 // a final pad byte may be implied by the word count
}

// fwdOpen is what a Forward Open or Forward Close carries.
type fwdOpen struct {
	otID, toID     uint32
	otRPI, toRPI   uint32
	serial, vendor uint16
	origSerial     uint32
	trigger        uint8
	large          bool
	// connection path target: class, instance and connection point
	connClass, connInst, connPoint          uint32
	hasConnClass, hasConnInst, hasConnPoint bool
}

// setConn keeps the target of a connection path.
func (f *fwdOpen) setConn(p *Path) {
	f.connClass, f.hasConnClass = p.Class, p.HasClass
	f.connInst, f.hasConnInst = p.Instance, p.HasInstance
	f.connPoint, f.hasConnPoint = p.ConnPoint, p.HasConnPoint
}

// cipReq is a decoded CIP request, kept until its response arrives.
type cipReq struct {
	path       Path
	service    uint8
	routed     bool   // came inside an Unconnected Send
	routePort  uint16 // the Unconnected Send route path: first port and link (slot)
	routeLink  uint8
	hasRoute   bool
	op         dissect.Op
	name       string
	firmware   bool
	elements   uint32
	hasElems   bool
	dataType   uint16
	hasType    bool
	pcccCmd    uint8 // PCCC command and function (Execute PCCC)
	pcccFnc    uint8
	hasPCCC    bool
	fwd        fwdOpen
	isFwdOpen  bool
	isFwdClose bool
	malformed  bool
}

// cipResp is a decoded CIP response header.
type cipResp struct {
	service   uint8 // without the response bit
	status    uint8
	extStatus uint16
	hasExt    bool
	data      []byte
}

// parseResponse decodes a CIP response header (Vol. 1, 2-4.2).
func parseResponse(b []byte, r *cipResp) bool {
	*r = cipResp{}
	if len(b) < 4 {
		return false
	}
	r.service = b[0] & 0x7F
	r.status = b[2]
	n := 4 + 2*int(b[3])
	if n > len(b) {
		return false
	}
	if b[3] > 0 {
		r.extStatus, r.hasExt = uint16(b[4])|uint16(b[5])<<8, true
	}
	r.data = b[n:]
	return true
}

// isLogixProgramClass reports the Logix classes that hold control logic
// (programs, routines, templates and the controller's program-structure
// objects) as seen in RSLogix/Studio 5000 uploads and downloads.
func isLogixProgramClass(c uint32) bool {
	switch c {
	case classLogixProgram, classLogixRoutine, classTemplate, 0x6D, 0xB0, 0xB1:
		return true
	}
	return c >= 0x300 && c < 0x400
}

// isConfigClass reports classes whose attributes are device configuration.
func isConfigClass(c uint32) bool {
	switch c {
	case classTCPIP, classEthernetLink, classTimeSync, classWallClock, classPort, 0xF7 /* ControlNet */, 0x48 /* QoS */ :
		return true
	}
	return false
}

// classify sets the op class, name and firmware flag of a request from its
// service code and the class it addresses.
func classify(r *cipReq) {
	s, c := r.service, r.path.Class
	hasClass := r.path.HasClass
	r.op, r.name = dissect.OpOther, ""
	// Object-specific services (0x4B..0x63) first: their meaning depends on
	// the class.
	switch {
	case hasClass && c == classConnManager:
		switch s {
		case 0x4E:
			r.op, r.name = dissect.OpSession, "Forward Close"
		case 0x52:
			r.op, r.name = dissect.OpOther, "Unconnected Send"
		case 0x54:
			r.op, r.name = dissect.OpSession, "Forward Open"
		case 0x5B:
			r.op, r.name = dissect.OpSession, "Large Forward Open"
		case 0x56:
			r.op, r.name = dissect.OpRead, "Get Connection Data"
		case 0x57:
			r.op, r.name = dissect.OpRead, "Search Connection Data"
		case 0x5A:
			r.op, r.name = dissect.OpRead, "Get Connection Owner"
		}
	case hasClass && c == classFirmware && s >= 0x4B:
		r.op, r.name, r.firmware = dissect.OpFile, "Firmware Update", true
	case hasClass && c == classFile && s >= 0x4B:
		r.op = dissect.OpFile
		switch s {
		case 0x4B:
			r.name = "Initiate Upload"
		case 0x4C:
			r.name, r.firmware = "Initiate Download", true
		case 0x4D:
			r.name = "Initiate Partial Read"
		case 0x4E:
			r.name, r.firmware = "Initiate Partial Write", true
		case 0x4F:
			r.name = "Upload Transfer"
		case 0x50:
			r.name, r.firmware = "Download Transfer", true
		case 0x51:
			r.name, r.firmware = "Clear File", true
		default:
			r.name = "File Object Service"
		}
	case hasClass && c == classPCCC && s == 0x4B:
		r.op, r.name = dissect.OpOther, "Execute PCCC"
		r.classifyPCCC()
	case hasClass && c == 0x72 && s == 0x4C:
		// RSLinx/FactoryTalk optimised data-table reads (instance 0 plus
		// a list of data-table handles).
		r.op, r.name = dissect.OpRead, "Logix Read Data Table"
	case hasClass && c == classLogixLock && (s == 0x4B || s == 0x4C):
		r.op = dissect.OpControl
		if s == 0x4B {
			r.name = "Logix Acquire Lock"
		} else {
			r.name = "Logix Release Lock"
		}
	case hasClass && s >= 0x4B && s <= 0x51 && isLogixProgramClass(c) && !(c == classTemplate && s == 0x4C):
		r.op = dissect.OpProgram
		switch s {
		case 0x4B:
			r.name = "Logix Initiate Transfer"
		case 0x4F:
			r.name = "Logix Upload Transfer"
		case 0x50:
			r.name = "Logix Download Transfer"
		default:
			r.name = "Logix Program Service"
		}
	case s >= 0x4B && s <= 0x55 && (r.path.Symbolic || (hasClass && (c == classSymbol || c == classTemplate))):
		switch s {
		case 0x4C:
			r.op, r.name = dissect.OpRead, "Read Tag"
			if c == classTemplate && !r.path.Symbolic {
				r.name = "Read Template"
			}
		case 0x4D:
			r.op, r.name = dissect.OpWrite, "Write Tag"
		case 0x4E:
			r.op, r.name = dissect.OpWrite, "Read Modify Write Tag"
		case 0x52:
			r.op, r.name = dissect.OpRead, "Read Tag Fragmented"
		case 0x53:
			r.op, r.name = dissect.OpWrite, "Write Tag Fragmented"
		case 0x55:
			r.op, r.name = dissect.OpRead, "Get Instance Attribute List"
		}
	}
	if r.name != "" {
		return
	}
	switch s {
	case 0x01:
		r.op, r.name = dissect.OpRead, "Get Attributes All"
	case 0x02:
		r.op, r.name = dissect.OpWrite, "Set Attributes All"
	case 0x03:
		r.op, r.name = dissect.OpRead, "Get Attribute List"
	case 0x04:
		r.op, r.name = dissect.OpWrite, "Set Attribute List"
	case 0x05:
		r.op, r.name = dissect.OpControl, "Reset"
	case 0x06:
		r.op, r.name = dissect.OpControl, "Start"
	case 0x07:
		r.op, r.name = dissect.OpControl, "Stop"
	case 0x08:
		r.op, r.name = dissect.OpWrite, "Create"
	case 0x09:
		r.op, r.name = dissect.OpWrite, "Delete"
	case 0x0A:
		r.op, r.name = dissect.OpOther, "Multiple Service Packet"
	case 0x0D:
		r.op, r.name = dissect.OpConfig, "Apply Attributes"
	case 0x0E:
		r.op, r.name = dissect.OpRead, "Get Attribute Single"
	case 0x10:
		r.op, r.name = dissect.OpWrite, "Set Attribute Single"
	case 0x11:
		r.op, r.name = dissect.OpRead, "Find Next Object Instance"
	case 0x14:
		r.op, r.name = dissect.OpOther, "Error Response"
	case 0x15:
		r.op, r.name = dissect.OpConfig, "Restore"
	case 0x16:
		r.op, r.name = dissect.OpConfig, "Save"
	case 0x17:
		r.op, r.name = dissect.OpDiagnostic, "No Operation"
	case 0x18:
		r.op, r.name = dissect.OpRead, "Get Member"
	case 0x19:
		r.op, r.name = dissect.OpWrite, "Set Member"
	case 0x1A:
		r.op, r.name = dissect.OpWrite, "Insert Member"
	case 0x1B:
		r.op, r.name = dissect.OpWrite, "Remove Member"
	case 0x1C:
		r.op, r.name = dissect.OpOther, "GroupSync"
	default:
		r.op, r.name = dissect.OpOther, "Object Specific Service"
		if s < 0x4B {
			r.name = "Reserved Service"
		}
		return
	}
	switch {
	case (s == 0x08 || s == 0x09) && hasClass && isLogixProgramClass(c):
		r.op = dissect.OpProgram // creating/deleting programs, routines, UDTs
	case r.op == dissect.OpWrite && hasClass && (isConfigClass(c) || c == classIdentity):
		r.op = dissect.OpConfig // IP address, link, time, identity attributes
	}
}

// classifyPCCC refines Execute PCCC from the embedded PCCC command and
// function code (DF1 protocol, 1770-6.5.16): typed reads and writes of data
// files, mode changes and diagnostics.
func (r *cipReq) classifyPCCC() {
	if !r.hasPCCC {
		return
	}
	switch r.pcccCmd {
	case 0x06:
		r.op = dissect.OpDiagnostic // diagnostic status, echo, counters
	case 0x0F:
		switch r.pcccFnc {
		case 0x68, 0xA1, 0xA2, 0x01, 0x17:
			r.op = dissect.OpRead
		case 0x67, 0xA9, 0xAA, 0xAB, 0x00, 0x26:
			r.op = dissect.OpWrite
		case 0x80, 0x3A, 0x07, 0x08:
			r.op = dissect.OpControl // change mode, (un)lock
		case 0x11, 0xAF:
			r.op = dissect.OpProgram // download/upload completed, file services
		case 0x03:
			r.op = dissect.OpIdentify
		}
	case 0x01:
		r.op = dissect.OpRead // unprotected read
	case 0x08:
		r.op = dissect.OpWrite // unprotected write
	}
}
