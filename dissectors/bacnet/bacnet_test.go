package bacnet

import (
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// Fixtures: BVLC payloads from pcaps/bacnet (named after what they are) and
// hand-built NPDUs/APDUs (wrapped with bvlc()) for the other services.
const (
	readPropertyReq      = "810a001101040005010c0c023fffff194b"
	readPropertyAck      = "810a0017010030010c0c023fffff194b3ec4020001f43f"
	readVendorNameReq    = "810a001101040005010c0c023fffff1979"
	readVendorNameAck    = "810a001b010030010c0c023fffff19793e750704004a004300493f"
	readBDT              = "81020004"
	readBDTNak           = "810000060020"
	registerFD           = "810500060010"
	registerFDNak        = "810000060030"
	whoIsRangeQinQ       = "810b00120120ffff00ff10080a1b591a1b59"
	npduIAm              = "0100" + "1000" + "c40200007b" + "2205c4" + "9100" + "2105"
	npduWriteProperty    = "0104" + "0005070f" + "0c00800001" + "1955" + "3e" + "443f800000" + "3f" + "4908"
	npduSimpleAckWP      = "0100" + "20070f"
	npduReinitialize     = "0104" + "00050814" + "0901" + "1c00616263"
	npduReinitError      = "0100" + "500814" + "9100" + "911a"
	npduDCC              = "0104" + "00050911" + "0905" + "1901"
	npduRejectDCC        = "0100" + "600909"
	npduRPM              = "0104" + "00050b0e" + "0c02000001" + "1e" + "0955" + "094d" + "1f" + "0c00000002" + "1e" + "0955" + "1f"
	npduRPMAckSegmented  = "0100" + "3c0b00040e" + "0c02000001" + "1e" + "2955" + "4e" + "4400000000" + "4f" + "1f"
	npduRPMAckSegment2   = "0100" + "380b01040e" + "0c00000002" + "1e" + "2955" + "4e" + "4400000000" + "4f" + "1f"
	npduAbortBySrv       = "0100" + "710c04"
	npduAbortedReq       = "0104" + "00050c0c" + "0c023fffff" + "194b"
	npduWhoIsRouter      = "0180" + "00" + "0005"
	npduRoutedRP         = "0124" + "0005" + "01" + "07" + "ff" + "00050d0c" + "0c023fffff" + "1979"
	npduRoutedAck        = "0108" + "0005" + "01" + "07" + "300d0c" + "0c023fffff" + "1979" + "3e" + "7504004142" + "3f"
	npduDeviceRPMAck     = "0100" + "300e0e" + "0c0200007b" + "1e" + "2946" + "4e" + "7506004d6f64656c" + "4f" + "292c" + "4e" + "750400312e32" + "4f" + "2978" + "4e" + "2105" + "4f" + "1f"
	npduDeviceRPMReq     = "0104" + "00050e0e" + "0c0200007b" + "1e" + "0946" + "092c" + "0978" + "1f"
	npduBadVersion       = "0200" + "1008"
	npduReservedAPDU     = "0100" + "8000"
	npduUnknownConfirmed = "0104" + "00051063"
	npduTruncatedTags    = "0104" + "0005110c" + "0c02"
	npduPrivateTransfer  = "0100" + "1004" + "0905" + "1901"
	npduTimeSync         = "0100" + "1006" + "a4760b1702" + "b40c1e0000"
	npduCOVNotification  = "0100" + "1002" + "0901" + "1c0200007b" + "2c00000003" + "3900" + "4e" + "0955" + "2e" + "9100" + "2f" + "4f"
	npduAtomicWriteFile  = "0104" + "00051107" + "c402800001" + "0e" + "3100" + "6503010203" + "0f"
	npduNetworkReserved  = "0180" + "55"
	forwardedIAmAddr     = "c0a80005bac0"
)

// bvlc wraps an NPDU (hex) in a BVLC header of function fn.
func bvlc(fn byte, body string) string {
	n := 4 + len(body)/2
	return hex.EncodeToString([]byte{0x81, fn, byte(n >> 8), byte(n)}) + body
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad fixture %q: %v", s, err)
	}
	return b
}

