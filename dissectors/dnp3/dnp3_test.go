package dnp3

import (
	"encoding/hex"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Named fixtures: complete link frames as captured (hex), from the
// captures under pcaps/dnp3.
const (
	readClass0Req         = "05640bc403000400ef7ac1c1013c0206b576"
	requestLinkStatusReq  = "056405c903000400bd71"
	linkStatusBadLength   = "0564000b040003000000"
	coldRestartReq        = "056408c40a000100fc42c0c00d9c86"
	coldRestartRespNoFunc = "05640a4401000a006e25c0c0810001c2de"
	directOperateCROBReq  = "05641ac40a0001008a1cc0c0050c012801000000030164000000dded6400000000005b"
	directOperateCROBResp = "05641c4401000a007636c9c08100000c012801000000030164008ccd00006400000000005b"
	selectCROBReq         = "05641ac40a0001008a1cc0c0030c012801000000030164000000fd6b6400000000005b"
	selectCROBResp        = "05641c4401000a007636c6c08100000c01280100000003016400c39600006400000000005b"
	unsolicitedNullResp   = "05640a4401000a006e25c0f08200004466"
	confirmUnsolicited    = "056408c40a000100fc42c0d0001b49"
	writeTimeLAN          = "056412c4040003001e7cc9ca02320307019f0d83524c01eb2c"
	writeIINClearRestart  = "05640ec40a0001002529c2c102500100070700c5af"
	authDOReq             = "05641ac404000300c2e6c7c6050c0128010001000301640000003b7f6400000000005b"
	authChallengeResp     = "05641c440300040064bdc7c683900078015b010c0003000000009287000401737465768d5c"
	authReplyReq          = "056424c404000300849ec8c62078025b01160003000000010006c295fae1911a2cce2dda8abfece1cac8c414f5"
	authDOResp            = "05641c440300040064bdc8c68190000c01280100010003016400550a00006400000000005b"
	operateCROBRangeOver  = "056419c40a000100da8fc1c2040c010000010003016400000064639a00000000ffff"
	readRespFirstSegment  = "0564ff4401000a005aeb43c2810000010200000902020202020240460202020203020000090202020202020270da02020214010000090200000000020000e30b000002000000000200000000020000004dba000200000000020000000002000000007eae02000000000200000000150100000902d3420000000002000000000200000000020069ce00000002000000000200000000020000dd5e000002000000000200000000020000004dba001e0100000902000000000200000000cd6302000000000200000000020000000002f0030000000002000000000200000000020069ce00000002000000000a0200000902020217100202020202020228010000090200000058e4000200000000020000000002000000007eae020000000002000000004e72"
	readRespLastSegment   = "05641a4401000a00af5d840200000000020000000002000000003be20200000000f3b9"
	readIntegrityReq      = "056414c40a0001008fedc3c2013c02063c03063c04063c0106429e"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad fixture %q: %v", s, err)
	}
	return b
}

// buildFrame wraps user data in a link frame with correct CRCs.
func buildFrame(ctrl byte, dst, src uint16, user []byte) []byte {
	h := []byte{0x05, 0x64, byte(5 + len(user)), ctrl, byte(dst), byte(dst >> 8), byte(src), byte(src >> 8)}
	c := crc16(h)
	out := append(h, byte(c), byte(c>>8))
	for len(user) > 0 {
		n := min(16, len(user))
		c := crc16(user[:n])
		out = append(out, user[:n]...)
		out = append(out, byte(c), byte(c>>8))
		user = user[n:]
	}
	return out
}

// buildApp wraps an application fragment in a single FIR|FIN segment.
func buildApp(ctrl byte, dst, src uint16, apdu ...byte) []byte {
	return buildFrame(ctrl, dst, src, append([]byte{0xC0}, apdu...))
}

type step struct {
	dir dissect.Direction
	pdu []byte
}

