package detect

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Transaction checks one application transaction.
func (e *Engine) Transaction(t *dissect.Transaction, snip Snipper) {
	if t.Flow == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snip = snip
	e.stats.Transactions++
	if t.Time.After(e.latest) {
		e.latest = t.Time
	}
	f := t.Flow
	fs := e.slot(f, t.Protocol)
	client, server, ot := fs.client, fs.server, fs.ot
	src, dst := sides(t)
	srcH, dstH := client, server
	if t.Requester != dissect.ToServer {
		srcH, dstH = server, client
	}
	if ot && (!fs.marked || !fs.markedLearning && e.base.Learning()) {
		// An OT protocol marks both devices (and their subnets) as OT.
		fs.marked, fs.markedLearning = true, e.base.Learning()
		for _, h := range [2]learn.Host{client, server} {
			if _, ok := e.otHosts[h]; !ok && h.Valid() && (!h.IP.IsValid() || usable(h.IP)) && len(e.otHosts) < e.cfg.MaxTracked {
				e.otHosts[h] = struct{}{}
				e.markOTNet(h)
			}
			if e.base.Learning() {
				e.base.Flag(h, learn.FlagOT, false, t.Time)
			}
		}
	}
	trig := alert.Trigger{FlowID: f.ID, Frame: t.Frame}
	if t.Status != dissect.StatusOrphan {
		if ot {
			e.policyOT(t, f, fs, src, dst, srcH, dstH, trig)
			e.operational(t, src, dst, dstH, trig)
			e.malware(t, fs, src, dst, trig)
			if identifyRequest(t) && t.Requester == dissect.ToServer {
				e.plcScanCheck(t, src, srcH, trig)
			}
		}
		if kind, deflt := cleartextKind(t); kind != "" {
			e.cleartext(t, f, client, server, kind, deflt, trig)
		}
		if loginFailed(t) {
			e.loginFailure(t, src, dst, trig)
		}
		if t.Status == dissect.StatusUnmatched && t.Requester == dissect.ToServer && e.isOT(dstH) {
			e.holdUnmatched(t, dst, dstH, trig)
		} else {
			if len(e.pendUnm) > 0 {
				e.releaseUnmatched(f.ID)
			}
			if t.Requester == dissect.ToServer && (t.Status == dissect.StatusOK || t.Status == dissect.StatusException) &&
				e.unresp.len() > 0 {
				// The device answers: it is not unresponsive, whatever a
				// few lost requests say.
				e.unresp.forget(dstH)
			}
			if t.Requester == dissect.ToServer && t.Status != dissect.StatusUnmatched && !t.RespTime.IsZero() {
				// dstH is the flow's server: its entry is kept in the slot.
				last := fs.answered
				if last == nil {
					if last = e.answered[dstH]; last == nil && len(e.answered) < e.cfg.MaxTracked {
						last = new(time.Time)
						e.answered[dstH] = last
					}
					fs.answered = last
				}
				if last != nil && t.RespTime.After(*last) {
					*last = t.RespTime
				}
			}
		}
	}
	if t.Status == dissect.StatusOrphan {
		// A lone response (its request unseen, or taken by another
		// response) is no operation of its own: custom rules would count
		// the write it answers twice.
		return
	}
	for i := range e.cfg.Custom {
		r := &e.cfg.Custom[i]
		if r.Matches(t, src, dst) {
			e.customMatch(i, r, t, src, dst, trig)
		}
	}
}

