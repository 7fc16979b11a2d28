package app

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otwatch/otwatch/sensor/capture"
)

// iface is one capture interface (or the replayed captures) and its
// health.
type iface struct {
	name, kind string
	srcs       []capture.Source
	last       atomic.Int64 // packet time of the last packet, UnixNano
	done       atomic.Bool  // the source ended (replay without loop)
	pps        atomic.Uint64

	// Owned by the Run goroutine.
	prevPackets uint64
	prevAt      time.Time
}

// stats sums the counters of the interface's sockets.
func (f *iface) stats() capture.Stats {
	var s capture.Stats
	for _, src := range f.srcs {
		x := src.Stats()
		s.Packets += x.Packets
		s.Bytes += x.Bytes
		s.KernelDrops += x.KernelDrops
		s.IfaceDrops += x.IfaceDrops
		s.QueueFreezes += x.QueueFreezes
		s.Errors += x.Errors
	}
	return s
}

func (f *iface) lastPacket() time.Time {
	if n := f.last.Load(); n != 0 {
		return time.Unix(0, n).UTC()
	}
	return time.Time{}
}

func (f *iface) close() {
	for _, s := range f.srcs {
		s.Close()
	}
}

// stop ends the reads of the interface's sources: those that can stop
// without freeing the memory of the last packet (AF_PACKET rings) are
// stopped, the others (files, replays: they copy) closed. The caller closes
// everything once the workers are done.
func (f *iface) stop() {
	for _, s := range f.srcs {
		if st, ok := s.(capture.Stopper); ok {
			st.Stop()
		} else {
			s.Close()
		}
	}
}

// tracked wraps a source to record its interface's last packet time.
type tracked struct {
	capture.Source
	ifc *iface
}

// Next implements capture.Source.
func (t *tracked) Next(p *capture.Packet) error {
	err := t.Source.Next(p)
	if err == nil {
		t.ifc.last.Store(p.Timestamp.UnixNano())
	} else if errors.Is(err, io.EOF) {
		t.ifc.done.Store(true)
	}
	return err
}

// replayGap separates two loops of a replay in packet time.
const replayGap = 100 * time.Millisecond

// replaySource replays capture files one after the other (each in its
// own timestamp order), paced at speed times capture speed (speed <= 0:
// unpaced), in a loop when asked. Timestamps are rebased onto the clock at
// the start, and each file (each loop) continues shortly after the previous
// one, so the packet time it delivers never goes back and unrelated
// captures play back to back. When paced, packet time follows the clock
// (at speed 2 the replay's minutes pass in 30 s of packet time).
type replaySource struct {
	paths []string
	loop  bool
	speed float64
	now   func() time.Time

	closeOnce sync.Once
	closed    chan struct{}

	// Owned by the reading goroutine.
	idx      int // the file being read
	cur      capture.Source
	started  bool
	wall0    time.Time     // clock at the first packet
	offset   time.Duration // from capture time to the replay's timeline
	newLoop  bool
	lastVirt time.Time // latest time on the replay's timeline
	lastOut  time.Time // latest packet time delivered
	timer    *time.Timer

	packets, bytes, loops, errs atomic.Uint64
}

// newReplaySource opens the files once to check them.
func newReplaySource(paths []string, loop bool, speed float64, now func() time.Time) (*replaySource, error) {
	for _, p := range paths {
		src, err := capture.OpenFiles([]string{p}, capture.FileOptions{})
		if err != nil {
			return nil, fmt.Errorf("app: replay: %w", err)
		}
		src.Close()
	}
	return &replaySource{paths: paths, loop: loop, speed: speed, now: now, closed: make(chan struct{})}, nil
}

// nextFile moves to the next file; it reports false at the end of the
// last one without Loop.
func (r *replaySource) nextFile() bool {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
	r.newLoop = true
	r.idx++
	if r.idx < len(r.paths) {
		return true
	}
	r.idx = 0
	if !r.loop || r.packets.Load() == 0 {
		return false
	}
	r.loops.Add(1)
	return true
}

// Next implements capture.Source.
func (r *replaySource) Next(p *capture.Packet) error {
	for {
		select {
		case <-r.closed:
			r.release()
			return capture.ErrClosed
		default:
		}
		if r.cur == nil {
			src, err := capture.OpenFiles(r.paths[r.idx:r.idx+1], capture.FileOptions{})
			if err != nil {
				r.errs.Add(1)
				return fmt.Errorf("app: replay: %w", err)
			}
			r.cur = src
		}
		err := r.cur.Next(p)
		if errors.Is(err, io.EOF) {
			if !r.nextFile() {
				return io.EOF
			}
			continue
		}
		if err != nil {
			r.errs.Add(1)
			var fe *capture.FileError
			if errors.As(err, &fe) {
				// A damaged file ends early; the replay goes on with the
				// next one.
				if !r.nextFile() {
					return err
				}
				continue
			}
			return err
		}
		// v is the packet's time on the replay's own timeline: rebased
		// onto the clock, each loop after the previous one.
		ts := p.Timestamp
		switch {
		case !r.started:
			r.started = true
			r.wall0 = r.now()
			r.offset = r.wall0.Sub(ts)
		case r.newLoop:
			r.newLoop = false
			r.offset = r.lastVirt.Add(replayGap).Sub(ts)
		}
		v := ts.Add(r.offset)
		if v.After(r.lastVirt) {
			r.lastVirt = v
		}
		ts = v
		if r.speed > 0 {
			// Packet time follows the clock: the replay's elapsed time
			// divided by the speed.
			ts = r.wall0.Add(time.Duration(float64(v.Sub(r.wall0)) / r.speed))
			if err := r.sleepUntil(ts); err != nil {
				return err
			}
		}
		if ts.Before(r.lastOut) {
			ts = r.lastOut
		}
		r.lastOut = ts
		p.Timestamp = ts.UTC()
		r.packets.Add(1)
		r.bytes.Add(uint64(len(p.Data)))
		return nil
	}
}

// sleepUntil waits until the clock reaches t, or the source is closed.
func (r *replaySource) sleepUntil(t time.Time) error {
	d := t.Sub(r.now())
	if d <= 0 {
		return nil
	}
	d = time.Duration(math.Min(float64(d), float64(time.Hour)))
	if r.timer == nil {
		r.timer = time.NewTimer(d)
	} else {
		r.timer.Reset(d)
	}
	select {
	case <-r.timer.C:
		return nil
	case <-r.closed:
		r.timer.Stop()
		r.release()
		return capture.ErrClosed
	}
}

func (r *replaySource) release() {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
}

// Stats implements capture.Source.
func (r *replaySource) Stats() capture.Stats {
	return capture.Stats{Packets: r.packets.Load(), Bytes: r.bytes.Load(), Errors: r.errs.Load()}
}

// Loops returns how many times the replay started over.
func (r *replaySource) Loops() uint64 { return r.loops.Load() }

// Close implements capture.Source: a Next in progress (or sleeping) returns
// capture.ErrClosed.
func (r *replaySource) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	return nil
}
