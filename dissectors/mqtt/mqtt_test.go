package mqtt

import (
	"encoding/hex"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Named fixtures: complete MQTT control packets.
const (
	connect311 = "10 2b 0004 4d515454 04 c2 003c 0013 6d79766f69636569736d7970617373706f7274" +
		" 0004 75736572 0004 70617373" // client "myvoiceismypassport", user "user", password "pass"
	connect31 = "10 25 0006 4d5149736470 03 02 0005 0017 7061686f2f333441414535344137354438333935363645" // MQIsdp, client "paho/34AAE54A75D839566E"
	connect5  = "10 27 0004 4d515454 05 c6 003c 05 11 0000000a 0003 616263 00 0004 77696c6c 0002 6869" +
		" 0001 75 0002 7077" // v5, session expiry property, will "will", user "u", password "pw"
	connackAccepted    = "20 02 00 00"
	connackSessionBad  = "20 02 01 04" // session present, bad user name or password
	connack5NotAuth    = "20 03 00 87 00"
	publishQoS0        = "30 0d 0005 612f622f63 68656c6c6f21" // topic a/b/c, "hello!"
	publishQoS1        = "32 0c 0005 612f622f63 0007 686921"
	publishQoS2        = "34 0b 0005 612f622f63 0008 6869"
	publishQoS0Retain  = "31 07 0005 612f622f63"
	puback7            = "40 02 0007"
	pubrec8            = "50 02 0008"
	pubrel8            = "62 02 0008"
	pubcomp8           = "70 02 0008"
	subscribeOne       = "82 0a 0001 0005 612f2b2f63 01" // a/+/c QoS 1
	subscribeTwo       = "82 12 0003 0005 612f2b2f63 01 0005 782f792f23 00"
	subackGranted      = "90 03 0001 01"
	subackFailure      = "90 03 0001 80"
	unsubscribeOne     = "a2 09 0002 0005 612f2b2f63"
	unsuback2          = "b0 02 0002"
	pingreq            = "c0 00"
	pingresp           = "d0 00"
	disconnect         = "e0 00"
	disconnect5Reason  = "e0 02 04 00"                                     // v5: disconnect with will message, no properties
	publish5Props      = "32 11 0006 746f70696358 0001 03 01 01 00 626161" // v5, payload format property
	puback5NoMatch     = "40 03 0001 10"
	publishQoS3        = "36 09 0005 612f622f63 0001"
	publishWildcard    = "30 07 0005 612f2b2f63"
	publishPacketID0   = "32 09 0005 612f622f63 0000"
	subscribeBadFlags  = "80 0a 0001 0005 612f2b2f63 01"
	subscribeNoFilter  = "82 02 0001"
	subscribeTruncated = "82 03 0001 00"
	reservedType0      = "00 00"
	authBeforeV5       = "f0 00"
	pingreqTooLong     = "c0 01 00"
	connectBadProtocol = "10 0c 0004 4d515458 04 02 003c 0000"
	connectReservedBit = "10 0c 0004 4d515454 04 03 003c 0000"
	remainingLength5   = "30 ff ff ff ff 7f"
)

func h(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad fixture %q: %v", s, err)
	}
	return b
}

// recorder keeps deep copies of what a dissector emits (the shared kit).
type recorder = dissectortest.Recorder

// attrs flattens a transaction's attributes for comparison.
func attrs(tx *dissect.Transaction) map[string]string {
	m := map[string]string{}
	for _, a := range tx.Attrs {
		if a.IsStr {
			m[a.Key] = string(a.Str)
		} else {
			m[a.Key] = strconv.FormatUint(a.Num, 10)
		}
	}
	return m
}

type harness struct {
	d    *dissector
	rec  *recorder
	ctx  dissect.Context
	flow dissect.Flow
}

func newHarness() *harness {
	hs := &harness{d: newDissector(), rec: dissectortest.NewRecorder()}
	hs.flow = dissect.Flow{ID: 1, Transport: dissect.TransportTCP}
	hs.ctx = dissect.Context{Flow: &hs.flow, Time: time.Unix(1700000000, 0), Emit: hs.rec}
	return hs
}