// policyOT runs the policy checks on an OT transaction (and feeds the
// channel profiles).
func (e *Engine) policyOT(t *dissect.Transaction, f *dissect.Flow, fs *flowSlot, src, dst *dissect.Endpoint, srcH,
	dstH learn.Host, trig alert.Trigger) {
	pair := learn.Pair{Client: hostOf(&f.Client), Server: hostOf(&f.Server), Transport: uint8(f.Transport),
		Port: f.Server.Port}
	if f.Transport == dissect.TransportL2 {
		pair.Port = f.EtherType
	}
	op := learn.Op{Pair: pair, Protocol: t.Protocol, Function: t.Function}
	op.Sub, op.HasSub = subOf(t)
	policy := !e.cfg.NoPolicy
	// A transaction the baseline knew, unchanged since: skip the lookups.
	v := e.verdictOf(t, fs, &op)
	cached := e.verdictSlot(&v)
	known := f.ID != 0 && *cached == v
	opKnown := known || e.base.Op(op, t.Time)
	if !opKnown && policy {
		detail := "operation not in the pair's baseline"
		if op.HasSub {
			detail += " (object " + strconv.FormatUint(uint64(op.Sub), 10) + ")"
		}
		var extra []string
		if t.Op == dissect.OpWrite || t.Op == dissect.OpControl || t.Op == dissect.OpProgram {
			if !e.base.HasDevice(srcH) {
				extra = append(extra, "T0848") // a rogue master commanding
			}
		}
		e.raise(cand{rule: alert.RuleUnpermittedFunc, title: funcLabel(t) + " from " + srcH.String() + " to " +
			dstH.String() + " (" + t.Protocol + ")", src: e.device(src), dst: e.device(dst), proto: t.Protocol,
			fn: funcLabel(t), t: t.Time, trig: trig, items: []string{learn.OpKey(op)}, extraT: extra,
			ev: txEvidence(t, detail)})
	}
	rangeKnown := true
	if t.HasAddr && t.Protocol == "modbus" && !known {
		sp := learn.Space{Pair: pair, Protocol: t.Protocol, Unit: t.Unit, Name: t.AddrSpace}
		if rangeKnown = e.base.InRange(sp, t.AddrStart, t.AddrEnd, t.Time); !rangeKnown && policy {
			r := learn.Range{Start: t.AddrStart, End: t.AddrEnd}
			e.raise(cand{rule: alert.RuleModbusRange, title: t.AddrSpace + " " + strconv.FormatUint(uint64(r.Start), 10) +
				"–" + strconv.FormatUint(uint64(r.End), 10) + " on " + dstH.String() + " unit " +
				strconv.FormatUint(uint64(t.Unit), 10), src: e.device(src), dst: e.device(dst), proto: t.Protocol,
				fn: t.AddrSpace + " " + strconv.FormatUint(uint64(r.Start), 10) + "-" + strconv.FormatUint(uint64(r.End), 10),
				t:  t.Time, trig: trig, items: []string{learn.RangeKey(sp, r)},
				ev: txEvidence(t, "range outside "+rangesString(e.base.Ranges(sp)))})
		}
	}
	if !known && opKnown && rangeKnown && f.ID != 0 {
		v.gen = e.base.Generation() // learning may have just added them
		*cached = v
	}
	if t.Op == dissect.OpProgram && t.Requester == dissect.ToServer {
		ok := e.base.Flag(srcH, learn.FlagProgrammer, false, t.Time) || (srcH.IP.IsValid() &&
			anyContains(e.cfg.Programmers, srcH.IP))
		if !ok && policy {
			e.raise(cand{rule: alert.RuleUnauthProgramming, title: funcLabel(t) + " from " + srcH.String() + " to " +
				dstH.String() + " (" + t.Protocol + ")", src: e.device(src), dst: e.device(dst), proto: t.Protocol,
				fn: funcLabel(t), t: t.Time, trig: trig, items: []string{learn.FlagKey(srcH, learn.FlagProgrammer)},
				ev: txEvidence(t, "source is not a programming device")})
		}
	}
	if t.Requester == dissect.ToServer && (e.profiles || e.base.Learning()) {
		e.channel(t, op, src, dst, trig)
	}
}

func rangesString(rs []learn.Range) string {
	if len(rs) == 0 {
		return "no learned range"
	}
	var sb strings.Builder
	sb.WriteString("learned ")
	for i, r := range rs {
		if i > 0 {
			sb.WriteString(", ")
		}
		if i == 8 {
			sb.WriteString("…")
			break
		}
		sb.WriteString(strconv.FormatUint(uint64(r.Start), 10))
		sb.WriteString("–")
		sb.WriteString(strconv.FormatUint(uint64(r.End), 10))
	}
	return sb.String()
}

