package bacnet

// Confirmed service choices used by the decoder.
const (
	svcAcknowledgeAlarm      = 0
	svcConfCOVNotification   = 1
	svcConfEventNotification = 2
	svcSubscribeCOV          = 5
	svcAtomicReadFile        = 6
	svcAtomicWriteFile       = 7
	svcAddListElement        = 8
	svcRemoveListElement     = 9
	svcCreateObject          = 10
	svcDeleteObject          = 11
	svcReadProperty          = 12
	svcReadPropConditional   = 13
	svcReadPropertyMultiple  = 14
	svcWriteProperty         = 15
	svcWritePropertyMultiple = 16
	svcDeviceCommControl     = 17
	svcConfPrivateTransfer   = 18
	svcReinitializeDevice    = 20
	svcReadRange             = 26
	svcLifeSafetyOperation   = 27
	svcSubscribeCOVProperty  = 28
	svcSubscribeCOVPropMulti = 30
	svcConfCOVNotifMulti     = 31
)

// Unconfirmed service choices used by the decoder.
const (
	usvcIAm                   = 0
	usvcIHave                 = 1
	usvcCOVNotification       = 2
	usvcEventNotification     = 3
	usvcPrivateTransfer       = 4
	usvcTextMessage           = 5
	usvcTimeSynchronization   = 6
	usvcWhoHas                = 7
	usvcWhoIs                 = 8
	usvcUTCTimeSynchronizaton = 9
	usvcWriteGroup            = 10
	usvcCOVNotifMulti         = 11
	usvcAuditNotification     = 12
	usvcWhoAmI                = 13
	usvcYouAre                = 14
)

// Params is what a service request tells about its target, decoded from
// its context and application tags.
type Params struct {
	ObjType     uint16 // first object identifier addressed
	ObjInst     uint32
	HasObj      bool
	Prop        uint32 // first property identifier
	HasProp     bool
	Index       uint32 // property array index
	HasIndex    bool
	Objects     int    // object specifications (ReadPropertyMultiple, WritePropertyMultiple)
	Low, High   uint32 // Who-Is / Who-Has device instance range
	HasRange    bool
	Device      uint32 // I-Am / I-Have device, initiating device of notifications
	HasDevice   bool
	Vendor      uint32 // I-Am vendor, private transfer vendor
	HasVendor   bool
	MaxAPDU     uint32 // I-Am
	Segment     uint32 // I-Am segmentation supported
	State       uint32 // ReinitializeDevice state, DeviceCommunicationControl enable/disable
	HasState    bool
	Duration    uint32 // DeviceCommunicationControl time duration (minutes)
	HasDuration bool
	Password    bool // a password parameter is present
	Priority    uint32
	HasPriority bool
}

func (p *Params) setObj(t *Tag) {
	if p.HasObj {
		return
	}
	if typ, inst, ok := t.ObjectID(); ok {
		p.ObjType, p.ObjInst, p.HasObj = typ, inst, true
	}
}

func (p *Params) setProp(t *Tag) {
	if !p.HasProp {
		p.Prop, p.HasProp = uint32(t.Uint()), true
	}
}

func (p *Params) setIndex(t *Tag) {
	if !p.HasIndex {
		p.Index, p.HasIndex = uint32(t.Uint()), true
	}
}

