package modbus

import (
	"errors"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Errors returned by DecodeRTUFrame.
var (
	// ErrRTUShort means the frame is shorter than address + function + CRC.
	ErrRTUShort = errors.New("modbus rtu: frame shorter than 4 bytes")
	// ErrRTUCRC means the CRC-16 does not match the frame.
	ErrRTUCRC = errors.New("modbus rtu: CRC mismatch")
)

// crcTable is the CRC-16/MODBUS table (reflected polynomial 0xA001). It is
// computed once at start and only read afterwards.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC16 returns the Modbus RTU CRC-16 of b (initial value 0xFFFF). On the
// wire it is sent low byte first.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc = crc>>8 ^ crcTable[byte(crc)^x]
	}
	return crc
}

// DecodeRTUFrame decodes one Modbus RTU (serial line) frame: server address,
// PDU, CRC-16 (low byte first). The PDU is decoded with DecodePDU into p even
// when the CRC is wrong, in which case ErrRTUCRC is returned and p.Viol is
// ViolBadChecksum. response tells whether the frame comes from the server
// (serial captures rarely say; a caller can try the request form first).
// It never allocates.
func DecodeRTUFrame(frame []byte, response bool, p *PDU) (unit uint8, err error) {
	if len(frame) < 4 {
		*p = PDU{Response: response, FuncName: "Reserved"}
		p.violate(dissect.ViolMalformed, "RTU frame shorter than 4 bytes")
		return 0, ErrRTUShort
	}
	n := len(frame) - 2
	got := uint16(frame[n]) | uint16(frame[n+1])<<8
	DecodePDU(frame[1:n], response, p)
	if CRC16(frame[:n]) != got {
		// A bad CRC explains any other problem: report it first.
		p.Viol, p.ViolReason = dissect.ViolBadChecksum, "RTU CRC-16 mismatch"
		return frame[0], ErrRTUCRC
	}
	return frame[0], nil
}