// channel feeds the polling-period and bandwidth profiles and checks them
// in operational mode.
func (e *Engine) channel(t *dissect.Transaction, op learn.Op, src, dst *dissect.Endpoint, trig alert.Trigger) {
	c := learn.Channel{Op: op, Unit: t.Unit, AddrStart: t.AddrStart}
	s := e.base.Channel(c, t.Time, t.ReqBytes+t.RespBytes)
	if e.base.Learning() {
		return
	}
	if e.on[alert.RulePeriodicity] && s.Period > 0 && s.Profile.N >= 10 {
		mean, std := s.Profile.Mean, s.Profile.Std()
		band := e.th.PeriodSigma*std + math.Max(0.05*mean, 0.002)
		if math.Abs(s.Period.Seconds()-mean) > band {
			e.offBand[c]++
			if int(e.offBand[c]) == e.th.PeriodSamples {
				e.raise(cand{rule: alert.RulePeriodicity, title: funcLabel(t) + " " + hostStr(src) + " → " +
					hostStr(dst) + " (" + t.Protocol + ")", src: e.device(src), dst: e.device(dst), proto: t.Protocol,
					fn: funcLabel(t), t: t.Time, trig: trig, ev: txEvidence(t, fmt.Sprintf(
						"period %.3fs, learned %.3fs ± %.3fs", s.Period.Seconds(), mean, std))})
			}
		} else {
			e.offBand[c] = 0
		}
	}
	if e.on[alert.RuleBandwidth] && s.Minute && s.Rate.N >= 5 {
		mean, std := s.Rate.Mean, s.Rate.Std()
		band := e.th.BandwidthSigma*std + 0.1*mean
		if math.Abs(s.MinuteRate-mean) > band {
			e.raise(cand{rule: alert.RuleBandwidth, title: hostStr(src) + " → " + hostStr(dst) + " (" +
				t.Protocol + ")", src: e.device(src), dst: e.device(dst), proto: t.Protocol, fn: funcLabel(t), t: t.Time,
				trig: trig, ev: txEvidence(t, fmt.Sprintf("%.0f bytes/min, learned %.0f ± %.0f", s.MinuteRate, mean, std))})
		}
	}
}

// operational raises stops, mode changes, locks, restarts and firmware
// transfers.
func (e *Engine) operational(t *dissect.Transaction, src, dst *dissect.Endpoint, dstH learn.Host, trig alert.Trigger) {
	if t.Requester != dissect.ToServer {
		return
	}
	act := classify(t)
	if act == actNone {
		return
	}
	title := funcLabel(t) + " from " + hostStr(src) + " to " + hostStr(dst) + " (" + t.Protocol + ")"
	detail := actionNames[act]
	if t.Status == dissect.StatusException {
		detail += "; rejected by the device"
		if t.CodeName != "" {
			detail += " (" + t.CodeName + ")"
		}
	}
	c := cand{title: title, src: e.device(src), dst: e.device(dst), proto: t.Protocol, fn: funcLabel(t), t: t.Time,
		trig: trig, ev: txEvidence(t, detail)}
	switch act {
	case actStop, actStart, actModeChange:
		c.rule = alert.RulePLCStop
	case actLock, actUnlock:
		c.rule = alert.RulePLCLock
	case actRestart:
		c.rule = alert.RuleRestart
		if n, fire := e.restarts.count(dstH, t.Time, e.th.RestartWindow.D(), e.th.RestartCount, &e.stats.TrackDropped); fire {
			r := c
			r.rule = alert.RuleRestartRate
			r.title = dstH.String() + " (" + t.Protocol + ")"
			r.src = alert.Device{}
			r.ev.Detail = strconv.Itoa(n) + " restarts within " + e.th.RestartWindow.D().String()
			e.raise(r)
		}
	case actFirmware:
		c.rule = alert.RuleFirmwareUpdate
		c.title = dstH.String() + " from " + src.IP.String() + " (" + t.Protocol + ")"
		c.fn = ""
	}
	e.raise(c)
}

