package profinet

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// DCP fixtures: frame payloads after the EtherType, starting at the FrameID.
// Those marked "capture" are copied from pcaps/profinet (Ethernet padding
// included); the others are built from IEC 61158-6-10 and checked with
// tshark through text2pcap.
const (
	// capture ChangeIPUsingDCP.pcap #1: Identify request, All selector, unicast.
	identifyReqAll = "fefe 0500 01000001 0001 0004 | ffff 0000" +
		"0000000000000000000000000000000000000000000000000000000000000000"
	// capture ChangeIPUsingDCP.pcap #2: Identify response of an io-device.
	identifyRespX208 = "feff 0501 01000001 0000 005e" +
		"0205 001c 0000 0101 0102 0201 0202 0203 0204 0205 033d 0501 0502 0503 0504 ffff" +
		"0201 0005 0000 494e43 00" + // type of station "INC"
		"0202 000b 0000 583230382d424f5244 00" + // name of station "X208-BORD"
		"0203 0006 0000 002a 0a01" + // vendor 0x002a, device 0x0a01
		"0204 0004 0000 0100" + // role: IO-Device
		"0102 000e 0001 c0a80006 ffffff00 c0a80001" // IP 192.168.0.6/24 gw .1
	// capture ChangeIPUsingDCP.pcap #3: Set IP request.
	setIPReq = "fefd 0400 01000001 0000 0012 | 0102 000e 0001 c0a8000a ffffff00 c0a80001" +
		"00000000000000000000"
	// capture ChangeIPUsingDCP.pcap #4: Set response, block error 0.
	setIPResp = "fefd 0401 01000001 0000 0008 | 0504 0003 010200 00" +
		"000000000000000000000000000000000000000000000000"
	// capture profinet-wireshark-bug.pcap #3: Set name of station + end transaction.
	setNameReq = "fefd 0400 01000001 0000 0014 | 0202 0009 0001 256e256e256e20 00 | 0502 0002 0000"
	// capture profinet-wireshark-bug.pcap #4: Set response with two OK blocks.
	setNameResp = "fefd 0401 01000001 0000 0010 | 0504 0003 020200 00 | 0504 0003 050200 00" +
		"0000000000000000000000000000000000000000"
	// capture PROFINET-RT.pcap #1: multicast Identify filtering on a station name.
	identifyReqName = "fefe 0500 0300bf9a 0001 000c | 0202 0007 73776974636833 00" +
		"69656d656e732c2053494d41544900000000"

	// Set request: reset to factory, mode "reset communication parameters".
	setResetToFactoryReq = "fefd 0400 00000010 0000 0006 | 0506 0002 0004"
	// Set request: factory reset (deprecated suboption 5).
	setFactoryResetReq = "fefd 0400 00000011 0000 0006 | 0505 0002 0001"
	// Set request: signal (flash once).
	setSignalReq = "fefd 0400 00000012 0000 0008 | 0503 0004 0001 0100"
	// Set response refusing the signal: option not supported (1).
	setSignalRespErr = "fefd 0401 00000012 0000 0008 | 0504 0003 050301 00"
	// Set response "request not supported" (service type 5).
	setRespUnsupported = "fefd 0405 00000011 0000 0000"
	// Get request for the name of station, and its response.
	getNameReq  = "fefd 0300 00000020 0000 0002 | 0202"
	getNameResp = "fefd 0301 00000020 0000 000a | 0202 0006 0000 706c6331"
	// Hello of an IO-Controller "plc1", device 0x002a/0x0101, IP 10.0.0.1.
	helloPLC = "fefc 0600 00000030 0000 002e" +
		"0202 0006 0000 706c6331" +
		"0203 0006 0000 002a 0101" +
		"0204 0004 0000 0200" +
		"0102 000e 0001 0a000001 ffffff00 00000000"
	// Identify response from a second device to the same XID.
	identifyRespOther = "feff 0501 01000001 0000 0016 | 0202 000a 0000 64657669636532 00 | 0204 0004 0000 0800"

	// Malformed and out-of-spec PDUs.
	dcpHeaderTruncated = "fefd 0400 0100"
	dcpDataLenTooLong  = "fefd 0400 00000040 0000 0040 | 0202 0004 0001 6162"
	dcpBlockTooLong    = "fefd 0400 00000041 0000 0008 | 0202 0010 0001 6162"
	dcpReservedService = "fefd 0900 00000042 0000 0000"
	dcpReservedType    = "fefd 0402 00000043 0000 0000"
	dcpWrongFrameID    = "fefe 0400 00000044 0000 0000"
	dcpShortDeviceID   = "feff 0501 00000045 0000 0006 | 0203 0002 0000"
	dcpOddGetList      = "fefd 0300 00000046 0000 0003 | 020201"
	frameOneByte       = "fe"
)

