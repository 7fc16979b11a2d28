package detect_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/dissectors/dissect"
)

// The unit layer of the engines: each test feeds the engine's public
// inputs with the values the sensor's pipeline hands it (flows,
// transactions as the dissectors fill them, ARP packets) and checks the
// alerts in the book.

var t0 = time.Date(2025, 4, 7, 8, 0, 0, 0, time.UTC)

// A small plant: an HMI and an engineering station polling PLCs in
// 10.0.1.0/24, and hosts that misbehave.
var (
	hmi  = ep("10.0.1.10", 0x10)
	ews  = ep("10.0.1.30", 0x30)
	plc  = ep("10.0.1.20", 0x20)
	plc2 = ep("10.0.1.21", 0x21)
	rtu  = ep("10.0.1.40", 0x40)
	evil = ep("10.0.1.66", 0x66)
)

func ep(ip string, last byte) dissect.Endpoint {
	return dissect.Endpoint{MAC: [6]byte{0x00, 0x80, 0xf4, 0x01, 0x02, last}, IP: netip.MustParseAddr(ip)}
}

func port(e dissect.Endpoint, p uint16) dissect.Endpoint { e.Port = p; return e }

// host is 10.0.<c>.<d> with a MAC of its own.
func host(c, d byte) dissect.Endpoint {
	return dissect.Endpoint{MAC: [6]byte{0x00, 0x80, 0xf4, 0x09, c, d}, IP: netip.AddrFrom4([4]byte{10, 0, c, d})}
}

var otProtocols = map[string]bool{"modbus": true, "dnp3": true, "iec104": true, "opcua": true, "s7comm": true}

// rig is an engine on a fresh baseline in learning mode.
type rig struct {
	t    *testing.T
	base *learn.Baseline
	book *alert.Book
	eng  *detect.Engine
	flow uint64
}

func newRig(t *testing.T, cfg detect.Config) *rig {
	t.Helper()
	return newRigOn(t, cfg, learn.New(learn.Config{}, t0))
}