// malware checks the ICS malware behaviour signatures.
func (e *Engine) malware(t *dissect.Transaction, fs *flowSlot, src, dst *dissect.Endpoint, trig alert.Trigger) {
	if t.Requester != dissect.ToServer || !src.IP.IsValid() {
		return
	}
	switch t.Protocol {
	case "iec104":
		// Commands are type IDs 45–69 (single, double, regulating step,
		// set-point and bitstring commands, with and without time tag).
		if t.Function >= 45 && t.Function <= 69 && t.HasAddr {
			if n, fire := e.iec104.distinct(src.IP, uint64(t.Unit)<<32|uint64(t.AddrStart), t.Time, e.th.IEC104Window.D(),
				e.th.IEC104Commands, &e.stats.TrackDropped); fire {
				e.raise(cand{rule: alert.RuleIEC104Burst, title: src.IP.String() + " → " + dst.IP.String(),
					src: e.device(src), dst: e.device(dst), proto: t.Protocol, fn: funcLabel(t), t: t.Time, trig: trig,
					ev: txEvidence(t, strconv.Itoa(n)+" commands to distinct objects within "+e.th.IEC104Window.D().String())})
			}
		}
	case "modbus":
		if t.HasUnit {
			// The flow's window, kept in its slot: requests go from the
			// flow's client to its server.
			w := e.th.ModbusUnitWindow.D()
			x := fs.units
			if x == nil || x.dead {
				x = e.units.get(hostPair{src.IP, dst.IP}, t.Time, w, &e.stats.TrackDropped)
				fs.units = x
			} else {
				x.renew(t.Time, w)
			}
			if x == nil {
				break
			}
			if n, fire := x.distinct(uint64(t.Unit), e.th.ModbusUnits); fire {
				e.raise(cand{rule: alert.RuleModbusUnitSweep, title: src.IP.String() + " → " + dst.IP.String(),
					src: e.device(src), dst: e.device(dst), proto: t.Protocol, t: t.Time, trig: trig,
					ev: txEvidence(t, strconv.Itoa(n)+" unit IDs within "+e.th.ModbusUnitWindow.D().String())})
			}
		}
	case "opcua":
		n := t.FuncName
		if strings.Contains(n, "FindServers") || strings.Contains(n, "GetEndpoints") {
			if k, fire := e.opc.distinct(src.IP, addrKey(dst.IP)^uint64(dst.Port)<<40, t.Time, e.th.OPCWindow.D(),
				e.th.OPCServers, &e.stats.TrackDropped); fire {
				e.raise(cand{rule: alert.RuleOPCEnumeration, title: src.IP.String(), src: e.device(src),
					proto: t.Protocol, t: t.Time, trig: alert.Trigger{Host: src.IP},
					ev: txEvidence(t, strconv.Itoa(k)+" OPC servers asked within "+e.th.OPCWindow.D().String())})
			}
		}
	}
}

func (e *Engine) plcScanCheck(t *dissect.Transaction, src *dissect.Endpoint, srcH learn.Host, trig alert.Trigger) {
	if !src.IP.IsValid() && !usableMAC(src.MAC) {
		return
	}
	if e.scanner(srcH) {
		return
	}
	key := src.IP
	if !key.IsValid() {
		key = netip.AddrFrom16([16]byte{0xfe, 0x80, 10: src.MAC[0], src.MAC[1], src.MAC[2], src.MAC[3], src.MAC[4], src.MAC[5]})
	}
	if n, fire := e.plcScan.count(key, t.Time, e.th.PLCScanWindow.D(), e.th.PLCScanRequests, &e.stats.TrackDropped); fire {
		e.scanFound(srcH, t.Time)
		e.raise(cand{rule: alert.RulePLCScan, title: srcH.String() + " (" + t.Protocol + ")", src: e.device(src),
			proto: t.Protocol, fn: funcLabel(t), t: t.Time, trig: alert.Trigger{Host: src.IP, MAC: src.MAC, FlowID: trig.FlowID},
			ev: txEvidence(t, strconv.Itoa(n)+" identity requests within "+e.th.PLCScanWindow.D().String())})
	}
}

