// Package detect runs the detection engines of DETECTIONS.md over what the
// sensor decodes: policy (traffic outside the learned baseline), protocol
// violation, anomaly (scans, spoofing, brute force, floods, behaviour),
// operational (stops, restarts, firmware, unresponsive devices, sensor
// health) and malware/indicators, plus the operators' custom rules. It
// turns them into alert.Alert values in an alert.Book.
//
// The engine is fed by the sensor's pipeline sinks: connection starts and
// answers, ARP packets, transactions, asset hints, protocol violations and
// names (DNS queries, TLS SNI, HTTP hosts). It is safe for concurrent use
// by several pipeline workers: every input takes one mutex, and inputs are
// per connection, per transaction or per rare packet, never per payload
// byte.
//
// Time is the packets' time (capture time), so an analysis of a pcap file
// behaves as the live sensor would have; Tick and Health take the caller's
// clock.
package detect

import (
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect/indicator"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Namer names devices for alerts (the sensor's inventory).
type Namer interface {
	Name(mac [6]byte, ip netip.Addr) string
}

// Notify is called for every alert the engine creates or updates, on the
// goroutine of the input that raised it and with the engine's lock held:
// it must not call the engine. The sensor uses it to attach a pcap snippet
// from the worker's ring of recent packets (Trigger says which) and to
// forward alerts.
type Notify func(a *alert.Alert, o alert.Outcome)

// Snipper asks for a pcap snippet of the packets an alert's trigger names,
// from the calling worker's ring of recent packets. Every input takes one
// (or nil): Want is called when an input creates an alert. The sensor
// answers once the packet being processed is in its ring, with
// alert.Book.SetSnippet.
type Snipper interface {
	Want(alertID string, t alert.Trigger)
}

// Stats count the engine's work.
type Stats struct {
	Transactions uint64            `json:"transactions"`
	Conns        uint64            `json:"connections"`
	ARP          uint64            `json:"arp"`
	Violations   uint64            `json:"violations"`
	Hints        uint64            `json:"hints"`
	Names        uint64            `json:"names"`
	Raised       map[string]uint64 `json:"raised"`
	Records      uint64            `json:"records"`
	TrackDropped uint64            `json:"track_dropped"`
}

// Record is a custom rule's "record only" match.
type Record struct {
	Rule     string    `json:"rule"`
	Time     time.Time `json:"time"`
	Src      string    `json:"src"`
	Dst      string    `json:"dst"`
	Protocol string    `json:"protocol"`
	Function string    `json:"function"`
}

// MaxRecords caps the record-only matches kept in memory.
const MaxRecords = 10_000

// Engine runs the detection engines.
type Engine struct {
	mu     sync.Mutex
	cfg    Config
	th     Thresholds
	on     map[string]bool
	sev    map[string]alert.Severity
	base   *learn.Baseline
	book   *alert.Book
	ind    *indicator.Set
	namer  Namer
	notify Notify
	log    *slog.Logger

	otNets   map[netip.Prefix]struct{} // learned OT subnets
	otHosts  map[learn.Host]struct{}   // hosts seen speaking an OT protocol
	malform  tracker[session]          // per host pair and protocol
	addrScan tracker[scanKey]          // per source and destination prefix
	portScan tracker[hostPair]         // per source and destination
	plcScan  tracker[netip.Addr]       // per source
	arpScan  tracker[[6]byte]          // per sender MAC
	logins   tracker[netip.Addr]       // per server
	dos      tracker[netip.Addr]       // per server
	restarts tracker[learn.Host]       // per outstation
	unresp   tracker[learn.Host]       // per server
	iec104   tracker[netip.Addr]       // per source
	units    tracker[hostPair]         // per source and server
	opc      tracker[netip.Addr]       // per source
	custom   []tracker[netip.Addr]     // per rule, per source
	ipToMAC  map[netip.Addr]arpBinding
	macToIP  map[[6]byte]arpBinding
	offBand  map[learn.Channel]uint8 // consecutive out-of-band periods
	ifaces   map[string]time.Time
	records  []Record
	stats    Stats
	snip     Snipper // of the input being processed
	pendUnm  map[uint64][]pendingReq
	latest   time.Time                 // the latest packet time seen
	answered map[learn.Host]*time.Time // the last response time per server
	flows    []flowSlot                // by flow ID (flowcache.go)
	profiles bool                      // periodicity or bandwidth on: channels are checked
	verdicts []verdict                 // transactions the baseline knew
}

type scanKey struct {
	src    netip.Addr
	prefix netip.Prefix
}

type hostPair struct{ src, dst netip.Addr }

// session is a protocol session between two devices (several TCP
// connections in a row count as one session: fuzzers open one per PDU).
type session struct {
	client, server learn.Host
	proto          string
}

type arpBinding struct {
	mac  [6]byte
	ip   netip.Addr
	last time.Time
}

// Options are the engine's collaborators.
type Options struct {
	// Indicators to match addresses and names against (may be nil).
	Indicators *indicator.Set
	// Namer names devices in alerts (may be nil).
	Namer Namer
	// Notify is called for created and updated alerts (may be nil).
	Notify Notify
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// New builds an engine on a baseline and an alert book.
func New(cfg Config, base *learn.Baseline, book *alert.Book, opt Options) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Thresholds.fill()
	if cfg.MaxTracked <= 0 {
		cfg.MaxTracked = 100_000
	}
	e := &Engine{cfg: cfg, th: cfg.Thresholds, base: base, book: book, ind: opt.Indicators, namer: opt.Namer,
		notify: opt.Notify, log: opt.Logger, on: map[string]bool{}, sev: map[string]alert.Severity{},
		otNets: map[netip.Prefix]struct{}{}, otHosts: map[learn.Host]struct{}{},
		ipToMAC: map[netip.Addr]arpBinding{}, macToIP: map[[6]byte]arpBinding{},
		offBand: map[learn.Channel]uint8{}, ifaces: map[string]time.Time{}, pendUnm: map[uint64][]pendingReq{},
		answered: map[learn.Host]*time.Time{}, flows: make([]flowSlot, flowSlots), verdicts: make([]verdict, verdictSlots),
		stats: Stats{Raised: map[string]uint64{}}}
	if e.log == nil {
		e.log = slog.Default()
	}
	for _, r := range alert.Catalogue() {
		e.on[r.ID] = cfg.Enabled(r.ID)
		e.sev[r.ID] = r.Severity
		if rc, ok := cfg.Rules[r.ID]; ok && rc.Severity != "" {
			e.sev[r.ID], _ = alert.ParseSeverity(rc.Severity)
		}
	}
	e.profiles = e.on[alert.RulePeriodicity] || e.on[alert.RuleBandwidth]
	max := cfg.MaxTracked
	for _, t := range []interface{ init(int) }{&e.malform, &e.addrScan, &e.portScan, &e.plcScan, &e.arpScan,
		&e.logins, &e.dos, &e.restarts, &e.unresp, &e.iec104, &e.units, &e.opc} {
		t.init(max)
	}
	e.custom = make([]tracker[netip.Addr], len(cfg.Custom))
	for i := range e.custom {
		e.custom[i].init(max)
	}
	for _, p := range cfg.OTSubnets {
		e.otNets[p.Masked()] = struct{}{}
	}
	for _, h := range base.Hosts(learn.FlagOT) {
		e.markOTNet(h)
	}
	return e, nil
}

// Baseline returns the engine's baseline; callers must hold no reference
// across engine calls and use Locked for access.
func (e *Engine) Locked(fn func(b *learn.Baseline)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(e.base)
}

// Book returns the alert book.
func (e *Engine) Book() *alert.Book { return e.book }

// Stats returns a copy of the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Raised = make(map[string]uint64, len(e.stats.Raised))
	for k, v := range e.stats.Raised {
		s.Raised[k] = v
	}
	return s
}

