package opcua

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Fixtures: TCP payloads of open62541_client-server_minimal.pcap (SecurityPolicy#None).
const (
	// helloReq: frame 5 of open62541_client-server_minimal.pcap
	helloReq = "48454c463800000000000000ffff0000ffff00000000000000000000180000006f70632e7463703a2f2f6c6f63616c686f73743a34383430"
	// ackResp: frame 7 of open62541_client-server_minimal.pcap
	ackResp = "41434b461c00000000000000ffff0000ffff00000000000000000000"
	// openReqNone: frame 9 of open62541_client-server_minimal.pcap
	openReqNone = "4f504e4684000000000000002f000000687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365637572697479506f6c696379234e6f6e65ffffffffffffffff01000000010000000100be0100000e3d96f275cad5010000000000000000ffffffff00000000000000000000000000000001000000ffffffffc0270900"
	// openRespNone: frame 11 of open62541_client-server_minimal.pcap
	openRespNone = "4f504e4687000000050000002f000000687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365637572697479506f6c696379234e6f6e65ffffffffffffffff01000000010000000100c10136ea9df275cad501000000000000000000ffffffff00000000000000050000000500000022ea9df275cad501c0270900ffffffff"
	// getEndpointsReq: frame 13 of open62541_client-server_minimal.pcap
	getEndpointsReq = "4d5347465d000000050000000500000002000000020000000100ac01000092f29df275cad5010100000000000000ffffffff10270000000000180000006f70632e7463703a2f2f6c6f63616c686f73743a34383430ffffffffffffffff"
	// getEndpointsResp: frame 15 of open62541_client-server_minimal.pcap
	getEndpointsResp = "4d534746dc010000050000000500000002000000020000000100af016289a5f275cad501010000000000000000ffffffff00000001000000180000006f70632e7463703a2f2f6c6f63616c686f73743a343834302000000075726e3a6f70656e36323534312e7365727665722e6170706c69636174696f6e14000000687474703a2f2f6f70656e36323534312e6f72670302000000656e220000006f70656e36323534312d6261736564204f5043205541204170706c69636174696f6e00000000ffffffffffffffffffffffffffffffff010000002f000000687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365637572697479506f6c696379234e6f6e65020000001a0000006f70656e36323534312d616e6f6e796d6f75732d706f6c69637900000000ffffffffffffffffffffffff190000006f70656e36323534312d757365726e616d652d706f6c69637901000000ffffffffffffffff2f000000687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365637572697479506f6c696379234e6f6e6541000000687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412d50726f66696c652f5472616e73706f72742f75617463702d756173632d756162696e61727901"
	// createSessionReq: frame 39 of open62541_client-server_minimal.pcap
	createSessionReq = "4d534746a6000000060000000600000003000000030000000100cd010000d02ec4f275cad5010300000000000000ffffffff102700000000001c00000075726e3a756e636f6e666967757265643a6170706c69636174696f6effffffff0001000000ffffffffffffffffffffffffffffffff180000006f70632e7463703a2f2f6c6f63616c686f73743a34383430ffffffffffffffffffffffff00000000804f3241ffffff7f"
	// createSessionResp: frame 41 of open62541_client-server_minimal.pcap
	createSessionResp = "4d53474642020000060000000600000003000000030000000100d001d625ccf275cad501030000000000000000ffffffff0000000401008ec339e305e0252773f76fd67047a4ca040100024989f8846a012a40543533b25b452400000000804f3241200000001ff2f4275e4901aa9166c87806767225483144b447d9a00a11698ae31bbaf1c5ffffffff01000000180000006f70632e7463703a2f2f6c6f63616c686f73743a343834302000000075726e3a6f70656e36323534312e7365727665722e6170706c69636174696f6e14000000687474703a2f2f6f70656e36323534312e6f72670302000000656e220000006f70656e36323534312d6261736564204f5043205541204170706c69636174696f6e00000000ffffffffffffffffffffffffffffffff010000002f000000687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365637572697479506f6c696379234e6f6e65020000001a0000006f70656e36323534312d616e6f6e796d6f75732d706f6c69637900000000ffffffffffffffffffffffff190000006f70656e36323534312d757365726e616d652d706f6c69637901000000ffffffffffffffff2f000000687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365637572697479506f6c696379234e6f6e6541000000687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412d50726f66696c652f5472616e73706f72742f75617463702d756173632d756162696e61727901ffffffffffffffffffffffff00000000"
	// activateSessionReq: frame 43 of open62541_client-server_minimal.pcap
	activateSessionReq = "4d534746a1000000060000000600000004000000040000000100d301040100024989f8846a012a40543533b25b4524b22bccf275cad5010500000000000000ffffffffc0270900000000ffffffffffffffffffffffffffffffff010044010136000000190000006f70656e36323534312d757365726e616d652d706f6c6963790500000075736572310800000070617373776f7264ffffffffffffffffffffffff"
	// activateSessionResp: frame 45 of open62541_client-server_minimal.pcap
	activateSessionResp = "4d53474660000000060000000600000004000000040000000100d601dcc7d3f275cad501050000000000000000ffffffff00000020000000f930866b7ee1f66d9e3063b69555412cab994f674e5e8456ad2cb4257f75794affffffffffffffff"
	// readReq: frame 85 of open62541_client-server_minimal.pcap
	readReq = "4d534746790000000600000006000000140000001400000001007702040100024989f8846a012a40543533b25b4524620b37f375cad5011500000000000000ffffffff00000000000000000000000000000000000000010000000301000a0000007468652e616e737765720d000000ffffffff0000ffffffff"
	// readResp: frame 87 of open62541_client-server_minimal.pcap
	readResp = "4d5347464100000006000000060000000a0000001400000001007a0250843ef375cad501150000000000000000ffffffff000000010000000200003480ffffffff"
	// writeReq: frame 89 of open62541_client-server_minimal.pcap
	writeReq = "4d5347466d000000060000000600000015000000150000000100a102040100024989f8846a012a40543533b25b4524988c3ef375cad5011600000000000000ffffffff00000000000000010000000301000a0000007468652e616e737765720d000000ffffffff010601000000"
	// writeResp: frame 91 of open62541_client-server_minimal.pcap
	writeResp = "4d5347464000000006000000060000000b000000150000000100a402ae2846f375cad501160000000000000000ffffffff0000000100000000003480ffffffff"
	// callReq: frame 121 of open62541_client-server_minimal.pcap
	callReq = "4d53474669000000060000000600000018000000180000000100c802040100024989f8846a012a40543533b25b45246cf664f375cad5011900000000000000ffffffff0000000000000001000000005501014df4010000000c0c00000048656c6c6f20536572766572"
	// callResp: frame 123 of open62541_client-server_minimal.pcap
	callResp = "4d5347464c000000060000000600000018000000180000000100cb0266636cf375cad501190000000000000000ffffffff0000000100000000003480ffffffffffffffffffffffffffffffff"
	// closeChannelReq: frame 145 of open62541_client-server_minimal.pcap
	closeChannelReq = "434c4f463900000006000000060000001e0000001e0000000100c4010000ee0894f375cad5010100000000000000ffffffff10270000000000"
)

// Hand-made fixtures.
const (
	// helloTooShort: a HEL header whose size (16) is below the Hello minimum.
	helloTooShort = "48454c461000000000000000ffff0000"
	// notOPCUA: an HTTP request on the OPC UA port.
	notOPCUA = "474554202f20485454502f312e310d0a0d0a"
	// errBadEndpoint: ERR BadTcpEndpointUrlInvalid with reason "no such endpoint".
	errBadEndpoint = "4552524620000000" + "00008380" + "100000006e6f207375636820656e64706f696e74"
	// msgUnknownService: MSG on a None channel carrying service type ns=0;i=9999.
	msgUnknownService = "4d53474626000000" + "06000000" + "04000000" + "09000000" + "09000000" + "01000f27" + "00000000000000000000"
	// msgBadNodeID: MSG whose service type NodeId uses the reserved encoding 0x3f.
	msgBadNodeID = "4d53474619000000" + "06000000" + "04000000" + "09000000" + "09000000" + "3f"
	// readReqTruncated: a Read request whose MSG header claims 40 bytes though the body stops early.
	readReqTruncated = "4d53474628000000" + "06000000" + "04000000" + "0a000000" + "0a000000" + "0100770200" + "0000000000000000000000"
	// openReqEncrypted: OPN with Basic256Sha256, a 4-byte certificate and an opaque body.
	openReqEncrypted = "4f504e465d000000" + "00000000" + "39000000" + "687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365637572697479506f6c6963792342617369633235365368613235" +
		"36" + "04000000deadbeef" + "ffffffff" + "0102030405060708"
	// msgEncrypted: a MSG chunk whose sequence header and body are encrypted.
	msgEncrypted = "4d53474620000000" + "07000000" + "01000000" + "a1b2c3d4e5f60718293a4b5c6d7e8f90"
)

func TestSessionExchange(t *testing.T) {
	steps := []step{
		{dissect.ToServer, helloReq}, {dissect.ToClient, ackResp},
		{dissect.ToServer, openReqNone}, {dissect.ToClient, openRespNone},
		{dissect.ToServer, getEndpointsReq}, {dissect.ToClient, getEndpointsResp},
		{dissect.ToServer, createSessionReq}, {dissect.ToClient, createSessionResp},
		{dissect.ToServer, activateSessionReq}, {dissect.ToClient, activateSessionResp},
		{dissect.ToServer, readReq}, {dissect.ToClient, readResp},
		{dissect.ToServer, writeReq}, {dissect.ToClient, writeResp},
		{dissect.ToServer, callReq}, {dissect.ToClient, callResp},
		{dissect.ToServer, closeChannelReq},
	}
	for _, split := range []int{0, 1, 7} {
		rec := run(t, New(), steps, split)
		if len(rec.viols) != 0 {
			t.Fatalf("split %d: unexpected violations: %v", split, rec.lines)
		}
		type want struct {
			fn     uint32
			name   string
			op     dissect.Op
			status dissect.Status
		}
		wants := []want{
			{fnHEL, "Hello", dissect.OpSession, dissect.StatusOK},
			{446, "OpenSecureChannel", dissect.OpSession, dissect.StatusOK},
			{428, "GetEndpoints", dissect.OpIdentify, dissect.StatusOK},
			{461, "CreateSession", dissect.OpSession, dissect.StatusOK},
			{467, "ActivateSession", dissect.OpLogin, dissect.StatusOK},
			{631, "Read", dissect.OpRead, dissect.StatusOK},
			{673, "Write", dissect.OpWrite, dissect.StatusOK},
			{712, "Call", dissect.OpWrite, dissect.StatusOK},
			{452, "CloseSecureChannel", dissect.OpSession, dissect.StatusOK},
		}
		if len(rec.tx) != len(wants) {
			t.Fatalf("split %d: %d transactions, want %d:\n%s", split, len(rec.tx), len(wants), strings.Join(rec.lines, "\n"))
		}
		for i, w := range wants {
			tx := &rec.tx[i]
			if tx.Function != w.fn || tx.FuncName != w.name || tx.Op != w.op || tx.Status != w.status ||
				tx.Requester != dissect.ToServer || tx.Protocol != Protocol {
				t.Errorf("split %d tx %d = %s", split, i, rec.lines[indexOfTx(rec, i)])
			}
			if w.fn != 452 && tx.RespTime.IsZero() {
				t.Errorf("split %d tx %d (%s) has no response", split, i, w.name)
			}
		}
		// Hello carries the endpoint URL.
		if a, ok := attr(&rec.tx[0], "endpoint_url"); !ok || string(a.Str) != "opc.tcp://localhost:4840" {
			t.Errorf("Hello endpoint_url = %q", a.Str)
		}
		// OPN with SecurityPolicy#None is insecure.
		if a, ok := attr(&rec.tx[1], "insecure"); !ok || a.Num != 1 {
			t.Errorf("OPN None not flagged insecure: %s", rec.lines[indexOfTx(rec, 1)])
		}
		if a, ok := attr(&rec.tx[1], "security_policy"); !ok || string(a.Str) != "None" {
			t.Errorf("OPN security_policy = %q", a.Str)
		}
		if a, ok := attr(&rec.tx[1], "security_mode"); !ok || a.Num != 1 {
			t.Errorf("OPN security_mode = %d", a.Num)
		}
		// ActivateSession: user name token sent without encryption.
		act := &rec.tx[4]
		if a, _ := attr(act, "token_type"); string(a.Str) != "username" {
			t.Errorf("token_type = %q", a.Str)
		}
		if a, _ := attr(act, "user"); string(a.Str) != "user1" {
			t.Errorf("user = %q", a.Str)
		}
		if a, ok := attr(act, "cleartext_password"); !ok || a.Num != 1 {
			t.Errorf("cleartext_password not set")
		}
		if a, ok := attr(&rec.tx[5], "items"); !ok || a.Num == 0 {
			t.Errorf("Read items = %d, %v", a.Num, ok)
		}
		if a, ok := attr(&rec.tx[7], "method"); !ok || a.Num != 1 {
			t.Errorf("Call not flagged method")
		}
		// Hints: roles then the server identity (GetEndpoints) and the
		// client identity (CreateSession request).
		var server, client, ident int
		for _, h := range rec.hints {
			switch {
			case h.Role == dissect.RoleOPCServer && h.Side == dissect.ToClient:
				server++
			case h.Role == dissect.RoleMaster && h.Side == dissect.ToServer:
				client++
			default:
				t.Errorf("unexpected hint %+v", h)
			}
			if len(h.Extra) > 0 {
				ident++
			}
		}
		if server < 2 || client < 2 || ident != 2 {
			t.Errorf("hints: server %d client %d identities %d:\n%s", server, client, ident, strings.Join(rec.lines, "\n"))
		}
		if got := rec.fields["opcua_service_node_id"]; got["631"] != 1 || got["634"] != 1 || got["452"] != 1 {
			t.Errorf("service node id fields = %v", got)
		}
		if got := rec.fields["opcua_message_type"]; got["MSG"] != 12 || got["OPN"] != 2 || got["CLO"] != 1 {
			t.Errorf("message type fields = %v", got)
		}
	}
}

func indexOfTx(rec *recorder, i int) int {
	n := -1
	for j, l := range rec.lines {
		if strings.HasPrefix(l, `{"type":"transaction"`) {
			n++
			if n == i {
				return j
			}
		}
	}
	return 0
}

func TestServerIdentity(t *testing.T) {
	rec := run(t, New(), []step{{dissect.ToServer, getEndpointsReq}, {dissect.ToClient, getEndpointsResp}}, 0)
	var h *dissect.AssetHint
	for i := range rec.hints {
		if rec.hints[i].Name != "" {
			h = &rec.hints[i]
		}
	}
	if h == nil {
		t.Fatalf("no identity hint:\n%s", strings.Join(rec.lines, "\n"))
	}
	if h.Role != dissect.RoleOPCServer || h.Side != dissect.ToClient || h.Product == "" {
		t.Errorf("identity hint = %+v", h)
	}
	found := map[string]uint64{}
	for _, a := range h.Extra {
		found[a.Key] = a.Num
	}
	if found["offers_none"] == 0 || found["insecure_endpoint"] != 1 || found["endpoints"] == 0 {
		t.Errorf("hint extras = %v", found)
	}
}

func TestViolations(t *testing.T) {
	cases := []struct {
		name   string
		steps  []step
		kind   dissect.ViolationKind
		reason string
	}{
		{"helloTooShort", []step{{dissect.ToServer, helloTooShort}}, dissect.ViolBadLength, "message size smaller than its header"},
		{"notOPCUA", []step{{dissect.ToServer, notOPCUA}}, dissect.ViolMalformed, "not an OPC UA message header"},
		{"msgUnknownService", []step{{dissect.ToServer, openReqNone}, {dissect.ToClient, openRespNone},
			{dissect.ToServer, msgUnknownService}}, dissect.ViolIllegalFunc, "unknown OPC UA service type"},
		{"msgBadNodeID", []step{{dissect.ToServer, openReqNone}, {dissect.ToServer, msgBadNodeID}},
			dissect.ViolMalformed, "truncated or malformed service type NodeId"},
		{"readReqTruncated", []step{{dissect.ToServer, openReqNone}, {dissect.ToServer, readReqTruncated}},
			dissect.ViolMalformed, "truncated or malformed service request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := run(t, New(), c.steps, 0)
			if len(rec.viols) != 1 || rec.viols[0].Kind != c.kind || rec.viols[0].Reason != c.reason {
				t.Fatalf("violations:\n%s", strings.Join(rec.lines, "\n"))
			}
		})
	}
}

