package mqtt

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// MQTT control packet types (fixed header, high nibble).
const (
	TypeReserved    = 0
	TypeConnect     = 1
	TypeConnack     = 2
	TypePublish     = 3
	TypePuback      = 4
	TypePubrec      = 5
	TypePubrel      = 6
	TypePubcomp     = 7
	TypeSubscribe   = 8
	TypeSuback      = 9
	TypeUnsubscribe = 10
	TypeUnsuback    = 11
	TypePingreq     = 12
	TypePingresp    = 13
	TypeDisconnect  = 14
	TypeAuth        = 15 // MQTT 5 only
)

var typeNames = [16]string{"Reserved", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

// TypeName returns the name of a control packet type ("PUBLISH").
func TypeName(t uint8) string { return typeNames[t&15] }

// Protocol levels carried in CONNECT.
const (
	Level31  = 3 // MQTT 3.1, protocol name "MQIsdp"
	Level311 = 4 // MQTT 3.1.1
	Level5   = 5 // MQTT 5.0
)

// ReasonName returns the name of an MQTT 5 reason code (also used for the
// MQTT 3.1.1 CONNACK return codes through ConnackName).
func ReasonName(code uint8) string {
	switch code {
	case 0x00:
		return "Success"
	case 0x01:
		return "Granted QoS 1"
	case 0x02:
		return "Granted QoS 2"
	case 0x04:
		return "Disconnect with Will Message"
	case 0x10:
		return "No matching subscribers"
	case 0x11:
		return "No subscription existed"
	case 0x18:
		return "Continue authentication"
	case 0x19:
		return "Re-authenticate"
	case 0x80:
		return "Unspecified error"
	case 0x81:
		return "Malformed Packet"
	case 0x82:
		return "Protocol Error"
	case 0x83:
		return "Implementation specific error"
	case 0x84:
		return "Unsupported Protocol Version"
	case 0x85:
		return "Client Identifier not valid"
	case 0x86:
		return "Bad User Name or Password"
	case 0x87:
		return "Not authorized"
	case 0x88:
		return "Server unavailable"
	case 0x89:
		return "Server busy"
	case 0x8A:
		return "Banned"
	case 0x8B:
		return "Server shutting down"
	case 0x8C:
		return "Bad authentication method"
	case 0x8D:
		return "Keep Alive timeout"
	case 0x8E:
		return "Session taken over"
	case 0x8F:
		return "Topic Filter invalid"
	case 0x90:
		return "Topic Name invalid"
	case 0x91:
		return "Packet Identifier in use"
	case 0x92:
		return "Packet Identifier not found"
	case 0x93:
		return "Receive Maximum exceeded"
	case 0x94:
		return "Topic Alias invalid"
	case 0x95:
		return "Packet too large"
	case 0x96:
		return "Message rate too high"
	case 0x97:
		return "Quota exceeded"
	case 0x98:
		return "Administrative action"
	case 0x99:
		return "Payload format invalid"
	case 0x9A:
		return "Retain not supported"
	case 0x9B:
		return "QoS not supported"
	case 0x9C:
		return "Use another server"
	case 0x9D:
		return "Server moved"
	case 0x9E:
		return "Shared Subscriptions not supported"
	case 0x9F:
		return "Connection rate exceeded"
	case 0xA0:
		return "Maximum connect time"
	case 0xA1:
		return "Subscription Identifiers not supported"
	case 0xA2:
		return "Wildcard Subscriptions not supported"
	}
	return "Unknown reason code"
}

// ConnackName returns the name of a CONNACK return code for a protocol level.
func ConnackName(level, code uint8) string {
	if level >= Level5 {
		return ReasonName(code)
	}
	switch code {
	case 0:
		return "Connection Accepted"
	case 1:
		return "Unacceptable protocol version"
	case 2:
		return "Identifier rejected"
	case 3:
		return "Server unavailable"
	case 4:
		return "Bad user name or password"
	case 5:
		return "Not authorized"
	}
	return "Unknown return code"
}

// Packet is what Decode learnt from one MQTT control packet. Its byte slices
// alias the decoded bytes. Passwords and payloads are never kept.
type Packet struct {
	Type      uint8
	Flags     uint8
	Len       int  // bytes on the wire (fixed header included)
	Truncated bool // only the head of an oversized packet was decoded

	// CONNECT
	ProtocolName []byte
	Level        uint8
	ConnFlags    uint8
	KeepAlive    uint16
	ClientID     []byte
	Username     []byte
	HasUsername  bool
	HasPassword  bool
	HasWill      bool
	WillTopic    []byte
	CleanSession bool

	// CONNACK
	SessionPresent bool

	// PUBLISH, SUBSCRIBE, UNSUBSCRIBE: the topic, or the first filter.
	Topic        []byte
	Topics       int // number of topic filters
	QoS          uint8
	Retain       bool
	Dup          bool
	PayloadBytes int

	PacketID    uint16
	HasPacketID bool

	// Reason or return code (CONNACK, PUB*, DISCONNECT, AUTH; SUBACK and
	// UNSUBACK: the first failure, or the first code).
	Reason    uint8
	HasReason bool
	Failed    bool // the reason code reports a failure

	// WrongSide is set when a client-only packet came from the broker or
	// a broker-only packet from the client.
	WrongSide bool

	Viol       dissect.ViolationKind
	ViolReason string
}

func (p *Packet) violate(k dissect.ViolationKind, reason string) {
	if p.Viol == 0 {
		p.Viol, p.ViolReason = k, reason
	}
}

// TopicSink receives every topic name and filter found while decoding
// (PUBLISH topic, SUBSCRIBE and UNSUBSCRIBE filters). It may be nil.
type TopicSink interface {
	FieldBytes(name string, v []byte)
}

// varint decodes an MQTT Variable Byte Integer at the start of b. It returns
// the value and its size, size 0 when b is too short, -1 when it is longer
// than 4 bytes.
func varint(b []byte) (v int, size int) {
	mul := 1
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0
		}
		v += int(b[i]&0x7F) * mul
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
		mul <<= 7
	}
	return 0, -1
}

