package goose

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Fixtures: frames from the APPID on.
const (
	// f650FirstFrame: GOOSE.pcap frame 1, GE F650 relay, stNum 1 sqNum 10, 8 entries.
	f650FirstFrame = "0001009100000000618186801a4745446576696365463635302f4c4c4e3024474f2467636230318103009c4082184745446576696365463635302f4c4c4e3024474f4f534531830b463635305f474f4f5345318408386ebbf34217280a85010186010a8701008801018901008a0108ab208301008403030000830100840303000083010084030300008301008403030000"
	// f650Restart: GOOSE.pcap frame 4, same control block, stNum 1 sqNum 1 (publisher restart).
	f650Restart = "0001009000000000618185801a4745446576696365463635302f4c4c4e3024474f246763623031810203e882184745446576696365463635302f4c4c4e3024474f4f534531830b463635305f474f4f5345318408386ebc41ed76ec0a8501018601018701008801018901008a0108ab208301008403030000830100840303000083010084030300008301008403030000"
	// demoFrame: GOOSE_DEMO.pcap, gocbRef "111", integers with leading zero octets, 10 booleans.
	demoFrame = "2000006c0000000061628003313131810500000027108203323232830333333384084ddda51adbe76d008505000000000186050000000001870100880500000000018901008a05000000000aab1e830100830100830100830100830100830100830100830100830100830100"
)

func TestRealFrames(t *testing.T) {
	r := feed(New(), []timed{{0, unhex(t, f650FirstFrame)}, {10 * time.Second, unhex(t, f650Restart)}})
	if len(r.Transactions) != 2 {
		t.Fatalf("transactions:\n%s", strings.Join(r.Lines, "\n"))
	}
	first := &r.Transactions[0]
	if first.FuncName != "FirstSeen" || first.Op != dissect.OpNotify || first.Unit != 1 || !first.HasUnit {
		t.Errorf("first = %+v", first)
	}
	for k, want := range map[string]uint64{"st_num": 1, "sq_num": 10, "conf_rev": 1, "ttl_ms": 40000, "entries": 8,
		"booleans": 4, "bit_strings": 4} {
		if got, _ := attrNum(first, k); got != want {
			t.Errorf("%s = %d, want %d", k, got, want)
		}
	}
	if attrStr(first, "gocb_ref") != "GEDeviceF650/LLN0$GO$gcb01" || attrStr(first, "dataset") != "GEDeviceF650/LLN0$GOOSE1" ||
		attrStr(first, "go_id") != "F650_GOOSE1" {
		t.Errorf("strings: %s", r.Lines)
	}
	if len(r.Hints) != 1 || r.Hints[0].Name != "GEDeviceF650" || r.Hints[0].Role != dissect.RoleController ||
		r.Hints[0].MAC != testFlow.Client.MAC {
		t.Errorf("hints = %+v", r.Hints)
	}
	reset := &r.Transactions[1]
	if n, _ := attrNum(reset, "reset"); reset.FuncName != "SequenceReset" || n != 1 {
		t.Errorf("reset = %s", r.Lines)
	}
	if got := reasons(r); !slices.Equal(got, []string{"out_of_spec: GOOSE sqNum decreased without a state change (restart, reordering or replay) @2"}) {
		t.Errorf("violations = %q", got)
	}
	if r.Fields["goose_gocb_ref"]["GEDeviceF650/LLN0$GO$gcb01"] != 2 {
		t.Errorf("fields = %v", r.Fields)
	}

	r = feed(New(), []timed{{0, unhex(t, demoFrame)}})
	if len(r.Transactions) != 1 || len(r.Violations) != 0 {
		t.Fatalf("demo:\n%s", strings.Join(r.Lines, "\n"))
	}
	if n, _ := attrNum(&r.Transactions[0], "entries"); n != 10 || r.Transactions[0].Unit != 0x2000 {
		t.Errorf("demo = %s", r.Lines)
	}
}