var testFlow = &dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
	Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: Port},
	Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: Port}}

type step struct {
	dir dissect.Direction
	hex string
}

func run(t *testing.T, flow *dissect.Flow, d *dissector, steps ...step) *dissectortest.Result {
	t.Helper()
	rec := dissectortest.NewRecorder()
	ctx := &dissect.Context{Flow: flow, Time: time.Unix(1000, 0), Emit: rec}
	for i, s := range steps {
		ctx.Frame = uint64(i + 1)
		ctx.Time = ctx.Time.Add(10 * time.Millisecond)
		d.Feed(ctx, s.dir, mustHex(t, s.hex))
	}
	d.End(ctx)
	return rec.R
}

func attr(tx *dissect.Transaction, key string) (uint64, bool) {
	for _, a := range tx.Attrs {
		if a.Key == key {
			return a.Num, true
		}
	}
	return 0, false
}

func TestTransactions(t *testing.T) {
	const s, c = dissect.ToServer, dissect.ToClient
	type want struct {
		fn     uint32
		name   string
		op     dissect.Op
		status dissect.Status
		code   uint32
		attrs  map[string]uint64
	}
	cases := []struct {
		name  string
		steps []step
		want  []want
		viols int
	}{
		{"read property", []step{{s, readPropertyReq}, {c, readPropertyAck}},
			[]want{{12, "readProperty", dissect.OpRead, dissect.StatusOK, 0,
				map[string]uint64{"object_type": 8, "object_instance": 4194303, "property": 75, "invoke_id": 1}}}, 0},
		{"read BDT refused", []step{{s, readBDT}, {c, readBDTNak}},
			[]want{{FuncBVLC + 2, "Read-Broadcast-Distribution-Table", dissect.OpRead, dissect.StatusException, 0x20, nil}}, 0},
		{"register foreign device refused", []step{{s, registerFD}, {c, registerFDNak}},
			[]want{{FuncBVLC + 5, "Register-Foreign-Device", dissect.OpSession, dissect.StatusException, 0x30,
				map[string]uint64{"duration": 16}}}, 0},
		{"who-is range", []step{{s, whoIsRangeQinQ}},
			[]want{{FuncUnconfirmed + 8, "who-Is", dissect.OpIdentify, dissect.StatusOK, 0,
				map[string]uint64{"low_limit": 7001, "high_limit": 7001, "dnet": 0xFFFF}}}, 0},
		{"write property", []step{{s, bvlc(0x0a, npduWriteProperty)}, {c, bvlc(0x0a, npduSimpleAckWP)}},
			[]want{{15, "writeProperty", dissect.OpWrite, dissect.StatusOK, 0,
				map[string]uint64{"object_type": 2, "object_instance": 1, "property": 85, "priority": 8}}}, 0},
		{"reinitialize refused", []step{{s, bvlc(0x0a, npduReinitialize)}, {c, bvlc(0x0a, npduReinitError)}},
			[]want{{20, "reinitializeDevice", dissect.OpControl, dissect.StatusException, 26,
				map[string]uint64{"state": 1, "password": 1, "error_class": 0}}}, 0},
		{"device communication control rejected", []step{{s, bvlc(0x0a, npduDCC)}, {c, bvlc(0x0a, npduRejectDCC)}},
			[]want{{17, "deviceCommunicationControl", dissect.OpControl, dissect.StatusException, 9,
				map[string]uint64{"state": 1, "duration": 5}}}, 0},
		{"segmented RPM answer", []step{{s, bvlc(0x0a, npduRPM)}, {c, bvlc(0x0a, npduRPMAckSegmented)},
			{c, bvlc(0x0a, npduRPMAckSegment2)}},
			[]want{{14, "readPropertyMultiple", dissect.OpRead, dissect.StatusOK, 0,
				map[string]uint64{"objects": 2, "object_type": 8, "property": 85, "segmented_ack": 1}}}, 0},
		{"abort by server", []step{{s, bvlc(0x0a, npduAbortedReq)}, {c, bvlc(0x0a, npduAbortBySrv)}},
			[]want{{12, "readProperty", dissect.OpRead, dissect.StatusException, 4, nil}}, 0},
		{"routed request matched by SNET/SADR", []step{{s, bvlc(0x0a, npduRoutedRP)}, {c, bvlc(0x0a, npduRoutedAck)}},
			[]want{{12, "readProperty", dissect.OpRead, dissect.StatusOK, 0, map[string]uint64{"dnet": 5}}}, 0},
		{"unmatched at end", []step{{s, bvlc(0x0a, npduDCC)}},
			[]want{{17, "deviceCommunicationControl", dissect.OpControl, dissect.StatusUnmatched, 0, nil}}, 0},
		{"orphan ack", []step{{c, bvlc(0x0a, npduSimpleAckWP)}},
			[]want{{15, "writeProperty", dissect.OpWrite, dissect.StatusOrphan, 0, nil}}, 0},
		{"who-is-router", []step{{s, bvlc(0x0b, npduWhoIsRouter)}},
			[]want{{FuncNetwork + 0, "Who-Is-Router-To-Network", dissect.OpIdentify, dissect.StatusOK, 0,
				map[string]uint64{"low_limit": 5}}}, 0},
		{"private transfer", []step{{s, bvlc(0x0b, npduPrivateTransfer)}},
			[]want{{FuncUnconfirmed + 4, "unconfirmedPrivateTransfer", dissect.OpOther, dissect.StatusOK, 0,
				map[string]uint64{"vendor_id": 5}}}, 0},
		{"time synchronization", []step{{s, bvlc(0x0b, npduTimeSync)}},
			[]want{{FuncUnconfirmed + 6, "timeSynchronization", dissect.OpConfig, dissect.StatusOK, 0, nil}}, 0},
		{"COV notification", []step{{s, bvlc(0x0a, npduCOVNotification)}},
			[]want{{FuncUnconfirmed + 2, "unconfirmedCOVNotification", dissect.OpNotify, dissect.StatusOK, 0,
				map[string]uint64{"device_instance": 123, "object_type": 0, "object_instance": 3}}}, 0},
		{"atomic write file", []step{{s, bvlc(0x0a, npduAtomicWriteFile)}},
			[]want{{7, "atomicWriteFile", dissect.OpFile, dissect.StatusUnmatched, 0,
				map[string]uint64{"object_type": 10, "object_instance": 1}}}, 0},
		{"bad NPDU version", []step{{s, bvlc(0x0b, npduBadVersion)}}, nil, 1},
		{"reserved APDU type", []step{{s, bvlc(0x0b, npduReservedAPDU)}}, nil, 1},
		{"reserved network message", []step{{s, bvlc(0x0b, npduNetworkReserved)}},
			[]want{{FuncNetwork + 0x55, "Reserved Network Message", dissect.OpOther, dissect.StatusOK, 0, nil}}, 1},
		{"unknown confirmed service", []step{{s, bvlc(0x0a, npduUnknownConfirmed)}},
			[]want{{0x63, "unknown confirmed service", dissect.OpOther, dissect.StatusUnmatched, 0, nil}}, 1},
		{"malformed tags", []step{{s, bvlc(0x0a, npduTruncatedTags)}},
			[]want{{12, "readProperty", dissect.OpRead, dissect.StatusUnmatched, 0, nil}}, 1},
		{"BVLC length beyond datagram", []step{{s, "810a0020" + npduIAm}},
			[]want{{FuncUnconfirmed, "i-Am", dissect.OpIdentify, dissect.StatusOK, 0, nil}}, 1},
		{"unknown BVLC function", []step{{s, "810d0004"}}, nil, 1},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			res := run(t, testFlow, newDissector(), cs.steps...)
			if len(res.Violations) != cs.viols {
				t.Errorf("violations = %d, want %d: %+v", len(res.Violations), cs.viols, res.Violations)
			}
			if len(res.Transactions) != len(cs.want) {
				t.Fatalf("transactions = %d, want %d: %v", len(res.Transactions), len(cs.want), res.Lines)
			}
			for i, w := range cs.want {
				tx := &res.Transactions[i]
				if tx.Function != w.fn || tx.FuncName != w.name || tx.Op != w.op || tx.Status != w.status ||
					tx.Code != w.code || tx.Protocol != Name {
					t.Errorf("tx %d = fn %#x %q op %s status %s code %d, want fn %#x %q op %s status %s code %d",
						i, tx.Function, tx.FuncName, tx.Op, tx.Status, tx.Code, w.fn, w.name, w.op, w.status, w.code)
				}
				for k, v := range w.attrs {
					if got, ok := attr(tx, k); !ok || got != v {
						t.Errorf("attr %s = %d (present %v), want %d", k, got, ok, v)
					}
				}
			}
		})
	}
}