// readVarint reads a Variable Byte Integer from c (flagging c on error).
func readVarint(c *cursor.Cursor) int {
	v, n := varint(c.Rest())
	if n <= 0 {
		c.Skip(c.Len() + 1) // mark the cursor failed
		return 0
	}
	c.Skip(n)
	return v
}

// skipProperties skips an MQTT 5 property block.
func skipProperties(c *cursor.Cursor) {
	c.Skip(readVarint(c))
}

// str reads an MQTT UTF-8 string (two-byte length, bytes).
func str(c *cursor.Cursor) []byte {
	return c.Bytes(int(c.U16()))
}

// HeaderLen parses a fixed header at the start of b and returns the total
// packet length: 0 when b is too short to tell, -1 when the remaining
// length is longer than 4 bytes.
func HeaderLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	rem, n := varint(b[1:])
	switch {
	case n < 0:
		return -1
	case n == 0:
		return 0
	}
	return 1 + n + rem
}

// requiredFlags returns the fixed-header flags a packet type must carry
// (PUBLISH, whose flags carry DUP/QoS/RETAIN, returns 0xFF).
func requiredFlags(t uint8) uint8 {
	switch t {
	case TypePublish:
		return 0xFF
	case TypePubrel, TypeSubscribe, TypeUnsubscribe:
		return 2
	}
	return 0
}