func (hs *harness) feed(tb testing.TB, dir dissect.Direction, fixtures ...string) {
	tb.Helper()
	for _, f := range fixtures {
		hs.ctx.Frame++
		hs.ctx.Time = hs.ctx.Time.Add(time.Millisecond)
		hs.d.Feed(&hs.ctx, dir, h(tb, f))
	}
}

func TestProbe(t *testing.T) {
	cases := []struct {
		name, data string
		want       dissect.ProbeResult
	}{
		{"connect311", connect311, dissect.ProbeYes},
		{"connect31", connect31, dissect.ProbeYes},
		{"connect5", connect5, dissect.ProbeYes},
		{"connectHead", "10 2b 0004 4d51", dissect.ProbeNeedMore},
		{"connectBadProtocol", connectBadProtocol, dissect.ProbeNo},
		{"mqttLevel3", "10 0c 0004 4d515454 03 02 003c 0000", dissect.ProbeNo},
		{"publishQoS0", publishQoS0, dissect.ProbeNo},
		{"connectTiny", "10 02 0004", dissect.ProbeNo},
		{"remainingLength5", "10 ff ff ff ff 7f", dissect.ProbeNo},
		{"http", hex.EncodeToString([]byte("GET / HTTP/1.1\r\n")), dissect.ProbeNo},
		{"empty", "", dissect.ProbeNeedMore},
	}
	for _, c := range cases {
		if got := Probe(h(t, c.data)); got != c.want {
			t.Errorf("%s: Probe = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name     string
		data     string
		level    uint8
		toClient bool
		typ      uint8
		topic    string
		topics   int
		viol     dissect.ViolationKind
	}{
		{"connect311", connect311, 4, false, TypeConnect, "", 0, 0},
		{"connect31", connect31, 4, false, TypeConnect, "", 0, 0},
		{"connect5", connect5, 4, false, TypeConnect, "", 0, 0},
		{"connackAccepted", connackAccepted, 4, true, TypeConnack, "", 0, 0},
		{"connack5NotAuth", connack5NotAuth, 5, true, TypeConnack, "", 0, 0},
		{"publishQoS0", publishQoS0, 4, true, TypePublish, "a/b/c", 0, 0},
		{"publishQoS1", publishQoS1, 4, false, TypePublish, "a/b/c", 0, 0},
		{"publish5Props", publish5Props, 5, false, TypePublish, "topicX", 0, 0},
		{"puback5NoMatch", puback5NoMatch, 5, true, TypePuback, "", 0, 0},
		{"pubrel8", pubrel8, 4, false, TypePubrel, "", 0, 0},
		{"subscribeTwo", subscribeTwo, 4, false, TypeSubscribe, "a/+/c", 2, 0},
		{"subackFailure", subackFailure, 4, true, TypeSuback, "", 1, 0},
		{"unsubscribeOne", unsubscribeOne, 4, false, TypeUnsubscribe, "a/+/c", 1, 0},
		{"disconnect5Reason", disconnect5Reason, 5, false, TypeDisconnect, "", 0, 0},
		{"publishQoS3", publishQoS3, 4, false, TypePublish, "a/b/c", 0, dissect.ViolOutOfSpec},
		{"publishEmptyTopic311", "30 02 0000", 4, false, TypePublish, "", 0, dissect.ViolOutOfSpec},
		{"publishEmptyTopic5", "30 03 0000 00", 5, false, TypePublish, "", 0, 0},
		{"subscribeEmptyFilter", "82 05 0001 0000 00", 4, false, TypeSubscribe, "", 1, dissect.ViolOutOfSpec},
		{"publishWildcard", publishWildcard, 4, false, TypePublish, "a/+/c", 0, dissect.ViolOutOfSpec},
		{"publishPacketID0", publishPacketID0, 4, false, TypePublish, "a/b/c", 0, dissect.ViolOutOfSpec},
		{"subscribeBadFlags", subscribeBadFlags, 4, false, TypeSubscribe, "a/+/c", 1, dissect.ViolMalformed},
		{"subscribeNoFilter", subscribeNoFilter, 4, false, TypeSubscribe, "", 0, dissect.ViolMalformed},
		{"subscribeTruncated", subscribeTruncated, 4, false, TypeSubscribe, "", 0, dissect.ViolBadLength},
		{"subscribeFromBroker", subscribeOne, 4, true, TypeSubscribe, "a/+/c", 1, dissect.ViolOutOfSpec},
		{"reservedType0", reservedType0, 4, false, TypeReserved, "", 0, dissect.ViolIllegalFunc},
		{"authBeforeV5", authBeforeV5, 4, false, TypeAuth, "", 0, dissect.ViolIllegalFunc},
		{"authV5", "f0 02 18 00", 5, false, TypeAuth, "", 0, 0},
		{"pingreqTooLong", pingreqTooLong, 4, false, TypePingreq, "", 0, dissect.ViolBadLength},
		{"connectBadProtocol", connectBadProtocol, 4, false, TypeConnect, "", 0, dissect.ViolOutOfSpec},
		{"connectReservedBit", connectReservedBit, 4, false, TypeConnect, "", 0, dissect.ViolMalformed},
		{"connectTruncated", connect311[:len(connect311)-4], 4, false, TypeConnect, "", 0, dissect.ViolBadLength},
	}
	for _, c := range cases {
		var p Packet
		rec := dissectortest.NewRecorder()
		Decode(h(t, c.data), c.level, c.toClient, rec, &p)
		if p.Type != c.typ || string(p.Topic) != c.topic || p.Topics != c.topics || p.Viol != c.viol {
			t.Errorf("%s: type %d topic %q topics %d viol %v (%s); want %d %q %d %v", c.name, p.Type, p.Topic,
				p.Topics, p.Viol, p.ViolReason, c.typ, c.topic, c.topics, c.viol)
		}
		if want := c.topics; c.typ == TypePublish && c.topic != "" && c.viol == 0 {
			want = 1
			if rec.R.Fields["mqtt_topic"][c.topic] != want {
				t.Errorf("%s: topic fields %v", c.name, rec.R.Fields)
			}
		}
	}

	var p Packet
	Decode(h(t, connect5), 0, false, nil, &p)
	if p.Level != 5 || string(p.ClientID) != "abc" || string(p.WillTopic) != "will" || string(p.Username) != "u" ||
		!p.HasPassword || !p.CleanSession || p.KeepAlive != 60 {
		t.Errorf("connect5: %+v", p)
	}
	Decode(h(t, connackSessionBad), 4, true, nil, &p)
	if !p.SessionPresent || p.Reason != 4 || !p.Failed || ConnackName(4, p.Reason) != "Bad user name or password" {
		t.Errorf("connackSessionBad: %+v", p)
	}
	Decode(h(t, publishQoS1), 4, false, nil, &p)
	if p.QoS != 1 || p.PacketID != 7 || p.PayloadBytes != 3 || p.Retain {
		t.Errorf("publishQoS1: %+v", p)
	}
	Decode(h(t, publishQoS0Retain), 4, false, nil, &p)
	if !p.Retain || p.PayloadBytes != 0 {
		t.Errorf("publishQoS0Retain: %+v", p)
	}
	Decode(h(t, remainingLength5), 4, false, nil, &p)
	if p.Viol != dissect.ViolMalformed {
		t.Errorf("remainingLength5: %+v", p)
	}
	if HeaderLen(h(t, "30 80 01")) != 131 || HeaderLen(h(t, "30 80")) != 0 || HeaderLen(h(t, remainingLength5)) != -1 {
		t.Error("HeaderLen")
	}
}

func TestSession311(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, connect311)
	hs.feed(t, dissect.ToClient, connackAccepted)
	hs.feed(t, dissect.ToServer, subscribeOne)
	hs.feed(t, dissect.ToClient, subackGranted, publishQoS0)
	hs.feed(t, dissect.ToServer, publishQoS1)
	hs.feed(t, dissect.ToClient, puback7)
	hs.feed(t, dissect.ToServer, publishQoS2)
	hs.feed(t, dissect.ToClient, pubrec8)
	hs.feed(t, dissect.ToServer, pubrel8)
	hs.feed(t, dissect.ToClient, pubcomp8)
	hs.feed(t, dissect.ToServer, unsubscribeOne)
	hs.feed(t, dissect.ToClient, unsuback2)
	hs.feed(t, dissect.ToServer, pingreq)
	hs.feed(t, dissect.ToClient, pingresp)
	hs.feed(t, dissect.ToServer, disconnect)
	r := hs.rec
	if len(r.R.Violations) != 0 {
		t.Fatalf("violations: %+v", r.R.Violations)
	}
	type want struct {
		fn     uint8
		op     dissect.Op
		req    dissect.Direction
		status dissect.Status
	}
	wants := []want{
		{TypeConnect, dissect.OpLogin, dissect.ToServer, dissect.StatusOK},
		{TypeSubscribe, dissect.OpRead, dissect.ToServer, dissect.StatusOK},
		{TypePublish, dissect.OpNotify, dissect.ToClient, dissect.StatusOK},
		{TypePublish, dissect.OpWrite, dissect.ToServer, dissect.StatusOK},
		{TypePublish, dissect.OpWrite, dissect.ToServer, dissect.StatusOK},
		{TypeUnsubscribe, dissect.OpRead, dissect.ToServer, dissect.StatusOK},
		{TypePingreq, dissect.OpSession, dissect.ToServer, dissect.StatusOK},
		{TypeDisconnect, dissect.OpSession, dissect.ToServer, dissect.StatusOK},
	}
	if len(r.R.Transactions) != len(wants) {
		t.Fatalf("%d transactions: %+v", len(r.R.Transactions), r.R.Transactions)
	}
	for i, w := range wants {
		tx := &r.R.Transactions[i]
		if tx.Function != uint32(w.fn) || tx.Op != w.op || tx.Requester != w.req || tx.Status != w.status {
			t.Errorf("transaction %d: %s %s %s %s, want %s", i, tx.FuncName, tx.Op, tx.Requester, tx.Status, TypeName(w.fn))
		}
	}
	if a := attrs(&r.R.Transactions[0]); a["client_id"] != "myvoiceismypassport" || a["username"] != "user" ||
		a["password_present"] != "1" || a["protocol_level"] != "4" || a["keepalive"] != "60" {
		t.Errorf("CONNECT attrs: %v", a)
	}
	if a := attrs(&r.R.Transactions[1]); a["topic"] != "a/+/c" || a["qos"] != "1" || a["packet_id"] != "1" {
		t.Errorf("SUBSCRIBE attrs: %v", a)
	}
	if a := attrs(&r.R.Transactions[3]); a["topic"] != "a/b/c" || a["qos"] != "1" || a["packet_id"] != "7" || r.R.Transactions[3].RespBytes != 4 {
		t.Errorf("QoS 1 PUBLISH: %v %+v", a, r.R.Transactions[3])
	}
	// QoS 2: the response time is the PUBREC's, the answer bytes PUBREC + PUBCOMP.
	if tx := r.R.Transactions[4]; tx.RespBytes != 8 || tx.RespTime.Sub(tx.Time) != time.Millisecond {
		t.Errorf("QoS 2 PUBLISH: %+v", tx)
	}
	f := r.R.Fields
	if f["mqtt_message_type"]["3"] != 3 || f["mqtt_topic"]["a/+/c"] != 2 || f["mqtt_topic"]["a/b/c"] != 3 ||
		f["mqtt_client_id"]["myvoiceismypassport"] != 1 || len(f["mqtt_message_type"]) != 14 {
		t.Errorf("fields: %v", f)
	}
	if len(r.R.Hints) != 2 || r.R.Hints[0].Role != dissect.RoleClient || r.R.Hints[1].Role != dissect.RoleBroker {
		t.Errorf("hints: %+v", r.R.Hints)
	}
	for _, tx := range r.R.Transactions {
		for _, a := range tx.Attrs {
			if a.IsStr && strings.Contains(string(a.Str), "pass") && a.Key != "client_id" {
				t.Errorf("password kept in %s", a.Key)
			}
		}
	}
}

func TestSession5(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, connect5)
	hs.feed(t, dissect.ToClient, connack5NotAuth)
	hs.feed(t, dissect.ToServer, publish5Props)
	hs.feed(t, dissect.ToClient, puback5NoMatch)
	hs.feed(t, dissect.ToServer, disconnect5Reason)
	r := hs.rec
	if len(r.R.Violations) != 0 || len(r.R.Transactions) != 3 {
		t.Fatalf("violations %+v, transactions %+v", r.R.Violations, r.R.Transactions)
	}
	c := r.R.Transactions[0]
	if c.Status != dissect.StatusException || c.Code != 0x87 || c.CodeName != "Not authorized" {
		t.Errorf("CONNACK failure: %+v", c)
	}
	if a := attrs(&c); a["will_topic"] != "will" || a["username"] != "u" || a["protocol_level"] != "5" {
		t.Errorf("CONNECT attrs: %v", a)
	}
	if p := r.R.Transactions[1]; p.Status != dissect.StatusOK || attrs(&p)["reason_code"] != "16" || attrs(&p)["topic"] != "topicX" {
		t.Errorf("PUBLISH with no matching subscribers: %+v", p)
	}
	if d := r.R.Transactions[2]; attrs(&d)["reason_code"] != "4" || d.Status != dissect.StatusOK {
		t.Errorf("DISCONNECT: %+v", d)
	}
}