func newRigOn(t *testing.T, cfg detect.Config, base *learn.Baseline) *rig {
	t.Helper()
	cfg.OTProtocols = otProtocols
	r := &rig{t: t, base: base, book: alert.NewBook(alert.BookConfig{})}
	var err error
	if r.eng, err = detect.New(cfg, r.base, r.book, detect.Options{}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) newFlow(tr dissect.Transport, c, s dissect.Endpoint, at time.Time) *dissect.Flow {
	r.flow++
	return &dissect.Flow{ID: r.flow, Transport: tr, Client: c, Server: s, Start: at}
}

// connect reports a connection's start and answer, as the pipeline does
// (the answer within the same microsecond).
func (r *rig) connect(f *dissect.Flow, proto string, at time.Time) {
	r.eng.Conn(f, detect.ConnStart, proto, at, nil)
	r.eng.Conn(f, detect.ConnAnswered, proto, at, nil)
}

func (r *rig) alerts(rule string) []*alert.Alert {
	var out []*alert.Alert
	for _, a := range r.book.Alerts(false) {
		if a.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

// one returns the only alert of a rule.
func (r *rig) one(rule string) *alert.Alert {
	r.t.Helper()
	as := r.alerts(rule)
	if len(as) != 1 {
		r.t.Fatalf("%d %s alerts, want 1; book: %v", len(as), rule, titles(r.book.Alerts(false)))
	}
	return as[0]
}

func (r *rig) none(rule string) {
	r.t.Helper()
	if as := r.alerts(rule); len(as) != 0 {
		r.t.Fatalf("%d %s alerts, want none: %v", len(as), rule, titles(as))
	}
}

func titles(as []*alert.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Rule+": "+a.Title)
	}
	return out
}

func modbusRead(f *dissect.Flow, at time.Time, unit, start, n uint32) *dissect.Transaction {
	return &dissect.Transaction{Time: at, RespTime: at.Add(4 * time.Millisecond), Flow: f, Frame: 1, Protocol: "modbus",
		Requester: dissect.ToServer, Op: dissect.OpRead, Function: 3, FuncName: "Read Holding Registers",
		Unit: unit, HasUnit: true, AddrSpace: "holding_register", AddrStart: start, AddrEnd: start + n - 1, HasAddr: true,
		Status: dissect.StatusOK, ReqBytes: 12, RespBytes: 9 + 2*int(n)}
}

// learnPlant learns a day of polling: the HMI reads the PLC's registers.
func (r *rig) learnPlant() *dissect.Flow {
	f := r.newFlow(dissect.TransportTCP, port(hmi, 49152), port(plc, 502), t0)
	r.connect(f, "modbus", t0)
	for i := range 20 {
		r.eng.Transaction(modbusRead(f, t0.Add(time.Duration(i)*time.Second), 1, 0, 10), nil)
	}
	return f
}

func enabled(on bool) *bool { return &on }

func techniques(a *alert.Alert) string { return strings.Join(a.Techniques, ",") }

// snips records the snippets an input asks for.
type snips struct{ want []alert.Trigger }

func (s *snips) Want(id string, t alert.Trigger) { s.want = append(s.want, t) }

func TestPortZero(t *testing.T) {
	r := newRig(t, detect.Config{})
	var s snips
	f := r.newFlow(dissect.TransportTCP, port(evil, 40000), port(plc, 0), t0)
	r.eng.Conn(f, detect.ConnStart, "", t0, &s)
	a := r.one(alert.RulePortZero)
	if a.Severity != alert.Minor || techniques(a) != "T0855" || a.Src.IP != "10.0.1.66" || a.Dst.IP != "10.0.1.20" ||
		a.Protocol != "tcp" || a.Engine != alert.EngineProtocol {
		t.Errorf("port 0 alert %+v", a)
	}
	if len(s.want) != 1 || s.want[0].FlowID != f.ID {
		t.Errorf("snippets asked: %+v, want flow %d", s.want, f.ID)
	}
	// Identical traffic aggregates; UDP is another alert; an L2 flow
	// and a real port are not port 0.
	r.eng.Conn(r.newFlow(dissect.TransportTCP, port(evil, 40001), port(plc, 0), t0), detect.ConnStart, "", t0.Add(time.Second), nil)
	r.eng.Conn(r.newFlow(dissect.TransportUDP, port(evil, 40002), port(plc, 0), t0), detect.ConnStart, "", t0, nil)
	l2 := r.newFlow(dissect.TransportL2, evil, plc, t0)
	l2.EtherType = 0x88b8
	r.eng.Conn(l2, detect.ConnStart, "goose", t0, nil)
	r.eng.Conn(r.newFlow(dissect.TransportTCP, port(evil, 40003), port(plc, 502), t0), detect.ConnStart, "", t0, nil)
	as := r.alerts(alert.RulePortZero)
	if len(as) != 2 || as[0].Count != 2 || as[1].Protocol != "udp" {
		t.Errorf("port 0 alerts: %v", titles(as))
	}
}

func arpRequest(from dissect.Endpoint, target netip.Addr, at time.Time) *detect.ARP {
	return &detect.ARP{Time: at, Op: 1, SenderMAC: from.MAC, SenderIP: from.IP, TargetIP: target, EthSrc: from.MAC}
}

func TestARPScan(t *testing.T) {
	sweep := func(r *rig, n int, every time.Duration) {
		for i := range n {
			r.eng.ARP(arpRequest(evil, netip.AddrFrom4([4]byte{10, 0, 1, byte(100 + i)}), t0.Add(time.Duration(i)*every)), nil)
		}
	}
	// Off by default.
	r := newRig(t, detect.Config{})
	if r.eng.Rules()[alert.RuleARPScan] {
		t.Fatal("ARP scan is on by default")
	}
	sweep(r, 60, time.Second)
	r.none(alert.RuleARPScan)

	on := detect.Config{Rules: map[string]detect.RuleConfig{alert.RuleARPScan: {Enabled: enabled(true)}}}
	r = newRig(t, on)
	sweep(r, 39, 5*time.Second)
	// Asking again for addresses already asked for adds nothing.
	for i := range 10 {
		r.eng.ARP(arpRequest(evil, netip.AddrFrom4([4]byte{10, 0, 1, byte(100 + i)}), t0.Add(200*time.Second)), nil)
	}
	r.none(alert.RuleARPScan)
	r.eng.ARP(arpRequest(evil, netip.MustParseAddr("10.0.1.200"), t0.Add(200*time.Second)), nil)
	a := r.one(alert.RuleARPScan)
	if a.Severity != alert.Critical || techniques(a) != "T0846" || a.Src.MAC != "00:80:f4:01:02:66" || a.Protocol != "arp" {
		t.Errorf("ARP scan alert %+v", a)
	}
	// 40 targets spread over more than 6 minutes: no scan.
	r = newRig(t, on)
	sweep(r, 40, 11*time.Second)
	r.none(alert.RuleARPScan)
	// Gratuitous ARP (target = sender) is not a request to another host.
	r = newRig(t, on)
	for i := range 50 {
		r.eng.ARP(arpRequest(evil, evil.IP, t0.Add(time.Duration(i)*time.Second)), nil)
	}
	r.none(alert.RuleARPScan)
}

func dnp3Restart(f *dissect.Flow, at time.Time) *dissect.Transaction {
	return &dissect.Transaction{Time: at, RespTime: at.Add(20 * time.Millisecond), Flow: f, Protocol: "dnp3",
		Requester: dissect.ToServer, Op: dissect.OpControl, Function: 0x0D, FuncName: "Cold Restart", Unit: 10, HasUnit: true,
		Status: dissect.StatusOK, ReqBytes: 15, RespBytes: 17}
}

func TestRestartRate(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := detect.Config{}
		if on {
			cfg.Rules = map[string]detect.RuleConfig{alert.RuleRestartRate: {Enabled: enabled(true)}}
		}
		r := newRig(t, cfg)
		f := r.newFlow(dissect.TransportTCP, port(hmi, 50000), port(rtu, 20000), t0)
		for i := range 9 {
			r.eng.Transaction(dnp3Restart(f, t0.Add(time.Duration(i)*5*time.Minute)), nil)
		}
		r.none(alert.RuleRestartRate)
		r.eng.Transaction(dnp3Restart(f, t0.Add(50*time.Minute)), nil)
		if a := r.one(alert.RuleRestart); a.Count != 10 || a.Severity != alert.Major || techniques(a) != "T0816" {
			t.Errorf("restart alert %+v", a)
		}
		if !on {
			r.none(alert.RuleRestartRate)
			continue
		}
		a := r.one(alert.RuleRestartRate)
		if a.Severity != alert.Major || a.Dst.IP != "10.0.1.40" || !strings.Contains(a.Evidence[0].Detail, "10 restarts") {
			t.Errorf("restart rate alert %+v", a)
		}
		// Ten more in the next hour: the same alert, updated, not a
		// second one; ten spread over more than an hour: nothing new.
		for i := range 10 {
			r.eng.Transaction(dnp3Restart(f, t0.Add(2*time.Hour+time.Duration(i)*time.Minute)), nil)
		}
		if as := r.alerts(alert.RuleRestartRate); len(as) != 1 || as[0].Count != 2 {
			t.Errorf("after a second burst: %v", titles(as))
		}
		for i := range 10 {
			r.eng.Transaction(dnp3Restart(f, t0.Add(4*time.Hour+time.Duration(i)*7*time.Minute)), nil)
		}
		if as := r.alerts(alert.RuleRestartRate); len(as) != 1 || as[0].Count != 2 {
			t.Errorf("after restarts spread over 63 minutes: %v", titles(as))
		}
	}
}