// Decode decodes one complete control packet b (fixed header first). level
// is the protocol level negotiated by CONNECT (it decides whether MQTT 5
// properties are present); toClient tells that the broker sent it. Topics
// are passed to sink as "mqtt_topic" fields. When b is only the head of an
// oversized packet (len(b) shorter than its remaining length says), the
// fields present are decoded and p.Truncated is set. Decode never allocates.
func Decode(b []byte, level uint8, toClient bool, sink TopicSink, p *Packet) {
	*p = Packet{}
	total := HeaderLen(b)
	if total <= 0 {
		p.violate(dissect.ViolMalformed, "bad fixed header")
		return
	}
	p.Type, p.Flags, p.Len = b[0]>>4, b[0]&15, total
	_, n := varint(b[1:])
	body := b[1+n:]
	if total > len(b) {
		p.Truncated = true
	} else {
		body = body[:total-1-n]
	}
	if want := requiredFlags(p.Type); want != 0xFF && p.Flags != want {
		p.violate(dissect.ViolMalformed, "reserved fixed-header flags set")
	}
	if toClient {
		switch p.Type {
		case TypeConnect, TypeSubscribe, TypeUnsubscribe, TypePingreq:
			p.WrongSide = true
			p.violate(dissect.ViolOutOfSpec, "client packet sent by the broker")
		}
	} else {
		switch p.Type {
		case TypeConnack, TypeSuback, TypeUnsuback, TypePingresp:
			p.WrongSide = true
			p.violate(dissect.ViolOutOfSpec, "broker packet sent by the client")
		}
	}
	v5 := level >= Level5
	c := cursor.New(body)
	switch p.Type {
	case TypeReserved:
		p.violate(dissect.ViolIllegalFunc, "reserved packet type 0")
		return
	case TypeConnect:
		decodeConnect(&c, p)
	case TypeConnack:
		ack := c.U8()
		p.SessionPresent = ack&1 != 0
		p.Reason, p.HasReason = c.U8(), true
		if v5 {
			skipProperties(&c)
		}
		if ack&0xFE != 0 {
			p.violate(dissect.ViolMalformed, "reserved CONNACK flags set")
		}
		p.Failed = p.Reason != 0
	case TypePublish:
		p.Dup, p.QoS, p.Retain = p.Flags&8 != 0, (p.Flags>>1)&3, p.Flags&1 != 0
		p.Topic = str(&c)
		if p.QoS > 0 {
			p.PacketID, p.HasPacketID = c.U16(), true
		}
		if v5 {
			skipProperties(&c)
		}
		if c.OK() {
			if len(p.Topic) > 0 && sink != nil {
				sink.FieldBytes("mqtt_topic", p.Topic)
			}
			p.PayloadBytes = c.Len()
			if p.Truncated {
				p.PayloadBytes = total - (len(b) - c.Len())
			}
			c.Skip(c.Len())
		}
		switch {
		case p.QoS == 3:
			p.violate(dissect.ViolOutOfSpec, "PUBLISH with QoS 3")
		case p.QoS == 0 && p.Dup:
			p.violate(dissect.ViolOutOfSpec, "DUP set on a QoS 0 PUBLISH")
		case p.HasPacketID && p.PacketID == 0 && c.OK():
			p.violate(dissect.ViolOutOfSpec, "PUBLISH with packet identifier 0")
		case hasWildcard(p.Topic):
			p.violate(dissect.ViolOutOfSpec, "wildcard in a PUBLISH topic")
		case len(p.Topic) == 0 && !v5 && c.OK():
			// MQTT 5 may send an empty topic with a Topic Alias property.
			p.violate(dissect.ViolOutOfSpec, "empty PUBLISH topic")
		}
	case TypePuback, TypePubrec, TypePubrel, TypePubcomp:
		p.PacketID, p.HasPacketID = c.U16(), true
		if v5 && c.Len() > 0 {
			p.Reason, p.HasReason = c.U8(), true
			p.Failed = p.Reason >= 0x80
			if c.Len() > 0 {
				skipProperties(&c)
			}
		}
	case TypeSubscribe, TypeUnsubscribe:
		p.PacketID, p.HasPacketID = c.U16(), true
		if v5 {
			skipProperties(&c)
		}
		for c.OK() && c.Len() > 0 {
			f := str(&c)
			var opts uint8
			if p.Type == TypeSubscribe {
				opts = c.U8()
			}
			if !c.OK() {
				break
			}
			if p.Topics == 0 {
				p.Topic, p.QoS = f, opts&3
			}
			p.Topics++
			if len(f) == 0 {
				p.violate(dissect.ViolOutOfSpec, "empty topic filter")
			} else if sink != nil {
				sink.FieldBytes("mqtt_topic", f)
			}
			if opts&3 == 3 || (!v5 && opts&0xFC != 0) || opts&0xC0 != 0 {
				p.violate(dissect.ViolMalformed, "reserved subscription options set")
			}
		}
		if c.OK() && p.Topics == 0 && !p.Truncated {
			p.violate(dissect.ViolMalformed, "no topic filter")
		}
	case TypeSuback, TypeUnsuback:
		p.PacketID, p.HasPacketID = c.U16(), true
		if v5 {
			skipProperties(&c)
		}
		for c.OK() && c.Len() > 0 {
			code := c.U8()
			if !p.HasReason || (code >= 0x80 && !p.Failed) {
				p.Reason, p.HasReason = code, true
				p.Failed = code >= 0x80
			}
			p.Topics++
		}
		if p.Type == TypeSuback && p.Topics == 0 && c.OK() && !p.Truncated {
			p.violate(dissect.ViolMalformed, "SUBACK without return codes")
		}
	case TypePingreq, TypePingresp:
	case TypeDisconnect, TypeAuth:
		if p.Type == TypeAuth && !v5 {
			p.violate(dissect.ViolIllegalFunc, "AUTH packet before MQTT 5")
		}
		if v5 && c.Len() > 0 {
			p.Reason, p.HasReason = c.U8(), true
			p.Failed = p.Reason >= 0x80
			if c.Len() > 0 {
				skipProperties(&c)
			}
		}
	}
	if !c.OK() {
		if p.Truncated {
			p.violate(dissect.ViolBadLength, "oversized packet head too short for its fields")
		} else {
			p.violate(dissect.ViolBadLength, "remaining length shorter than the packet's fields")
		}
	} else if c.Len() != 0 && !p.Truncated {
		p.violate(dissect.ViolBadLength, "remaining length longer than the packet's fields")
	}
}

