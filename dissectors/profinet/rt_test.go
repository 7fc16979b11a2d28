package profinet

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// cyclicFrame builds an RT frame: FrameID, 40 bytes of C_SDU, CycleCounter,
// DataStatus, TransferStatus.
func cyclicFrame(id uint16, cycle uint16, ds byte) string {
	return fmt.Sprintf("%04x%s%04x%02x00", id, strings.Repeat("00", 40), cycle, ds)
}

const (
	// RTA DATA PDU on FrameID 0xFE01 (alarm low) with an AlarmNotification
	// (diagnosis alarm, slot 1 subslot 1, channel
	// diagnosis "short circuit"); checked with tshark.
	alarmLowDiagnosis = "fe01 0001 0002 11 11 0000 fffe 0022" +
		"0002 001e 0100 0001 00000000 0001 0001 00000030 00000001 a000 8000 8000 0800 0001"
	// RTA ACK PDU answering it.
	alarmLowAck = "fe01 0002 0001 13 00 ffff 0000 0000"
	// RTA ERR PDU with a PNIO status.
	alarmHighErr = "fc01 0001 0002 14 00 0001 0000 0004 cf810000"
	// RTA PDU of reserved type 7.
	alarmReservedType = "fc01 0001 0002 17 00 0001 0000 0000"
	// RTA DATA whose VarPartLen exceeds the frame.
	alarmBadVarLen = "fe01 0001 0002 11 00 0001 0000 0040 0002"
	// Cyclic frame too short to hold its APDU status.
	cyclicTooShort = "8001 0000"
	// PTCP delay request and announce.
	ptcpDelayReq = "ff40 0000000000000000000000000000000000000000"
	ptcpAnnounce = "ff00 0000000000000000000000000000000000000000"
)

// Data status bytes: valid, primary, run, station ok (0x35); the same
// provider in STOP (0x25); and with a station problem (0x15).
const (
	dsRunOK     = 0x35
	dsStop      = 0x25
	dsRunProble = 0x15
)

func TestRTCyclicProviderState(t *testing.T) {
	s := newSession(Spec(), l2Flow())
	for i := 0; i < 3; i++ {
		s.feed(t, dissect.ToServer, time.Duration(i)*time.Millisecond, cyclicFrame(0x8001, uint16(i*32), dsRunOK))
		s.feed(t, dissect.ToClient, time.Duration(i)*time.Millisecond, cyclicFrame(0xc001, uint16(i*32), dsRunOK))
	}
	if len(s.rec.tx) != 0 {
		t.Fatalf("cyclic frames in RUN must not emit per frame: %+v", s.rec.tx)
	}
	s.feed(t, dissect.ToServer, 10*time.Millisecond, cyclicFrame(0x8001, 96, dsStop))
	s.feed(t, dissect.ToServer, 11*time.Millisecond, cyclicFrame(0x8001, 128, dsStop)) // still STOP: no event
	s.feed(t, dissect.ToClient, 12*time.Millisecond, cyclicFrame(0xc001, 96, dsRunProble))
	s.end(time.Minute)
	r := s.rec
	if len(r.viols) != 0 {
		t.Fatalf("violations: %v", violReasons(r.viols))
	}
	// Stop event, station problem event, then two summaries.
	if len(r.tx) != 4 {
		t.Fatalf("got %d transactions: %+v", len(r.tx), r.tx)
	}
	if tx := r.tx[0]; tx.FuncName != "Provider State Stop" || tx.Function != 0x8001 || tx.Op != dissect.OpNotify ||
		tx.Frame != 7 || tx.Requester != dissect.ToServer {
		t.Errorf("stop event = %+v", tx)
	}
	wantAttrs(t, "stop", r.tx[0].Attrs, "cycle_counter", "96", "data_status", "37", "provider_run", "0")
	if tx := r.tx[1]; tx.FuncName != "Station Problem" || tx.Function != 0xc001 {
		t.Errorf("problem event = %+v", tx)
	}
	sum := r.tx[2]
	if sum.FuncName != "RT_CLASS_1/2 cyclic" || sum.Function != 0x8001 || sum.Frame != 1 || sum.ReqBytes != 5*46 {
		t.Errorf("summary = %+v", sum)
	}
	wantAttrs(t, "summary 0x8001", sum.Attrs, "packets", "5", "provider_stops", "1", "last_cycle_counter", "128",
		"last_data_status", "37", "station_problem_frames", "0")
	if r.tx[3].FuncName != "RT_CLASS_1 legacy/UDP cyclic" {
		t.Errorf("summary 2 = %+v", r.tx[3])
	}
	wantAttrs(t, "summary 0xc001", r.tx[3].Attrs, "packets", "4", "provider_stops", "0", "station_problem_frames", "1")
}

