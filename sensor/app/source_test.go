package app

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/otwatch/otwatch/sensor/capture"
)

func TestReplayLoopsContinueInTime(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	files := []string{pcap(t, "modbus/modicon_test.pcap"), pcap(t, "arp/arp.pcap")} // 191 + 6 packets, years apart
	r, err := newReplaySource(files, true, -1, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var p capture.Packet
	var last time.Time
	const perLoop = 197
	for i := 0; i < 3*perLoop; i++ {
		if err := r.Next(&p); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if i == 0 && !p.Timestamp.Equal(t0) {
			t.Fatalf("first packet at %v, want the clock's %v", p.Timestamp, t0)
		}
		if p.Timestamp.Before(last) {
			t.Fatalf("packet %d goes back in time: %v after %v", i, p.Timestamp, last)
		}
		if i%perLoop == 0 && i > 0 && p.Timestamp.Sub(last) < replayGap {
			t.Fatalf("loop %d starts %v after the previous one ended", i/perLoop, p.Timestamp.Sub(last))
		}
		last = p.Timestamp
	}
	if r.Loops() != 2 || r.Stats().Packets != 3*perLoop {
		t.Fatalf("loops %d, packets %d", r.Loops(), r.Stats().Packets)
	}
	// Three loops of ~0.77 s + ~10.1 s of capture, back to back.
	if span := last.Sub(t0); span < 3*10*time.Second || span > 3*12*time.Second {
		t.Fatalf("three loops span %v", span)
	}

	// Without Loop the replay ends.
	once, err := newReplaySource(files[1:], false, -1, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for err = once.Next(&p); err == nil; err = once.Next(&p) {
		n++
	}
	if !errors.Is(err, io.EOF) || n != 6 {
		t.Fatalf("one pass: %d packets, %v", n, err)
	}
}

func TestReplayPacedAndClosed(t *testing.T) {
	// arp.pcap: 6 packets over 10.1 s; at speed 50 they take 0.2 s, and
	// packet time follows the clock.
	r, err := newReplaySource([]string{pcap(t, "arp/arp.pcap")}, false, 50, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var p capture.Packet
	var first time.Time
	for i := 0; i < 6; i++ {
		if err := r.Next(&p); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = p.Timestamp
		}
		if lag := time.Since(start) - p.Timestamp.Sub(first); lag < -5*time.Millisecond || lag > 100*time.Millisecond {
			t.Fatalf("packet %d: packet time and clock differ by %v", i, lag)
		}
	}
	if el := time.Since(start); el < 180*time.Millisecond || el > 2*time.Second {
		t.Fatalf("6 packets over 10.1 s at speed 50 took %v", el)
	}

	// Close interrupts a replay waiting for its next packet.
	slow, err := newReplaySource([]string{pcap(t, "arp/arp.pcap")}, true, 0.001, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := slow.Next(&p); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- slow.Next(&p) }()
	time.Sleep(50 * time.Millisecond)
	slow.Close()
	select {
	case err := <-done:
		if !errors.Is(err, capture.ErrClosed) {
			t.Fatalf("Next after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not interrupt the wait")
	}
}
