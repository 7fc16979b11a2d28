package bacnet

import (
	"net/netip"
	"strconv"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

func addrFrom4(a [4]byte) netip.Addr { return netip.AddrFrom4(a) }

// Device object properties that identify a device.
const (
	propAppSoftwareVersion = 12
	propFirmwareRevision   = 44
	propLocation           = 58
	propModelName          = 70
	propObjectName         = 77
	propSystemStatus       = 112
	propVendorIdentifier   = 120
	propVendorName         = 121
	propSerialNumber       = 372
	objectTypeDevice       = 8
)

// devIdentity collects the identity properties found in one ACK.
type devIdentity struct {
	instance                             uint32
	name, vendor, model, firmware, appSW []byte
	serial, location                     []byte
	vendorID                             uint32
	hasVendorID                          bool
	status                               uint32
	hasStatus                            bool
	found                                bool
	buf                                  [512]byte
	used                                 int
}

func (v *devIdentity) reset() {
	*v = devIdentity{}
}

// text decodes a CharacterString into the collector's buffer.
func (v *devIdentity) text(t *Tag) []byte {
	if t.Context || t.Num != appCharStr {
		return nil
	}
	start := v.used
	if start >= len(v.buf) {
		return nil
	}
	out := appendCharString(v.buf[start:start], t.Data)
	if len(out) > len(v.buf)-start || (len(out) > 0 && &out[0] != &v.buf[start]) {
		return nil // did not fit in the buffer
	}
	v.used += len(out)
	return v.buf[start : start+len(out)]
}

// property records the value of a device-object property.
func (v *devIdentity) property(prop uint32, t *Tag) {
	switch prop {
	case propObjectName:
		v.name = v.text(t)
	case propVendorName:
		v.vendor = v.text(t)
	case propModelName:
		v.model = v.text(t)
	case propFirmwareRevision:
		v.firmware = v.text(t)
	case propAppSoftwareVersion:
		v.appSW = v.text(t)
	case propSerialNumber:
		v.serial = v.text(t)
	case propLocation:
		v.location = v.text(t)
	case propVendorIdentifier:
		if !t.Context && t.Num == appUnsigned {
			v.vendorID, v.hasVendorID = uint32(t.Uint()), true
		}
	case propSystemStatus:
		if !t.Context && t.Num == appEnum {
			v.status, v.hasStatus = uint32(t.Uint()), true
		}
	default:
		return
	}
	v.found = true
}

// deviceProperties scans a ReadProperty or ReadPropertyMultiple ACK for
// identity properties of a device object and emits one identity hint.
func (d *dissector) deviceProperties(ctx *dissect.Context, dir dissect.Direction, svc uint8, b []byte, seg bool) {
	v := &d.dev
	v.reset()
	depth, off := 0, 0
	isDevice := false
	var prop uint32
	var inValue bool
	for off < len(b) {
		t, next, ok := ReadTag(b, off)
		if !ok {
			break
		}
		off = next
		if t.Open {
			depth++
			if svc == svcReadProperty && depth == 1 && t.Num == 3 {
				inValue = true
			}
			if svc == svcReadPropertyMultiple && depth == 2 && t.Num == 4 {
				inValue = true
			}
			continue
		}
		if t.Close {
			depth--
			inValue = false
			if depth < 0 {
				break
			}
			continue
		}
		switch {
		case svc == svcReadProperty && depth == 0 && t.Context && t.Num == 0,
			svc == svcReadPropertyMultiple && depth == 0 && t.Context && t.Num == 0:
			typ, inst, ok := t.ObjectID()
			isDevice = ok && typ == objectTypeDevice
			if isDevice {
				v.instance = inst
			}
		case svc == svcReadProperty && depth == 0 && t.Context && t.Num == 1,
			svc == svcReadPropertyMultiple && depth == 1 && t.Context && t.Num == 2:
			prop = uint32(t.Uint())
		case inValue && isDevice:
			v.property(prop, &t)
			inValue = false // the first value only (arrays are not identity)
		}
	}
	if !v.found {
		return
	}
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dir, DeviceID: v.instance, HasDevice: true}
	h.Name, h.Model, h.Firmware, h.Serial = string(v.name), string(v.model), string(v.firmware), string(v.serial)
	h.Vendor = string(v.vendor)
	if v.hasVendorID {
		h.VendorID = v.vendorID
		if h.Vendor == "" {
			h.Vendor = VendorName(v.vendorID)
		}
	}
	if v.hasStatus {
		h.Mode = systemStatusName(v.status)
	}
	if len(v.appSW) > 0 {
		h.Extra = append(h.Extra, dissect.Attr{Key: "application_software_version", Str: v.appSW, IsStr: true})
	}
	if len(v.location) > 0 {
		h.Extra = append(h.Extra, dissect.Attr{Key: "location", Str: v.location, IsStr: true})
	}
	d.remoteSource(h)
	ctx.Emit.Hint(h)
}

// systemStatusName names a BACnetDeviceStatus value.
func systemStatusName(s uint32) string {
	switch s {
	case 0:
		return "operational"
	case 1:
		return "operational-read-only"
	case 2:
		return "download-required"
	case 3:
		return "download-in-progress"
	case 4:
		return "non-operational"
	case 5:
		return "backup-in-progress"
	}
	return "status " + strconv.FormatUint(uint64(s), 10)
}
