package ber

import (
	"encoding/hex"
	"testing"
)

func unhex(tb testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestRead(t *testing.T) {
	cases := []struct {
		hex         string
		ok          bool
		class       uint8
		constructed bool
		tag         uint32
		value       string
		rest        int
	}{
		{"020101ff", true, ClassUniversal, false, TagInteger, "01", 1},
		{"3003020100", true, ClassUniversal, true, TagSequence, "020100", 0},
		{"a0820003010203", true, ClassContext, true, 0, "010203", 0},
		{"5f8101020a0b", true, ClassApplication, false, 129, "0a0b", 0},
		{"0481", false, 0, false, 0, "", 0},     // long form with no length octets
		{"0480", false, 0, false, 0, "", 0},     // indefinite
		{"0403aabb", false, 0, false, 0, "", 0}, // value past the end
		{"04850000000001", false, 0, false, 0, "", 0},
		{"1f", false, 0, false, 0, "", 0},
		{"1fff", false, 0, false, 0, "", 0},
	}
	for _, c := range cases {
		tlv, rest, ok := Read(unhex(t, c.hex))
		if ok != c.ok {
			t.Errorf("%s: ok %v", c.hex, ok)
			continue
		}
		if !ok {
			continue
		}
		if tlv.Class != c.class || tlv.Constructed != c.constructed || tlv.Tag != c.tag ||
			hex.EncodeToString(tlv.Value) != c.value || len(rest) != c.rest {
			t.Errorf("%s: %+v rest %d", c.hex, tlv, len(rest))
		}
	}
}

func TestLength(t *testing.T) {
	for h, want := range map[string]int{"30": 0, "3003": 5, "308200": 0, "30820100": 260, "3080": -1, "3085": -1,
		"1f81": 0, "1f0105": 8, "1f8080808001": -1} {
		if got := Length(unhex(t, h)); got != want {
			t.Errorf("Length(%s) = %d, want %d", h, got, want)
		}
	}
}

func TestInt(t *testing.T) {
	for h, want := range map[string]int64{"00": 0, "7f": 127, "ff": -1, "0080": 128, "ff7f": -129,
		"6c4e552d": 1817072941} {
		if got, ok := Int(unhex(t, h)); !ok || got != want {
			t.Errorf("Int(%s) = %d %v, want %d", h, got, ok, want)
		}
	}
	if _, ok := Int(nil); ok {
		t.Error("empty INTEGER accepted")
	}
	if u, ok := Uint(unhex(t, "00ffffffffffffffff")); !ok || u != 1<<64-1 {
		t.Errorf("Uint: %d %v", u, ok)
	}
}

func TestAppendOID(t *testing.T) {
	var buf [64]byte
	for h, want := range map[string]string{"2b06010201010100": "1.3.6.1.2.1.1.1.0", "2b0601040181c06e": "1.3.6.1.4.1.24686",
		"8837": "2.999", "00": "0.0"} {
		got, ok := AppendOID(buf[:0], unhex(t, h))
		if !ok || string(got) != want {
			t.Errorf("AppendOID(%s) = %q %v, want %q", h, got, ok, want)
		}
	}
	for _, h := range []string{"", "2b86", "2bffffffffffffffffff01"} {
		if _, ok := AppendOID(buf[:0], unhex(t, h)); ok {
			t.Errorf("AppendOID(%s) accepted", h)
		}
	}
	if _, ok := AppendOID(buf[:0:4], unhex(t, "2b06010201010100")); ok {
		t.Error("overflowing buffer accepted")
	}
}

func TestZeroAllocs(t *testing.T) {
	msg := unhex(t, "302602010104067075626c6963a01902046c4e6c2d020100020100300b300906052b060102010500")
	var buf [64]byte
	n := testing.AllocsPerRun(100, func() {
		tlv, _, _ := Read(msg)
		_, _, _ = Read(tlv.Value)
		_, _ = AppendOID(buf[:0], msg[len(msg)-7:len(msg)-2])
		_ = Length(msg)
	})
	if n != 0 {
		t.Errorf("%.1f allocations", n)
	}
}

func BenchmarkRead(b *testing.B) {
	msg := unhex(b, "302602010104067075626c6963a01902046c4e6c2d020100020100300b300906052b060102010500")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		v := msg
		for len(v) > 0 {
			tlv, rest, ok := Read(v)
			if !ok {
				break
			}
			if tlv.Constructed {
				rest = tlv.Value
			}
			v = rest
		}
	}
}

func FuzzBER(f *testing.F) {
	f.Add(unhex(f, "302602010104067075626c6963a01902046c4e6c2d020100020100300b300906052b060102010500"))
	f.Add(unhex(f, "5f8101020a0b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf [32]byte
		Length(data)
		Int(data)
		Uint(data)
		AppendOID(buf[:0], data)
		v := data
		for len(v) > 0 {
			tlv, rest, ok := Read(v)
			if !ok {
				return
			}
			if tlv.HeaderLen+len(tlv.Value)+len(rest) != len(v) {
				t.Fatalf("lengths do not add up")
			}
			if Length(v) != tlv.HeaderLen+len(tlv.Value) {
				t.Fatalf("Length %d, Read %d", Length(v), tlv.HeaderLen+len(tlv.Value))
			}
			v = rest
		}
	})
}