// pollChannel learns 10 minutes of one read a second, then runs ops.
func pollChannel(t *testing.T, cfg detect.Config) (*rig, *dissect.Flow, time.Time) {
	r := newRig(t, cfg)
	f := r.newFlow(dissect.TransportTCP, port(hmi, 49152), port(plc, 502), t0)
	r.connect(f, "modbus", t0)
	for i := range 600 {
		r.eng.Transaction(modbusRead(f, t0.Add(time.Duration(i)*time.Second), 1, 0, 10), nil)
	}
	end := t0.Add(600 * time.Second)
	r.eng.EndLearning(end)
	return r, f, end
}

func TestBandwidth(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := detect.Config{}
		if on {
			cfg.Rules = map[string]detect.RuleConfig{alert.RuleBandwidth: {Enabled: enabled(true)}}
		} else if r := newRig(t, cfg); r.eng.Rules()[alert.RuleBandwidth] {
			t.Fatal("bandwidth is on by default")
		}
		r, f, at := pollChannel(t, cfg)
		// A normal minute, then a minute of ten reads a second.
		for i := range 60 {
			r.eng.Transaction(modbusRead(f, at.Add(time.Duration(i)*time.Second), 1, 0, 10), nil)
		}
		r.none(alert.RuleBandwidth)
		at = at.Add(time.Minute)
		for i := range 600 {
			r.eng.Transaction(modbusRead(f, at.Add(time.Duration(i)*100*time.Millisecond), 1, 0, 10), nil)
		}
		r.eng.Transaction(modbusRead(f, at.Add(time.Minute), 1, 0, 10), nil) // closes the minute
		if !on {
			r.none(alert.RuleBandwidth)
			continue
		}
		a := r.one(alert.RuleBandwidth)
		if a.Severity != alert.Minor || techniques(a) != "T0814" || !strings.Contains(a.Evidence[0].Detail, "24600 bytes/min, learned 2460 ± 0") {
			t.Errorf("bandwidth alert %+v", a)
		}
		if n := len(r.book.Alerts(false)); n != 1 {
			t.Errorf("%d alerts, want only the bandwidth one: %v", n, titles(r.book.Alerts(false)))
		}
	}
}

func TestPeriodicity(t *testing.T) {
	cfg := detect.Config{Rules: map[string]detect.RuleConfig{alert.RulePeriodicity: {Enabled: enabled(true)}}}
	r, f, at := pollChannel(t, cfg)
	// The period doubles: alert at the fifth period out of band in a row.
	for i := range 5 {
		r.eng.Transaction(modbusRead(f, at.Add(time.Duration(i)*2*time.Second), 1, 0, 10), nil)
	}
	r.none(alert.RulePeriodicity)
	r.eng.Transaction(modbusRead(f, at.Add(10*time.Second), 1, 0, 10), nil)
	a := r.one(alert.RulePeriodicity)
	if a.Severity != alert.Minor || techniques(a) != "T0801" || !strings.Contains(a.Evidence[0].Detail, "period 2.000s, learned 1.000s") {
		t.Errorf("periodicity alert %+v", a)
	}
	// Off by default: the same traffic says nothing.
	r, f, at = pollChannel(t, detect.Config{})
	for i := range 20 {
		r.eng.Transaction(modbusRead(f, at.Add(time.Duration(i)*2*time.Second), 1, 0, 10), nil)
	}
	r.none(alert.RulePeriodicity)
}

func iec104Command(f *dissect.Flow, at time.Time, ioa uint32) *dissect.Transaction {
	return &dissect.Transaction{Time: at, RespTime: at.Add(30 * time.Millisecond), Flow: f, Protocol: "iec104",
		Requester: dissect.ToServer, Op: dissect.OpWrite, Function: 45, FuncName: "C_SC_NA_1 single command",
		Unit: 1, HasUnit: true, AddrSpace: "ioa", AddrStart: ioa, AddrEnd: ioa, HasAddr: true, Status: dissect.StatusOK,
		ReqBytes: 16, RespBytes: 16}
}