func TestRTAlarms(t *testing.T) {
	s := newSession(Spec(), l2Flow())
	s.feed(t, dissect.ToClient, 0, alarmLowDiagnosis)
	s.feed(t, dissect.ToServer, time.Millisecond, alarmLowAck)
	s.feed(t, dissect.ToClient, 2*time.Millisecond, alarmHighErr)
	s.end(time.Minute)
	r := s.rec
	if len(r.viols) != 0 {
		t.Fatalf("violations: %v", violReasons(r.viols))
	}
	if len(r.tx) != 5 {
		t.Fatalf("got %d transactions: %+v", len(r.tx), r.tx)
	}
	if tx := r.tx[0]; tx.FuncName != "Alarm Low" || tx.Op != dissect.OpNotify || tx.Requester != dissect.ToClient {
		t.Errorf("alarm = %+v", tx)
	}
	wantAttrs(t, "alarm", r.tx[0].Attrs, "alarm_type", "1", "slot", "1", "subslot", "1", "module_ident", "48",
		"alarm_specifier", "40960", "block_type", "2")
	if tx := r.tx[1]; tx.Status != dissect.StatusException || tx.Code != 0xcf810000 || tx.FuncName != "Alarm High" {
		t.Errorf("RTA error = %+v", tx)
	}
	wantAttrs(t, "alarm summary", r.tx[2].Attrs, "packets", "1", "alarm_data_pdus", "1")
}

func TestRTClassify(t *testing.T) {
	tests := []struct {
		id   uint16
		want string
	}{
		{0x0020, "PTCP RTSync"}, {0x0080, "PTCP RTSync"}, {0x0010, "Reserved FrameID"},
		{0x0100, "RT_CLASS_3 cyclic"}, {0x0fff, "RT_CLASS_3 cyclic"}, {0x1000, "RT_CLASS_STREAM cyclic"},
		{0x3000, "Reserved FrameID"}, {0x8000, "RT_CLASS_1/2 cyclic"}, {0xbfff, "RT_CLASS_1/2 cyclic"},
		{0xc000, "RT_CLASS_1 legacy/UDP cyclic"}, {0xfbff, "RT_CLASS_1 legacy/UDP cyclic"}, {0xfc01, "Alarm High"}, {0xfe01, "Alarm Low"}, {0xfe02, "RTA reserved"},
		{0xff00, "PTCP Announce"}, {0xff20, "PTCP FollowUp"}, {0xff43, "PTCP Delay"}, {0xff44, "Reserved FrameID"},
		{0xff80, "Fragmentation"}, {0xffff, "Reserved FrameID"},
	}
	for _, tc := range tests {
		if got := kindNames[classify(tc.id)]; got != tc.want {
			t.Errorf("classify(%#04x) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestRTMalformed(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		kind dissect.ViolationKind
	}{
		{"cyclic too short", cyclicTooShort, dissect.ViolMalformed},
		{"RTA reserved type", alarmReservedType, dissect.ViolOutOfSpec},
		{"RTA VarPartLen", alarmBadVarLen, dissect.ViolBadLength},
		{"RTA header", "fe01 0001", dissect.ViolMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(Spec(), l2Flow())
			s.feed(t, dissect.ToServer, 0, tc.hex)
			if len(s.rec.viols) != 1 || s.rec.viols[0].Kind != tc.kind {
				t.Fatalf("violations: %v", violReasons(s.rec.viols))
			}
		})
	}
}

func TestRTPeriodicReport(t *testing.T) {
	s := newSession(Spec(), l2Flow())
	s.feed(t, dissect.ToServer, 0, cyclicFrame(0x8001, 1, dsRunOK))
	s.feed(t, dissect.ToServer, time.Minute, cyclicFrame(0x8001, 2, dsRunOK))
	s.feed(t, dissect.ToServer, 6*time.Minute, cyclicFrame(0x8001, 3, dsRunOK)) // closes the first period
	if len(s.rec.tx) != 1 {
		t.Fatalf("got %d transactions after 6 minutes", len(s.rec.tx))
	}
	first := s.rec.tx[0]
	if first.Time != t0 || first.RespTime != t0.Add(time.Minute) || first.Frame != 1 {
		t.Errorf("first period = %+v", first)
	}
	wantAttrs(t, "first period", first.Attrs, "packets", "2", "last_cycle_counter", "2")
	s.feed(t, dissect.ToServer, 7*time.Minute, cyclicFrame(0x8001, 4, dsRunOK))
	s.end(8 * time.Minute)
	if len(s.rec.tx) != 2 {
		t.Fatalf("got %d transactions at end", len(s.rec.tx))
	}
	last := s.rec.tx[1]
	if last.Time != t0.Add(6*time.Minute) || last.Frame != 3 || last.RespTime != t0.Add(7*time.Minute) {
		t.Errorf("second period = %+v", last)
	}
	wantAttrs(t, "second period", last.Attrs, "packets", "2", "last_cycle_counter", "4")
}

func TestRTTableBounded(t *testing.T) {
	s := newSession(Spec(), l2Flow())
	s.feed(t, dissect.ToServer, 0, ptcpDelayReq)
	s.feed(t, dissect.ToServer, 0, ptcpAnnounce)
	for i := 0; i < rtTableSize+3; i++ {
		s.feed(t, dissect.ToServer, time.Millisecond, cyclicFrame(0xc000+uint16(i), 1, dsRunOK))
	}
	s.end(time.Minute)
	r := s.rec
	if len(r.tx) != rtTableSize+1 {
		t.Fatalf("got %d transactions, want %d", len(r.tx), rtTableSize+1)
	}
	if r.tx[0].FuncName != "PTCP Delay" || r.tx[1].FuncName != "PTCP Announce" {
		t.Errorf("first summaries: %q %q", r.tx[0].FuncName, r.tx[1].FuncName)
	}
	last := r.tx[len(r.tx)-1]
	if last.FuncName != "Other FrameIDs (table full)" {
		t.Errorf("overflow = %+v", last)
	}
	wantAttrs(t, "overflow", last.Attrs, "packets", "5")
}
