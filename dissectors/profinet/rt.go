package profinet

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// rtTableSize bounds the FrameIDs counted per flow (an AR uses one input and
// one output FrameID per direction, plus alarms and PTCP).
const rtTableSize = 16

// FrameID classes of non-DCP frames.
type frameKind uint8

const (
	kindReserved frameKind = iota
	kindPTCPSync
	kindRTC3
	kindStream
	kindRTC12
	kindRTC1Legacy
	kindAlarmHigh
	kindAlarmLow
	kindRTA
	kindPTCPAnnounce
	kindPTCPFollowUp
	kindPTCPDelay
	kindFragment
)

var kindNames = [...]string{
	kindReserved:     "Reserved FrameID",
	kindPTCPSync:     "PTCP RTSync",
	kindRTC3:         "RT_CLASS_3 cyclic",
	kindStream:       "RT_CLASS_STREAM cyclic",
	kindRTC12:        "RT_CLASS_1/2 cyclic",
	kindRTC1Legacy:   "RT_CLASS_1 legacy/UDP cyclic",
	kindAlarmHigh:    "Alarm High",
	kindAlarmLow:     "Alarm Low",
	kindRTA:          "RTA reserved",
	kindPTCPAnnounce: "PTCP Announce",
	kindPTCPFollowUp: "PTCP FollowUp",
	kindPTCPDelay:    "PTCP Delay",
	kindFragment:     "Fragmentation",
}

// classify maps a FrameID to its class (IEC 61158-6-10, FrameID table):
// 0x8000-0xBFFF is RT_CLASS_1 since V2.3 (RT_CLASS_2 before), 0xC000-0xFBFF
// the legacy RT_CLASS_1 and RT_CLASS_UDP range, 0x1000-0x2FFF the
// time-aware RT_CLASS_STREAM.
func classify(id uint16) frameKind {
	switch {
	case id == 0x0020 || id == 0x0021 || id == 0x0080 || id == 0x0081:
		return kindPTCPSync
	case id < 0x0100:
		return kindReserved
	case id <= 0x0FFF:
		return kindRTC3
	case id <= 0x2FFF:
		return kindStream
	case id <= 0x7FFF:
		return kindReserved
	case id <= 0xBFFF:
		return kindRTC12
	case id <= 0xFBFF:
		return kindRTC1Legacy
	case id == 0xFC01:
		return kindAlarmHigh
	case id == 0xFE01:
		return kindAlarmLow
	case id <= 0xFEFF:
		return kindRTA
	case id <= 0xFF01:
		return kindPTCPAnnounce
	case id >= 0xFF20 && id <= 0xFF21:
		return kindPTCPFollowUp
	case id >= 0xFF40 && id <= 0xFF43:
		return kindPTCPDelay
	case id >= 0xFF80 && id <= 0xFF8F:
		return kindFragment
	}
	return kindReserved
}

func (k frameKind) cyclic() bool {
	return k == kindRTC1Legacy || k == kindRTC12 || k == kindRTC3 || k == kindStream
}

// Data status bits of cyclic frames.
const (
	dsPrimary  = 0x01
	dsValid    = 0x04
	dsRun      = 0x10
	dsStatusOK = 0x20 // station problem indicator: 1 = no problem
)

// RTReportInterval is how often a long-lived FrameID is reported: its
// counters are emitted and restarted when a frame arrives this long after
// the start of the current period, and once more at the end of the flow.
const RTReportInterval = 5 * time.Minute

// rtEntry counts the frames of one FrameID in one direction over the
// current reporting period.
type rtEntry struct {
	first      time.Time // first frame of the period
	last       time.Time // latest frame
	firstFrame uint64
	packets    uint64
	bytes      uint64
	stops      uint64 // RUN → STOP transitions of the provider state
	problems   uint64 // frames with the station problem indicator set
	invalid    uint64 // frames with DataValid cleared
	backup     uint64 // frames from a backup provider
	alarms     uint64 // RTA DATA PDUs
	id         uint16
	cycle      uint16
	ds         uint8
	dir        dissect.Direction
	kind       frameKind
	hasDS      bool
}