func TestDCPIdentifyUnicast(t *testing.T) {
	s := newSession(Spec(), l2Flow())
	s.feed(t, dissect.ToServer, 0, identifyReqAll)
	s.feed(t, dissect.ToClient, 41*time.Millisecond, identifyRespX208)
	s.end(time.Minute)
	r := s.rec
	if len(r.viols) != 0 {
		t.Fatalf("violations: %v", violReasons(r.viols))
	}
	if len(r.tx) != 1 {
		t.Fatalf("got %d transactions, want 1 (the answered request is not re-emitted)", len(r.tx))
	}
	tx := r.tx[0]
	if tx.Op != dissect.OpIdentify || tx.Status != dissect.StatusOK || tx.Function != ServiceIdentify ||
		tx.FuncName != "Identify" || tx.Requester != dissect.ToServer || tx.Frame != 1 {
		t.Errorf("transaction = %+v", tx)
	}
	if tx.RespTime.Sub(tx.Time) != 41*time.Millisecond {
		t.Errorf("response time %v", tx.RespTime.Sub(tx.Time))
	}
	wantAttrs(t, "identify", tx.Attrs, "xid", "16777217", "response_delay", "1", "all_selector", "1",
		"name_of_station", "X208-BORD", "type_of_station", "INC", "vendor_id", "42", "device_id", "2561",
		"device_role", "1", "ip", "192.168.0.6")
	if len(r.hints) != 1 {
		t.Fatalf("got %d hints, want 1", len(r.hints))
	}
	h := r.hints[0]
	if h.Side != dissect.ToClient || h.Name != "X208-BORD" || h.Vendor != "INC" || h.VendorID != 42 ||
		h.DeviceID != 0x0a01 || !h.HasDevice || h.Role != dissect.RoleIODevice {
		t.Errorf("hint = %+v", h)
	}
	wantAttrs(t, "hint", h.Extra, "ip", "192.168.0.6", "netmask", "255.255.255.0", "gateway", "192.168.0.1")
}

func TestDCPIdentifyMulticastManyResponses(t *testing.T) {
	s := newSession(Spec(), l2Flow())
	s.feed(t, dissect.ToServer, 0, identifyReqAll)
	s.feed(t, dissect.ToClient, 10*time.Millisecond, identifyRespX208)
	s.feed(t, dissect.ToClient, 20*time.Millisecond, identifyRespOther)
	s.feed(t, dissect.ToClient, 30*time.Millisecond, identifyRespX208) // repeated identity: no new hint
	s.end(time.Minute)
	r := s.rec
	if len(r.tx) != 3 {
		t.Fatalf("got %d transactions, want 3", len(r.tx))
	}
	for i, tx := range r.tx {
		if tx.Status != dissect.StatusOK || tx.Frame != 1 {
			t.Errorf("tx %d: status %v frame %d", i, tx.Status, tx.Frame)
		}
	}
	if got := attr(r.tx[1].Attrs, "name_of_station"); got != "device2" {
		t.Errorf("second response name %q", got)
	}
	if len(r.hints) != 2 {
		t.Fatalf("got %d hints, want 2", len(r.hints))
	}
	if r.hints[1].Role != dissect.RoleEngineering || r.hints[1].Name != "device2" {
		t.Errorf("supervisor hint = %+v", r.hints[1])
	}
}

