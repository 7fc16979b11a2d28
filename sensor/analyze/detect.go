package analyze

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/baseline/detect/indicator"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/decode"
	"github.com/otwatch/otwatch/sensor/flow"
	"github.com/otwatch/otwatch/sensor/snippet"
)

// detector is one worker's link to the detection engine: it keeps the
// worker's ring of recent packets and turns packets into the engine's
// connection and ARP events.
type detector struct {
	eng     *detect.Engine
	ring    *snippet.Ring
	arp     detect.ARP
	src     dissect.Endpoint
	dst     dissect.Endpoint
	pending []pendingSnippet
}

type pendingSnippet struct {
	id   string
	trig alert.Trigger
}

// TCP flags.
const (
	tcpRST = 0x04
)

// packet records the packet in the ring and reports connection starts,
// first answers and ARP packets.
func (d *detector) packet(p *decode.Packet, f *flow.Flow, dir dissect.Direction) {
	var id uint64
	if f != nil {
		id = f.Info.ID
	}
	d.ring.AddPacket(p, id)
	if p.Layers&decode.LARP != 0 && p.ARPOp != 0 {
		d.arp = detect.ARP{Time: p.Time, Frame: p.Frame, Op: p.ARPOp, SenderMAC: p.ARPSenderMAC, SenderIP: p.ARPSenderIP,
			TargetMAC: p.ARPTargetMAC, TargetIP: p.ARPTargetIP, EthSrc: p.SrcMAC}
		d.eng.ARP(&d.arp, d)
	}
	if f != nil && f.Info.Transport != 0 {
		if f.Packets[0]+f.Packets[1] == 1 {
			d.eng.Conn(&f.Info, detect.ConnStart, f.Protocol(), p.Time, d)
		}
		if dir == dissect.ToClient && f.Packets[1] == 1 && p.TCPFlags&tcpRST == 0 {
			d.eng.Conn(&f.Info, detect.ConnAnswered, f.Protocol(), p.Time, d)
		}
	}
	if len(d.pending) > 0 {
		d.flush()
	}
}

// Want implements detect.Snipper: the snippet is cut once the packet being
// processed is in the ring (alerts raised by the dissectors come before the
// sink sees the packet).
func (d *detector) Want(id string, t alert.Trigger) {
	if len(d.pending) < 1024 {
		d.pending = append(d.pending, pendingSnippet{id, t})
	}
}

// flush cuts the snippets asked for.
func (d *detector) flush() {
	book := d.eng.Book()
	for _, p := range d.pending {
		if pcap := d.snippet(p.trig); len(pcap) > 0 {
			book.SetSnippet(p.id, pcap)
		}
	}
	d.pending = d.pending[:0]
}

// field passes names that indicators may match to the engine.
func (d *detector) field(name string, v []byte, p *decode.Packet) {
	var kind detect.NameKind
	switch name {
	case "dns_query_name", "tls_sni", "http_host":
		kind = detect.NameDomain
	default:
		return
	}
	d.src = dissect.Endpoint{MAC: p.SrcMAC, IP: p.SrcIP, Port: p.SrcPort}
	d.dst = dissect.Endpoint{MAC: p.DstMAC, IP: p.DstIP, Port: p.DstPort}
	d.eng.Name(kind, v, &d.src, &d.dst, p.Time, 0, d)
}

// snippet cuts the pcap of a trigger: its flow, else its MAC (ARP), else
// its host (scans).
func (d *detector) snippet(t alert.Trigger) []byte {
	sel := snippet.Selector{FlowID: t.FlowID}
	if t.FlowID == 0 {
		if t.MAC != [6]byte{} {
			sel.MAC = t.MAC
		} else {
			sel.Host = t.Host
		}
	}
	return d.ring.Snippet(sel, 0)
}