func TestIEC104Burst(t *testing.T) {
	r := newRig(t, detect.Config{})
	f := r.newFlow(dissect.TransportTCP, port(evil, 51000), port(rtu, 2404), t0)
	// Many commands to one object, and 19 distinct objects: no burst.
	for i := range 30 {
		r.eng.Transaction(iec104Command(f, t0.Add(time.Duration(i)*100*time.Millisecond), 1001), nil)
	}
	for i := range 18 {
		r.eng.Transaction(iec104Command(f, t0.Add(3*time.Second+time.Duration(i)*300*time.Millisecond), uint32(2000+i)), nil)
	}
	r.none(alert.RuleIEC104Burst)
	r.eng.Transaction(iec104Command(f, t0.Add(9*time.Second), 3000), nil)
	a := r.one(alert.RuleIEC104Burst)
	if a.Severity != alert.Critical || techniques(a) != "T0855,T0806" || a.Src.IP != "10.0.1.66" || a.Dst.IP != "10.0.1.40" ||
		!strings.Contains(a.Evidence[0].Detail, "20 commands to distinct objects within 10s") {
		t.Errorf("IEC 104 burst alert %+v", a)
	}
	// 20 distinct objects over more than 10 s: a control room at work.
	r = newRig(t, detect.Config{})
	f = r.newFlow(dissect.TransportTCP, port(hmi, 51000), port(rtu, 2404), t0)
	for i := range 20 {
		r.eng.Transaction(iec104Command(f, t0.Add(time.Duration(i)*600*time.Millisecond), uint32(2000+i)), nil)
	}
	r.none(alert.RuleIEC104Burst)
	// Reads (interrogation, type 100) are not commands.
	for i := range 40 {
		tx := iec104Command(f, t0.Add(time.Minute+time.Duration(i)*10*time.Millisecond), uint32(i))
		tx.Function, tx.FuncName, tx.Op = 100, "C_IC_NA_1 interrogation command", dissect.OpRead
		r.eng.Transaction(tx, nil)
	}
	r.none(alert.RuleIEC104Burst)
}

func TestModbusUnitSweep(t *testing.T) {
	r := newRig(t, detect.Config{})
	gw := port(ep("10.0.1.50", 0x50), 502)
	f := r.newFlow(dissect.TransportTCP, port(evil, 52000), gw, t0)
	for u := uint32(1); u <= 9; u++ {
		for range 3 {
			r.eng.Transaction(modbusRead(f, t0.Add(time.Duration(u)*time.Second), u, 0, 1), nil)
		}
	}
	// Another server does not add to this one's count.
	f2 := r.newFlow(dissect.TransportTCP, port(evil, 52001), port(plc, 502), t0)
	r.eng.Transaction(modbusRead(f2, t0.Add(10*time.Second), 10, 0, 1), nil)
	r.none(alert.RuleModbusUnitSweep)
	r.eng.Transaction(modbusRead(f, t0.Add(100*time.Second), 10, 0, 1), nil)
	a := r.one(alert.RuleModbusUnitSweep)
	if a.Severity != alert.Critical || techniques(a) != "T0846,T0888" || a.Dst.IP != "10.0.1.50" ||
		!strings.Contains(a.Evidence[0].Detail, "10 unit IDs within 2m0s") {
		t.Errorf("unit sweep alert %+v", a)
	}
}

func TestModbusUnitSweepAcrossConnections(t *testing.T) {
	// Two connections between the same hosts share one window, also after
	// Tick swept an expired one.
	r := newRig(t, detect.Config{})
	gw := port(ep("10.0.1.50", 0x50), 502)
	a := r.newFlow(dissect.TransportTCP, port(evil, 52000), gw, t0)
	for u := uint32(1); u <= 5; u++ {
		r.eng.Transaction(modbusRead(a, t0.Add(time.Duration(u)*time.Second), u, 0, 1), nil)
	}
	r.eng.Tick(t0.Add(5 * time.Minute)) // the window of units 1–5 ends
	at := t0.Add(6 * time.Minute)
	b := r.newFlow(dissect.TransportTCP, port(evil, 52001), gw, at)
	for u := uint32(11); u <= 15; u++ {
		r.eng.Transaction(modbusRead(b, at.Add(time.Duration(u)*time.Second), u, 0, 1), nil)
		r.eng.Transaction(modbusRead(a, at.Add(time.Duration(u)*time.Second), u+10, 0, 1), nil)
	}
	r.one(alert.RuleModbusUnitSweep)
	if a := r.one(alert.RuleModbusUnitSweep); !strings.Contains(a.Evidence[0].Detail, "10 unit IDs") {
		t.Errorf("unit sweep over two connections: %+v", a)
	}
}

func opcFind(f *dissect.Flow, at time.Time, name string) *dissect.Transaction {
	return &dissect.Transaction{Time: at, RespTime: at.Add(5 * time.Millisecond), Flow: f, Protocol: "opcua",
		Requester: dissect.ToServer, Op: dissect.OpIdentify, Function: 422, FuncName: name, Status: dissect.StatusOK,
		ReqBytes: 93, RespBytes: 350}
}