// entry finds or adds the counter of (id, dir); nil when the table is full.
func (d *l2) entry(ctx *dissect.Context, id uint16, dir dissect.Direction, kind frameKind) *rtEntry {
	for i := 0; i < d.rtN; i++ {
		if e := &d.rt[i]; e.id == id && e.dir == dir {
			return e
		}
	}
	if d.rtN == len(d.rt) {
		if d.rtOverflow == 0 {
			d.rtOverAt, d.rtOverFrm = ctx.Time, ctx.Frame
		}
		d.rtOverflow++
		return nil
	}
	e := &d.rt[d.rtN]
	d.rtN++
	*e = rtEntry{first: ctx.Time, firstFrame: ctx.Frame, id: id, dir: dir, kind: kind}
	return e
}

// feedRT counts a cyclic, alarm, PTCP or reserved frame.
func (d *l2) feedRT(ctx *dissect.Context, dir dissect.Direction, id uint16, data []byte) {
	kind := classify(id)
	e := d.entry(ctx, id, dir, kind)
	if e != nil {
		if e.packets > 0 && ctx.Time.Sub(e.first) >= RTReportInterval {
			d.reportRT(ctx, e)
		}
		if e.packets == 0 {
			e.first, e.firstFrame = ctx.Time, ctx.Frame
		}
		e.last = ctx.Time
		e.packets++
		e.bytes += uint64(len(data))
	}
	switch {
	case kind.cyclic():
		// FrameID, C_SDU, then CycleCounter, DataStatus, TransferStatus.
		if len(data) < 6 {
			d.violate(ctx, dir, dissect.ViolMalformed, uint32(id), "cyclic frame shorter than its APDU status")
			return
		}
		if e == nil {
			return
		}
		n := len(data)
		cycle, ds := uint16(data[n-4])<<8|uint16(data[n-3]), data[n-2]
		wasRunning := !e.hasDS || e.ds&dsRun != 0
		wasOK := !e.hasDS || e.ds&dsStatusOK != 0
		e.cycle, e.ds, e.hasDS = cycle, ds, true
		if ds&dsStatusOK == 0 {
			e.problems++
		}
		if ds&dsValid == 0 {
			e.invalid++
		}
		if ds&dsPrimary == 0 {
			e.backup++
		}
		if ds&dsRun == 0 && wasRunning {
			e.stops++
			d.stateChange(ctx, dir, id, cycle, ds, "Provider State Stop")
		}
		if ds&dsStatusOK == 0 && wasOK {
			d.stateChange(ctx, dir, id, cycle, ds, "Station Problem")
		}
	case kind == kindAlarmHigh || kind == kindAlarmLow:
		d.alarm(ctx, dir, id, kind, data, e)
	}
}

// stateChange reports a transition of a cyclic provider's data status.
func (d *l2) stateChange(ctx *dissect.Context, dir dissect.Direction, id, cycle uint16, ds uint8, what string) {
	t := d.resetTx(ctx)
	t.Time, t.Frame, t.Requester = ctx.Time, ctx.Frame, dir
	t.Op, t.Function, t.FuncName = dissect.OpNotify, uint32(id), what
	addAttr(t, "cycle_counter", uint64(cycle))
	addAttr(t, "data_status", uint64(ds))
	addAttr(t, "provider_run", uint64(ds>>4&1))
	addAttr(t, "station_ok", uint64(ds>>5&1))
	ctx.Emit.Transaction(t)
}

// RTA PDU types (low nibble of PDUType).
const (
	rtaData = 1
	rtaNack = 2
	rtaAck  = 3
	rtaErr  = 4
)