// Records returns the custom rules' record-only matches.
func (e *Engine) Records() []Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Record(nil), e.records...)
}

// Rules reports which rules are on.
func (e *Engine) Rules() map[string]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]bool, len(e.on))
	for k, v := range e.on {
		out[k] = v
	}
	return out
}

// --- helpers ---

func otNet(ip netip.Addr) netip.Prefix {
	if ip.Is4() {
		p, _ := ip.Prefix(24)
		return p
	}
	p, _ := ip.Prefix(64)
	return p
}

func (e *Engine) markOTNet(h learn.Host) {
	if h.IP.IsValid() && usable(h.IP) {
		e.otNets[otNet(h.IP)] = struct{}{}
	}
}

// isOT reports whether a host speaks an OT protocol or sits in an OT subnet.
func (e *Engine) isOT(h learn.Host) bool {
	if _, ok := e.otHosts[h]; ok {
		return true
	}
	if e.base.HasFlag(h, learn.FlagOT) {
		return true
	}
	if h.IP.IsValid() {
		if _, ok := e.otNets[otNet(h.IP)]; ok {
			return true
		}
	}
	return false
}

// usable reports whether an address names one device (not broadcast,
// multicast or unspecified).
func usable(ip netip.Addr) bool {
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback() {
		return false
	}
	if ip.Is4() {
		b := ip.As4()
		if b == [4]byte{255, 255, 255, 255} || b[3] == 255 {
			return false
		}
	}
	return true
}

