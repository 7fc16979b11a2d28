package cotp_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/otwatch/otwatch/dissectors/cotp"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

type frameEm struct {
	dissect.Emitter
	frame uint64
	field string
	out   map[uint64]int
}

func (e *frameEm) FieldUint(n string, v uint64) {
	if n == e.field {
		e.out[e.frame]++
	}
	e.Emitter.FieldUint(n, v)
}
func (e *frameEm) FieldBytes(n string, v []byte) {
	if n == e.field {
		e.out[e.frame]++
	}
	e.Emitter.FieldBytes(n, v)
}

type wrap struct {
	inner dissect.Dissector
	em    *frameEm
}

func (w *wrap) Feed(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	c := *ctx
	w.em.Emitter, w.em.frame = ctx.Emit, ctx.Frame
	c.Emit = w.em
	w.inner.Feed(&c, dir, b)
}
func (w *wrap) Gap(ctx *dissect.Context, dir dissect.Direction, n int) { w.inner.Gap(ctx, dir, n) }
func (w *wrap) End(ctx *dissect.Context)                               { w.inner.End(ctx) }

func TestDebugFrames(t *testing.T) {
	c, field := os.Getenv("DBG_CAP"), os.Getenv("DBG_FIELD")
	if c == "" {
		t.Skip()
	}
	em := &frameEm{field: field, out: map[uint64]int{}}
	s := cotp.Spec()
	s.New = func() dissect.Dissector { return &wrap{inner: cotp.New(), em: em} }
	dissectortest.Replay(t, c, s)
	f, _ := os.Create("/tmp/dbg_frames.txt")
	for fr, n := range em.out {
		fmt.Fprintf(f, "%d\t%d\n", fr, n)
	}
	f.Close()
}