func run(t testing.TB, transport dissect.Transport, steps ...step) *recorder {
	rec := newRecorder()
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(transport), Emit: rec, Time: time.Unix(1700000000, 0)}
	for i, s := range steps {
		ctx.Frame = uint64(i + 1)
		ctx.Time = ctx.Time.Add(10 * time.Millisecond)
		d.Feed(ctx, s.dir, s.pdu)
	}
	ctx.Time = ctx.Time.Add(time.Second)
	d.End(ctx)
	return rec
}

func req(t testing.TB, h string) step  { return step{dissect.ToServer, unhex(t, h)} }
func resp(t testing.TB, h string) step { return step{dissect.ToClient, unhex(t, h)} }

func TestCRC(t *testing.T) {
	b := unhex(t, readClass0Req)
	if got := crc16(b[:8]); got != 0x7aef {
		t.Fatalf("header CRC = %#x, want 0x7aef", got)
	}
	if got := crc16(b[10:16]); got != le16(b[16:]) {
		t.Fatalf("block CRC = %#x, want %#x", got, le16(b[16:]))
	}
}

func TestProbe(t *testing.T) {
	bad := unhex(t, readClass0Req)
	bad[8] ^= 1
	cases := []struct {
		name string
		data []byte
		want dissect.ProbeResult
	}{
		{"read request", unhex(t, readClass0Req), dissect.ProbeYes},
		{"link status request", unhex(t, requestLinkStatusReq), dissect.ProbeYes},
		{"start bytes only", []byte{0x05, 0x64}, dissect.ProbeNeedMore},
		{"empty", nil, dissect.ProbeNeedMore},
		{"wrong first byte", []byte{0x68, 0x04, 0x07, 0, 0, 0}, dissect.ProbeNo},
		{"wrong second byte", []byte{0x05, 0x65}, dissect.ProbeNo},
		{"bad header CRC", bad, dissect.ProbeNo},
		{"length below 5 with a bad CRC", unhex(t, linkStatusBadLength), dissect.ProbeNo},
		{"length below 5 with a good CRC", unhex(t, "056402c40a00010097fe"), dissect.ProbeYes},
	}
	for _, c := range cases {
		if got := Probe(c.data); got != c.want {
			t.Errorf("%s: Probe = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFixtures(t *testing.T) {
	badBlock := unhex(t, readClass0Req)
	badBlock[12] ^= 0xFF
	badHeader := unhex(t, readClass0Req)
	badHeader[9] ^= 0xFF
	cases := []struct {
		name  string
		udp   bool
		steps []step
		check func(t *testing.T, r *recorder)
	}{
		{"read class 0 unanswered", false, []step{req(t, readClass0Req)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Function == 1 && tx.FuncName == "Read" && tx.Op == dissect.OpRead, "read: %+v", tx)
			want(t, tx.Status == dissect.StatusUnmatched && tx.Unit == 3, "status/unit: %+v", tx)
			g, _ := dissectortest.AttrNum(tx.Attrs, "group")
			want(t, g == 60, "group attr %d", g)
			want(t, r.FieldCount("dnp3_object", 0x3c02) == 1 && r.FieldCount("dnp3_function", 1) == 1, "fields %v", r.R.Fields)
			want(t, len(r.R.Hints) == 2 && r.R.Hints[0].Role == dissect.RoleMaster && r.R.Hints[0].Side == dissect.ToServer,
				"master hint %+v", r.R.Hints)
			want(t, r.R.Hints[1].Role == dissect.RoleController && r.R.Hints[1].HasDevice && r.R.Hints[1].DeviceID == 3,
				"outstation hint %+v", r.R.Hints[1])
		}},
		{"direct operate CROB with response", false, []step{req(t, directOperateCROBReq), resp(t, directOperateCROBResp)},
			func(t *testing.T, r *recorder) {
				tx := one(t, r)
				want(t, tx.Function == 5 && tx.Op == dissect.OpWrite && tx.Status == dissect.StatusOK, "%+v", tx)
				c, ok := dissectortest.AttrNum(tx.Attrs, "control")
				want(t, ok && c == 1, "control attr missing")
				code, _ := dissectortest.AttrNum(tx.Attrs, "crob_code")
				want(t, code == 3, "crob code %d", code)
				want(t, tx.HasAddr && tx.AddrSpace == "crob" && tx.AddrStart == 0 && tx.AddrEnd == 0, "addr %+v", tx)
				want(t, !tx.RespTime.IsZero() && tx.RespBytes == 22 && tx.ReqBytes == 20, "bytes %d/%d", tx.ReqBytes, tx.RespBytes)
				want(t, r.FieldCount("dnp3_object", 0x0c01) == 2, "objects %v", r.R.Fields)
			}},
		{"select then operate", false, []step{req(t, selectCROBReq), resp(t, selectCROBResp)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.FuncName == "Select" && tx.Status == dissect.StatusOK, "%+v", tx)
		}},
		{"cold restart refused", false, []step{req(t, coldRestartReq), resp(t, coldRestartRespNoFunc)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Op == dissect.OpControl && tx.FuncName == "Cold Restart", "%+v", tx)
			want(t, tx.Status == dissect.StatusException && tx.CodeName == "function code not supported", "%+v", tx)
			v, ok := dissectortest.AttrNum(tx.Attrs, "iin_func_not_supported")
			want(t, ok && v == 1, "iin attr missing: %+v", tx.Attrs)
		}},
		{"unsolicited and confirm", false, []step{resp(t, unsolicitedNullResp), req(t, confirmUnsolicited)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 2, "want 2 transactions, got %d", len(r.R.Transactions))
			u := &r.R.Transactions[0]
			want(t, u.Op == dissect.OpNotify && u.Requester == dissect.ToClient && u.Function == 130, "%+v", u)
			want(t, u.Status == dissect.StatusOK && u.Unit == 10, "%+v", u)
			c := &r.R.Transactions[1]
			want(t, c.Function == 0 && c.Status == dissect.StatusOK, "%+v", c)
			want(t, r.R.Hints[0].Side == dissect.ToServer && r.R.Hints[1].DeviceID == 10, "hints %+v", r.R.Hints)
		}},
		{"time sync write is config", false, []step{req(t, writeTimeLAN)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Op == dissect.OpConfig && tx.Function == 2, "%+v", tx)
		}},
		{"clear restart IIN is config", false, []step{req(t, writeIINClearRestart)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Op == dissect.OpConfig && tx.AddrStart == 7 && tx.AddrEnd == 7, "%+v", tx)
		}},
		{"secure authentication challenge", false, []step{req(t, authDOReq), resp(t, authChallengeResp), req(t, authReplyReq),
			resp(t, authDOResp)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 3, "want 3 transactions, got %d", len(r.R.Transactions))
			want(t, r.R.Transactions[0].Function == 131 && r.R.Transactions[0].Op == dissect.OpLogin && r.R.Transactions[0].Requester == dissect.ToClient,
				"challenge %+v", r.R.Transactions[0])
			want(t, r.R.Transactions[1].Function == 5 && r.R.Transactions[1].Status == dissect.StatusOK && r.R.Transactions[1].Frame == 1, "operate %+v", r.R.Transactions[1])
			want(t, r.R.Transactions[2].Function == 32 && r.R.Transactions[2].Op == dissect.OpLogin && r.R.Transactions[2].Status == dissect.StatusOK,
				"reply %+v", r.R.Transactions[2])
		}},
		{"multi-segment response reassembled", false, []step{req(t, readIntegrityReq), resp(t, readRespFirstSegment),
			resp(t, readRespLastSegment)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Status == dissect.StatusOK && tx.RespBytes > 250, "%+v", tx)
			n, _ := dissectortest.AttrNum(tx.Attrs, "resp_objects")
			want(t, n == 7, "resp objects %d", n)
		}},
		{"request link status", false, []step{req(t, requestLinkStatusReq), resp(t, "0564050b04000300"+hdrCRC(t, "0564050b04000300"))},
			func(t *testing.T, r *recorder) {
				tx := one(t, r)
				want(t, tx.FuncName == "Request Link Status" && tx.Op == dissect.OpDiagnostic && tx.Status == dissect.StatusOK, "%+v", tx)
				l, _ := dissectortest.AttrNum(tx.Attrs, "link_response")
				want(t, l == linkStatus, "link response %d", l)
			}},
		{"reset link states acknowledged", false, []step{{dissect.ToServer, buildFrame(0xC0, 1, 2, nil)},
			{dissect.ToClient, buildFrame(0x00, 2, 1, nil)}}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.FuncName == "Reset Link States" && tx.Op == dissect.OpSession && tx.Status == dissect.StatusOK, "%+v", tx)
		}},
		{"test link answered by NACK", false, []step{{dissect.ToServer, buildFrame(0xD2, 1, 2, nil)},
			{dissect.ToClient, buildFrame(0x01, 2, 1, nil)}}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.FuncName == "Test Link States" && tx.Status == dissect.StatusException && tx.CodeName == "NACK", "%+v", tx)
		}},
		{"ACK of confirmed user data is silent", false, []step{{dissect.ToServer, buildFrame(0xF3, 1, 2,
			[]byte{0xC0, 0xC0, 0x01, 60, 1, 6})}, {dissect.ToClient, buildFrame(0x00, 2, 1, nil)}}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Function == 1 && tx.Status == dissect.StatusUnmatched && len(r.R.Violations) == 0, "%+v", tx)
		}},
		{"reserved link function", false, []step{{dissect.ToServer, buildFrame(0xC5, 1, 2, nil)}}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Violations) == 1 && r.R.Violations[0].Kind == dissect.ViolIllegalFunc, "%v", r.R.Lines)
		}},
		{"link status with length 0", false, []step{req(t, requestLinkStatusReq), resp(t, linkStatusBadLength)},
			func(t *testing.T, r *recorder) {
				tx := one(t, r)
				want(t, tx.Status == dissect.StatusUnmatched, "%+v", tx)
				want(t, len(r.R.Violations) == 1 && r.R.Violations[0].Kind == dissect.ViolBadChecksum, "violations %+v", r.R.Violations)
			}},
		{"bad data block CRC drops frame", false, []step{{dissect.ToServer, badBlock}}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 0 && len(r.R.Violations) == 1 && r.R.Violations[0].Kind == dissect.ViolBadChecksum, "%+v", r.R.Violations)
			want(t, len(r.R.Fields) == 0, "fields from a dropped frame: %v", r.R.Fields)
		}},
		{"bad header CRC", false, []step{{dissect.ToServer, badHeader}}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Violations) == 1 && r.R.Violations[0].Reason == "link header CRC mismatch", "%+v", r.R.Violations)
		}},
		{"CROB range beyond fragment", false, []step{req(t, operateCROBRangeOver)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Violations) == 1 && r.R.Violations[0].Kind == dissect.ViolMalformed, "%+v", r.R.Violations)
			tx := one(t, r)
			m, _ := dissectortest.AttrNum(tx.Attrs, "malformed")
			want(t, tx.Function == 4 && tx.Status == dissect.StatusUnmatched && m == 1, "%+v", tx)
			want(t, r.FieldCount("dnp3_function", 4) == 1 && r.FieldCount("dnp3_object", 0x0c01) == 1, "fields %v", r.R.Fields)
		}},
		{"reserved function code", false, []step{{dissect.ToServer, buildApp(0xC4, 1, 2, 0xC0, 0x40)}}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Violations) == 1 && r.R.Violations[0].Kind == dissect.ViolIllegalFunc && r.R.Violations[0].Function == 0x40, "%+v", r.R.Violations)
		}},
		{"reserved qualifier", false, []step{{dissect.ToServer, buildApp(0xC4, 1, 2, 0xC0, 0x01, 30, 1, 0x0A)}},
			func(t *testing.T, r *recorder) {
				want(t, len(r.R.Violations) == 1 && r.R.Violations[0].Kind == dissect.ViolOutOfSpec, "%+v", r.R.Violations)
			}},
		{"truncated object header", false, []step{{dissect.ToServer, buildApp(0xC4, 1, 2, 0xC0, 0x02, 30)}},
			func(t *testing.T, r *recorder) {
				want(t, len(r.R.Violations) == 0 && len(r.R.Transactions) == 1, "one header byte is below tshark's 2-byte floor: %+v", r.R.Violations)
			}},
		{"two frames in one UDP datagram", true, []step{{dissect.ToServer,
			append(unhex(t, readClass0Req), unhex(t, coldRestartReq)...)}}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 2, "want 2 transactions, got %d", len(r.R.Transactions))
		}},
		{"datagram cut short", true, []step{{dissect.ToServer, unhex(t, readClass0Req)[:14]}}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Violations) == 1 && r.R.Violations[0].Kind == dissect.ViolTruncated, "%+v", r.R.Violations)
		}},
		{"orphan response", false, []step{resp(t, directOperateCROBResp)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Status == dissect.StatusOrphan && tx.Function == 129 && tx.Requester == dissect.ToServer, "%+v", tx)
		}},
		{"direct operate no ack is lone", false, []step{{dissect.ToServer, buildApp(0xC4, 1, 2, 0xC0, 0x06, 12, 1, 0x17, 1, 5,
			0x41, 1, 100, 0, 0, 0, 0, 0, 0, 0, 0)}}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Function == 6 && tx.Status == dissect.StatusOK && tx.AddrStart == 5 && tx.AddrEnd == 5, "%+v", tx)
			code, _ := dissectortest.AttrNum(tx.Attrs, "crob_code")
			want(t, code == 0x41, "crob code %#x", code)
		}},
		{"broadcast read needs no response", false, []step{{dissect.ToServer, buildApp(0xC4, 0xFFFF, 2, 0xC1, 0x01, 60, 1, 6)}},
			func(t *testing.T, r *recorder) {
				tx := one(t, r)
				b, _ := dissectortest.AttrNum(tx.Attrs, "broadcast")
				want(t, tx.Status == dissect.StatusOK && b == 1 && !r.R.Hints[1].HasDevice, "%+v %+v", tx, r.R.Hints)
			}},
		{"multi-fragment application response", false, []step{
			{dissect.ToServer, buildApp(0xC4, 1, 2, 0xC3, 0x01, 60, 1, 6)},
			{dissect.ToClient, buildApp(0x44, 2, 1, 0xA3, 0x81, 0x00, 0x00, 1, 2, 0, 0, 1, 0x01, 0x81)},
			{dissect.ToServer, buildApp(0xC4, 1, 2, 0xC3, 0x00)},
			{dissect.ToClient, buildApp(0x44, 2, 1, 0x44, 0x81, 0x80, 0x00, 30, 2, 0x00, 5, 5, 0x01, 0x10, 0x00)},
		}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 2, "want confirm and read: %v", r.R.Lines)
			tx := &r.R.Transactions[1]
			want(t, tx.Function == 1 && tx.Status == dissect.StatusOK && tx.RespBytes == 23, "%+v", tx)
			n, _ := dissectortest.AttrNum(tx.Attrs, "resp_objects")
			f, _ := dissectortest.AttrNum(tx.Attrs, "resp_fragments")
			rs, _ := dissectortest.AttrNum(tx.Attrs, "iin_device_restart")
			want(t, n == 2 && f == 2 && rs == 1, "objects %d fragments %d restart %d", n, f, rs)
		}},
		{"transport sequence gap", false, []step{
			{dissect.ToServer, buildFrame(0xC4, 1, 2, []byte{0x41, 0xC0, 0x01, 60, 2, 6})},
			{dissect.ToServer, buildFrame(0xC4, 1, 2, []byte{0x83, 60, 3, 6})}}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 0 && len(r.R.Violations) == 1 && r.R.Violations[0].Reason == "transport: sequence gap, fragment discarded",
				"%+v", r.R.Violations)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := dissect.TransportTCP
			if c.udp {
				tr = dissect.TransportUDP
			}
			r := run(t, tr, c.steps...)
			c.check(t, r)
			if t.Failed() {
				for _, l := range r.R.Lines {
					t.Log(l)
				}
			}
		})
	}
}