func usableMAC(m [6]byte) bool { return m != [6]byte{} && m[0]&1 == 0 }

// public reports whether ip is a public (internet) address.
func public(ip netip.Addr) bool {
	if !usable(ip) || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
		return false
	}
	if ip.Is4() {
		b := ip.As4()
		switch {
		case b[0] == 100 && b[1]&0xC0 == 64: // 100.64/10 CGNAT
			return false
		case b[0] == 0 || b[0] >= 224:
			return false
		case b[0] == 169 && b[1] == 254:
			return false
		case b[0] == 192 && b[1] == 0 && b[2] == 2, b[0] == 198 && b[1] == 51 && b[2] == 100,
			b[0] == 203 && b[1] == 0 && b[2] == 113: // documentation
			return false
		case b[0] == 198 && (b[1] == 18 || b[1] == 19): // benchmarking
			return false
		}
		return true
	}
	return ip.IsGlobalUnicast()
}

func hostOf(ep *dissect.Endpoint) learn.Host { return learn.HostOf(ep.MAC, ep.IP) }

func macStr(m [6]byte) string {
	if m == [6]byte{} {
		return ""
	}
	return string(dissect.AppendMAC(nil, m))
}

func (e *Engine) device(ep *dissect.Endpoint) alert.Device {
	d := alert.Device{MAC: macStr(ep.MAC), Port: ep.Port}
	if ep.IP.IsValid() {
		d.IP = ep.IP.Unmap().String()
	}
	if e.namer != nil {
		d.Name = e.namer.Name(ep.MAC, ep.IP)
	}
	return d
}

func (e *Engine) hostDevice(ip netip.Addr, mac [6]byte) alert.Device {
	ep := dissect.Endpoint{IP: ip, MAC: mac}
	return e.device(&ep)
}

func endpointString(ep *dissect.Endpoint) string {
	if ep.IP.IsValid() {
		if ep.Port != 0 {
			return netip.AddrPortFrom(ep.IP.Unmap(), ep.Port).String()
		}
		return ep.IP.Unmap().String()
	}
	return macStr(ep.MAC)
}

func funcLabel(t *dissect.Transaction) string {
	if t.FuncName != "" {
		return t.FuncName + " (" + strconv.FormatUint(uint64(t.Function), 10) + ")"
	}
	return strconv.FormatUint(uint64(t.Function), 10)
}

// sides returns the requester and the responder of a transaction.
func sides(t *dissect.Transaction) (src, dst *dissect.Endpoint) {
	if t.Requester == dissect.ToServer {
		return &t.Flow.Client, &t.Flow.Server
	}
	return &t.Flow.Server, &t.Flow.Client
}

func txEvidence(t *dissect.Transaction, detail string) alert.Evidence {
	src, dst := sides(t)
	return alert.Evidence{Time: t.Time, Frame: t.Frame, Protocol: t.Protocol, Op: t.Op.String(), Function: t.Function,
		FuncName: t.FuncName, Src: endpointString(src), Dst: endpointString(dst), Status: t.Status.String(), Detail: detail}
}

// cand is a candidate alert under construction.
type cand struct {
	rule     string
	title    string // appended to the rule title after ": "
	src, dst alert.Device
	proto    string
	fn       string
	t        time.Time
	ev       alert.Evidence
	trig     alert.Trigger
	items    []string
	extraT   []string
	desc     string
	sev      alert.Severity // 0: the rule's
}

