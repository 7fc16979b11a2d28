//go:build linux

package scenario

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/otwatch/otwatch/sensor/capture"
)

// Recorder timing defaults.
const (
	// DefaultQuiet is how long Stop waits without a new packet before it
	// ends the capture, so that the last answers land in the file.
	DefaultQuiet = 300 * time.Millisecond
	// MaxDrain bounds the wait for a quiet period: a scenario that keeps
	// sending (a retransmitting socket left open) is cut after it.
	MaxDrain = 5 * time.Second
	// recordSnaplen is the snap length in the file header; the veth MTU is
	// 9000, so frames are never truncated.
	recordSnaplen = 65535
)

// RecordStats count one recording.
type RecordStats struct {
	// Packets and Bytes count the frames written to the file.
	Packets, Bytes uint64
	// KernelDrops counts frames the capture ring lost (the kernel's
	// tp_drops); it must be 0 for a faithful recording.
	KernelDrops uint64
	// Duration is the time from Record to Stop.
	Duration time.Duration
}

// Recorder captures the host end of the pair with the sensor's AF_PACKET
// source (TPACKET_V3, both directions) and writes every frame to a pcap file
// with nanosecond timestamps.
type Recorder struct {
	path    string
	src     capture.Source
	f       *os.File
	bw      *bufio.Writer
	start   time.Time
	packets atomic.Uint64
	bytes   atomic.Uint64
	done    chan struct{}
	werr    error // first write error, read after done
	stop    sync.Once
	stats   RecordStats
	err     error
}

// Record starts capturing on the host end into a new pcap file at path.
// Stop ends it.
func (n *Net) Record(path string) (*Recorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: record: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(recordSnaplen, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return nil, fmt.Errorf("scenario: record %s: %w", path, err)
	}
	srcs, err := capture.OpenAFPacket(n.Pair.Host, 1, capture.AFPacketOptions{
		BlockSize:    1 << 20,
		NumBlocks:    16,
		BlockTimeout: 10 * time.Millisecond,
		PollTimeout:  50 * time.Millisecond,
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("scenario: record %s: %w", path, err)
	}
	r := &Recorder{path: path, src: srcs[0], f: f, bw: bw, start: time.Now(), done: make(chan struct{})}
	go r.loop(w)
	return r, nil
}

// loop copies packets from the source to the file until the source closes.
func (r *Recorder) loop(w *pcapgo.Writer) {
	defer close(r.done)
	var p capture.Packet
	for {
		if err := r.src.Next(&p); err != nil {
			if !errors.Is(err, capture.ErrClosed) {
				r.werr = err
			}
			return
		}
		if r.werr != nil {
			continue // keep draining so that Stop's quiet period ends
		}
		if p.LinkType != capture.LinkEthernet {
			r.werr = fmt.Errorf("scenario: record %s: link type %v, want Ethernet", r.path, p.LinkType)
			continue
		}
		ci := gopacket.CaptureInfo{Timestamp: p.Timestamp, CaptureLength: len(p.Data), Length: p.Length}
		if err := w.WritePacket(ci, p.Data); err != nil {
			r.werr = fmt.Errorf("scenario: record %s: %w", r.path, err)
			continue
		}
		r.bytes.Add(uint64(len(p.Data)))
		r.packets.Add(1)
	}
}

// Packets returns the number of frames written so far.
func (r *Recorder) Packets() uint64 { return r.packets.Load() }

// Stop waits until no frame has arrived for quiet (DefaultQuiet when 0),
// at most MaxDrain, then ends the capture and closes the file. It is safe to
// call more than once; later calls return the first result.
func (r *Recorder) Stop(quiet time.Duration) (RecordStats, error) {
	r.stop.Do(func() {
		if quiet <= 0 {
			quiet = DefaultQuiet
		}
		deadline := time.Now().Add(MaxDrain)
		last, since := r.packets.Load(), time.Now()
		for time.Now().Before(deadline) {
			time.Sleep(quiet / 6)
			if c := r.packets.Load(); c != last {
				last, since = c, time.Now()
			} else if time.Since(since) >= quiet {
				break
			}
		}
		cerr := r.src.Close()
		<-r.done
		st := r.src.Stats()
		ferr := r.bw.Flush()
		if e := r.f.Close(); ferr == nil {
			ferr = e
		}
		r.stats = RecordStats{
			Packets:     r.packets.Load(),
			Bytes:       r.bytes.Load(),
			KernelDrops: st.KernelDrops,
			Duration:    time.Since(r.start),
		}
		r.err = errors.Join(r.werr, cerr, ferr)
		if r.err != nil {
			r.err = fmt.Errorf("scenario: record %s: %w", r.path, r.err)
		}
	})
	return r.stats, r.err
}

// Capture records the host end while fn runs and returns the path of the
// pcap file, <t.TempDir()>/<name>.pcap. After fn it waits for a quiet
// period (DefaultQuiet) so that the last answers are in the file. It fails
// the test when the capture fails, when the kernel dropped frames or when
// nothing was captured. fn runs on the test goroutine and may call t.Fatal
// (the capture is stopped on the way out).
func (n *Net) Capture(t testing.TB, name string, fn func()) string {
	t.Helper()
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator || r < ' ' {
			return '_'
		}
		return r
	}, name)
	path := filepath.Join(t.TempDir(), name+".pcap")
	r, err := n.Record(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(0) // on t.FailNow inside fn
	fn()
	st, err := r.Stop(0)
	if err != nil {
		t.Fatal(err)
	}
	if st.KernelDrops > 0 {
		t.Fatalf("scenario: capture %s: the kernel dropped %d frames", name, st.KernelDrops)
	}
	if st.Packets == 0 {
		t.Fatalf("scenario: capture %s: no packet captured on %s", name, n.Pair.Host)
	}
	t.Logf("scenario: capture %s: %d packets, %d bytes in %v -> %s", name, st.Packets, st.Bytes, st.Duration.Round(time.Millisecond), path)
	return path
}