// TestSplitStream feeds a request/response pair one byte at a time.
func TestSplitStream(t *testing.T) {
	var steps []step
	for _, s := range []step{req(t, readIntegrityReq), resp(t, readRespFirstSegment), resp(t, readRespLastSegment)} {
		for i := range s.pdu {
			steps = append(steps, step{s.dir, s.pdu[i : i+1]})
		}
	}
	r := run(t, dissect.TransportTCP, steps...)
	tx := one(t, r)
	want(t, tx.Status == dissect.StatusOK && len(r.R.Violations) == 0, "%+v %+v", tx, r.R.Violations)
}

func TestTimeout(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: rec, Time: time.Unix(1700000000, 0), Frame: 1}
	d.Feed(ctx, dissect.ToServer, unhex(t, readClass0Req))
	ctx.Time, ctx.Frame = ctx.Time.Add(time.Minute), 2
	d.Feed(ctx, dissect.ToServer, unhex(t, coldRestartReq))
	want(t, len(rec.R.Transactions) == 1 && rec.R.Transactions[0].Status == dissect.StatusUnmatched && rec.R.Transactions[0].Function == 1, "%+v", rec.R.Transactions)
}

func TestGap(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: rec, Time: time.Unix(1700000000, 0), Frame: 1}
	b := unhex(t, readClass0Req)
	d.Feed(ctx, dissect.ToServer, b[:7])
	d.Gap(ctx, dissect.ToServer, 100)
	d.Feed(ctx, dissect.ToServer, b)
	d.End(ctx)
	want(t, len(rec.R.Transactions) == 1 && len(rec.R.Violations) == 0, "%+v %+v", rec.R.Transactions, rec.R.Violations)
}