// raise turns a candidate into an alert in the book.
func (e *Engine) raise(c cand) {
	if !e.on[c.rule] {
		return
	}
	r := alert.MustRule(c.rule)
	if r.Engine == alert.EnginePolicy && e.base.Learning() {
		// Learning mode raises no policy alert, even for what a full
		// baseline (MaxItems) could not learn.
		return
	}
	title := r.Title
	if c.title != "" {
		title += ": " + c.title
	}
	sev := e.sev[c.rule]
	if c.sev != 0 {
		sev = c.sev
	}
	a := &alert.Alert{Rule: r.ID, Engine: r.Engine, Category: r.Category, Title: title, Severity: sev,
		Src: c.src, Dst: c.dst, Protocol: c.proto, Function: c.fn, FirstSeen: c.t, LastSeen: c.t, Count: 1,
		Techniques: append(append([]string(nil), r.Techniques...), c.extraT...), Remediation: r.Remediation,
		Description: c.desc, Learnable: r.Learnable && len(c.items) > 0, Items: c.items, Trigger: c.trig}
	if c.ev.Time.IsZero() {
		c.ev.Time = c.t
	}
	a.Evidence = []alert.Evidence{c.ev}
	got, o := e.book.Raise(a)
	if got == nil {
		return
	}
	e.stats.Raised[c.rule]++
	if o == alert.Created && e.snip != nil {
		e.snip.Want(got.ID, c.trig)
	}
	if e.notify != nil {
		// A created alert carries c.trig already; an updated one keeps
		// its first trigger: the book's alert is not written outside the
		// book's lock (readers clone it under that lock).
		e.notify(got, o)
	}
}

// --- inputs ---

// ConnEvent says what happened on a connection.
type ConnEvent uint8

// Connection events.
const (
	ConnStart    ConnEvent = iota + 1 // first packet of a flow (client → server)
	ConnAnswered                      // first packet from the server (not a TCP RST)
)

// Conn reports a connection event of flow f at time t; proto is the
// application protocol when known.
func (e *Engine) Conn(f *dissect.Flow, ev ConnEvent, proto string, t time.Time, snip Snipper) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snip = snip
	e.stats.Conns++
	if t.After(e.latest) {
		e.latest = t
	}
	client, server := hostOf(&f.Client), hostOf(&f.Server)
	pair := learn.Pair{Client: client, Server: server, Transport: uint8(f.Transport), Port: f.Server.Port}
	if f.Transport == dissect.TransportL2 {
		pair.Port = f.EtherType
	}
	trig := alert.Trigger{FlowID: f.ID}
	switch ev {
	case ConnStart:
		if f.Transport != dissect.TransportL2 {
			e.connStart(f, client, server, t, trig)
		}
		if e.clientDevice(f, client, t, trig) && f.Transport != dissect.TransportTCP {
			e.newCommunication(f, pair, proto, t, trig)
		}
	case ConnAnswered:
		e.serverDevice(f, server, t, trig)
		if f.Transport == dissect.TransportTCP {
			e.newCommunication(f, pair, proto, t, trig)
		}
		e.service(f, server, proto, t, trig)
		e.remote(f, pair, proto, t, trig)
	}
}

