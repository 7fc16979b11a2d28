package analyze

import (
	"context"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/flow"
	"github.com/otwatch/otwatch/sensor/pipeline"
)

// Tap is told, on the workers' goroutines, about flows and violations as
// they happen: what a long-running analysis (the live sensor) shows before
// flows end. Calls come from several workers at once; every call is per
// flow event, never per packet of an established flow, except the sampling
// call every TapEvery packets.
type Tap interface {
	// FlowUpdate is called at a flow's first packet, when its protocol
	// becomes known, and every TapEvery packets after that, with the
	// flow's counters so far.
	FlowUpdate(f *flow.Flow)
	// FlowEnd is called when a flow ends (reason as the flow table gives
	// it; "flush" at the end of the capture).
	FlowEnd(f *flow.Flow, reason string)
	// Violation is called for every protocol violation.
	Violation(v *dissect.Violation)
}

// TapEvery is how many packets of a flow pass between two FlowUpdate calls.
const TapEvery = 1024

// tagTapProto marks a flow whose protocol the tap was told.
const tagTapProto = 1 << 8

func (c *collector) tapPacket(f *flow.Flow) {
	n := f.Packets[0] + f.Packets[1]
	switch {
	case n == 1:
	case f.Tag&tagTapProto == 0 && f.Protocol() != "":
	case n%TapEvery == 0:
	default:
		return
	}
	if f.Protocol() != "" {
		f.Tag |= tagTapProto
	}
	c.tap.FlowUpdate(f)
}

// RunSources analyses several sources at once, one worker per source (the
// sockets of AF_PACKET fanout groups on one or more interfaces, a replayed
// capture): opt.Pipeline.Workers is set to len(srcs). It returns when
// every source has ended (live sources end when closed) and every flow was
// ended.
func RunSources(ctx context.Context, srcs []capture.Source, names []string, opt Options) (*Summary, error) {
	opt.Pipeline.Workers = len(srcs)
	return run(ctx, nil, names, opt, func(pl *pipeline.Pipeline) error { return pl.RunSources(ctx, srcs) })
}

// OTProtocols returns the OT protocols of a registry, for
// detect.Config.OTProtocols.
func OTProtocols(reg *dissect.Registry) map[string]bool { return otProtocols(reg) }