func TestDCPIdentifyUnansweredAndTimeout(t *testing.T) {
	s := newSession(Spec(), l2Flow())
	s.feed(t, dissect.ToServer, 0, identifyReqName)
	if len(s.rec.tx) != 0 {
		t.Fatalf("request emitted early")
	}
	// A frame 31 s later expires the request.
	s.feed(t, dissect.ToServer, 31*time.Second, getNameReq)
	if len(s.rec.tx) != 1 || s.rec.tx[0].Status != dissect.StatusUnmatched {
		t.Fatalf("after timeout: %+v", s.rec.tx)
	}
	wantAttrs(t, "unmatched identify", s.rec.tx[0].Attrs, "filter_name_of_station", "switch3", "xid", "50380698")
	s.end(40 * time.Second)
	if len(s.rec.tx) != 2 || s.rec.tx[1].Status != dissect.StatusUnmatched || s.rec.tx[1].Op != dissect.OpRead {
		t.Fatalf("at end: %+v", s.rec.tx)
	}
	if got := s.rec.fields["profinet_station_name"]["switch3"]; got != 1 {
		t.Errorf("station name field count %d", got)
	}
}

func TestDCPSet(t *testing.T) {
	tests := []struct {
		name       string
		req, resp  string
		op         dissect.Op
		status     dissect.Status
		code       uint32
		attrs      []string
		violations int
	}{
		{name: "set IP", req: setIPReq, resp: setIPResp, op: dissect.OpConfig, status: dissect.StatusOK,
			attrs: []string{"ip", "192.168.0.10", "netmask", "255.255.255.0", "gateway", "192.168.0.1"}},
		{name: "set name of station", req: setNameReq, resp: setNameResp, op: dissect.OpConfig,
			status: dissect.StatusOK, attrs: []string{"name_of_station", "%n%n%n ", "end_transaction", "1"}},
		{name: "reset to factory", req: setResetToFactoryReq, op: dissect.OpControl, status: dissect.StatusUnmatched,
			attrs: []string{"factory_reset", "1", "reset_mode", "4"}},
		{name: "factory reset, not supported", req: setFactoryResetReq, resp: setRespUnsupported,
			op: dissect.OpControl, status: dissect.StatusException, code: CodeNotSupported,
			attrs: []string{"factory_reset", "1"}},
		{name: "signal refused", req: setSignalReq, resp: setSignalRespErr, op: dissect.OpDiagnostic,
			status: dissect.StatusException, code: 1,
			attrs: []string{"signal", "256", "error_option", "5", "error_suboption", "3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(Spec(), l2Flow())
			s.feed(t, dissect.ToServer, 0, tc.req)
			if tc.resp != "" {
				s.feed(t, dissect.ToClient, 28*time.Millisecond, tc.resp)
			}
			s.end(time.Minute)
			if len(s.rec.viols) != tc.violations {
				t.Errorf("violations: %v", violReasons(s.rec.viols))
			}
			if len(s.rec.tx) != 1 {
				t.Fatalf("got %d transactions", len(s.rec.tx))
			}
			tx := s.rec.tx[0]
			if tx.Op != tc.op || tx.Status != tc.status || tx.Code != tc.code || tx.Function != ServiceSet {
				t.Errorf("op %v status %v code %d function %d", tx.Op, tx.Status, tx.Code, tx.Function)
			}
			wantAttrs(t, tc.name, tx.Attrs, tc.attrs...)
			// An accepted Set of a name or address tells the device's new identity.
			wantHints := 0
			if tc.status == dissect.StatusOK && (attr(tx.Attrs, "ip") != "" || attr(tx.Attrs, "name_of_station") != "") {
				wantHints = 1
			}
			if len(s.rec.hints) != wantHints {
				t.Fatalf("Set produced %d hints: %+v", len(s.rec.hints), s.rec.hints)
			}
			if wantHints == 1 {
				h := s.rec.hints[0]
				if h.Side != dissect.ToClient || h.Evidence != "DCP Set accepted" ||
					h.Name != attr(tx.Attrs, "name_of_station") || attr(h.Extra, "ip") != attr(tx.Attrs, "ip") {
					t.Errorf("set hint = %+v", h)
				}
			}
		})
	}
}