func (e *Engine) cleartext(t *dissect.Transaction, f *dissect.Flow, client, server learn.Host, kind string, deflt bool,
	trig alert.Trigger) {
	pair := learn.Pair{Client: client, Server: server, Transport: uint8(f.Transport), Port: f.Server.Port}
	if e.base.Cleartext(pair, kind, t.Time) || e.cfg.NoPolicy {
		return
	}
	c := cand{rule: alert.RuleCleartextCreds, title: kind + " " + client.String() + " → " + server.String(),
		src: e.device(&f.Client), dst: e.device(&f.Server), proto: t.Protocol, fn: kind, t: t.Time, trig: trig,
		items: []string{learn.CredKey(pair, kind)}, ev: txEvidence(t, "credentials sent in clear")}
	if deflt {
		c.sev = alert.Critical
		c.ev.Detail = "vendor default credential sent in clear"
	}
	e.raise(c)
}

func (e *Engine) loginFailure(t *dissect.Transaction, src, dst *dissect.Endpoint, trig alert.Trigger) {
	if !dst.IP.IsValid() {
		return
	}
	if n, fire := e.logins.count(dst.IP, t.Time, e.th.LoginWindow.D(), e.th.LoginFailures, &e.stats.TrackDropped); fire {
		e.raise(cand{rule: alert.RuleLoginAttempts, title: t.Protocol + " on " + dst.IP.String(), src: e.device(src),
			dst: e.device(dst), proto: t.Protocol, t: t.Time, trig: trig,
			ev: txEvidence(t, strconv.Itoa(n)+" failed logins within "+e.th.LoginWindow.D().String())})
	}
}

func (e *Engine) customMatch(i int, r *CustomRule, t *dissect.Transaction, src, dst *dissect.Endpoint, trig alert.Trigger) {
	if r.Count > 1 {
		key := src.IP
		w := r.Within.D()
		if w <= 0 {
			w = time.Minute
		}
		if _, fire := e.custom[i].count(key, t.Time, w, r.Count, &e.stats.TrackDropped); !fire {
			return
		}
	}
	if r.Action == "record" {
		e.stats.Records++
		if len(e.records) < MaxRecords {
			e.records = append(e.records, Record{Rule: r.Name, Time: t.Time, Src: endpointString(src),
				Dst: endpointString(dst), Protocol: t.Protocol, Function: funcLabel(t)})
		}
		return
	}
	e.raise(cand{rule: alert.RuleCustom, title: r.Name + ": " + funcLabel(t) + " " + hostStr(src) + " → " +
		hostStr(dst), src: e.device(src), dst: e.device(dst), proto: t.Protocol, fn: funcLabel(t), t: t.Time,
		trig: trig, extraT: r.Techniques, sev: r.sev, ev: txEvidence(t, "custom rule "+r.Name)})
}

// Hint checks what a dissector learnt about a device: firmware changes.
func (e *Engine) Hint(h *dissect.AssetHint, snip Snipper) {
	if h.Firmware == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snip = snip
	e.stats.Hints++
	host := learn.HostOf(h.MAC, h.IP)
	if !host.Valid() {
		return
	}
	known, prev := e.base.Firmware(host, h.Firmware, h.Time)
	if known || e.cfg.NoPolicy || len(prev) == 0 {
		return // a device's first firmware is not a change
	}
	detail := "reports firmware " + h.Firmware
	if len(prev) > 0 {
		detail += ", learned " + strings.Join(prev, ", ")
	}
	dev := e.hostDevice(h.IP, h.MAC)
	e.raise(cand{rule: alert.RuleFirmwareChanged, title: host.String() + " now " + h.Firmware + " (" + h.Protocol + ")",
		src: dev, proto: h.Protocol, fn: h.Firmware, t: h.Time, trig: alert.Trigger{Host: h.IP, MAC: h.MAC},
		items: []string{learn.FirmwareKey(host, h.Firmware)},
		ev:    alert.Evidence{Time: h.Time, Protocol: h.Protocol, Src: host.String(), Detail: detail}})
}

