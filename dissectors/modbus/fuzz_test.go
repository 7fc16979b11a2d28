package modbus

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// checkEmitter fails the fuzz run on records that break the contract.
type checkEmitter struct{ t *testing.T }

func (c checkEmitter) Transaction(tx *dissect.Transaction) {
	if tx.Protocol != Name || tx.FuncName == "" || tx.Flow == nil {
		c.t.Fatalf("incomplete transaction: %+v", tx)
	}
	if tx.HasAddr && (tx.AddrEnd < tx.AddrStart || tx.AddrSpace == "") {
		c.t.Fatalf("bad address range: %+v", tx)
	}
	if tx.Status > dissect.StatusOrphan || (tx.Status == dissect.StatusException && tx.CodeName == "") {
		c.t.Fatalf("bad status: %+v", tx)
	}
}
func (c checkEmitter) Hint(h *dissect.AssetHint) {
	if h.Protocol != Name {
		c.t.Fatalf("hint without protocol: %+v", h)
	}
}
func (c checkEmitter) Violation(v *dissect.Violation) {
	if v.Kind == 0 || v.Reason == "" {
		c.t.Fatalf("incomplete violation: %+v", v)
	}
}
func (c checkEmitter) FieldUint(string, uint64)  {}
func (c checkEmitter) FieldBytes(string, []byte) {}

func FuzzModbus(f *testing.F) {
	for _, s := range []string{readHoldingRegistersReq + readHoldingRegistersResp, readCoilsReq + readCoilsResp,
		writeMultipleCoilsReq, writeMultipleRegsReq, readFileRecordReq, writeFileRecordReq, readWriteMultipleReq,
		readWriteMultipleResp, readFIFOQueueResp, readDeviceIDReq, readDeviceIDResp, exceptionIllegalAddrResp,
		umasReadIDReq + umasReadIDResp, umasStopPLCErrResp, diagReturnQueryReq, reportServerIDResp, badProtocolID,
		rtuReadHoldingReq, rtuBadCRC} {
		f.Add(h(f, s))
	}
	seedFromCaptures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		var p PDU
		DecodePDU(data, false, &p)
		DecodePDU(data, true, &p)
		it := p.ObjectIter()
		for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
		}
		DecodeRTUFrame(data, false, &p)
		DecodeRTUFrame(data, true, &p)

		flow := dissect.Flow{ID: 1, Transport: dissect.TransportTCP}
		ctx := dissect.Context{Flow: &flow, Time: time.Unix(1700000000, 0), Emit: checkEmitter{t}}
		split := 0
		if len(data) > 0 {
			split = int(data[0]) % (len(data) + 1)
		}
		for _, dir := range []dissect.Direction{dissect.ToServer, dissect.ToClient} {
			d := newDissector()
			d.Feed(&ctx, dir, data)
			d.Feed(&ctx, dir.Reverse(), data)
			d.End(&ctx)
			d = newDissector()
			d.Feed(&ctx, dir, data[:split])
			ctx.Time = ctx.Time.Add(time.Second)
			d.Feed(&ctx, dir, data[split:])
			d.Feed(&ctx, dir.Reverse(), data[:split])
			d.Gap(&ctx, dir.Reverse(), 3)
			d.Feed(&ctx, dir.Reverse(), data[split:])
			d.End(&ctx)
		}
	})
}
