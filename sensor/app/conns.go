package app

import (
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/analyze"
	"github.com/otwatch/otwatch/sensor/flow"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
)

// connEntry is one communication pair.
type connEntry struct {
	c          store.Connection
	cMAC, sMAC [6]byte
	cIP, sIP   netip.Addr
}

// flowSeen is what the tracker already counted of an active flow.
type flowSeen struct {
	key              string
	packets, bytes   uint64
	counted, dropped bool
}

// connTracker is the pipeline's Tap: it keeps the communication pairs
// (client, server, transport, server port) with their flows, packets,
// bytes and first and last sightings, and counts the protocol violations.
// Pairs are bounded: beyond max + max/10 new pairs are dropped and counted
// until retention (prune) forgets the least recently seen.
type connTracker struct {
	mu      sync.Mutex
	max     int
	conns   map[string]*connEntry
	active  map[uint64]*flowSeen
	dirty   map[string]bool
	deleted map[string]bool
	dropped uint64
	viols   map[string]uint64 // "protocol|kind"
}

var _ analyze.Tap = (*connTracker)(nil)

func newConnTracker(max int) *connTracker {
	return &connTracker{max: max, conns: map[string]*connEntry{}, active: map[uint64]*flowSeen{},
		dirty: map[string]bool{}, deleted: map[string]bool{}, viols: map[string]uint64{}}
}

// hostString names a flow endpoint as the baseline does: IP, else MAC.
func hostString(ep *dissect.Endpoint) string {
	if ep.IP.IsValid() {
		return ep.IP.Unmap().String()
	}
	return string(dissect.AppendMAC(nil, ep.MAC))
}

func connKey(client, server, transport string, port uint16) string {
	return client + "|" + server + "|" + transport + "|" + strconv.Itoa(int(port))
}

// FlowUpdate implements analyze.Tap.
func (t *connTracker) FlowUpdate(f *flow.Flow) { t.update(f, false) }

// FlowEnd implements analyze.Tap.
func (t *connTracker) FlowEnd(f *flow.Flow, reason string) { t.update(f, true) }

// Violation implements analyze.Tap.
func (t *connTracker) Violation(v *dissect.Violation) {
	k := v.Protocol + "|" + v.Kind.String()
	t.mu.Lock()
	t.viols[k]++
	t.mu.Unlock()
}

func (t *connTracker) update(f *flow.Flow, end bool) {
	if f.Info.Transport == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fs := t.active[f.Info.ID]
	if fs == nil {
		fs = &flowSeen{}
		port := f.Info.Server.Port
		if f.Info.Transport == dissect.TransportL2 {
			port = f.Info.EtherType
		}
		fs.key = connKey(hostString(&f.Info.Client), hostString(&f.Info.Server), f.Info.Transport.String(), port)
		e := t.conns[fs.key]
		if e == nil {
			if len(t.conns) >= t.max+t.max/10+64 {
				fs.dropped = true
				t.dropped++
			} else {
				e = &connEntry{cMAC: f.Info.Client.MAC, sMAC: f.Info.Server.MAC, cIP: f.Info.Client.IP.Unmap(),
					sIP: f.Info.Server.IP.Unmap()}
				e.c = store.Connection{Key: fs.key, Transport: f.Info.Transport.String(), Port: port,
					First: f.Info.Start.UTC()}
				fillEndpoints(e)
				t.conns[fs.key] = e
				delete(t.deleted, fs.key)
			}
		}
		if !end {
			t.active[f.Info.ID] = fs
		}
	}
	if end {
		delete(t.active, f.Info.ID)
	}
	if fs.dropped {
		return
	}
	e := t.conns[fs.key]
	if e == nil {
		return // forgotten by retention while the flow went on
	}
	packets := f.Packets[0] + f.Packets[1]
	bytes := f.Bytes[0] + f.Bytes[1]
	if !fs.counted {
		fs.counted = true
		e.c.Flows++
	}
	if packets >= fs.packets {
		e.c.Packets += packets - fs.packets
		e.c.Bytes += bytes - fs.bytes
		fs.packets, fs.bytes = packets, bytes
	}
	if p := f.Protocol(); p != "" {
		e.c.Protocol = p
	}
	if st := f.Info.Start.UTC(); !st.IsZero() && (e.c.First.IsZero() || st.Before(e.c.First)) {
		e.c.First = st
	}
	if l := f.Last(); l.After(e.c.Last) {
		e.c.Last = l
	}
	t.dirty[fs.key] = true
}