func TestIdentityHints(t *testing.T) {
	// I-Am forwarded by a BBMD: the identity is the originator's.
	res := run(t, testFlow, newDissector(), step{dissect.ToClient, bvlc(0x04, forwardedIAmAddr+npduIAm)})
	if len(res.Hints) != 1 {
		t.Fatalf("hints: %+v", res.Hints)
	}
	h := res.Hints[0]
	if h.DeviceID != 123 || !h.HasDevice || h.VendorID != 5 || h.Vendor != "Johnson Controls, Inc." ||
		h.IP != netip.MustParseAddr("192.168.0.5") {
		t.Errorf("I-Am hint = %+v", h)
	}
	if res.Fields["bacnet_vendor_id"]["5"] != 1 || res.Fields["bacnet_unconfirmed_service"]["0"] != 1 {
		t.Errorf("fields = %v", res.Fields)
	}
	// ReadPropertyMultiple answer about the device object.
	res = run(t, testFlow, newDissector(), step{dissect.ToServer, bvlc(0x0a, npduDeviceRPMReq)},
		step{dissect.ToClient, bvlc(0x0a, npduDeviceRPMAck)})
	found := false
	for _, h := range res.Hints {
		if h.Model == "Model" && h.Firmware == "1.2" && h.VendorID == 5 && h.DeviceID == 123 && h.Side == dissect.ToClient {
			found = true
		}
	}
	if !found {
		t.Errorf("RPM identity hint missing: %+v", res.Hints)
	}
	// ReadProperty vendor-name in UCS-2 (pcaps/bacnet/bacnet_test.pcap).
	res = run(t, testFlow, newDissector(), step{dissect.ToServer, readVendorNameReq}, step{dissect.ToClient, readVendorNameAck})
	if len(res.Hints) == 0 || res.Hints[0].Vendor != "JCI" {
		t.Errorf("vendor-name hint: %+v", res.Hints)
	}
}

