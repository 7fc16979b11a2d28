package goose

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// svASDU encodes one ASDU with 8 INT32 samples and their quality.
func svASDU(id string, cnt uint16, conf uint32) []byte {
	var a []byte
	a = append(a, enc(0x80, []byte(id))...)
	a = append(a, enc(0x82, []byte{byte(cnt >> 8), byte(cnt)})...)
	a = append(a, enc(0x83, []byte{byte(conf >> 24), byte(conf >> 16), byte(conf >> 8), byte(conf)})...)
	a = append(a, enc(0x85, []byte{2})...)
	a = append(a, enc(0x87, make([]byte, 64))...)
	return enc(0x30, a)
}

// svFrame encodes an SV frame; noASDU < 0 means the real count.
func svFrame(appID uint16, sim bool, noASDU int, asdus ...[]byte) []byte {
	var seq []byte
	for _, a := range asdus {
		seq = append(seq, a...)
	}
	if noASDU < 0 {
		noASDU = len(asdus)
	}
	pdu := enc(0x60, append(encUint(0x80, uint64(noASDU)), enc(0xA2, seq)...))
	length := 8 + len(pdu)
	r1 := byte(0)
	if sim {
		r1 = 0x80
	}
	return append([]byte{byte(appID >> 8), byte(appID), byte(length >> 8), byte(length), r1, 0, 0, 0}, pdu...)
}

// svMergingUnit: one ASDU of stream "MU01" (hand-encoded per IEC 61850-9-2LE).
const svMergingUnit = "4000006600000000605c800101a257305580044d55303182020001830400000001850102874000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

func TestSampledValues(t *testing.T) {
	ms := time.Millisecond
	r := feed(NewSV(), []timed{
		{0, unhex(t, svMergingUnit)},
		{1 * ms, svFrame(0x4000, false, -1, svASDU("MU01", 2, 1))},
		{2 * ms, svFrame(0x4000, false, -1, svASDU("MU01", 3, 1), svASDU("MU01", 4, 1))},
		{3 * ms, svFrame(0x4000, false, -1, svASDU("MU01", 9, 1))}, // gap
		{4 * ms, svFrame(0x4000, false, -1, svASDU("MU01", 0, 1))}, // wrap
		{5 * ms, svFrame(0x4000, false, -1, svASDU("MU01", 1, 2))}, // confRev change
		{6 * ms, svFrame(0x4000, true, -1, svASDU("MU01", 2, 2))},  // simulation
		{7 * ms, svFrame(0x4000, false, -1, svASDU("MU01", 1, 2))}, // backwards
		{8 * ms, svFrame(0x4000, false, -1, svASDU("MU01", 2, 2))},
		{8 * ms, svFrame(0x4000, false, -1, svASDU("MU01", 1, 2))}, // backwards again: counted, not reported
		{9 * ms, svFrame(0x4000, false, 3, svASDU("MU01", 2, 2))},  // noASDU wrong
		{9 * ms, svFrame(0x0001, false, -1, svASDU("MU02", 0, 1))}, // second stream, APPID out of range
	})
	want := []string{
		"out_of_spec: SV confRev changed: data set configuration changed @6",
		"out_of_spec: SV simulation bit set @7",
		"out_of_spec: SV smpCnt went backwards (reordering or replay) @8",
		"malformed: noASDU differs from the number of ASDUs @11",
		"out_of_spec: APPID outside the SV range 0x4000-0x7FFF @12",
	}
	if got := reasons(r); !slices.Equal(got, want) {
		t.Errorf("violations = %q\nwant %q", got, want)
	}
	var names []string
	for _, tx := range r.Transactions {
		names = append(names, tx.FuncName+":"+attrStr(&tx, "sv_id"))
	}
	if !slices.Equal(names, []string{"FirstSeen:MU01", "FirstSeen:MU02", "Samples:MU01", "Samples:MU02"}) {
		t.Fatalf("transactions:\n%s", strings.Join(r.Lines, "\n"))
	}
	sum := &r.Transactions[2]
	for k, v := range map[string]uint64{"asdus": 12, "conf_rev": 2, "smp_cnt_gaps": 1, "smp_cnt_reorders": 2, "duration_ms": 9} {
		if got, _ := attrNum(sum, k); got != v {
			t.Errorf("summary %s = %d, want %d", k, got, v)
		}
	}
	if r.Fields["sv_id"]["MU01"] != 12 || len(r.Hints) != 2 || r.Hints[0].Role != dissect.RoleIODevice {
		t.Errorf("fields %v hints %+v", r.Fields, r.Hints)
	}
}

func TestSampledValuesMalformed(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{0x40, 0, 0, 8}, "malformed: frame shorter than the SV header @1"},
		{"length", []byte{0x40, 0, 0, 4, 0, 0, 0, 0}, "bad_length: SV length field disagrees with the frame @1"},
		{"not savPdu", []byte{0x40, 0, 0, 10, 0, 0, 0, 0, 0x61, 0}, "malformed: not a savPdu (tag 0x60) @1"},
		{"no seqASDU", []byte{0x40, 0, 0, 13, 0, 0, 0, 0, 0x60, 3, 0x80, 1, 1}, "malformed: savPdu lacks seqASDU @1"},
		{"bad ASDU", []byte{0x40, 0, 0, 17, 0, 0, 0, 0, 0x60, 7, 0x80, 1, 1, 0xA2, 2, 0x31, 0},
			"malformed: invalid ASDU in seqASDU @1"},
		{"ASDU without svID", []byte{0x40, 0, 0, 21, 0, 0, 0, 0, 0x60, 11, 0x80, 1, 1, 0xA2, 6, 0x30, 4, 0x82, 2, 0, 1},
			"malformed: ASDU lacks svID, smpCnt or confRev @1"},
		{"truncated", svFrame(0x4000, false, -1, svASDU("X", 1, 1))[:40], "bad_length: SV length field disagrees with the frame @1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := feed(NewSV(), []timed{{0, c.data}})
			if got := reasons(r); len(got) == 0 || got[0] != c.want {
				t.Errorf("violations = %q, want first %q", got, c.want)
			}
		})
	}
}