// alarm decodes an RTA PDU (FrameID 0xFC01 or 0xFE01): DATA PDUs carrying
// an AlarmNotification and ERR PDUs become transactions.
func (d *l2) alarm(ctx *dissect.Context, dir dissect.Direction, id uint16, kind frameKind, data []byte, e *rtEntry) {
	// FrameID, AlarmDstEndpoint, AlarmSrcEndpoint, PDUType, AddFlags,
	// SendSeqNum, AckSeqNum, VarPartLen.
	if len(data) < 14 {
		d.violate(ctx, dir, dissect.ViolMalformed, uint32(id), "RTA PDU shorter than its header")
		return
	}
	ptype := data[6] & 0x0F
	sendSeq := uint16(data[8])<<8 | uint16(data[9])
	varLen := int(uint16(data[12])<<8 | uint16(data[13]))
	v := data[14:]
	if varLen > len(v) {
		d.violate(ctx, dir, dissect.ViolBadLength, uint32(id), "RTA VarPartLen exceeds the frame")
		return
	}
	v = v[:varLen]
	switch ptype {
	case rtaAck, rtaNack:
		return
	case rtaData:
		if e != nil {
			e.alarms++
		}
		if len(v) == 0 {
			return // a DATA PDU without payload is a keep-alive
		}
		if len(v) < 6 {
			d.violate(ctx, dir, dissect.ViolMalformed, uint32(id), "RTA DATA block header truncated")
			return
		}
		bt := uint16(v[0])<<8 | uint16(v[1])
		t := d.resetTx(ctx)
		t.Time, t.Frame, t.Requester = ctx.Time, ctx.Frame, dir
		t.Op, t.Function, t.FuncName = dissect.OpNotify, uint32(id), kindNames[kind]
		t.ReqBytes = len(data)
		addAttr(t, "send_seq", uint64(sendSeq))
		addAttr(t, "block_type", uint64(bt))
		if (bt == 0x0001 || bt == 0x0002) && len(v) >= 28 {
			// AlarmNotification: AlarmType, API, Slot, Subslot,
			// ModuleIdent, SubmoduleIdent, AlarmSpecifier.
			addAttr(t, "alarm_type", uint64(uint16(v[6])<<8|uint16(v[7])))
			addAttr(t, "api", uint64(be32(v[8:])))
			addAttr(t, "slot", uint64(uint16(v[12])<<8|uint16(v[13])))
			addAttr(t, "subslot", uint64(uint16(v[14])<<8|uint16(v[15])))
			addAttr(t, "module_ident", uint64(be32(v[16:])))
			addAttr(t, "submodule_ident", uint64(be32(v[20:])))
			addAttr(t, "alarm_specifier", uint64(uint16(v[24])<<8|uint16(v[25])))
		} else if bt == 0x0001 || bt == 0x0002 {
			d.violate(ctx, dir, dissect.ViolMalformed, uint32(id), "AlarmNotification block truncated")
		}
		ctx.Emit.Transaction(t)
	case rtaErr:
		t := d.resetTx(ctx)
		t.Time, t.Frame, t.Requester = ctx.Time, ctx.Frame, dir
		t.Op, t.Function, t.FuncName = dissect.OpNotify, uint32(id), kindNames[kind]
		t.ReqBytes = len(data)
		t.Status, t.CodeName = dissect.StatusException, "RTA error"
		if len(v) >= 4 {
			t.Code = be32(v)
		}
		ctx.Emit.Transaction(t)
	default:
		d.violate(ctx, dir, dissect.ViolOutOfSpec, uint32(id), "reserved RTA PDU type")
	}
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// flushRT emits the last period of every counted FrameID at the end of the
// flow.
func (d *l2) flushRT(ctx *dissect.Context) {
	for i := 0; i < d.rtN; i++ {
		if d.rt[i].packets > 0 {
			d.reportRT(ctx, &d.rt[i])
		}
	}
	if d.rtOverflow > 0 {
		t := d.resetTx(ctx)
		t.Time, t.Frame = d.rtOverAt, d.rtOverFrm
		t.Op, t.FuncName = dissect.OpNotify, "Other FrameIDs (table full)"
		addAttr(t, "packets", d.rtOverflow)
		ctx.Emit.Transaction(t)
	}
	d.rtN, d.rtOverflow = 0, 0
}

// reportRT emits one OpNotify transaction for a FrameID's period (Time its
// first frame, RespTime its last) and restarts the period's counters.
func (d *l2) reportRT(ctx *dissect.Context, e *rtEntry) {
	t := d.resetTx(ctx)
	t.Time, t.RespTime, t.Frame, t.Requester = e.first, e.last, e.firstFrame, e.dir
	t.Op, t.Function, t.FuncName = dissect.OpNotify, uint32(e.id), kindNames[e.kind]
	t.ReqBytes = int(e.bytes)
	addAttr(t, "packets", e.packets)
	if e.kind.cyclic() && e.hasDS {
		addAttr(t, "last_cycle_counter", uint64(e.cycle))
		addAttr(t, "last_data_status", uint64(e.ds))
		addAttr(t, "provider_stops", e.stops)
		addAttr(t, "station_problem_frames", e.problems)
		addAttr(t, "data_invalid_frames", e.invalid)
		addAttr(t, "backup_frames", e.backup)
	}
	if e.kind == kindAlarmHigh || e.kind == kindAlarmLow {
		addAttr(t, "alarm_data_pdus", e.alarms)
	}
	ctx.Emit.Transaction(t)
	e.packets, e.bytes, e.stops, e.problems, e.invalid, e.backup, e.alarms = 0, 0, 0, 0, 0, 0, 0
}