// AlertSummary is one alert in the summary (`otsensor analyze --json`).
type AlertSummary struct {
	ID         string    `json:"id"`
	Rule       string    `json:"rule"`
	Title      string    `json:"title"`
	Engine     string    `json:"engine"`
	Category   string    `json:"category"`
	Severity   string    `json:"severity"`
	Techniques []string  `json:"techniques"`
	Src        string    `json:"src"`
	Dst        string    `json:"dst"`
	SrcMAC     string    `json:"src_mac,omitempty"`
	DstMAC     string    `json:"dst_mac,omitempty"`
	Protocol   string    `json:"protocol"`
	Function   string    `json:"function,omitempty"`
	Count      uint64    `json:"count"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	Status     string    `json:"status"`
	Evidence   int       `json:"evidence"`
	Snippet    int       `json:"snippet_bytes"`
}

// BaselineSummary describes the baseline an analysis learned or used.
type BaselineSummary struct {
	Mode       string   `json:"mode"`
	LearnedOn  []string `json:"learned_on,omitempty"`
	Items      int      `json:"items"`
	Devices    int      `json:"devices"`
	Pairs      int      `json:"pairs"`
	Operations int      `json:"operations"`
	Ranges     int      `json:"ranges"`
}

func addrOrMAC(d alert.Device) string {
	if d.IP != "" {
		return d.IP
	}
	if d.MAC != "" {
		return d.MAC
	}
	return d.Name
}

// SummariseAlert turns an alert into its summary form.
func SummariseAlert(a *alert.Alert) AlertSummary {
	return AlertSummary{ID: a.ID, Rule: a.Rule, Title: a.Title, Engine: a.Engine.String(), Category: a.Category,
		Severity: a.Severity.String(), Techniques: a.Techniques, Src: addrOrMAC(a.Src), Dst: addrOrMAC(a.Dst),
		SrcMAC: a.Src.MAC, DstMAC: a.Dst.MAC, Protocol: a.Protocol, Function: a.Function, Count: a.Count,
		FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Status: a.Status.String(), Evidence: len(a.Evidence),
		Snippet: len(a.Snippet)}
}

// DetectOptions configure an analysis with the detection engines.
type DetectOptions struct {
	Config detect.Config
	// Learn are captures to learn the baseline from before the analysed
	// ones are checked against it. Without them the policy engine is off
	// and the analysis reports what it would learn.
	Learn      []string
	Indicators *indicator.Set
	Exclusions []alert.Exclusion
	Baseline   learn.Config
	Logger     *slog.Logger
}

// Detection is the outcome of an analysis with the detection engines.
type Detection struct {
	Baseline *learn.Baseline
	Book     *alert.Book
	Engine   *detect.Engine
	// LearnSummary is the summary of the learning captures, if any.
	LearnSummary *Summary
}

// otProtocols lists the OT protocols of a registry.
func otProtocols(reg *dissect.Registry) map[string]bool {
	// Transaction protocols of OT dissectors that are not specs of their
	// own: CIP inside EtherNet/IP, and what COTP carries.
	m := map[string]bool{"cip": true, "s7comm": true, "s7comm-plus": true, "mms": true}
	for i := 0; i < reg.Len(); i++ {
		if s := reg.Spec(i); s.Class == dissect.ClassOT {
			m[s.Name] = true
		}
	}
	return m
}

// RunDetect analyses paths with the detection engines: first it learns a
// baseline from dopt.Learn (if any), ends learning, then runs every engine
// on paths. The summary carries the alerts raised on paths and the
// baseline's figures.
func RunDetect(ctx context.Context, paths []string, opt Options, dopt DetectOptions) (*Summary, *Detection, error) {
	if opt.Registry == nil {
		opt.Registry = dissect.NewRegistry()
	}
	cfg := dopt.Config
	cfg.OTProtocols = otProtocols(opt.Registry)
	base := learn.New(dopt.Baseline, time.Time{})
	det := &Detection{Baseline: base}
	if len(dopt.Learn) > 0 {
		eng, err := detect.New(cfg, base, alert.NewBook(alert.BookConfig{}),
			detect.Options{Indicators: dopt.Indicators, Logger: dopt.Logger})
		if err != nil {
			return nil, nil, fmt.Errorf("analyze: %w", err)
		}
		lopt := opt
		lopt.Out, lopt.Inventory, lopt.Progress, lopt.Detect = nil, nil, nil, eng
		ls, err := Run(ctx, dopt.Learn, lopt)
		if err != nil {
			var fe *capture.FileError
			if !errors.As(err, &fe) {
				return nil, nil, fmt.Errorf("analyze: learning: %w", err)
			}
		}
		det.LearnSummary = ls
		end := time.Time{}
		if ls != nil {
			end = ls.Last
		}
		base.EndLearning(end)
	} else {
		cfg.NoPolicy = true
	}
	det.Book = alert.NewBook(alert.BookConfig{})
	det.Book.SetExclusions(dopt.Exclusions)
	eng, err := detect.New(cfg, base, det.Book, detect.Options{Indicators: dopt.Indicators, Logger: dopt.Logger})
	if err != nil {
		return nil, nil, fmt.Errorf("analyze: %w", err)
	}
	det.Engine = eng
	opt.Detect = eng
	s, err := Run(ctx, paths, opt)
	if s != nil {
		for _, a := range det.Book.Alerts(false) {
			s.Alerts = append(s.Alerts, SummariseAlert(a))
		}
		sort.SliceStable(s.Alerts, func(i, j int) bool {
			if !s.Alerts[i].FirstSeen.Equal(s.Alerts[j].FirstSeen) {
				return s.Alerts[i].FirstSeen.Before(s.Alerts[j].FirstSeen)
			}
			return s.Alerts[i].ID < s.Alerts[j].ID
		})
		if s.Alerts == nil {
			s.Alerts = []AlertSummary{}
		}
		st := base.Stats()
		s.Baseline = &BaselineSummary{Mode: base.Mode().String(), LearnedOn: dopt.Learn, Items: st.Items,
			Devices: st.Devices, Pairs: st.Pairs, Operations: st.Ops, Ranges: st.Ranges}
	}
	return s, det, err
}