func TestOPCEnumeration(t *testing.T) {
	r := newRig(t, detect.Config{})
	for i := range 4 {
		srv := port(host(2, byte(1+i)), 4840)
		f := r.newFlow(dissect.TransportTCP, port(evil, uint16(53000+i)), srv, t0)
		r.eng.Transaction(opcFind(f, t0.Add(time.Duration(i)*10*time.Second), "FindServers"), nil)
		r.eng.Transaction(opcFind(f, t0.Add(time.Duration(i)*10*time.Second+time.Second), "GetEndpoints"), nil)
	}
	// Reads are not enumeration.
	f := r.newFlow(dissect.TransportTCP, port(evil, 53100), port(host(2, 9), 4840), t0)
	tx := opcFind(f, t0.Add(50*time.Second), "Read")
	tx.Op = dissect.OpRead
	r.eng.Transaction(tx, nil)
	r.none(alert.RuleOPCEnumeration)
	f = r.newFlow(dissect.TransportTCP, port(evil, 53101), port(host(2, 8), 4840), t0)
	r.eng.Transaction(opcFind(f, t0.Add(90*time.Second), "GetEndpoints"), nil)
	a := r.one(alert.RuleOPCEnumeration)
	if a.Severity != alert.Critical || techniques(a) != "T0846,T0861" || a.Src.IP != "10.0.1.66" ||
		a.Trigger.Host != evil.IP || !strings.Contains(a.Evidence[0].Detail, "5 OPC servers") {
		t.Errorf("OPC enumeration alert %+v", a)
	}
	r.none(alert.RulePLCScan) // 9 identity requests: under the PLC scan threshold
}

func snmpGet(f *dissect.Flow, at time.Time, deflt bool) *dissect.Transaction {
	tx := &dissect.Transaction{Time: at, RespTime: at.Add(3 * time.Millisecond), Flow: f, Protocol: "snmp",
		Requester: dissect.ToServer, Op: dissect.OpRead, Function: 0, FuncName: "get-request", Status: dissect.StatusOK,
		ReqBytes: 43, RespBytes: 50}
	tx.AddAttr("version", 1)
	tx.AddAttr("community_seen", 1)
	if deflt {
		tx.AddAttr("default_community", 1)
	}
	return tx
}

func TestCleartextCredentials(t *testing.T) {
	r := newRig(t, detect.Config{})
	r.learnPlant()
	// Learned: the HMI's SNMP polling of the PLC with its own community.
	learned := r.newFlow(dissect.TransportUDP, port(hmi, 50161), port(plc, 161), t0)
	r.eng.Transaction(snmpGet(learned, t0.Add(time.Minute), false), nil)
	r.eng.EndLearning(t0.Add(time.Hour))
	r.none(alert.RuleCleartextCreds)

	at := t0.Add(2 * time.Hour)
	r.eng.Transaction(snmpGet(r.newFlow(dissect.TransportUDP, port(hmi, 50162), port(plc, 161), at), at, false), nil)
	r.none(alert.RuleCleartextCreds)
	// "public" from another station: a vendor default, Critical.
	r.eng.Transaction(snmpGet(r.newFlow(dissect.TransportUDP, port(ews, 50163), port(plc, 161), at), at, true), nil)
	a := r.one(alert.RuleCleartextCreds)
	if a.Severity != alert.Critical || a.Function != "snmp_community" || techniques(a) != "T0812" || !a.Learnable ||
		!strings.Contains(a.Evidence[0].Detail, "vendor default") || len(a.Items) != 1 || !strings.HasPrefix(a.Items[0], "cred|") {
		t.Errorf("default community alert %+v", a)
	}
	// A non-default community and an FTP password: Major.
	r.eng.Transaction(snmpGet(r.newFlow(dissect.TransportUDP, port(ews, 50164), port(plc2, 161), at), at, false), nil)
	ftp := &dissect.Transaction{Time: at, Flow: r.newFlow(dissect.TransportTCP, port(ews, 50165), port(plc, 21), at),
		Protocol: "ftp", Requester: dissect.ToServer, Op: dissect.OpLogin, FuncName: "PASS", Status: dissect.StatusOK}
	ftp.AddAttr("cleartext_password", 1)
	r.eng.Transaction(ftp, nil)
	as := r.alerts(alert.RuleCleartextCreds)
	if len(as) != 3 || as[1].Severity != alert.Major || as[2].Severity != alert.Major || as[2].Function != "ftp" {
		t.Errorf("cleartext alerts %v", titles(as))
	}
	// Learn closes the alert and the traffic is then known.
	if _, err := r.eng.Learn(a.ID, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	r.eng.Transaction(snmpGet(r.newFlow(dissect.TransportUDP, port(ews, 50166), port(plc, 161), at), at.Add(time.Hour), true), nil)
	if got, _ := r.book.Get(a.ID); got.Status != alert.StatusClosed || got.ClosedReason != "learned" || got.Count != 1 {
		t.Errorf("after Learn: %+v", got)
	}
	if n := len(r.alerts(alert.RuleCleartextCreds)); n != 3 {
		t.Errorf("after Learn, the learned traffic raised again: %d alerts", n)
	}
	// Unlearn: the same traffic is news again.
	if _, err := r.eng.Unlearn(a.ID); err != nil {
		t.Fatal(err)
	}
	r.eng.Transaction(snmpGet(r.newFlow(dissect.TransportUDP, port(ews, 50167), port(plc, 161), at), at.Add(2*time.Hour), true), nil)
	if n := len(r.alerts(alert.RuleCleartextCreds)); n != 4 {
		t.Errorf("after Unlearn: %d alerts, want 4", n)
	}
}

func TestRemoteAccess(t *testing.T) {
	at := t0.Add(3 * time.Hour)
	window := detect.Window{Clients: []netip.Prefix{netip.MustParsePrefix("10.0.1.30/32")},
		Servers: []netip.Prefix{netip.MustParsePrefix("10.0.1.0/24")}, Start: at.Add(-time.Hour), End: at.Add(time.Hour)}
	for _, tc := range []struct {
		name    string
		windows []detect.Window
		client  dissect.Endpoint
		at      time.Time
		proto   string
		port    uint16
		want    string // the alert's protocol, "" for none
	}{
		{"ssh, no window", nil, ews, at, "ssh", 22, "ssh"},
		{"ssh inside the window", []detect.Window{window}, ews, at, "ssh", 22, ""},
		{"ssh at the window's start", []detect.Window{window}, ews, window.Start, "ssh", 22, ""},
		{"ssh at the window's end", []detect.Window{window}, ews, window.End, "ssh", 22, "ssh"},
		{"ssh after the window", []detect.Window{window}, ews, at.Add(2 * time.Hour), "ssh", 22, "ssh"},
		{"ssh from another client", []detect.Window{window}, evil, at, "ssh", 22, "ssh"},
		{"rdp by port", nil, ews, at, "", 3389, "rdp"},
		{"vnc by protocol", nil, ews, at, "vnc", 5901, "vnc"},
		{"teamviewer by port", nil, ews, at, "", 5938, "teamviewer"},
		{"http is not remote access", nil, ews, at, "http", 80, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, detect.Config{RemoteAccess: tc.windows})
			r.learnPlant()
			// Learned: the HMI's SSH maintenance session.
			r.connect(r.newFlow(dissect.TransportTCP, port(hmi, 40022), port(plc, 22), t0), "ssh", t0.Add(time.Minute))
			r.eng.EndLearning(t0.Add(time.Hour))
			r.connect(r.newFlow(dissect.TransportTCP, port(hmi, 40023), port(plc, 22), t0), "ssh", tc.at)
			r.none(alert.RuleRemoteAccess)

			r.connect(r.newFlow(dissect.TransportTCP, port(tc.client, 40024), port(plc, tc.port), tc.at), tc.proto, tc.at)
			if tc.want == "" {
				r.none(alert.RuleRemoteAccess)
				return
			}
			a := r.one(alert.RuleRemoteAccess)
			if a.Protocol != tc.want || a.Severity != alert.Major || techniques(a) != "T0886" || !a.Learnable ||
				a.Dst.IP != "10.0.1.20" || !strings.HasPrefix(a.Title, "Unauthorized remote access: "+tc.want+" ") {
				t.Errorf("remote access alert %+v", a)
			}
		})
	}
	// Remote access to an IT host is not an OT matter.
	r := newRig(t, detect.Config{})
	r.learnPlant()
	r.eng.EndLearning(t0.Add(time.Hour))
	r.connect(r.newFlow(dissect.TransportTCP, port(ews, 40030), port(ep("192.168.5.5", 0x55), 22), at), "ssh", at)
	r.none(alert.RuleRemoteAccess)
}