func (e *Engine) connStart(f *dissect.Flow, client, server learn.Host, t time.Time, trig alert.Trigger) {
	src, dst := f.Client.IP, f.Server.IP
	if f.Server.Port == 0 && (f.Transport == dissect.TransportTCP || f.Transport == dissect.TransportUDP) {
		e.raise(cand{rule: alert.RulePortZero, title: endpointString(&f.Client) + " → " + endpointString(&f.Server),
			src: e.device(&f.Client), dst: e.device(&f.Server), proto: f.Transport.String(), t: t, trig: trig,
			ev: alert.Evidence{Time: t, Src: endpointString(&f.Client), Dst: endpointString(&f.Server), Detail: "destination port 0"}})
	}
	if e.ind != nil {
		for _, a := range [2]*dissect.Endpoint{&f.Client, &f.Server} {
			if in, ok := e.ind.MatchIP(a.IP); ok {
				e.raise(cand{rule: alert.RuleIndicator, title: a.IP.String() + " (" + in.Source + ")",
					src: e.device(&f.Client), dst: e.device(&f.Server), proto: f.Transport.String(), fn: in.Value,
					t: t, trig: trig, desc: in.Description,
					ev: alert.Evidence{Time: t, Src: endpointString(&f.Client), Dst: endpointString(&f.Server),
						Detail: "indicator " + in.Value + " from " + in.Source}})
			}
		}
	}
	if !usable(src) || !usable(dst) {
		return
	}
	scanner := e.scanner(client)
	// Address scan: distinct destinations in one prefix.
	if pfx, err := dst.Prefix(e.th.AddressScanPrefix); err == nil && dst.Is4() && !scanner {
		if n, fire := e.addrScan.distinct(scanKey{src, pfx}, addrKey(dst), t, e.th.AddressScanWindow.D(),
			e.th.AddressScanDests, &e.stats.TrackDropped); fire {
			e.scanFound(client, t)
			e.raise(cand{rule: alert.RuleAddressScan, title: src.String() + " swept " + pfx.String(),
				src: e.device(&f.Client), dst: alert.Device{IP: pfx.String()}, proto: f.Transport.String(), t: t,
				trig: alert.Trigger{Host: src}, ev: alert.Evidence{Time: t, Src: src.String(), Dst: dst.String(),
					Detail: strconv.Itoa(n) + " destinations within " + e.th.AddressScanWindow.D().String()}})
		}
	}
	// Port scan: distinct ports on one host.
	if !scanner {
		if n, fire := e.portScan.distinct(hostPair{src, dst}, uint64(f.Transport)<<16|uint64(f.Server.Port), t,
			e.th.PortScanWindow.D(), e.th.PortScanPorts, &e.stats.TrackDropped); fire {
			e.scanFound(client, t)
			e.raise(cand{rule: alert.RulePortScan, title: src.String() + " → " + dst.String(),
				src: e.device(&f.Client), dst: e.device(&f.Server), proto: f.Transport.String(), t: t,
				trig: alert.Trigger{Host: src}, ev: alert.Evidence{Time: t, Src: src.String(), Dst: dst.String(),
					Detail: strconv.Itoa(n) + " ports within " + e.th.PortScanWindow.D().String()}})
		}
	}
	// Denial of service: new connection attempts to one host.
	if f.Transport == dissect.TransportTCP {
		if n, fire := e.dos.count(dst, t, e.th.DoSWindow.D(), e.th.DoSConnections, &e.stats.TrackDropped); fire {
			e.raise(cand{rule: alert.RuleDoS, title: dst.String(), src: e.device(&f.Client), dst: e.device(&f.Server),
				proto: f.Transport.String(), t: t, trig: alert.Trigger{Host: dst},
				ev: alert.Evidence{Time: t, Src: src.String(), Dst: dst.String(),
					Detail: strconv.Itoa(n) + " new connections within " + e.th.DoSWindow.D().String()}})
		}
	}
	// Internet connectivity of OT devices.
	if public(dst) && !public(src) {
		e.internet(f, client, &f.Client, &f.Server, t, trig)
	} else if public(src) && !public(dst) {
		e.internet(f, server, &f.Server, &f.Client, t, trig)
	}
}

func addrKey(a netip.Addr) uint64 {
	b := a.As16()
	var k uint64
	for _, x := range b[8:] {
		k = k<<8 | uint64(x)
	}
	return k ^ uint64(b[0])<<56 ^ uint64(b[7])<<48
}

func (e *Engine) scanner(h learn.Host) bool {
	return e.base.HasFlag(h, learn.FlagScanner) || (h.IP.IsValid() && anyContains(e.cfg.Scanners, h.IP))
}

// scanFound learns a scanning host as a scanner during learning.
func (e *Engine) scanFound(h learn.Host, t time.Time) {
	if e.base.Learning() {
		e.base.Flag(h, learn.FlagScanner, false, t)
	}
}

func (e *Engine) internet(f *dissect.Flow, inside learn.Host, in, out *dissect.Endpoint, t time.Time, trig alert.Trigger) {
	if !e.isOT(inside) || anyContains(e.cfg.InternetAllowed, inside.IP) {
		return
	}
	if e.base.Flag(inside, learn.FlagInternet, false, t) {
		return
	}
	e.raise(cand{rule: alert.RuleInternet, title: inside.String() + " → " + out.IP.String(), src: e.device(in),
		dst: e.device(out), proto: f.Transport.String(), fn: strconv.Itoa(int(f.Server.Port)), t: t, trig: trig,
		items: []string{learn.FlagKey(inside, learn.FlagInternet)},
		ev:    alert.Evidence{Time: t, Src: endpointString(in), Dst: endpointString(out), Detail: "public address"}})
}