func TestRequestHandleMismatch(t *testing.T) {
	resp := unhex(t, readResp)
	resp[36] ^= 0x55 // requestHandle of the ResponseHeader
	rec := run(t, New(), []step{{dissect.ToServer, openReqNone}, {dissect.ToClient, openRespNone},
		{dissect.ToServer, readReq}, {dissect.ToClient, hex.EncodeToString(resp)}}, 0)
	if len(rec.viols) != 1 || rec.viols[0].Reason != "response requestHandle differs from the request's" ||
		len(rec.tx) != 2 || rec.tx[1].Status != dissect.StatusOK {
		t.Errorf("records:\n%s", strings.Join(rec.lines, "\n"))
	}
}

func TestErrorAnswersHello(t *testing.T) {
	rec := run(t, New(), []step{{dissect.ToServer, helloReq}, {dissect.ToClient, errBadEndpoint}}, 0)
	if len(rec.tx) != 1 {
		t.Fatalf("transactions:\n%s", strings.Join(rec.lines, "\n"))
	}
	tx := rec.tx[0]
	if tx.Function != fnHEL || tx.Status != dissect.StatusException || tx.Code != 0x80830000 ||
		tx.CodeName != "BadTcpEndpointUrlInvalid" {
		t.Errorf("tx = %s", rec.lines[len(rec.lines)-1])
	}
	if a, _ := attr(&tx, "reason"); string(a.Str) != "no such endpoint" {
		t.Errorf("reason = %q", a.Str)
	}
}