func hdrCRC(t testing.TB, h string) string {
	c := crc16(unhex(t, h))
	return hex.EncodeToString([]byte{byte(c), byte(c >> 8)})
}

func one(t *testing.T, r *recorder) *dissect.Transaction {
	t.Helper()
	if len(r.R.Transactions) != 1 {
		t.Fatalf("want 1 transaction, got %d: %v", len(r.R.Transactions), r.R.Lines)
	}
	return &r.R.Transactions[0]
}

func want(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

// TestAllocs asserts that a request/response pair allocates nothing.
func TestAllocs(t *testing.T) {
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
	q, a := unhex(t, directOperateCROBReq), unhex(t, directOperateCROBResp)
	r1, r2, r3 := unhex(t, readIntegrityReq), unhex(t, readRespFirstSegment), unhex(t, readRespLastSegment)
	feed := func() {
		d.Feed(ctx, dissect.ToServer, q)
		d.Feed(ctx, dissect.ToClient, a)
		d.Feed(ctx, dissect.ToServer, r1)
		d.Feed(ctx, dissect.ToClient, r2)
		d.Feed(ctx, dissect.ToClient, r3)
	}
	feed() // first use sizes the reassembly buffer
	if n := testing.AllocsPerRun(200, feed); n != 0 {
		t.Fatalf("allocations per request/response pair: %v", n)
	}
}

func BenchmarkDNP3(b *testing.B) {
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
	q, a := unhex(b, directOperateCROBReq), unhex(b, directOperateCROBResp)
	b.ReportAllocs()
	b.SetBytes(int64(len(q) + len(a)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, q)
		d.Feed(ctx, dissect.ToClient, a)
	}
}