func TestHealth(t *testing.T) {
	r := newRig(t, detect.Config{})
	last := t0
	r.eng.Health("eth1", last, last.Add(5*time.Minute-time.Second))
	r.none(alert.RuleNoTraffic)
	r.eng.Health("eth1", last, last.Add(5*time.Minute))
	a := r.one(alert.RuleNoTraffic)
	if a.Severity != alert.Critical || a.Src.Name != "eth1" || a.Title != "No traffic on capture interface: eth1" ||
		!strings.Contains(a.Evidence[0].Detail, "since 2025-04-07T08:00:00Z") {
		t.Errorf("no traffic alert %+v", a)
	}
	r.eng.Health("eth1", last, last.Add(6*time.Minute))
	if a := r.one(alert.RuleNoTraffic); a.Count != 2 {
		t.Errorf("still no traffic: count %d, want 2", a.Count)
	}
	// Traffic again: nothing more.
	r.eng.Health("eth1", last.Add(7*time.Minute), last.Add(8*time.Minute))
	if a := r.one(alert.RuleNoTraffic); a.Count != 2 {
		t.Errorf("after traffic resumed: count %d", a.Count)
	}
	// An interface that never saw a packet counts from its first check.
	r.eng.Health("eth2", time.Time{}, t0)
	r.eng.Health("eth2", time.Time{}, t0.Add(4*time.Minute))
	if n := len(r.alerts(alert.RuleNoTraffic)); n != 1 {
		t.Errorf("eth2 after 4 minutes: %d alerts", n)
	}
	r.eng.Health("eth2", time.Time{}, t0.Add(5*time.Minute))
	if as := r.alerts(alert.RuleNoTraffic); len(as) != 2 || as[1].Src.Name != "eth2" {
		t.Errorf("eth2 after 5 minutes: %v", titles(as))
	}
	// A configured threshold.
	r = newRig(t, detect.Config{Thresholds: detect.Thresholds{NoTraffic: detect.Duration(30 * time.Second)}})
	r.eng.Health("eth1", t0, t0.Add(30*time.Second))
	r.one(alert.RuleNoTraffic)
}