func fillEndpoints(e *connEntry) {
	e.c.ClientMAC, e.c.ServerMAC, e.c.ClientIP, e.c.ServerIP = "", "", "", ""
	if e.cMAC != ([6]byte{}) {
		e.c.ClientMAC = string(dissect.AppendMAC(nil, e.cMAC))
	}
	if e.sMAC != ([6]byte{}) {
		e.c.ServerMAC = string(dissect.AppendMAC(nil, e.sMAC))
	}
	if e.cIP.IsValid() {
		e.c.ClientIP = e.cIP.String()
	}
	if e.sIP.IsValid() {
		e.c.ServerIP = e.sIP.String()
	}
}

func parseMAC(s string) [6]byte {
	var m [6]byte
	if hw, err := net.ParseMAC(s); err == nil && len(hw) == 6 {
		copy(m[:], hw)
	}
	return m
}

// restore loads stored pairs.
func (t *connTracker) restore(cs []store.Connection) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range cs {
		e := &connEntry{c: c, cMAC: parseMAC(c.ClientMAC), sMAC: parseMAC(c.ServerMAC)}
		e.cIP, _ = netip.ParseAddr(c.ClientIP)
		e.sIP, _ = netip.ParseAddr(c.ServerIP)
		t.conns[c.Key] = e
	}
}

// pending returns the pairs changed and deleted since the last call.
func (t *connTracker) pending() (put []store.Connection, del []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.dirty {
		if e := t.conns[k]; e != nil {
			put = append(put, e.c)
		}
	}
	for k := range t.deleted {
		del = append(del, k)
	}
	clear(t.dirty)
	clear(t.deleted)
	return put, del
}

// restorePending marks pairs as changed again after a failed write.
func (t *connTracker) restorePending(put []store.Connection, del []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range put {
		t.dirty[c.Key] = true
	}
	for _, k := range del {
		if t.conns[k] == nil {
			t.deleted[k] = true
		}
	}
}

// prune forgets the least recently seen pairs beyond max.
func (t *connTracker) prune(max int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	excess := len(t.conns) - max
	if excess <= 0 {
		return 0
	}
	es := make([]*connEntry, 0, len(t.conns))
	for _, e := range t.conns {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool {
		if !es[i].c.Last.Equal(es[j].c.Last) {
			return es[i].c.Last.Before(es[j].c.Last)
		}
		return es[i].c.Key < es[j].c.Key
	})
	for _, e := range es[:excess] {
		delete(t.conns, e.c.Key)
		delete(t.dirty, e.c.Key)
		t.deleted[e.c.Key] = true
	}
	return excess
}

// stats returns the number of pairs, of active flows and of pairs dropped.
func (t *connTracker) stats() (pairs, active int, dropped uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns), len(t.active), t.dropped
}

// violations returns the violation counts by "protocol|kind".
func (t *connTracker) violations() map[string]uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]uint64, len(t.viols))
	for k, v := range t.viols {
		out[k] = v
	}
	return out
}

// connections returns the pairs for the API; id resolves an endpoint to its
// device ID (0: none).
func (t *connTracker) connections(id func(mac [6]byte, ip netip.Addr) uint64) []web.Connection {
	t.mu.Lock()
	es := make([]connEntry, 0, len(t.conns))
	for _, e := range t.conns {
		es = append(es, *e)
	}
	t.mu.Unlock()
	out := make([]web.Connection, len(es))
	for i := range es {
		e := &es[i]
		out[i] = webConn(e, id)
	}
	sortConns(out)
	return out
}

func webConn(e *connEntry, id func(mac [6]byte, ip netip.Addr) uint64) web.Connection {
	c := web.Connection{Transport: e.c.Transport, Port: e.c.Port, Protocol: e.c.Protocol, Flows: e.c.Flows,
		Packets: e.c.Packets, Bytes: e.c.Bytes, FirstSeen: e.c.First, LastSeen: e.c.Last,
		Client: e.c.ClientIP, Server: e.c.ServerIP}
	if c.Client == "" {
		c.Client = e.c.ClientMAC
	}
	if c.Server == "" {
		c.Server = e.c.ServerMAC
	}
	if id != nil {
		c.ClientID, c.ServerID = id(e.cMAC, e.cIP), id(e.sMAC, e.sIP)
	}
	return c
}

// sortConns orders connections by traffic, then by endpoints.
func sortConns(cs []web.Connection) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Bytes != cs[j].Bytes {
			return cs[i].Bytes > cs[j].Bytes
		}
		if cs[i].Client != cs[j].Client {
			return cs[i].Client < cs[j].Client
		}
		if cs[i].Server != cs[j].Server {
			return cs[i].Server < cs[j].Server
		}
		if cs[i].Transport != cs[j].Transport {
			return cs[i].Transport < cs[j].Transport
		}
		return cs[i].Port < cs[j].Port
	})
}