// clientDevice handles the sender of a flow's first packet; it reports
// whether the device may take part in new communications.
func (e *Engine) clientDevice(f *dissect.Flow, h learn.Host, t time.Time, trig alert.Trigger) bool {
	return e.newAsset(&f.Client, h, t, trig)
}

func (e *Engine) serverDevice(f *dissect.Flow, h learn.Host, t time.Time, trig alert.Trigger) {
	e.newAsset(&f.Server, h, t, trig)
}

// newAsset checks a device that sent traffic against the baseline.
func (e *Engine) newAsset(ep *dissect.Endpoint, h learn.Host, t time.Time, trig alert.Trigger) bool {
	if h.IP.IsValid() {
		if !usable(h.IP) {
			return true
		}
	} else if !usableMAC(h.MAC) {
		return true
	}
	if e.base.Device(h, t) {
		return true
	}
	if e.cfg.NoPolicy || !e.isOT(h) {
		return true
	}
	e.raise(cand{rule: alert.RuleNewAsset, title: e.device(ep).String(), src: e.device(ep), t: t, trig: trig,
		items: []string{learn.DeviceKey(h)},
		ev:    alert.Evidence{Time: t, Src: endpointString(ep), Detail: "device not in the baseline"}})
	return true
}

func (e *Engine) newCommunication(f *dissect.Flow, p learn.Pair, proto string, t time.Time, trig alert.Trigger) {
	if !p.Client.Valid() || !p.Server.Valid() {
		return
	}
	if e.base.Pair(p, t) || e.cfg.NoPolicy {
		return
	}
	if !e.isOT(p.Client) && !e.isOT(p.Server) {
		return
	}
	if proto == "" {
		proto = f.Transport.String()
	}
	e.raise(cand{rule: alert.RuleNewCommunication, title: p.Client.String() + " → " + p.Server.String() + " " +
		proto + "/" + strconv.Itoa(int(p.Port)), src: e.device(&f.Client), dst: e.device(&f.Server), proto: proto,
		fn: strconv.Itoa(int(p.Port)), t: t, trig: trig, items: []string{learn.PairKey(p)},
		ev: alert.Evidence{Time: t, Protocol: proto, Src: endpointString(&f.Client), Dst: endpointString(&f.Server),
			Detail: "pair not in the baseline"}})
}

func (e *Engine) service(f *dissect.Flow, server learn.Host, proto string, t time.Time, trig alert.Trigger) {
	if f.Transport == dissect.TransportL2 || !server.Valid() || !usable(server.IP) {
		return
	}
	s := learn.Service{Host: server, Transport: uint8(f.Transport), Port: f.Server.Port}
	if e.base.Service(s, t) || e.cfg.NoPolicy || !e.isOT(server) {
		return
	}
	if proto == "" {
		proto = f.Transport.String()
	}
	e.raise(cand{rule: alert.RuleNewPort, title: server.String() + " serves " + proto + "/" + strconv.Itoa(int(s.Port)),
		src: e.device(&f.Server), proto: proto, fn: strconv.Itoa(int(s.Port)), t: t, trig: trig,
		items: []string{learn.ServiceKey(s)},
		ev:    alert.Evidence{Time: t, Protocol: proto, Src: endpointString(&f.Client), Dst: endpointString(&f.Server)}})
}

func (e *Engine) remote(f *dissect.Flow, p learn.Pair, proto string, t time.Time, trig alert.Trigger) {
	if f.Transport != dissect.TransportTCP {
		return
	}
	kind, ok := remoteAccess(proto, f.Server.Port)
	if !ok || !e.isOT(p.Server) {
		return
	}
	for _, w := range e.cfg.RemoteAccess {
		if !t.Before(w.Start) && t.Before(w.End) && (len(w.Clients) == 0 || anyContains(w.Clients, f.Client.IP)) &&
			(len(w.Servers) == 0 || anyContains(w.Servers, f.Server.IP)) {
			return
		}
	}
	if e.base.Remote(p, t) || e.cfg.NoPolicy {
		return
	}
	e.raise(cand{rule: alert.RuleRemoteAccess, title: kind + " " + p.Client.String() + " → " + p.Server.String(),
		src: e.device(&f.Client), dst: e.device(&f.Server), proto: kind, fn: strconv.Itoa(int(p.Port)), t: t,
		trig: trig, items: []string{learn.RemoteKey(p)},
		ev: alert.Evidence{Time: t, Protocol: kind, Src: endpointString(&f.Client), Dst: endpointString(&f.Server),
			Detail: "remote access to an OT device"}})
}