func TestConfigValidate(t *testing.T) {
	cond := []detect.Condition{{Field: "function", Op: "==", Value: "6"}}
	for _, tc := range []struct {
		name string
		cfg  detect.Config
		want string
	}{
		{"unknown rule", detect.Config{Rules: map[string]detect.RuleConfig{"policy.nope": {}}}, `unknown rule "policy.nope"`},
		{"bad severity", detect.Config{Rules: map[string]detect.RuleConfig{alert.RulePortScan: {Severity: "urgent"}}}, "unknown severity"},
		{"custom without a name", detect.Config{Custom: []detect.CustomRule{{Conditions: cond}}}, "needs a name"},
		{"custom without conditions", detect.Config{Custom: []detect.CustomRule{{Name: "x"}}}, "at least one condition"},
		{"custom bad severity", detect.Config{Custom: []detect.CustomRule{{Name: "x", Severity: "huge", Conditions: cond}}}, "unknown severity"},
		{"custom bad action", detect.Config{Custom: []detect.CustomRule{{Name: "x", Action: "drop", Conditions: cond}}}, "want alert or record"},
		{"custom bad technique", detect.Config{Custom: []detect.CustomRule{{Name: "x", Techniques: []string{"T1059"}, Conditions: cond}}}, "outside the ICS range"},
		{"custom unknown field", detect.Config{Custom: []detect.CustomRule{{Name: "x", Conditions: []detect.Condition{{Field: "colour", Op: "==", Value: "red"}}}}}, `unknown field "colour"`},
		{"custom unknown operator", detect.Config{Custom: []detect.CustomRule{{Name: "x", Conditions: []detect.Condition{{Field: "unit", Op: "~", Value: "1"}}}}}, `unknown operator "~"`},
		{"custom missing value", detect.Config{Custom: []detect.CustomRule{{Name: "x", Conditions: []detect.Condition{{Field: "unit", Op: "=="}}}}}, "needs a value"},
		{"custom < on a string", detect.Config{Custom: []detect.CustomRule{{Name: "x", Conditions: []detect.Condition{{Field: "unit", Op: "<", Value: "ten"}}}}}, "needs a number"},
		{"custom bad range", detect.Config{Custom: []detect.CustomRule{{Name: "x", Conditions: []detect.Condition{{Field: "unit", Op: "in_range", Values: []string{"9", "1"}}}}}}, "min <= max"},
		{"custom range of one", detect.Config{Custom: []detect.CustomRule{{Name: "x", Conditions: []detect.Condition{{Field: "unit", Op: "in_range", Values: []string{"9"}}}}}}, "[min, max]"},
		{"custom empty set", detect.Config{Custom: []detect.CustomRule{{Name: "x", Conditions: []detect.Condition{{Field: "unit", Op: "in_set"}}}}}, "needs values"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error with %q", tc.name, err, tc.want)
		}
		if _, err := detect.New(tc.cfg, learn.New(learn.Config{}, t0), alert.NewBook(alert.BookConfig{}), detect.Options{}); err == nil {
			t.Errorf("%s: New accepted the configuration", tc.name)
		}
	}
	good := detect.Config{
		Rules: map[string]detect.RuleConfig{alert.RulePortScan: {Severity: "high"}, alert.RuleARPScan: {Enabled: enabled(true)}},
		Custom: []detect.CustomRule{{Name: "writes", Severity: "minor", Action: "record", Techniques: []string{"T0855"},
			Conditions: []detect.Condition{{Field: "attr.class", Op: "in_set", Values: []string{"0x6b", "0x6c"}},
				{Field: "unit", Op: "in_range", Values: []string{"1", "0x10"}}}}},
	}
	if err := good.Validate(); err != nil {
		t.Errorf("a valid configuration: %v", err)
	}
	if d := detect.DefaultThresholds(); d.PortScanPorts != 25 || d.ARPScanTargets != 40 || d.NoTraffic.D() != 5*time.Minute ||
		d.IEC104Commands != 20 || d.IEC104Window.D() != 10*time.Second {
		t.Errorf("default thresholds differ from DETECTIONS.md: %+v", d)
	}
}

func TestRuleSwitchesAndSeverity(t *testing.T) {
	portZero := func(r *rig) {
		r.eng.Conn(r.newFlow(dissect.TransportTCP, port(evil, 40000), port(plc, 0), t0), detect.ConnStart, "", t0, nil)
	}
	r := newRig(t, detect.Config{Rules: map[string]detect.RuleConfig{alert.RulePortZero: {Enabled: enabled(false)}}})
	portZero(r)
	r.none(alert.RulePortZero)
	if r.eng.Rules()[alert.RulePortZero] || !r.eng.Rules()[alert.RulePortScan] {
		t.Error("Rules(): port 0 should be off, port scan on")
	}
	for _, sev := range []string{"critical", "high", "Warning"} {
		r = newRig(t, detect.Config{Rules: map[string]detect.RuleConfig{alert.RulePortZero: {Severity: sev}}})
		portZero(r)
		want, _ := alert.ParseSeverity(sev)
		if a := r.one(alert.RulePortZero); a.Severity != want {
			t.Errorf("severity override %q: alert is %v", sev, a.Severity)
		}
	}
	// A severity override does not switch an off-by-default rule on; an
	// explicit Enabled does.
	cfg := detect.Config{Rules: map[string]detect.RuleConfig{alert.RuleARPScan: {Severity: "minor"}}}
	if cfg.Enabled(alert.RuleARPScan) {
		t.Error("severity override switched ARP scan on")
	}
	cfg.Rules[alert.RuleARPScan] = detect.RuleConfig{Enabled: enabled(true), Severity: "minor"}
	r = newRig(t, cfg)
	for i := range 40 {
		r.eng.ARP(arpRequest(evil, netip.AddrFrom4([4]byte{10, 0, 1, byte(100 + i)}), t0), nil)
	}
	if a := r.one(alert.RuleARPScan); a.Severity != alert.Minor {
		t.Errorf("ARP scan at minor: %v", a.Severity)
	}
	if (&detect.Config{}).Enabled("policy.nope") {
		t.Error("an unknown rule is enabled")
	}
}