func TestFieldCounts(t *testing.T) {
	// tshark counts the service choice of requests, Simple/Complex ACKs and
	// Errors, and of every segment of a segmented Complex-ACK.
	res := run(t, testFlow, newDissector(), step{dissect.ToServer, bvlc(0x0a, npduRPM)},
		step{dissect.ToClient, bvlc(0x0a, npduRPMAckSegmented)}, step{dissect.ToClient, bvlc(0x0a, npduRPMAckSegment2)},
		step{dissect.ToServer, bvlc(0x0a, npduReinitialize)}, step{dissect.ToClient, bvlc(0x0a, npduReinitError)},
		step{dissect.ToServer, bvlc(0x0a, npduDCC)}, step{dissect.ToClient, bvlc(0x0a, npduRejectDCC)})
	want := map[string]map[string]int{
		"bacnet_apdu_type":         {"0": 3, "3": 2, "5": 1, "6": 1},
		"bacnet_confirmed_service": {"14": 3, "20": 2, "17": 1},
	}
	for f, m := range want {
		for k, v := range m {
			if res.Fields[f][k] != v {
				t.Errorf("%s[%s] = %d, want %d (%v)", f, k, res.Fields[f][k], v, res.Fields[f])
			}
		}
	}
}

func TestMSTP(t *testing.T) {
	// A Cimetrics-tunnelled MS/TP data frame carrying a Who-Is (from
	// BACnetIP-MSTP-Mix.cap, rebuilt) and the same frame with a bad data CRC.
	npdu := mustHex(t, "0120ffff00ff1008")
	frame := []byte{0, 0, 0x80, 6, 0xFF, 1, 0, byte(len(npdu))}
	frame = append(frame, headerCRC(frame[3:8]))
	frame = append(frame, npdu...)
	crc := dataCRC(npdu)
	good := append(append([]byte{}, frame...), byte(crc), byte(crc>>8))
	bad := append(append([]byte{}, frame...), byte(crc)^1, byte(crc>>8))
	token := []byte{0, 0, 0x80, 0, 2, 1, 0, 0}
	token = append(token, headerCRC(token[3:8]))
	l2 := &dissect.Flow{ID: 4, Transport: dissect.TransportL2}
	d := newDissector()
	d.mstp = true
	res := run(t, l2, d, step{dissect.ToServer, hex.EncodeToString(good)}, step{dissect.ToServer, hex.EncodeToString(bad)},
		step{dissect.ToServer, hex.EncodeToString(token)})
	if len(res.Transactions) != 1 || res.Transactions[0].FuncName != "who-Is" {
		t.Errorf("transactions: %v", res.Lines)
	}
	if len(res.Violations) != 1 || res.Violations[0].Kind != dissect.ViolBadChecksum {
		t.Errorf("violations: %+v", res.Violations)
	}
	// Known answer: the header CRC of the 5 header bytes above, as on the wire
	// in BACnetIP-MSTP-Mix.cap frame 857 (type 6, dst 255, src 1, length 17 → 0x73).
	if got := headerCRC([]byte{6, 0xFF, 1, 0, 17}); got != 0x73 {
		t.Errorf("headerCRC = %#x, want 0x73", got)
	}
}