func TestStateTracking(t *testing.T) {
	s := time.Second
	r := feed(New(), []timed{
		{0, gframe(5, 0).bytes()},
		{1 * s, gframe(5, 1).bytes()},
		{2 * s, gframe(5, 2).bytes()},
		{2 * s, gframe(5, 2).bytes()}, // duplicate
		{3 * s, gframe(5, 5).bytes()}, // two lost
		{4 * s, gframe(6, 0).bytes()}, // state change
		{5 * s, gframe(9, 0).bytes()}, // state change, two states missed
		{6 * s, gframe(9, 1).bytes()},
	})
	if got := reasons(r); len(got) != 0 {
		t.Fatalf("violations: %q", got)
	}
	var names []string
	for _, tx := range r.Transactions {
		names = append(names, tx.FuncName)
	}
	if !slices.Equal(names, []string{"FirstSeen", "StateChange", "StateChange", "Retransmissions"}) {
		t.Fatalf("transactions:\n%s", strings.Join(r.Lines, "\n"))
	}
	sc := &r.Transactions[1]
	for k, want := range map[string]uint64{"state_change": 1, "st_num": 6, "sq_num": 0, "retransmissions": 3,
		"lost_frames": 2, "duplicates": 1} {
		if got, _ := attrNum(sc, k); got != want {
			t.Errorf("state change %s = %d, want %d", k, got, want)
		}
	}
	if got, _ := attrNum(&r.Transactions[2], "missed_states"); got != 2 {
		t.Errorf("missed_states = %d", got)
	}
	if got, _ := attrNum(&r.Transactions[3], "retransmissions"); got != 1 {
		t.Errorf("end summary retransmissions = %d", got)
	}
}