// FlowEnd reports the end of a flow (reason as the flow table gives it:
// "flush" when the capture ended). A TCP connection attempt to an OT device
// that got no answer counts towards "Device unresponsive", and so do the
// requests the flow's dissector reported unmatched, except those sent just
// before the capture ended.
func (e *Engine) FlowEnd(f *dissect.Flow, proto string, packets [2]uint64, last time.Time, reason string, snip Snipper) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snip = snip
	flush := reason == "flush"
	if ps, ok := e.pendUnm[f.ID]; ok {
		delete(e.pendUnm, f.ID)
		for i := range ps {
			if flush && e.latest.Sub(ps[i].ev.Time) < captureEndGrace {
				continue
			}
			e.unanswered(&ps[i].dst, ps[i].host, ps[i].ev.Protocol, ps[i].ev.Time, ps[i].trig, ps[i].ev)
		}
	}
	if f.Transport != dissect.TransportTCP || packets[1] != 0 || packets[0] == 0 {
		return
	}
	if flush && e.latest.Sub(f.Start) < captureEndGrace {
		return
	}
	server := hostOf(&f.Server)
	if !e.isOT(server) {
		return
	}
	e.unanswered(&f.Server, server, proto, last, alert.Trigger{FlowID: f.ID},
		alert.Evidence{Time: last, Protocol: proto, Src: endpointString(&f.Client), Dst: endpointString(&f.Server),
			Detail: "connection attempt not answered"})
}

// captureEndGrace: requests sent this close to the end of a capture may
// have been answered after it; they do not count as unanswered.
const captureEndGrace = 3 * time.Second

// pendingReq is an unmatched request waiting for its flow's fate.
type pendingReq struct {
	dst  dissect.Endpoint
	host learn.Host
	trig alert.Trigger
	ev   alert.Evidence
}

// maxPendingPerFlow caps the unmatched requests held per flow.
const maxPendingPerFlow = 64

// holdUnmatched keeps an unmatched request until its flow ends or goes on.
func (e *Engine) holdUnmatched(t *dissect.Transaction, dst *dissect.Endpoint, host learn.Host, trig alert.Trigger) {
	ps := e.pendUnm[t.Flow.ID]
	if len(ps) >= maxPendingPerFlow {
		return
	}
	if ps == nil && len(e.pendUnm) >= e.cfg.MaxTracked {
		e.stats.TrackDropped++
		return
	}
	e.pendUnm[t.Flow.ID] = append(ps, pendingReq{dst: *dst, host: host, trig: trig,
		ev: txEvidence(t, "request without a response")})
}

// releaseUnmatched counts a flow's held unmatched requests: the flow went
// on, so they really were not answered.
func (e *Engine) releaseUnmatched(id uint64) {
	ps, ok := e.pendUnm[id]
	if !ok {
		return
	}
	delete(e.pendUnm, id)
	for i := range ps {
		e.unanswered(&ps[i].dst, ps[i].host, ps[i].ev.Protocol, ps[i].ev.Time, ps[i].trig, ps[i].ev)
	}
}

func (e *Engine) unanswered(dst *dissect.Endpoint, server learn.Host, proto string, t time.Time,
	trig alert.Trigger, ev alert.Evidence) {
	if server.IP.IsValid() && !usable(server.IP) || !server.IP.IsValid() && !usableMAC(server.MAC) {
		return // broadcast and multicast requests are answered by whoever is there
	}
	if last := e.answered[server]; last != nil && !last.IsZero() && !last.Before(ev.Time) {
		return // the device answered something after this request was sent
	}
	if n, fire := e.unresp.count(server, t, e.th.UnresponsiveWindow.D(), e.th.UnresponsiveCount, &e.stats.TrackDropped); fire {
		ev.Detail += "; " + strconv.Itoa(n) + " requests without a response within " + e.th.UnresponsiveWindow.D().String()
		e.raise(cand{rule: alert.RuleUnresponsive, title: server.String() + " (" + proto + ")",
			dst: e.device(dst), proto: proto, t: t, trig: trig, ev: ev})
	}
}

// hostStr names an endpoint by IP (or MAC) without its port, for titles.
func hostStr(ep *dissect.Endpoint) string {
	if ep.IP.IsValid() {
		return ep.IP.Unmap().String()
	}
	return macStr(ep.MAC)
}