// Violation maps protocol violations to the protocol engine's alerts.
func (e *Engine) Violation(v *dissect.Violation, snip Snipper) {
	if v.Kind == dissect.ViolTruncated || v.Flow == nil {
		return // a capture cut short is not the device's fault
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snip = snip
	e.stats.Violations++
	src, dst := &v.Flow.Client, &v.Flow.Server
	if v.Dir == dissect.ToClient {
		src, dst = dst, src
	}
	trig := alert.Trigger{FlowID: v.Flow.ID, Frame: v.Frame}
	ev := alert.Evidence{Time: v.Time, Frame: v.Frame, Protocol: v.Protocol, Function: v.Function,
		Src: endpointString(src), Dst: endpointString(dst), Detail: v.Kind.String() + ": " + v.Reason}
	base := cand{src: e.device(src), dst: e.device(dst), proto: v.Protocol, t: v.Time, trig: trig, ev: ev}
	switch {
	case v.Kind == dissect.ViolBadLength:
		c := base
		c.rule, c.title, c.fn = alert.RuleBadLength, v.Protocol+" "+hostStr(src)+" → "+hostStr(dst), v.Reason
		e.raise(c)
	case v.Protocol == "modbus" && (v.Kind == dissect.ViolIllegalFunc || v.Kind == dissect.ViolOutOfSpec):
		c := base
		c.rule, c.title = alert.RuleIllegalModbus, v.Reason+" from "+hostStr(src)+" to "+hostStr(dst)
		c.fn = strconv.FormatUint(uint64(v.Function), 10)
		e.raise(c)
	}
	if n, fire := e.malform.count(session{hostOf(&v.Flow.Client), hostOf(&v.Flow.Server), v.Protocol}, v.Time, e.th.MalformedWindow.D(), e.th.MalformedCount, &e.stats.TrackDropped); fire {
		c := base
		c.rule, c.title = alert.RuleMalformed, v.Protocol+" "+hostStr(src)+" → "+hostStr(dst)
		c.ev.Detail = strconv.Itoa(n) + " malformed PDUs in one session within " + e.th.MalformedWindow.D().String() +
			"; last: " + ev.Detail
		e.raise(c)
	}
}

// ARP is one ARP packet.
type ARP struct {
	Time      time.Time
	Frame     uint64
	Op        uint16 // 1 request, 2 reply
	SenderMAC [6]byte
	SenderIP  netip.Addr
	TargetMAC [6]byte
	TargetIP  netip.Addr
	EthSrc    [6]byte
}

// ARP checks an ARP packet: spoofing, duplicate IPs, address changes and
// ARP scans.
func (e *Engine) ARP(a *ARP, snip Snipper) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snip = snip
	e.stats.ARP++
	trig := alert.Trigger{MAC: a.SenderMAC, Host: a.SenderIP, Frame: a.Frame}
	if a.Op == 1 && a.TargetIP.IsValid() && a.TargetIP != a.SenderIP && usableMAC(a.SenderMAC) {
		if n, fire := e.arpScan.distinct(a.SenderMAC, addrKey(a.TargetIP), a.Time, e.th.ARPScanWindow.D(),
			e.th.ARPScanTargets, &e.stats.TrackDropped); fire {
			e.raise(cand{rule: alert.RuleARPScan, title: macStr(a.SenderMAC), src: e.hostDevice(a.SenderIP, a.SenderMAC),
				proto: "arp", t: a.Time, trig: trig, ev: alert.Evidence{Time: a.Time, Frame: a.Frame, Protocol: "arp",
					Src: macStr(a.SenderMAC), Detail: strconv.Itoa(n) + " ARP requests to distinct addresses within " +
						e.th.ARPScanWindow.D().String()}})
		}
	}
	ip := a.SenderIP
	if !usable(ip) || !usableMAC(a.SenderMAC) {
		return
	}
	ev := alert.Evidence{Time: a.Time, Frame: a.Frame, Protocol: "arp", Function: uint32(a.Op),
		Src: macStr(a.SenderMAC), Dst: a.TargetIP.String()}
	if old, ok := e.ipToMAC[ip]; ok && old.mac != a.SenderMAC && a.Time.Sub(old.last) <= e.th.ARPSpoofHold.D() {
		ev.Detail = ip.String() + " claimed by " + macStr(a.SenderMAC) + ", bound to " + macStr(old.mac)
		e.raise(cand{rule: alert.RuleARPSpoof, title: ip.String() + " claimed by " + macStr(a.SenderMAC) + " (was " +
			macStr(old.mac) + ")", src: e.hostDevice(ip, a.SenderMAC), dst: e.hostDevice(ip, old.mac), proto: "arp",
			t: a.Time, trig: trig, ev: ev})
		// Keep the first binding: the spoofer does not become the truth.
		old.last = a.Time
		e.ipToMAC[ip] = old
		// Nor did the spoofer move to the address it claims: no address
		// change, and its own binding stays.
		return
	} else if len(e.ipToMAC) < e.cfg.MaxTracked || ok {
		e.ipToMAC[ip] = arpBinding{mac: a.SenderMAC, ip: ip, last: a.Time}
	}
	if old, ok := e.macToIP[a.SenderMAC]; ok && old.ip != ip {
		// An address change announces itself with a gratuitous ARP (the
		// sender asks for its own new address); a MAC answering for two
		// addresses in ordinary requests is a multi-homed host.
		if a.TargetIP == ip && e.ipToMAC[old.ip].mac == a.SenderMAC {
			// The device left its old address: an address change, not
			// a second address (routers answer for one IP per MAC in
			// ARP, so a MAC with two live IPs is rare).
			ev.Detail = macStr(a.SenderMAC) + " moved from " + old.ip.String() + " to " + ip.String()
			e.raise(cand{rule: alert.RuleIPChanged, title: macStr(a.SenderMAC) + " " + old.ip.String() + " → " + ip.String(),
				src: e.hostDevice(ip, a.SenderMAC), dst: e.hostDevice(old.ip, a.SenderMAC), proto: "arp",
				fn: old.ip.String() + "→" + ip.String(), t: a.Time, trig: trig, ev: ev})
			delete(e.ipToMAC, old.ip)
		}
		e.macToIP[a.SenderMAC] = arpBinding{mac: a.SenderMAC, ip: ip, last: a.Time}
	} else if ok || len(e.macToIP) < e.cfg.MaxTracked {
		e.macToIP[a.SenderMAC] = arpBinding{mac: a.SenderMAC, ip: ip, last: a.Time}
	}
}