func decodeConnect(c *cursor.Cursor, p *Packet) {
	p.ProtocolName = str(c)
	p.Level = c.U8()
	p.ConnFlags = c.U8()
	p.KeepAlive = c.U16()
	if !c.OK() {
		return
	}
	switch {
	case string(p.ProtocolName) == "MQTT" && (p.Level == Level311 || p.Level == Level5):
	case string(p.ProtocolName) == "MQIsdp" && p.Level == Level31:
	default:
		p.violate(dissect.ViolOutOfSpec, "unknown protocol name or level")
	}
	f := p.ConnFlags
	p.HasUsername, p.HasPassword, p.HasWill, p.CleanSession = f&0x80 != 0, f&0x40 != 0, f&0x04 != 0, f&0x02 != 0
	if f&1 != 0 {
		p.violate(dissect.ViolMalformed, "reserved CONNECT flag set")
	}
	if (f>>3)&3 == 3 {
		p.violate(dissect.ViolOutOfSpec, "will QoS 3")
	}
	if !p.HasWill && f&0x38 != 0 {
		p.violate(dissect.ViolMalformed, "will QoS or retain without a will")
	}
	if p.HasPassword && !p.HasUsername && p.Level < Level5 {
		p.violate(dissect.ViolOutOfSpec, "password without user name")
	}
	v5 := p.Level >= Level5
	if v5 {
		skipProperties(c)
	}
	p.ClientID = str(c)
	if p.HasWill {
		if v5 {
			skipProperties(c)
		}
		p.WillTopic = str(c)
		str(c) // will message
	}
	if p.HasUsername {
		p.Username = str(c)
	}
	if p.HasPassword {
		str(c) // never kept
	}
}

func hasWildcard(t []byte) bool {
	for _, x := range t {
		if x == '+' || x == '#' {
			return true
		}
	}
	return false
}