func TestUnmatchedOrphan(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, connect31)
	hs.feed(t, dissect.ToClient, connackAccepted)
	hs.feed(t, dissect.ToClient, puback7, subackFailure, pingresp)
	r := hs.rec
	if len(r.R.Transactions) != 4 {
		t.Fatalf("transactions: %+v", r.R.Transactions)
	}
	for _, tx := range r.R.Transactions[1:] {
		if tx.Status != dissect.StatusOrphan {
			t.Errorf("%s: %s, want orphan", tx.FuncName, tx.Status)
		}
	}
	hs.feed(t, dissect.ToServer, publishQoS1, subscribeOne, pingreq)
	hs.ctx.Time = hs.ctx.Time.Add(31 * time.Second)
	hs.feed(t, dissect.ToServer, publishQoS2)
	if len(r.R.Transactions) != 7 {
		t.Fatalf("after timeout: %d %+v pending %d", len(r.R.Transactions), r.R.Violations, hs.d.pend.Len())
	}
	for _, tx := range r.R.Transactions[4:] {
		if tx.Status != dissect.StatusUnmatched {
			t.Errorf("%s: %s, want unmatched", tx.FuncName, tx.Status)
		}
	}
	// QoS 2 acknowledged by PUBREC but never completed: delivered (OK) at flow end.
	hs.feed(t, dissect.ToClient, pubrec8)
	hs.d.End(&hs.ctx)
	if len(r.R.Transactions) != 8 || r.R.Transactions[7].Status != dissect.StatusOK || r.R.Transactions[7].RespBytes != 4 {
		t.Fatalf("QoS 2 at end: %+v", r.R.Transactions[7:])
	}
	// SUBACK failure is an exception.
	hs.feed(t, dissect.ToServer, subscribeOne)
	hs.feed(t, dissect.ToClient, subackFailure)
	if tx := r.R.Transactions[len(r.R.Transactions)-1]; tx.Status != dissect.StatusException || tx.Code != 0x80 || tx.CodeName != "Failure" {
		t.Errorf("SUBACK failure: %+v", tx)
	}
	// A second CONNECT is a protocol violation.
	hs.feed(t, dissect.ToServer, connect31)
	if len(r.R.Violations) != 1 || r.R.Violations[0].Reason != "second CONNECT on one connection" {
		t.Errorf("violations: %+v", r.R.Violations)
	}
}

