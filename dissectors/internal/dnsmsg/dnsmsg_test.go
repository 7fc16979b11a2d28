package dnsmsg

import (
	"encoding/hex"
	"testing"
)

const (
	question = "03777777076578616d706c6503636f6d00" + "00010001"
	// Response: www.example.com A 93.184.216.34, authority NS ns.example.com
	// (compressed into the question), additional OPT.
	response = "abcd81800001000100010001" + question +
		"c00c000100010000012c00045db8d822" +
		"c010000200010000012c0005026e73c010" +
		"0000291000000000000000"
	selfPointer  = "abcd01000001000000000000" + "c00c00010001"
	forwardChain = "abcd81800001000100000000" + question + "c021000100010000012c00045db8d822" // answer name points at itself
	rootQuery    = "abcd01000001000000000000" + "00" + "00020001"
	extLabel     = "abcd01000001000000000000" + "4100" + "00010001"
)

func h(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestWalk(t *testing.T) {
	msg := h(t, response)
	var r Reader
	if !r.Reset(msg) || !r.Header.Response() || r.Header.RCode() != 0 || r.Header.Opcode() != 0 || r.Header.ID != 0xabcd {
		t.Fatalf("header %+v", r.Header)
	}
	var q Question
	if !r.NextQuestion(&q) || q.Type != TypeA || q.Class != 1 {
		t.Fatalf("question %+v", q)
	}
	if n, ok := AppendName(nil, msg, q.NameOff); !ok || string(n) != "www.example.com" {
		t.Errorf("question name %q", n)
	}
	var rr RR
	var got []string
	for r.NextRR(&rr) {
		n, ok := AppendName(nil, msg, rr.NameOff)
		if !ok {
			t.Fatalf("rr name at %d", rr.NameOff)
		}
		got = append(got, string(n))
		switch rr.Type {
		case TypeA:
			if rr.Section != SectionAnswer || hex.EncodeToString(rr.Data) != "5db8d822" || rr.TTL != 300 {
				t.Errorf("A %+v", rr)
			}
		case TypeNS:
			if ns, ok := AppendName(nil, msg, rr.DataOff); !ok || string(ns) != "ns.example.com" || rr.Section != SectionAuthority {
				t.Errorf("NS %q %+v", ns, rr)
			}
		case TypeOPT:
			if rr.Section != SectionAdditional {
				t.Errorf("OPT %+v", rr)
			}
		}
	}
	if r.Err != ErrNone || len(got) != 3 || got[0] != "www.example.com" || got[1] != "example.com" || got[2] != "<Root>" {
		t.Errorf("records %q err %d", got, r.Err)
	}
	if !EqualFoldName(msg, 12, "WWW.Example.COM") || EqualFoldName(msg, 12, "www.example.org") {
		t.Error("EqualFoldName")
	}
}

func TestMalformed(t *testing.T) {
	var r Reader
	if r.Reset([]byte{1, 2, 3}) || r.Err != ErrShort {
		t.Error("short header accepted")
	}
	msg := h(t, selfPointer)
	r.Reset(msg)
	var q Question
	if !r.NextQuestion(&q) {
		t.Fatal("pointer question not walked")
	}
	if _, ok := AppendName(nil, msg, q.NameOff); ok {
		t.Error("self pointer decoded")
	}
	msg = h(t, forwardChain)
	r.Reset(msg)
	var rr RR
	if !r.NextRR(&rr) {
		t.Fatal("rr not walked")
	}
	if _, ok := AppendName(nil, msg, rr.NameOff); ok {
		t.Error("pointer loop decoded")
	}
	msg = h(t, rootQuery)
	r.Reset(msg)
	if !r.NextQuestion(&q) {
		t.Fatal("root question")
	}
	if n, ok := AppendName(nil, msg, q.NameOff); !ok || string(n) != "<Root>" {
		t.Errorf("root %q", n)
	}
	r.Reset(h(t, extLabel))
	if r.NextQuestion(&q) || r.Err != ErrName {
		t.Errorf("extended label: err %d", r.Err)
	}
	// Every truncation of a valid response fails cleanly.
	full := h(t, response)
	for n := HeaderLen; n < len(full); n++ {
		r.Reset(full[:n])
		for r.NextRR(&rr) {
		}
		if r.Err == ErrNone {
			t.Errorf("truncated to %d: no error", n)
		}
	}
	if _, _, ok := CharString([]byte{5, 'a'}); ok {
		t.Error("short character-string accepted")
	}
	rr = RR{Data: []byte{0, 1, 0, 2, 0, 80}}
	if _, _, _, _, ok := rr.SRV(); ok {
		t.Error("SRV without target accepted")
	}
}

func TestNames(t *testing.T) {
	if RCodeName(3) != "NXDomain" || RCodeName(200) != "Unassigned" || OpcodeName(5) != "UPDATE" || OpcodeName(9) != "Unassigned" {
		t.Error("mnemonics")
	}
	// A name longer than 255 bytes is refused.
	var long []byte
	for range 5 {
		long = append(long, 63)
		long = append(long, make([]byte, 63)...)
	}
	long = append(long, 0)
	if _, ok := AppendName(nil, long, 0); ok {
		t.Error("320-byte name accepted")
	}
}

func TestAllocs(t *testing.T) {
	msg := h(t, response)
	var buf [MaxName + 8]byte
	allocs := testing.AllocsPerRun(1000, func() {
		var r Reader
		r.Reset(msg)
		var q Question
		for r.NextQuestion(&q) {
			AppendName(buf[:0], msg, q.NameOff)
		}
		var rr RR
		for r.NextRR(&rr) {
			AppendName(buf[:0], msg, rr.NameOff)
		}
	})
	if allocs != 0 {
		t.Errorf("allocations per message: %v", allocs)
	}
}

func BenchmarkWalk(b *testing.B) {
	msg := h(b, response)
	var buf [MaxName + 8]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		var r Reader
		r.Reset(msg)
		var rr RR
		for r.NextRR(&rr) {
			AppendName(buf[:0], msg, rr.NameOff)
		}
	}
}

func FuzzWalk(f *testing.F) {
	for _, s := range []string{response, selfPointer, forwardChain, rootQuery, extLabel} {
		f.Add(h(f, s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var r Reader
		if !r.Reset(msg) {
			return
		}
		var q Question
		for r.NextQuestion(&q) {
			if n, ok := AppendName(nil, msg, q.NameOff); ok && len(n) > MaxName+8 {
				t.Fatalf("name of %d bytes", len(n))
			}
		}
		var rr RR
		for r.NextRR(&rr) {
			AppendName(nil, msg, rr.NameOff)
			AppendName(nil, msg, rr.DataOff)
			rr.SRV()
			CharString(rr.Data)
			if rr.DataOff+len(rr.Data) > len(msg) {
				t.Fatal("RDATA out of the message")
			}
		}
	})
}