// ParseConfirmed decodes the parameters of a confirmed service request.
// It reports false when the tags are malformed (the parameters decoded so
// far are kept).
func ParseConfirmed(service uint8, b []byte, p *Params) bool {
	*p = Params{}
	depth, off := 0, 0
	var outer uint32 // context number of the enclosing opening tag at depth 1
	for off < len(b) {
		t, next, ok := ReadTag(b, off)
		if !ok {
			return false
		}
		off = next
		if t.Open {
			depth++
			if depth == 1 {
				outer = t.Num
			}
			continue
		}
		if t.Close {
			depth--
			if depth < 0 {
				return false
			}
			continue
		}
		switch service {
		case svcReadProperty, svcWriteProperty, svcReadRange, svcAddListElement, svcRemoveListElement:
			if depth == 0 && t.Context {
				switch t.Num {
				case 0:
					p.setObj(&t)
				case 1:
					p.setProp(&t)
				case 2:
					p.setIndex(&t)
				case 4:
					if service == svcWriteProperty {
						p.Priority, p.HasPriority = uint32(t.Uint()), true
					}
				}
			}
		case svcReadPropertyMultiple, svcWritePropertyMultiple:
			if depth == 0 && t.Context && t.Num == 0 {
				p.Objects++
				p.setObj(&t)
			}
			if depth == 1 && outer == 1 && t.Context {
				switch t.Num {
				case 0:
					p.setProp(&t)
				case 1:
					p.setIndex(&t)
				}
			}
		case svcSubscribeCOV, svcSubscribeCOVProperty:
			if depth == 0 && t.Context && t.Num == 1 {
				p.setObj(&t)
			}
			if depth == 1 && outer == 4 && t.Context && t.Num == 0 {
				p.setProp(&t)
			}
		case svcConfCOVNotification, svcConfEventNotification:
			if depth == 0 && t.Context {
				switch t.Num {
				case 1:
					if typ, inst, ok := t.ObjectID(); ok && typ == 8 {
						p.Device, p.HasDevice = inst, true
					}
				case 2:
					p.setObj(&t)
				}
			}
		case svcAtomicReadFile, svcAtomicWriteFile, svcDeleteObject:
			if depth == 0 && !t.Context && t.Num == appObjectID {
				p.setObj(&t)
			}
		case svcCreateObject:
			if depth == 1 && outer == 0 && t.Context {
				switch t.Num {
				case 0:
					if !p.HasObj {
						p.ObjType, p.HasObj = uint16(t.Uint()), true
					}
				case 1:
					p.setObj(&t)
				}
			}
		case svcReinitializeDevice:
			if depth == 0 && t.Context {
				switch t.Num {
				case 0:
					p.State, p.HasState = uint32(t.Uint()), true
				case 1:
					p.Password = true
				}
			}
		case svcDeviceCommControl:
			if depth == 0 && t.Context {
				switch t.Num {
				case 0:
					p.Duration, p.HasDuration = uint32(t.Uint()), true
				case 1:
					p.State, p.HasState = uint32(t.Uint()), true
				case 2:
					p.Password = true
				}
			}
		case svcConfPrivateTransfer:
			if depth == 0 && t.Context && t.Num == 0 && !p.HasVendor {
				p.Vendor, p.HasVendor = uint32(t.Uint()), true
			}
		case svcAcknowledgeAlarm:
			if depth == 0 && t.Context && t.Num == 1 {
				p.setObj(&t)
			}
		case svcLifeSafetyOperation:
			if depth == 0 && t.Context && t.Num == 3 {
				p.setObj(&t)
			}
		}
	}
	return depth == 0
}

// ParseUnconfirmed decodes the parameters of an unconfirmed service request.
func ParseUnconfirmed(service uint8, b []byte, p *Params) bool {
	*p = Params{}
	depth, off, app := 0, 0, 0
	for off < len(b) {
		t, next, ok := ReadTag(b, off)
		if !ok {
			return false
		}
		off = next
		if t.Open {
			depth++
			continue
		}
		if t.Close {
			depth--
			if depth < 0 {
				return false
			}
			continue
		}
		switch service {
		case usvcIAm:
			if depth == 0 && !t.Context {
				switch app {
				case 0:
					if typ, inst, ok := t.ObjectID(); ok && typ == 8 {
						p.Device, p.HasDevice = inst, true
					}
				case 1:
					p.MaxAPDU = uint32(t.Uint())
				case 2:
					p.Segment = uint32(t.Uint())
				case 3:
					p.Vendor, p.HasVendor = uint32(t.Uint()), true
				}
				app++
			}
		case usvcIHave:
			if depth == 0 && !t.Context && t.Num == appObjectID {
				if app == 0 {
					if _, inst, ok := t.ObjectID(); ok {
						p.Device, p.HasDevice = inst, true
					}
				} else {
					p.setObj(&t)
				}
				app++
			}
		case usvcWhoIs, usvcWhoHas:
			if depth == 0 && t.Context {
				switch t.Num {
				case 0:
					p.Low, p.HasRange = uint32(t.Uint()), true
				case 1:
					p.High = uint32(t.Uint())
				case 2:
					if service == usvcWhoHas {
						p.setObj(&t)
					}
				}
			}
		case usvcCOVNotification, usvcEventNotification:
			if depth == 0 && t.Context {
				switch t.Num {
				case 1:
					if typ, inst, ok := t.ObjectID(); ok && typ == 8 {
						p.Device, p.HasDevice = inst, true
					}
				case 2:
					p.setObj(&t)
				}
			}
		case usvcPrivateTransfer:
			if depth == 0 && t.Context && t.Num == 0 && !p.HasVendor {
				p.Vendor, p.HasVendor = uint32(t.Uint()), true
			}
		case usvcYouAre:
			if depth == 0 && !t.Context && t.Num == appObjectID {
				if _, inst, ok := t.ObjectID(); ok {
					p.Device, p.HasDevice = inst, true
				}
			}
		}
	}
	return depth == 0
}