func TestFramingAndOversized(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, connect311)
	all := h(t, subscribeOne+publishQoS1+pingreq)
	for i := range all { // byte by byte
		hs.ctx.Frame++
		hs.d.Feed(&hs.ctx, dissect.ToServer, all[i:i+1])
	}
	if hs.d.pend.Len() != 2 || !hs.d.hasPing {
		t.Fatalf("byte-wise feed: pending %d ping %v", hs.d.pend.Len(), hs.d.hasPing)
	}
	// A 100 000-byte PUBLISH, in 1000-byte segments, then a PINGREQ in the last one.
	payload := 100000 - 2 - 3 - 7
	big := append([]byte{0x30, 0x00, 0x00, 0x00}, h(t, "0005 612f622f63")...)
	rem := len(big) - 4 + payload
	big[1], big[2], big[3] = byte(rem)|0x80, byte(rem>>7)|0x80, byte(rem>>14)
	big = append(big, make([]byte, payload)...)
	big = append(big, 0xC0, 0x00)
	hs.rec = dissectortest.NewRecorder()
	hs.ctx.Emit = hs.rec
	for i := 0; i < len(big); i += 1000 {
		hs.ctx.Frame++
		hs.d.Feed(&hs.ctx, dissect.ToClient, big[i:min(i+1000, len(big))])
	}
	r := hs.rec
	if len(r.R.Transactions) != 1 || r.R.Transactions[0].Op != dissect.OpNotify || attrs(&r.R.Transactions[0])["topic"] != "a/b/c" ||
		attrs(&r.R.Transactions[0])["payload_bytes"] != strconv.Itoa(payload) || r.R.Transactions[0].ReqBytes != len(big)-2 {
		t.Fatalf("oversized PUBLISH: %+v", r.R.Transactions)
	}
	if r.R.Fields["mqtt_message_type"]["12"] != 1 || len(r.R.Violations) != 1 || r.R.Violations[0].Reason != "client packet sent by the broker" {
		t.Errorf("packet after the oversized one: %v %+v", r.R.Fields, r.R.Violations)
	}
	// Gap: the partial packet is dropped.
	hs.feed(t, dissect.ToServer, publishQoS1[:10])
	hs.d.Gap(&hs.ctx, dissect.ToServer, 50)
	hs.feed(t, dissect.ToServer, disconnect)
	if r.R.Fields["mqtt_message_type"]["14"] != 1 {
		t.Errorf("after gap: %v", r.R.Fields)
	}
	// A remaining length of 5 bytes cannot be framed.
	hs.feed(t, dissect.ToServer, remainingLength5)
	if v := r.R.Violations[len(r.R.Violations)-1]; v.Kind != dissect.ViolMalformed {
		t.Errorf("bad remaining length: %+v", v)
	}
}