func TestAnomalies(t *testing.T) {
	s := time.Second
	changed := gframe(5, 1)
	changed.data = defaultData(1)
	sim := gframe(6, 0)
	sim.sim = true
	sim2 := gframe(6, 1)
	sim2.sim = true
	conf := gframe(7, 0)
	conf.conf = 2
	layout := gframe(8, 0)
	layout.conf = 2
	layout.data = enc(kindBoolean, []byte{0})
	wrongCount := gframe(9, 0)
	wrongCount.conf, wrongCount.data, wrongCount.entries = 2, layout.data, 5
	nds := gframe(10, 0)
	nds.conf, nds.data, nds.nds = 2, layout.data, true
	cases := []struct {
		name   string
		frames []timed
		want   []string
	}{
		{"data changed without stNum", []timed{{0, gframe(5, 0).bytes()}, {s, changed.bytes()}},
			[]string{"out_of_spec: GOOSE allData changed without a stNum increment @2"}},
		{"simulation reported once", []timed{{0, gframe(5, 0).bytes()}, {s, sim.bytes()}, {s, sim2.bytes()}},
			[]string{"out_of_spec: GOOSE test/simulation flag set @2"}},
		{"confRev change", []timed{{0, gframe(5, 0).bytes()}, {s, conf.bytes()}},
			[]string{"out_of_spec: GOOSE confRev changed: data set configuration changed @2"}},
		{"layout change", []timed{{0, conf.bytes()}, {s, layout.bytes()}},
			[]string{"out_of_spec: allData layout changed without a confRev change @2"}},
		{"entries mismatch", []timed{{0, wrongCount.bytes()}},
			[]string{"out_of_spec: numDatSetEntries differs from the number of allData elements @1"}},
		{"ndsCom", []timed{{0, nds.bytes()}},
			[]string{"out_of_spec: GOOSE ndsCom set: control block needs commissioning @1"}},
		{"stNum backwards", []timed{{0, gframe(5, 0).bytes()}, {s, gframe(3, 0).bytes()}},
			[]string{"out_of_spec: GOOSE stNum decreased (restart, reordering or replay) @2"}},
		{"sqNum not reset", []timed{{0, gframe(5, 0).bytes()}, {s, gframe(6, 4).bytes()}},
			[]string{"out_of_spec: GOOSE sqNum not reset on a state change @2"}},
		{"late frame", []timed{{0, gframe(5, 0).bytes()}, {3 * s, gframe(5, 1).bytes()}},
			[]string{"out_of_spec: GOOSE frame later than the previous timeAllowedtoLive @2"}},
		{"stNum wraps", []timed{{0, gframe(1<<32-1, 0).bytes()}, {s, gframe(1, 0).bytes()}}, nil},
		{"sqNum wraps", []timed{{0, gframe(4, 1<<32-1).bytes()}, {s, gframe(4, 1).bytes()}}, nil},
		{"APPID out of range", []timed{{0, frame{appID: 0x4001, ref: "X/LLN0$GO$g", ttl: 100, st: 1, conf: 1, entries: -1}.bytes()}},
			[]string{"out_of_spec: APPID outside the GOOSE range 0x0000-0x3FFF @1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := feed(New(), c.frames)
			if got := reasons(r); !slices.Equal(got, c.want) {
				t.Errorf("violations = %q, want %q\n%s", got, c.want, strings.Join(r.Lines, "\n"))
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	good := gframe(1, 0).bytes()
	unknownField := append([]byte(nil), good...)
	unknownField[10] = 0x9F // first field tag: multi-byte tag
	outOfOrder := frame{appID: 1, ref: "A", ttl: 1, st: 1, conf: 1, entries: -1}.bytes()
	// swap gocbRef (0x80) tag for stNum's (0x85): stNum then timeAllowedtoLive is out of order
	outOfOrder[10] = 0x85
	badData := gframe(1, 0)
	badData.data = []byte{0x83, 0x02, 0, 0}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{0, 1, 0, 8}, "malformed: frame shorter than the GOOSE header @1"},
		{"length too big", frame{appID: 1, ref: "A", ttl: 1, st: 1, conf: 1, entries: -1, lengthDelta: 40}.bytes(),
			"bad_length: GOOSE length field disagrees with the frame @1"},
		{"not goosePdu", []byte{0, 1, 0, 12, 0, 0, 0, 0, 0x62, 2, 0, 0}, "malformed: not a goosePdu (tag 0x61) @1"},
		{"truncated", good[:len(good)-5], "bad_length: GOOSE length field disagrees with the frame @1"},
		{"indefinite length", []byte{0, 1, 0, 12, 0, 0, 0, 0, 0x61, 0x80, 0, 0}, "malformed: invalid BER header of the goosePdu @1"},
		{"missing datSet", frame{appID: 1, ref: "A", ttl: 1, st: 1, conf: 1, entries: -1, skipMandatory: true}.bytes(),
			"malformed: goosePdu lacks a mandatory field @1"},
		{"multi-byte tag", unknownField, "malformed: invalid BER header in the goosePdu @1"},
		{"out of order", outOfOrder, "malformed: unknown or out-of-order goosePdu field @1"},
		{"bad boolean", badData.bytes(), "malformed: malformed Data element in allData @1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := feed(New(), []timed{{0, c.data}})
			if got := reasons(r); len(got) == 0 || got[0] != c.want {
				t.Errorf("violations = %q, want first %q", got, c.want)
			}
		})
	}
	// Ethernet padding after the PDU is not an error.
	padded := gframe(1, 0)
	padded.pad = 20
	if r := feed(New(), []timed{{0, padded.bytes()}}); len(r.Violations) != 0 || len(r.Transactions) != 1 {
		t.Errorf("padded frame: %s", r.Lines)
	}
}

func TestIEDName(t *testing.T) {
	for ref, want := range map[string]string{
		"AA1C1Q01A1LD0/LLN0$GO$gcb_A": "AA1C1Q01A1",
		"GEDeviceF650/LLN0$GO$gcb01":  "GEDeviceF650",
		"111":                         "111",
		"LD0/LLN0$GO$x":               "LD0",
		"IED7LD12/LLN0$GO$x":          "IED7",
	} {
		if got := string(iedName([]byte(ref))); got != want {
			t.Errorf("iedName(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestManyControlBlocks(t *testing.T) {
	// More control blocks than slots: each new one is reported, the table
	// stays bounded and the oldest is forgotten.
	var frames []timed
	for i := 0; i < maxCB+3; i++ {
		f := gframe(1, 0)
		f.ref = "IED/LLN0$GO$cb" + string(rune('a'+i))
		frames = append(frames, timed{time.Duration(i) * time.Millisecond, f.bytes()})
	}
	r := feed(New(), frames)
	if len(r.Transactions) != maxCB+3 || len(r.Hints) != maxCB+3 {
		t.Errorf("%d transactions, %d hints", len(r.Transactions), len(r.Hints))
	}
}