func TestBACnetEthernet(t *testing.T) {
	// BACnet/Ethernet: the LLC payload is the NPDU itself.
	l2 := &dissect.Flow{ID: 5, Transport: dissect.TransportL2}
	res := run(t, l2, newDissector(), step{dissect.ToServer, npduIAm})
	if len(res.Transactions) != 1 || res.Transactions[0].FuncName != "i-Am" || len(res.Hints) != 1 {
		t.Errorf("transactions: %v", res.Lines)
	}
}

func TestProbe(t *testing.T) {
	cases := []struct {
		hex  string
		want dissect.ProbeResult
	}{
		{readPropertyReq, dissect.ProbeYes},
		{readBDT, dissect.ProbeYes},
		{bvlc(0x0b, npduBadVersion), dissect.ProbeYes},
		{"81", dissect.ProbeNeedMore},
		{"810a00", dissect.ProbeNeedMore},
		{"820a0004", dissect.ProbeNo},
		{"810d0004", dissect.ProbeNo},
		{"810a0020" + npduIAm, dissect.ProbeNo},
	}
	for _, c := range cases {
		if got := Probe(mustHex(t, c.hex)); got != c.want {
			t.Errorf("Probe(%s) = %d, want %d", c.hex, got, c.want)
		}
	}
}

