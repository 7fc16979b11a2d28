package syslog

import (
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// A UDP RFC 5424 message with structured data, a BSD message, and an
// octet-counted TCP chunk with two messages: the common paths.
func perfInputs() [][]byte {
	return [][]byte{[]byte(rfc5424SD), []byte(bsdSu), []byte(octetFrame(bsdIPHost) + octetFrame(rfc5424Nil))}
}

func TestZeroAllocs(t *testing.T) {
	in := perfInputs()
	em := &nullEmitter{}
	ctxU := &dissect.Context{Flow: testFlow(dissect.TransportUDP), Time: t0, Emit: em}
	ctxT := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Time: t0, Emit: em}
	du, dt := newDissector(), newDissector()
	run := func() {
		du.Feed(ctxU, dissect.ToServer, in[0])
		du.Feed(ctxU, dissect.ToServer, in[1])
		dt.Feed(ctxT, dissect.ToServer, in[2])
	}
	run() // first messages emit the hints, which may allocate
	du.Feed(ctxU, dissect.ToServer, in[0])
	if n := testing.AllocsPerRun(200, func() {
		du.Feed(ctxU, dissect.ToServer, in[0])
		du.Feed(ctxU, dissect.ToServer, in[0])
		dt.Feed(ctxT, dissect.ToServer, in[2])
	}); n != 0 {
		t.Errorf("%v allocations per message batch, want 0", n)
	}
}

func BenchmarkSyslog(b *testing.B) {
	in := perfInputs()
	em := &nullEmitter{}
	ctxU := &dissect.Context{Flow: testFlow(dissect.TransportUDP), Time: t0, Emit: em}
	ctxT := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Time: t0, Emit: em}
	du, dt := newDissector(), newDissector()
	b.Run("udp-5424", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in[0])))
		for i := 0; i < b.N; i++ {
			du.Feed(ctxU, dissect.ToServer, in[0])
		}
	})
	b.Run("udp-3164", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in[1])))
		for i := 0; i < b.N; i++ {
			du.Feed(ctxU, dissect.ToServer, in[1])
		}
	})
	b.Run("tcp-octet-2msgs", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in[2])))
		for i := 0; i < b.N; i++ {
			dt.Feed(ctxT, dissect.ToServer, in[2])
		}
	})
}