func TestEncryptedChannel(t *testing.T) {
	rec := run(t, New(), []step{{dissect.ToServer, helloReq}, {dissect.ToClient, ackResp},
		{dissect.ToServer, openReqEncrypted}, {dissect.ToServer, msgEncrypted}, {dissect.ToClient, msgEncrypted}}, 0)
	if len(rec.viols) != 0 {
		t.Fatalf("violations:\n%s", strings.Join(rec.lines, "\n"))
	}
	// Hello, the OPN left unmatched at End, the encrypted summary.
	if len(rec.tx) != 3 {
		t.Fatalf("transactions:\n%s", strings.Join(rec.lines, "\n"))
	}
	opn := rec.tx[1]
	if opn.Function != 446 || opn.Status != dissect.StatusUnmatched {
		t.Errorf("opn = %+v", opn)
	}
	if a, _ := attr(&opn, "security_policy"); string(a.Str) != "Basic256Sha256" {
		t.Errorf("policy = %q", a.Str)
	}
	if _, ok := attr(&opn, "insecure"); ok {
		t.Errorf("encrypted OPN flagged insecure")
	}
	if a, ok := attr(&opn, "sender_cert"); !ok || a.Num != 1 {
		t.Errorf("sender_cert missing")
	}
	enc := rec.tx[2]
	if a, _ := attr(&enc, "messages"); enc.FuncName != "EncryptedMessages" || a.Num != 2 {
		t.Errorf("encrypted summary = %+v", enc)
	}
	if len(rec.fields["opcua_service_node_id"]) != 0 {
		t.Errorf("counted service ids in encrypted data: %v", rec.fields)
	}
}