// NameKind is the kind of name a dissector reported.
type NameKind uint8

// Name kinds matched against indicators.
const (
	NameDomain NameKind = iota + 1 // DNS query, TLS SNI, HTTP Host
	NameURL
)

// Name checks a DNS query name, a TLS SNI, an HTTP host or a URL seen
// between src and dst against the indicators.
func (e *Engine) Name(kind NameKind, name []byte, src, dst *dissect.Endpoint, t time.Time, flowID uint64, snip Snipper) {
	if e.ind == nil || len(name) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snip = snip
	e.stats.Names++
	var s string
	if kind == NameURL {
		s = string(name)
	} else {
		s = strings.TrimSuffix(strings.ToLower(string(name)), ".")
	}
	in, ok := e.ind.MatchDomain(s)
	if kind == NameURL {
		in, ok = e.ind.MatchURL(s)
	}
	if !ok {
		return
	}
	// Without a flow the snippet is cut from the sender's packets (the
	// one carrying the name is in the ring by then).
	trig := alert.Trigger{FlowID: flowID}
	if flowID == 0 {
		if src.IP.IsValid() {
			trig.Host = src.IP
		} else {
			trig.MAC = src.MAC
		}
	}
	e.raise(cand{rule: alert.RuleIndicator, title: s + " (" + in.Source + ")", src: e.device(src), dst: e.device(dst),
		proto: "dns", fn: in.Value, t: t, trig: trig, desc: in.Description,
		ev: alert.Evidence{Time: t, Src: endpointString(src), Dst: endpointString(dst),
			Detail: "indicator " + in.Value + " from " + in.Source}})
}

