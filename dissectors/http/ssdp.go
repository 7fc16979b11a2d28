package http

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
)

const ssdpName = "ssdp"

// SSDPSpec returns the dissector of SSDP (UPnP discovery: HTTP messages in
// UDP datagrams on port 1900, mostly to 239.255.255.250). Each datagram is
// one message: M-SEARCH queries, NOTIFY announcements and search responses.
// Their Server and User-Agent headers identify devices, so they become
// hints; Host, User-Agent and Server are counted under the http_ fields, as
// tshark decodes SSDP as HTTP.
func SSDPSpec() dissect.Spec {
	return dissect.Spec{
		Name:        ssdpName,
		Class:       dissect.ClassIT,
		Description: "SSDP (UPnP discovery over UDP 1900): M-SEARCH, NOTIFY, search responses, device Server strings",
		UDPPorts:    []uint16{1900},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newSSDP() },
	}
}

// ssdpMsg is what one datagram said; slices point into it.
type ssdpMsg struct {
	kind      int // ssdpSearch, ssdpNotify, ssdpResponse
	status    int
	server    []byte
	userAgent []byte
	location  []byte
	target    []byte // ST or NT
	nts       []byte
}

const (
	ssdpSearch = iota
	ssdpNotify
	ssdpResponse
)

type ssdp struct {
	tx        dissect.Transaction
	attrs     [6]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [3]dissect.Attr
	m         ssdpMsg
	lastHint  [2]uint64
}

func newSSDP() *ssdp {
	d := &ssdp{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Gap is never called for UDP flows.
func (d *ssdp) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End has nothing to flush: SSDP messages are lone datagrams.
func (d *ssdp) End(ctx *dissect.Context) {}

// Feed decodes one datagram.
func (d *ssdp) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.m = ssdpMsg{}
	m := &d.m
	line, rest := nextLine(data)
	switch {
	case hasPrefix(line, "M-SEARCH "):
		m.kind = ssdpSearch
	case hasPrefix(line, "NOTIFY "):
		m.kind = ssdpNotify
	case hasPrefix(line, "HTTP/1.") && len(line) >= 12 && isDigit(line[9]) && isDigit(line[10]) && isDigit(line[11]):
		m.kind = ssdpResponse
		m.status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	default:
		d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: ssdpName, Dir: dir,
			Kind: dissect.ViolMalformed, Reason: "not an SSDP start line"}
		ctx.Emit.Violation(&d.viol)
		return
	}
	for len(rest) > 0 {
		line, rest = nextLine(rest)
		if len(line) == 0 {
			break
		}
		c := indexByte(line, ':')
		if c <= 0 {
			continue
		}
		name, val := line[:c], trimOWS(line[c+1:])
		switch {
		case equalFold(name, "host"):
			ctx.Emit.FieldBytes("http_host", val)
		case equalFold(name, "user-agent"):
			m.userAgent = val
			ctx.Emit.FieldBytes("http_user_agent", val)
		case equalFold(name, "server"):
			m.server = val
			ctx.Emit.FieldBytes("http_server", val)
		case equalFold(name, "location"):
			m.location = val
		case equalFold(name, "st") || equalFold(name, "nt"):
			m.target = val
		case equalFold(name, "nts"):
			m.nts = val
		}
	}
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = ctx.Time, ctx.Flow, ctx.Frame, ssdpName
	t.Requester, t.ReqBytes, t.Function = dir, len(data), uint32(m.kind)
	switch m.kind {
	case ssdpSearch:
		t.Op, t.FuncName = dissect.OpIdentify, "M-SEARCH"
	case ssdpNotify:
		t.Op, t.FuncName = dissect.OpNotify, "NOTIFY"
		if equalFold(m.nts, "ssdp:byebye") {
			t.AddAttr("byebye", 1)
		}
	default:
		t.Op, t.FuncName = dissect.OpIdentify, "search response"
		t.AddAttr("status", uint64(m.status))
	}
	if m.target != nil {
		t.AddAttrStr("target", m.target)
	}
	if m.location != nil {
		t.AddAttrStr("location", m.location)
	}
	ctx.Emit.Transaction(t)
	d.emitHint(ctx, dir)
}

// emitHint reports the sender's Server string (announcing devices) or
// User-Agent (searching clients) when it changes.
func (d *ssdp) emitHint(ctx *dissect.Context, dir dissect.Direction) {
	m := &d.m
	v := m.server
	if v == nil {
		v = m.userAgent
	}
	if len(v) == 0 {
		return
	}
	h := fnv(fnv(fnvOffset, v), m.location)
	if d.lastHint[dir&1] == h {
		return
	}
	d.lastHint[dir&1] = h
	hi := &d.hint
	*hi = dissect.AssetHint{Time: ctx.Time, Protocol: ssdpName, Side: dir, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		ep := ctx.Flow.Endpoint(dir)
		hi.MAC, hi.IP = ep.MAC, ep.IP
	}
	if m.server != nil {
		// "UPnP/1.0 BLR-TX4S/1.0", "Linux/3.14 UPnP/1.0 IpBridge/1.26.0": OS, UPnP version, product.
		hi.Model = string(m.server)
		hi.Evidence = "announces UPnP services"
		if m.location != nil {
			hi.Extra = append(hi.Extra, dissect.Attr{Key: "upnp_location", Str: m.location, IsStr: true})
		}
		if m.target != nil {
			hi.Extra = append(hi.Extra, dissect.Attr{Key: "upnp_type", Str: m.target, IsStr: true})
		}
	} else {
		hi.Role, hi.Evidence = dissect.RoleClient, "searches for UPnP devices"
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "user_agent", Str: m.userAgent, IsStr: true})
	}
	ctx.Emit.Hint(hi)
}