type nullEmitter struct{ tx int }

func (n *nullEmitter) Transaction(*dissect.Transaction) { n.tx++ }
func (n *nullEmitter) Hint(*dissect.AssetHint)          {}
func (n *nullEmitter) Violation(*dissect.Violation)     {}
func (n *nullEmitter) FieldUint(string, uint64)         {}
func (n *nullEmitter) FieldBytes(string, []byte)        {}

func TestAllocs(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, connect311)
	hs.feed(t, dissect.ToClient, connackAccepted)
	var n nullEmitter
	hs.ctx.Emit = &n
	pub, ack, pub0 := h(t, publishQoS1), h(t, puback7), h(t, publishQoS0)
	sub, suback := h(t, subscribeOne), h(t, subackGranted)
	ping, pong := h(t, pingreq), h(t, pingresp)
	allocs := testing.AllocsPerRun(1000, func() {
		hs.d.Feed(&hs.ctx, dissect.ToServer, pub)
		hs.d.Feed(&hs.ctx, dissect.ToClient, ack)
		hs.d.Feed(&hs.ctx, dissect.ToClient, pub0)
		hs.d.Feed(&hs.ctx, dissect.ToServer, sub[:3])
		hs.d.Feed(&hs.ctx, dissect.ToServer, sub[3:])
		hs.d.Feed(&hs.ctx, dissect.ToClient, suback)
		hs.d.Feed(&hs.ctx, dissect.ToServer, ping)
		hs.d.Feed(&hs.ctx, dissect.ToClient, pong)
	})
	if allocs != 0 {
		t.Errorf("allocations per exchange: %v", allocs)
	}
	if n.tx != 4*1001 {
		t.Errorf("transactions: %d", n.tx)
	}
}

func BenchmarkMQTTPublish(b *testing.B) {
	d := newDissector()
	flow := dissect.Flow{ID: 1, Transport: dissect.TransportTCP}
	var n nullEmitter
	ctx := dissect.Context{Flow: &flow, Time: time.Unix(1700000000, 0), Emit: &n}
	pub, ack := h(b, publishQoS1), h(b, puback7)
	b.ReportAllocs()
	b.SetBytes(int64(len(pub) + len(ack)))
	b.ResetTimer()
	for range b.N {
		d.Feed(&ctx, dissect.ToServer, pub)
		d.Feed(&ctx, dissect.ToClient, ack)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/PDU")
}