// Health reports when an interface last saw a packet; after the
// configured quiet period it raises "No traffic on capture interface".
func (e *Engine) Health(iface string, last, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snip = nil
	if last.IsZero() {
		last = e.ifaces[iface]
		if last.IsZero() {
			e.ifaces[iface] = now
			return
		}
	}
	e.ifaces[iface] = last
	if now.Sub(last) < e.th.NoTraffic.D() {
		return
	}
	e.raise(cand{rule: alert.RuleNoTraffic, title: iface, src: alert.Device{Name: iface}, proto: "capture", fn: iface,
		t: now, ev: alert.Evidence{Time: now, Detail: "no packet on " + iface + " since " + last.UTC().Format(time.RFC3339)}})
}

// Tick runs the periodic work at now: auto-close, the automatic end of
// learning and the sweeping of expired windows.
func (e *Engine) Tick(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.book.Sweep(now)
	if e.base.Tick(now) {
		e.log.Info("learning ended by itself", "items", e.base.Stats().Items)
	}
	for id, ps := range e.pendUnm {
		if len(ps) > 0 && now.Sub(ps[0].ev.Time) > time.Minute {
			e.releaseUnmatched(id)
		}
	}
	for _, t := range []interface{ sweep(time.Time) }{&e.malform, &e.addrScan, &e.portScan, &e.plcScan, &e.arpScan,
		&e.logins, &e.dos, &e.restarts, &e.unresp, &e.iec104, &e.units, &e.opc} {
		t.sweep(now)
	}
}

// EndLearning ends learning now (the admin's action).
func (e *Engine) EndLearning(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.base.EndLearning(now)
}

// Learn closes an alert and adds its traffic to the baseline.
func (e *Engine) Learn(id string, now time.Time) (*alert.Alert, error) {
	a, ok := e.book.Get(id)
	if !ok {
		return nil, alert.ErrNotFound
	}
	if !a.Learnable {
		return nil, fmt.Errorf("detect: alert %s (%s) has no baseline items to learn", id, a.Rule)
	}
	e.mu.Lock()
	for _, k := range a.Items {
		if err := e.base.Add(k, now); err != nil {
			e.mu.Unlock()
			return nil, fmt.Errorf("detect: learning alert %s: %w", id, err)
		}
	}
	e.mu.Unlock()
	return e.book.Learned(id, now)
}

// Unlearn removes an alert's items from the baseline (the alert stays
// closed; identical traffic raises a new one).
func (e *Engine) Unlearn(id string) (*alert.Alert, error) {
	a, ok := e.book.Get(id)
	if !ok {
		return nil, alert.ErrNotFound
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range a.Items {
		if err := e.base.Remove(k); err != nil {
			return nil, fmt.Errorf("detect: unlearning alert %s: %w", id, err)
		}
	}
	return a, nil
}

// SaveBaseline writes the baseline's changes to s.
func (e *Engine) SaveBaseline(ctx context.Context, s learn.Store) error {
	e.mu.Lock()
	put, del := e.base.Pending()
	e.mu.Unlock()
	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	if err := s.SaveBaseline(ctx, put, del); err != nil {
		e.mu.Lock()
		e.base.Restore(put, del)
		e.mu.Unlock()
		return fmt.Errorf("detect: saving baseline: %w", err)
	}
	return nil
}