func TestNoPolicy(t *testing.T) {
	// An analysis without a baseline: operational, empty, policy off.
	base := learn.New(learn.Config{}, t0)
	base.EndLearning(t0)
	r := newRigOn(t, detect.Config{NoPolicy: true}, base)
	for id, on := range r.eng.Rules() {
		rule, _ := alert.Lookup(id)
		if rule.Engine == alert.EnginePolicy && on {
			t.Errorf("NoPolicy: policy rule %s on", id)
		}
	}
	f := r.newFlow(dissect.TransportTCP, port(hmi, 50000), port(rtu, 20000), t0)
	r.connect(f, "dnp3", t0)
	r.eng.Transaction(dnp3Restart(f, t0.Add(time.Second)), nil)
	r.connect(r.newFlow(dissect.TransportTCP, port(ews, 40022), port(plc, 22), t0), "ssh", t0.Add(2*time.Second))
	r.eng.Transaction(snmpGet(r.newFlow(dissect.TransportUDP, port(ews, 50163), port(plc, 161), t0), t0.Add(3*time.Second), true), nil)
	r.eng.Hint(&dissect.AssetHint{Time: t0, Protocol: "dnp3", IP: rtu.IP, MAC: rtu.MAC, Firmware: "2.0"}, nil)
	r.eng.Hint(&dissect.AssetHint{Time: t0, Protocol: "dnp3", IP: rtu.IP, MAC: rtu.MAC, Firmware: "2.1"}, nil)
	r.eng.Conn(r.newFlow(dissect.TransportTCP, port(evil, 40000), port(plc, 0), t0), detect.ConnStart, "", t0, nil)
	for _, a := range r.book.Alerts(false) {
		if a.Engine == alert.EnginePolicy {
			t.Errorf("NoPolicy raised a policy alert: %s", a.Title)
		}
	}
	// The other engines still work.
	r.one(alert.RuleRestart)
	r.one(alert.RulePortZero)

	// The same traffic with policy on raises the policy alerts.
	base = learn.New(learn.Config{}, t0)
	base.EndLearning(t0)
	r = newRigOn(t, detect.Config{OTSubnets: []netip.Prefix{netip.MustParsePrefix("10.0.1.0/24")}}, base)
	f = r.newFlow(dissect.TransportTCP, port(hmi, 50000), port(rtu, 20000), t0)
	r.connect(f, "dnp3", t0)
	r.eng.Transaction(dnp3Restart(f, t0.Add(time.Second)), nil)
	for _, rule := range []string{alert.RuleNewAsset, alert.RuleNewCommunication, alert.RuleUnpermittedFunc, alert.RuleNewPort} {
		if len(r.alerts(rule)) == 0 {
			t.Errorf("policy on: no %s alert; book %v", rule, titles(r.book.Alerts(false)))
		}
	}
}

func TestLearningModeRaisesNoPolicy(t *testing.T) {
	// Learning mode never raises policy alerts, even when the baseline is
	// full and stops learning.
	r := newRigOn(t, detect.Config{}, learn.New(learn.Config{MaxItems: 4}, t0))
	for i := range 20 {
		c := port(host(1, byte(100+i)), 50000)
		f := r.newFlow(dissect.TransportTCP, c, port(plc, 502), t0)
		r.connect(f, "modbus", t0)
		r.eng.Transaction(modbusRead(f, t0.Add(time.Duration(i)*time.Second), uint32(i), uint32(i*10), 2), nil)
		r.connect(r.newFlow(dissect.TransportTCP, c, port(plc, 22), t0), "ssh", t0)
	}
	var capped uint64
	r.eng.Locked(func(b *learn.Baseline) { capped = b.Stats().Capped })
	if capped == 0 {
		t.Fatal("the baseline never reached its cap: the test proves nothing")
	}
	for _, a := range r.book.Alerts(false) {
		if a.Engine == alert.EnginePolicy {
			t.Errorf("learning mode raised %s", a.Title)
		}
	}
}

func TestFirmwareChanged(t *testing.T) {
	r := newRig(t, detect.Config{})
	hint := func(v string, at time.Time) {
		r.eng.Hint(&dissect.AssetHint{Time: at, Protocol: "enip", IP: plc.IP, MAC: plc.MAC, Firmware: v}, nil)
	}
	hint("20.11", t0)
	r.eng.EndLearning(t0.Add(time.Hour))
	hint("20.11", t0.Add(2*time.Hour))
	r.none(alert.RuleFirmwareChanged)
	hint("21.3", t0.Add(3*time.Hour))
	a := r.one(alert.RuleFirmwareChanged)
	if a.Severity != alert.Major || a.Function != "21.3" || !strings.Contains(a.Evidence[0].Detail, "learned 20.11") ||
		!slices.Equal(a.Items, []string{learn.FirmwareKey(learn.Host{IP: plc.IP}, "21.3")}) {
		t.Errorf("firmware alert %+v", a)
	}
	// A device whose first firmware appears in operational mode: no change.
	r.eng.Hint(&dissect.AssetHint{Time: t0.Add(4 * time.Hour), Protocol: "enip", IP: plc2.IP, MAC: plc2.MAC, Firmware: "1.0"}, nil)
	if n := len(r.alerts(alert.RuleFirmwareChanged)); n != 1 {
		t.Errorf("first firmware of a device raised an alert (%d alerts)", n)
	}
}
