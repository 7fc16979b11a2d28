package enip

import (
	"net/netip"
	"strconv"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// Identity is the content of a CIP Identity object as carried by a List
// Identity reply item or a Get Attributes All reply on class 1.
type Identity struct {
	Vendor      uint16
	DeviceType  uint16
	ProductCode uint16
	Major       uint8
	Minor       uint8
	Status      uint16
	Serial      uint32
	ProductName []byte // valid while the decoded bytes are
	State       uint8
	HasState    bool
	Addr        netip.Addr // socket address (List Identity only)
	Port        uint16
}

// ParseListIdentityItem decodes a List Identity reply item (type 0x0C):
// protocol version, socket address, then the identity attributes and the
// state byte.
func ParseListIdentityItem(b []byte, id *Identity) bool {
	*id = Identity{}
	c := cursor.New(b)
	c.U16LE() // encapsulation protocol version
	c.U16()   // sin_family (big-endian)
	id.Port = c.U16()
	a := c.Bytes(4)
	c.Skip(8) // sin_zero
	if !c.OK() {
		return false
	}
	id.Addr = netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]})
	if !parseIdentityBody(&c, id) {
		return false
	}
	if s, ok := c.Peek8(); ok {
		id.State, id.HasState = s, true
	}
	return true
}

// parseIdentityBody decodes vendor, device type, product code, revision,
// status, serial number and product name (a SHORT_STRING).
func parseIdentityBody(c *cursor.Cursor, id *Identity) bool {
	id.Vendor = c.U16LE()
	id.DeviceType = c.U16LE()
	id.ProductCode = c.U16LE()
	id.Major = c.U8()
	id.Minor = c.U8()
	id.Status = c.U16LE()
	id.Serial = c.U32LE()
	n := int(c.U8())
	id.ProductName = c.Bytes(n)
	return c.OK()
}

// identityItem handles a List Identity reply item: summary fields and an
// identity hint about the replying device.
func (d *dissector) identityItem(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	var id Identity
	if !ParseListIdentityItem(b, &id) {
		d.violation(ctx, dir, dissect.ViolMalformed, CmdListIdentity, "List Identity item truncated")
		return
	}
	ctx.Emit.FieldUint("enip_identity_vendor", uint64(id.Vendor))
	ctx.Emit.FieldBytes("enip_identity_product_name", id.ProductName)
	ctx.Emit.FieldUint("enip_identity_device_type", uint64(id.DeviceType))
	ctx.Emit.FieldUint("enip_identity_product_code", uint64(id.ProductCode))
	ctx.Emit.FieldUint("enip_identity_serial", uint64(id.Serial))
	d.identityHint(ctx, dir, &id)
}

// identityObject handles a Get Attributes All reply from the Identity
// object. When the request was routed (Unconnected Send through a
// backplane or network port), the identity is that of the module behind
// the route, not of the flow endpoint: the hint's Slot says so.
func (d *dissector) identityObject(ctx *dissect.Context, dir dissect.Direction, b []byte, r *cipReq) {
	var id Identity
	c := cursor.New(b)
	if !parseIdentityBody(&c, &id) {
		return // short replies (devices that omit attributes) are legal
	}
	if s, ok := c.Peek8(); ok {
		id.State, id.HasState = s, true
	}
	slot := ""
	if r.routed && r.hasRoute {
		slot = "port " + strconv.FormatUint(uint64(r.routePort), 10) + " slot " + strconv.FormatUint(uint64(r.routeLink), 10)
	}
	d.identityHintSlot(ctx, dir, &id, slot)
}

// identityHint emits what an identity says about the device that sent it.
func (d *dissector) identityHint(ctx *dissect.Context, side dissect.Direction, id *Identity) {
	d.identityHintSlot(ctx, side, id, "")
}

// identityHintSlot emits an identity hint; slot, when set, places the
// identity on a module reached through the sender.
func (d *dissector) identityHintSlot(ctx *dissect.Context, side dissect.Direction, id *Identity, slot string) {
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: side, Slot: slot}
	h.VendorID = uint32(id.Vendor)
	h.Vendor = VendorName(id.Vendor)
	h.Model = string(id.ProductName)
	h.Product = strconv.FormatUint(uint64(id.ProductCode), 10)
	h.Firmware = strconv.FormatUint(uint64(id.Major), 10) + "." + strconv.FormatUint(uint64(id.Minor), 10)
	h.Serial = "0x" + hex8(id.Serial)
	if id.HasState {
		h.Mode = stateName(id.State)
	}
	switch id.DeviceType {
	case 0x0E:
		h.Role, h.Evidence = dissect.RoleController, "CIP identity: programmable logic controller"
	case 0x07, 0x22, 0x23, 0x02, 0x13, 0x16, 0x17, 0x25:
		h.Role, h.Evidence = dissect.RoleIODevice, "CIP identity: I/O device or drive"
	case 0x18:
		h.Role, h.Evidence = dissect.RoleMaster, "CIP identity: human-machine interface"
	case 0x2B:
		h.Role, h.Evidence = dissect.RoleNetwork, "CIP identity: managed Ethernet switch"
	}
	h.Extra = []dissect.Attr{
		{Key: "device_type", Num: uint64(id.DeviceType)},
		{Key: "status", Num: uint64(id.Status)},
	}
	if n := deviceTypeName(id.DeviceType); n != "" {
		h.Extra = append(h.Extra, dissect.Attr{Key: "device_type_name", Str: []byte(n), IsStr: true})
	}
	if id.Addr.IsValid() && !id.Addr.IsUnspecified() {
		h.Extra = append(h.Extra, dissect.Attr{Key: "socket_addr", Str: id.Addr.AppendTo(nil), IsStr: true},
			dissect.Attr{Key: "socket_port", Num: uint64(id.Port)})
	}
	ctx.Emit.Hint(h)
}

// hex8 formats v as eight lower-case hex digits.
func hex8(v uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}