func TestReadTag(t *testing.T) {
	cases := []struct {
		hex         string
		num         uint32
		context     bool
		open, close bool
		length      uint32
		next        int
		ok          bool
		description string
	}{
		{"c4020001f4", 12, false, false, false, 4, 5, true, "application object identifier"},
		{"3e", 3, true, true, false, 0, 1, true, "opening tag 3"},
		{"3f", 3, true, false, true, 0, 1, true, "closing tag 3"},
		{"11", 1, false, false, false, 1, 1, true, "application boolean true"},
		{"7515" + "04" + "0035002e0031002e0030002e003400340030003000", 7, false, false, false, 21, 23, true, "extended length"},
		{"f9ff07", 255, true, false, false, 1, 3, true, "extended tag number"},
		{"c402", 0, false, false, false, 0, 0, false, "truncated"},
		{"75fe", 0, false, false, false, 0, 0, false, "extended length truncated"},
	}
	for _, c := range cases {
		tag, next, ok := ReadTag(mustHex(t, c.hex), 0)
		if ok != c.ok {
			t.Errorf("%s: ok = %v", c.description, ok)
			continue
		}
		if !ok {
			continue
		}
		if tag.Num != c.num || tag.Context != c.context || tag.Open != c.open || tag.Close != c.close ||
			tag.LVT != c.length || next != c.next {
			t.Errorf("%s: %+v next %d", c.description, tag, next)
		}
	}
}

func TestTimeout(t *testing.T) {
	rec := dissectortest.NewRecorder()
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: rec}
	d.Feed(ctx, dissect.ToServer, mustHex(t, readPropertyReq))
	ctx.Time = ctx.Time.Add(RequestTimeout + 2*time.Second)
	d.Feed(ctx, dissect.ToServer, mustHex(t, whoIsRangeQinQ))
	if len(rec.R.Transactions) != 2 || rec.R.Transactions[0].Status != dissect.StatusUnmatched {
		t.Errorf("after timeout: %v", rec.R.Lines)
	}
}

type discard struct{}

func (discard) Transaction(*dissect.Transaction) {}
func (discard) Hint(*dissect.AssetHint)          {}
func (discard) Violation(*dissect.Violation)     {}
func (discard) FieldUint(string, uint64)         {}
func (discard) FieldBytes(string, []byte)        {}

func TestZeroAllocs(t *testing.T) {
	pairs := [][2][]byte{
		{mustHex(t, readPropertyReq), mustHex(t, readPropertyAck)},
		{mustHex(t, bvlc(0x0a, npduWriteProperty)), mustHex(t, bvlc(0x0a, npduSimpleAckWP))},
		{mustHex(t, bvlc(0x0a, npduRPM)), mustHex(t, bvlc(0x0a, npduRPMAckSegmented))},
		{mustHex(t, whoIsRangeQinQ), mustHex(t, bvlc(0x0a, npduCOVNotification))},
	}
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: discard{}}
	for _, p := range pairs {
		d.Feed(ctx, dissect.ToServer, p[0])
		d.Feed(ctx, dissect.ToClient, p[1])
	}
	for i, p := range pairs {
		n := testing.AllocsPerRun(200, func() {
			ctx.Time = ctx.Time.Add(time.Millisecond)
			d.Feed(ctx, dissect.ToServer, p[0])
			d.Feed(ctx, dissect.ToClient, p[1])
		})
		if n != 0 {
			t.Errorf("pair %d: %v allocations", i, n)
		}
	}
}

func BenchmarkReadProperty(b *testing.B) {
	req, resp := mustHex(b, readPropertyReq), mustHex(b, readPropertyAck)
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: discard{}}
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
	}
}

func BenchmarkRPM(b *testing.B) {
	req, resp := mustHex(b, bvlc(0x0a, npduRPM)), mustHex(b, bvlc(0x0a, npduRPMAckSegmented))
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: discard{}}
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
	}
}

func BenchmarkWhoIs(b *testing.B) {
	pkt := mustHex(b, whoIsRangeQinQ)
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: discard{}}
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, pkt)
	}
}