func TestUnmatchedAndOrphan(t *testing.T) {
	// A response whose request was not seen, then a request left unanswered.
	rec := run(t, New(), []step{{dissect.ToServer, openReqNone}, {dissect.ToClient, openRespNone},
		{dissect.ToClient, readResp}, {dissect.ToServer, writeReq}}, 0)
	if len(rec.tx) != 3 || rec.tx[1].Status != dissect.StatusOrphan || rec.tx[1].Function != 631 ||
		rec.tx[2].Status != dissect.StatusUnmatched || rec.tx[2].Function != 673 {
		t.Fatalf("transactions:\n%s", strings.Join(rec.lines, "\n"))
	}
}

func TestProbe(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want dissect.ProbeResult
	}{
		{"helloReq", helloReq, dissect.ProbeYes},
		{"openReqNone", openReqNone, dissect.ProbeYes},
		{"readReq", readReq, dissect.ProbeYes},
		{"prefix", "48454c", dissect.ProbeNeedMore},
		{"empty", "", dissect.ProbeNeedMore},
		{"http", notOPCUA, dissect.ProbeNo},
		{"helloChunkC", "48454c433800000000000000", dissect.ProbeNo},
		{"msgHuge", "4d53474600000001", dissect.ProbeNo},
		{"helloTooShort", helloTooShort, dissect.ProbeNo},
		{"lowercase", "68656c", dissect.ProbeNo},
		{"helloHeaderOnly", "48454c4630000000", dissect.ProbeYes},
		{"helloVersion1", "48454c46380000000100000000000000", dissect.ProbeNo},
		{"helloURLDisagrees", "48454c462100000000000000ffff0000ffff000000000000000000001800000061", dissect.ProbeNo},
		{"openReqEncrypted", openReqEncrypted, dissect.ProbeYes},
		{"openNotHTTP", "4f504e465d00000000000000390000006674703a2f2f6f", dissect.ProbeNo},
		{"openHugeURI", "4f504e465d00000000000000ff0f0000", dissect.ProbeNo},
	}
	for _, c := range cases {
		if got := Probe(unhex(t, c.hex)); got != c.want {
			t.Errorf("%s: Probe = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestStatusName(t *testing.T) {
	for code, want := range map[uint32]string{0: "Good", 0x80790000: "BadNoSubscription", 0x80340000: "BadNodeIdUnknown",
		0x80FF0000: "Bad", 0x40000000: "Uncertain"} {
		if got := statusName(code); got != want {
			t.Errorf("statusName(%#x) = %q, want %q", code, got, want)
		}
	}
}