func TestDCPGetAndHello(t *testing.T) {
	s := newSession(Spec(), l2Flow())
	s.feed(t, dissect.ToServer, 0, getNameReq)
	s.feed(t, dissect.ToClient, time.Millisecond, getNameResp)
	s.feed(t, dissect.ToClient, time.Second, helloPLC)
	s.end(time.Minute)
	r := s.rec
	if len(r.viols) != 0 {
		t.Fatalf("violations: %v", violReasons(r.viols))
	}
	if len(r.tx) != 2 {
		t.Fatalf("got %d transactions", len(r.tx))
	}
	if tx := r.tx[0]; tx.Op != dissect.OpRead || tx.Status != dissect.StatusOK || tx.FuncName != "Get" {
		t.Errorf("get: %+v", tx)
	}
	wantAttrs(t, "get", r.tx[0].Attrs, "option", "2", "suboption", "2", "name_of_station", "plc1")
	if tx := r.tx[1]; tx.Op != dissect.OpNotify || tx.FuncName != "Hello" || tx.Requester != dissect.ToClient ||
		!tx.RespTime.IsZero() {
		t.Errorf("hello: %+v", tx)
	}
	wantAttrs(t, "hello", r.tx[1].Attrs, "name_of_station", "plc1", "vendor_id", "42", "device_id", "257",
		"ip", "10.0.0.1")
	// The Get response names the device; the Hello adds more: two hints.
	if len(r.hints) != 2 {
		t.Fatalf("hints: %+v", r.hints)
	}
	if h := r.hints[1]; h.Role != dissect.RoleController || h.Name != "plc1" || h.DeviceID != 0x101 {
		t.Errorf("hello hint = %+v", h)
	}
	if r.fields["profinet_dcp_service"]["6"] != 1 || r.fields["profinet_dcp_service"]["3"] != 2 ||
		r.fields["profinet_station_name"]["plc1"] != 2 || r.fields["profinet_vendor_id"]["42"] != 1 {
		t.Errorf("fields: %v", r.fields)
	}
}

func TestDCPOrphanResponse(t *testing.T) {
	s := newSession(Spec(), l2Flow())
	s.feed(t, dissect.ToClient, 0, identifyRespX208)
	s.end(time.Minute)
	if len(s.rec.tx) != 1 || s.rec.tx[0].Status != dissect.StatusOrphan || s.rec.tx[0].Op != dissect.OpIdentify ||
		s.rec.tx[0].Requester != dissect.ToServer {
		t.Fatalf("orphan: %+v", s.rec.tx)
	}
	if len(s.rec.hints) != 1 {
		t.Errorf("orphan identify response must still give its hint")
	}
}

func TestDCPMalformed(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		kind dissect.ViolationKind
	}{
		{"one byte", frameOneByte, dissect.ViolMalformed},
		{"header truncated", dcpHeaderTruncated, dissect.ViolMalformed},
		{"data length too long", dcpDataLenTooLong, dissect.ViolBadLength},
		{"block too long", dcpBlockTooLong, dissect.ViolBadLength},
		{"reserved service", dcpReservedService, dissect.ViolIllegalFunc},
		{"reserved service type", dcpReservedType, dissect.ViolOutOfSpec},
		{"service on wrong FrameID", dcpWrongFrameID, dissect.ViolOutOfSpec},
		{"short device ID", dcpShortDeviceID, dissect.ViolMalformed},
		{"odd Get list", dcpOddGetList, dissect.ViolMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(Spec(), l2Flow())
			s.feed(t, dissect.ToServer, 0, tc.hex)
			s.end(time.Minute)
			if len(s.rec.viols) != 1 || s.rec.viols[0].Kind != tc.kind {
				t.Fatalf("violations: %v", violReasons(s.rec.viols))
			}
			v := s.rec.viols[0]
			if v.Protocol != protoName || v.Frame != 1 || v.Reason == "" {
				t.Errorf("violation = %+v", v)
			}
		})
	}
}
