package snippet

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/otwatch/otwatch/sensor/decode"
)

// BenchmarkAdd adds frames of one size: ns/op is the cost per packet and
// MB/s the rate of captured bytes.
func BenchmarkAdd(b *testing.B) {
	for _, size := range []int{60, 1500} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			r := New(Config{})
			data := make([]byte, size)
			m := Meta{Time: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), LinkType: decode.LinkEthernet, WireLen: size,
				FlowID: 42, SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("10.0.0.2"),
				SrcMAC: [6]byte{0, 1, 2, 3, 4, 5}, DstMAC: [6]byte{0, 1, 2, 3, 4, 6}}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				m.FlowID++
				r.Add(&m, data)
			}
		})
	}
}

// BenchmarkAddPacket adds the decoded packets of a real capture as a
// pipeline sink does.
func BenchmarkAddPacket(b *testing.B) {
	frames := load(b, modbusPcap)
	pkts := decoded(frames)
	var size int64
	for _, f := range frames {
		size += int64(len(f.data))
	}
	r := New(Config{})
	b.SetBytes(size / int64(len(frames)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.AddPacket(&pkts[i], frames[i].flowID)
		if i++; i == len(pkts) {
			i = 0
		}
	}
}

func decoded(frames []frame) []decode.Packet {
	dec := decode.New(decode.Config{})
	out := make([]decode.Packet, len(frames))
	for i, f := range frames {
		dec.Decode(&out[i], f.link, f.data, f.wire, f.ts)
	}
	return out
}

// BenchmarkSnippet measures Snippet on a full default ring (4 MiB, 65,536
// entries) of real traffic: a busy flow or host (the scan stops after
// MaxPackets) and an absent one (the scan reads every entry: the worst
// case, as for a flow whose packets are few and old).
func BenchmarkSnippet(b *testing.B) {
	frames := load(b, modbusPcap)
	pkts := decoded(frames)
	r := New(Config{})
	// Fill the ring several times over; each pass gets fresh flow IDs.
	for pass := uint64(0); r.Stats.Bytes < 2*uint64(r.cfg.Bytes); pass++ {
		for i := range pkts {
			r.AddPacket(&pkts[i], frames[i].flowID+pass<<32)
		}
	}
	keep := r.Len()
	id, host, mac := busiest(frames)
	var last uint64
	for i := len(frames) - 1; i >= 0; i-- {
		if frames[i].flowID == id {
			last = frames[i].flowID
			break
		}
	}
	pass := (r.Stats.Packets - 1) / uint64(len(frames))
	for _, bc := range []struct {
		name string
		sel  Selector
	}{
		{"flow-busy", Selector{FlowID: last + pass<<32}},
		{"flow-absent", Selector{FlowID: 1 << 62}},
		{"host-busy", Selector{Host: host}},
		{"host-absent", Selector{Host: netip.MustParseAddr("192.0.2.1")}},
		{"mac-busy", Selector{MAC: mac}},
		{"mac-absent", Selector{MAC: [6]byte{2, 0, 0, 0, 0, 1}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = len(r.Snippet(bc.sel, 0))
			}
			b.ReportMetric(float64(keep), "entries")
			b.ReportMetric(float64(n), "file-bytes")
		})
	}
}
