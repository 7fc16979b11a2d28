package learn

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	t0     = time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC) // a Monday, 10:00 UTC
	hmi    = Host{IP: netip.MustParseAddr("10.0.1.10")}
	plc    = Host{IP: netip.MustParseAddr("10.0.1.20")}
	ews    = Host{IP: netip.MustParseAddr("10.0.1.30")}
	v6     = Host{IP: netip.MustParseAddr("fd00::20")}
	l2only = Host{MAC: [6]byte{0x00, 0x1b, 0x1b, 0x01, 0x02, 0x03}}
	modbus = Pair{Client: hmi, Server: plc, Transport: 2, Port: 502}
)

// everyKind returns one key of every item kind, with IPv4, IPv6 and
// MAC-only hosts.
func everyKind() []string {
	s7 := Pair{Client: ews, Server: v6, Transport: 2, Port: 102}
	goose := Pair{Client: l2only, Server: Host{MAC: [6]byte{1, 0x0c, 0xcd, 1, 0, 1}}, Transport: 1, Port: 0x88b8}
	sp := Space{Pair: modbus, Protocol: "modbus", Unit: 1, Name: "holding_registers"}
	return []string{
		DeviceKey(hmi), DeviceKey(v6), DeviceKey(l2only),
		FlagKey(ews, FlagProgrammer), FlagKey(hmi, FlagScanner), FlagKey(plc, FlagInternet), FlagKey(l2only, FlagOT),
		PairKey(modbus), PairKey(s7), PairKey(goose),
		OpKey(Op{Pair: modbus, Protocol: "modbus", Function: 3}),
		OpKey(Op{Pair: modbus, Protocol: "modbus", Function: 8, Sub: 0, HasSub: true}),
		OpKey(Op{Pair: s7, Protocol: "s7comm", Function: 0x1b, Sub: 0x38, HasSub: true}),
		OpKey(Op{Pair: goose, Protocol: "goose", Function: 0}),
		RangeKey(sp, Range{100, 199}),
		ServiceKey(Service{Host: plc, Transport: 2, Port: 502}), ServiceKey(Service{Host: v6, Transport: 3, Port: 47808}),
		RemoteKey(Pair{Client: ews, Server: plc, Transport: 2, Port: 22}),
		CredKey(Pair{Client: hmi, Server: plc, Transport: 3, Port: 161}, "snmp_community"),
		FirmwareKey(plc, "V2.9.4"), FirmwareKey(v6, "FW 1.2|build 7"),
	}
}

func TestKeysRoundTrip(t *testing.T) {
	for _, mode := range []Mode{Learning, Operational} {
		b := New(Config{}, t0)
		if mode == Operational {
			b.EndLearning(t0) // the operator's Learn works in both modes
		}
		for _, k := range everyKind() {
			if listed(b, k) {
				t.Fatalf("%v: %s exists before Add", mode, k)
			}
			if err := b.Add(k, t0); err != nil {
				t.Fatalf("%v: Add(%s): %v", mode, k, err)
			}
			item := k
			if strings.HasPrefix(k, "range|") {
				item = k[:strings.LastIndexByte(k, '|')] // the space
				if rs := b.Ranges(spaceOf(t, b, item)); !reflect.DeepEqual(rs, []Range{{100, 199}}) {
					t.Errorf("%v: ranges after Add(%s): %v", mode, k, rs)
				}
			} else if !listed(b, k) {
				t.Errorf("%v: %s does not exist after Add", mode, k)
			}
			if _, ok := b.item(item); !ok {
				t.Errorf("%v: no stored form of %s", mode, item)
			}
			if !slices.ContainsFunc(b.Items(), func(v ItemView) bool { return v.Key == item }) {
				t.Errorf("%v: %s not listed by Items", mode, item)
			}
			// Adding again is a no-op.
			n := b.Stats().Items
			if err := b.Add(k, t0.Add(time.Hour)); err != nil || b.Stats().Items != n {
				t.Errorf("%v: second Add(%s): %v, items %d → %d", mode, k, err, n, b.Stats().Items)
			}
		}
		// Hosts parse back; the answers of the observers agree.
		if !b.HasFlag(ews, FlagProgrammer) || !b.HasFlag(l2only, FlagOT) || !slices.Equal(b.KnownFirmware(v6), []string{"FW 1.2|build 7"}) {
			t.Errorf("%v: flags or firmware not learned through keys", mode)
		}
		if got := b.Hosts(FlagProgrammer); !reflect.DeepEqual(got, []Host{ews}) {
			t.Errorf("%v: Hosts(programmer) = %v", mode, got)
		}
		before := b.Stats().Items
		removed := 0
		for _, k := range everyKind() {
			if err := b.Remove(k); err != nil {
				t.Fatalf("%v: Remove(%s): %v", mode, k, err)
			}
			if strings.HasPrefix(k, "range|") {
				if rs := b.Ranges(spaceOf(t, b, k[:strings.LastIndexByte(k, '|')])); len(rs) != 0 {
					t.Errorf("%v: ranges after Remove(%s): %v", mode, k, rs)
				}
			} else if listed(b, k) {
				t.Errorf("%v: %s exists after Remove", mode, k)
			}
			removed++
		}
		// What is left: the devices that flags, firmware and pairs created
		// implicitly (Add of a flag or firmware adds its device).
		for _, it := range b.Items() {
			if !strings.HasPrefix(it.Key, "dev|") {
				t.Errorf("%v: %s left after removing every key", mode, it.Key)
			}
		}
		if got := b.Stats().Items; got != len(b.Items()) {
			t.Errorf("%v: item count %d after removes (was %d, %d removed), %d listed", mode, got, before, removed, len(b.Items()))
		}
		// Removing what is not there is fine; bad keys are errors.
		if err := b.Remove(DeviceKey(Host{IP: netip.MustParseAddr("10.9.9.9")})); err != nil {
			t.Errorf("Remove of a missing device: %v", err)
		}
	}
	for _, bad := range []string{"", "nope|x", "dev|not-a-host", "flag|wizard|10.0.0.1", "flag|ot", "pair|10.0.0.1|10.0.0.2|2",
		"pair|10.0.0.1|10.0.0.2|x|502", "pair|10.0.0.1|10.0.0.2|2|70000", "op|10.0.0.1|10.0.0.2|2|502|modbus",
		"op|10.0.0.1|10.0.0.2|2|502|modbus|x", "op|10.0.0.1|10.0.0.2|2|502|modbus|3|x", "range|10.0.0.1|10.0.0.2|2|502|modbus|1",
		"range|10.0.0.1|10.0.0.2|2|502|modbus|1|hr|20-10", "range|10.0.0.1|10.0.0.2|2|502|modbus|x|hr|1-2",
		"svc|10.0.0.1|2", "svc|10.0.0.1|x|502", "cred|10.0.0.1|10.0.0.2|2|23", "fw|10.0.0.1", "fw|bad|1.0"} {
		b := New(Config{}, t0)
		if err := b.Add(bad, t0); err == nil {
			t.Errorf("Add(%q) accepted a bad key", bad)
		}
		if b.Stats().Items != 0 {
			t.Errorf("Add(%q) added %d items", bad, b.Stats().Items)
		}
	}
	for _, h := range []Host{hmi, v6, l2only} {
		got, err := ParseHost(h.String())
		if err != nil || got != h {
			t.Errorf("ParseHost(%q) = %v, %v", h.String(), got, err)
		}
	}
	if h, err := ParseHost("00:1B:1B:01:02:03"); err != nil || h != l2only {
		t.Errorf("ParseHost of an upper-case MAC = %v, %v", h, err)
	}
	if h := HostOf([6]byte{1}, netip.MustParseAddr("::ffff:10.0.1.10")); h != hmi {
		t.Errorf("HostOf of a v4-mapped address = %v, want %v (by IP, unmapped)", h, hmi)
	}
}

// spaceOf finds the register space with key k.
func spaceOf(t *testing.T, b *Baseline, k string) Space {
	t.Helper()
	s := New(Config{}, t0)
	if err := s.Add(k+"|0-0", t0); err != nil {
		t.Fatalf("space key %s: %v", k, err)
	}
	for sp := range s.spaces {
		return sp
	}
	t.Fatalf("space key %s: no space", k)
	return Space{}
}

// learnAll feeds a baseline one of everything through the observers, over
// two days.
func learnAll(b *Baseline) {
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for _, h := range []Host{hmi, plc, ews, v6, l2only} {
		b.Device(h, at(0))
	}
	b.Device(plc, at(30)) // seen again: last moves
	b.Flag(ews, FlagProgrammer, false, at(1))
	b.Flag(plc, FlagOT, false, at(1))
	b.Flag(hmi, FlagOT, false, at(1))
	b.Pair(modbus, at(0))
	b.Pair(modbus, at(20))
	s7 := Pair{Client: ews, Server: v6, Transport: 2, Port: 102}
	b.Pair(s7, at(2))
	b.Op(Op{Pair: modbus, Protocol: "modbus", Function: 3}, at(0))
	b.Op(Op{Pair: modbus, Protocol: "modbus", Function: 16}, at(3))
	b.Op(Op{Pair: modbus, Protocol: "modbus", Function: 8, Sub: 0, HasSub: true}, at(4))
	b.Op(Op{Pair: s7, Protocol: "s7comm", Function: 0x1b, Sub: 0x38, HasSub: true}, at(5))
	hr := Space{Pair: modbus, Protocol: "modbus", Unit: 1, Name: "holding_registers"}
	coils := Space{Pair: modbus, Protocol: "modbus", Unit: 1, Name: "coils"}
	for i, r := range []Range{{0, 9}, {10, 19}, {100, 109}, {200, 200}} {
		b.InRange(hr, r.Start, r.End, at(i))
	}
	b.InRange(coils, 0, 15, at(6))
	b.Service(Service{Host: plc, Transport: 2, Port: 502}, at(0))
	b.Service(Service{Host: v6, Transport: 2, Port: 102}, at(2))
	b.Remote(Pair{Client: ews, Server: plc, Transport: 2, Port: 22}, at(7))
	b.Cleartext(Pair{Client: hmi, Server: plc, Transport: 2, Port: 23}, "telnet", at(8))
	b.Firmware(plc, "V2.9.4", at(9))
	b.Firmware(plc, "V3.0.1", at(33))
	ch := Channel{Op: Op{Pair: modbus, Protocol: "modbus", Function: 3}, Unit: 1, AddrStart: 0}
	for i := range 30 {
		b.Channel(ch, at(0).Add(time.Duration(i)*500*time.Millisecond+time.Duration(i%3)*time.Millisecond), 12+i%2)
	}
	for i := range 200 { // 200 requests of 24 bytes, 1 s apart: ~3+ minutes
		b.Channel(Channel{Op: Op{Pair: s7, Protocol: "s7comm", Function: 4}, Unit: 0, AddrStart: 7}, at(40).Add(time.Duration(i)*time.Second), 24)
	}
}

// store applies Pending's changes to a map of items, as a Store would.
func store(m map[string]Item, b *Baseline) (put, del int) {
	p, d := b.Pending()
	for _, k := range d {
		delete(m, k)
	}
	for _, it := range p {
		m[it.Key] = it
	}
	return len(p), len(d)
}

func stored(m map[string]Item) []Item {
	var out []Item
	for _, it := range m {
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b Item) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// sameBaseline compares what two baselines hold and say.
func sameBaseline(t *testing.T, got, want *Baseline, now time.Time) {
	t.Helper()
	gi, wi := got.Items(), want.Items()
	if !reflect.DeepEqual(gi, wi) {
		if len(gi) != len(wi) {
			t.Errorf("%d items, want %d", len(gi), len(wi))
		}
		for i := range min(len(gi), len(wi)) {
			if !reflect.DeepEqual(gi[i], wi[i]) {
				g, _ := json.Marshal(gi[i])
				w, _ := json.Marshal(wi[i])
				t.Errorf("item %d:\n got %s\nwant %s", i, g, w)
			}
		}
	}
	if got.Mode() != want.Mode() || !got.Started().Equal(want.Started()) || !got.Ended().Equal(want.Ended()) {
		t.Errorf("mode %v started %v ended %v, want %v %v %v", got.Mode(), got.Started(), got.Ended(), want.Mode(),
			want.Started(), want.Ended())
	}
	if gs, ws := got.Stats(), want.Stats(); gs != ws {
		t.Errorf("stats %+v, want %+v", gs, ws)
	}
	if gp, wp := got.Progress(now), want.Progress(now); !reflect.DeepEqual(gp, wp) {
		t.Errorf("progress %+v, want %+v", gp, wp)
	}
}

func TestPendingLoadRoundTrip(t *testing.T) {
	b := New(Config{MaxRanges: 3}, t0)
	learnAll(b)
	m := map[string]Item{}
	if put, del := store(m, b); put == 0 || del != 0 {
		t.Fatalf("first Pending: %d put, %d deleted", put, del)
	}
	if put, del := b.Pending(); len(put) != 0 || len(del) != 0 {
		t.Fatalf("Pending forgets what it returned: then %d, %d", len(put), len(del))
	}
	now := t0.Add(50 * time.Hour)
	l, err := Load(Config{MaxRanges: 3}, stored(m), now)
	if err != nil {
		t.Fatal(err)
	}
	sameBaseline(t, l, b, now)
	if put, del := l.Pending(); len(put) != 0 || len(del) != 0 {
		t.Errorf("a loaded baseline has %d, %d pending changes", len(put), len(del))
	}
	// The learned contents answer the same.
	hr := Space{Pair: modbus, Protocol: "modbus", Unit: 1, Name: "holding_registers"}
	if rs := l.Ranges(hr); !reflect.DeepEqual(rs, []Range{{0, 19}, {100, 109}, {200, 200}}) {
		t.Errorf("ranges %v, want merged [0 19] [100 109] [200 200]", rs)
	}
	if fw := l.KnownFirmware(plc); !slices.Equal(fw, []string{"V2.9.4", "V3.0.1"}) {
		t.Errorf("firmware %v", fw)
	}

	// Mode and end of learning survive too, and removals are stored.
	b.EndLearning(t0.Add(49 * time.Hour))
	if err := b.Remove(OpKey(Op{Pair: modbus, Protocol: "modbus", Function: 16})); err != nil {
		t.Fatal(err)
	}
	if err := b.Remove(RangeKey(hr, Range{0, 19})); err != nil {
		t.Fatal(err)
	}
	if err := b.Remove(DeviceKey(ews)); err != nil { // and its programmer flag
		t.Fatal(err)
	}
	if put, del := store(m, b); put == 0 || del != 4 {
		t.Errorf("after removes: %d put, %d deleted; want the state put and 4 keys deleted", put, del)
	}
	l, err = Load(Config{MaxRanges: 3}, stored(m), now)
	if err != nil {
		t.Fatal(err)
	}
	sameBaseline(t, l, b, now)
	if l.Mode() != Operational || l.HasFlag(ews, FlagProgrammer) || len(l.Ranges(hr)) != 0 {
		t.Errorf("loaded: mode %v, programmer flag %v, ranges %v", l.Mode(), l.HasFlag(ews, FlagProgrammer), l.Ranges(hr))
	}

	// A failed save: Restore puts the changes back for the next Pending.
	b.Add(DeviceKey(Host{IP: netip.MustParseAddr("10.0.1.99")}), now)
	b.Remove(DeviceKey(v6))
	put, del := b.Pending()
	b.Restore(put, del)
	if put2, del2 := b.Pending(); !reflect.DeepEqual(put2, put) || !reflect.DeepEqual(del2, del) {
		t.Errorf("after Restore: %v %v, want %v %v", put2, del2, put, del)
	}
	// Bad stored items are errors.
	for _, bad := range [][]Item{
		{{Key: "state", Kind: "state", Data: []byte("{")}},
		{{Key: "nope|1", Kind: "nope"}},
		{{Key: "range|x", Kind: "range", Data: []byte("[")}},
		{{Key: "chan|x", Kind: "chan", Data: []byte("{}")}},
	} {
		if _, err := Load(Config{}, bad, now); err == nil {
			t.Errorf("Load(%+v) accepted it", bad)
		}
	}
}

func TestChannelAfterLoad(t *testing.T) {
	// A loaded channel has a profile but no previous request: its first
	// request after a restart is not a sample of anything.
	b := New(Config{}, t0)
	ch := Channel{Op: Op{Pair: modbus, Protocol: "modbus", Function: 3}, Unit: 1}
	for i := range 120 {
		b.Channel(ch, t0.Add(time.Duration(i)*time.Second), 12)
	}
	m := map[string]Item{}
	store(m, b)
	for _, mode := range []Mode{Learning, Operational} {
		l, err := Load(Config{}, stored(m), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if mode == Operational {
			l.EndLearning(t0.Add(time.Hour))
		}
		before := l.channels[ch].Period
		rate := l.channels[ch].Rate
		s := l.Channel(ch, t0.Add(time.Hour), 12)
		if s.Period != 0 || s.Minute {
			t.Errorf("%v: first request after a restart reported period %v, minute %v (%.0f bytes)", mode, s.Period, s.Minute, s.MinuteRate)
		}
		if l.channels[ch].Period != before || l.channels[ch].Rate != rate {
			t.Errorf("%v: first request after a restart changed the profiles: period %+v → %+v, rate %+v → %+v", mode,
				before, l.channels[ch].Period, rate, l.channels[ch].Rate)
		}
		s = l.Channel(ch, t0.Add(time.Hour+time.Second), 12)
		if s.Period != time.Second || s.Profile.N != before.N {
			t.Errorf("%v: second request: period %v, profile %+v", mode, s.Period, s.Profile)
		}
	}
}

func TestObserversByMode(t *testing.T) {
	b := New(Config{}, t0)
	learnAll(b)
	b.EndLearning(t0.Add(48 * time.Hour))
	b.Pending()
	items := b.Items()
	now := t0.Add(72 * time.Hour)
	other := Host{IP: netip.MustParseAddr("10.0.1.66")}
	newPair := Pair{Client: other, Server: plc, Transport: 2, Port: 502}
	hr := Space{Pair: modbus, Protocol: "modbus", Unit: 1, Name: "holding_registers"}
	// Known items are known in operational mode.
	known := map[string]bool{
		"device": b.Device(plc, now), "flag": b.Flag(ews, FlagProgrammer, false, now), "pair": b.Pair(modbus, now),
		"op":      b.Op(Op{Pair: modbus, Protocol: "modbus", Function: 3}, now),
		"op+sub":  b.Op(Op{Pair: modbus, Protocol: "modbus", Function: 8, HasSub: true}, now),
		"range":   b.InRange(hr, 2, 8, now),
		"range 2": b.InRange(hr, 100, 109, now),
		"service": b.Service(Service{Host: plc, Transport: 2, Port: 502}, now),
		"remote":  b.Remote(Pair{Client: ews, Server: plc, Transport: 2, Port: 22}, now),
		"cred":    b.Cleartext(Pair{Client: hmi, Server: plc, Transport: 2, Port: 23}, "telnet", now),
	}
	fwKnown, _ := b.Firmware(plc, "V3.0.1", now)
	known["firmware"] = fwKnown
	for k, v := range known {
		if !v {
			t.Errorf("operational: known %s reported unknown", k)
		}
	}
	// Anything new is unknown and not learned.
	unknown := map[string]bool{
		"device":        b.Device(other, now),
		"flag":          b.Flag(hmi, FlagProgrammer, false, now),
		"pair":          b.Pair(newPair, now),
		"op":            b.Op(Op{Pair: modbus, Protocol: "modbus", Function: 5}, now),
		"op other sub":  b.Op(Op{Pair: modbus, Protocol: "modbus", Function: 8, Sub: 4, HasSub: true}, now),
		"op no sub":     b.Op(Op{Pair: modbus, Protocol: "modbus", Function: 8}, now),
		"range":         b.InRange(hr, 15, 25, now),
		"range gap":     b.InRange(hr, 50, 50, now),
		"range space":   b.InRange(Space{Pair: newPair, Protocol: "modbus", Unit: 1, Name: "coils"}, 0, 0, now),
		"service":       b.Service(Service{Host: plc, Transport: 2, Port: 80}, now),
		"remote":        b.Remote(Pair{Client: hmi, Server: plc, Transport: 2, Port: 22}, now),
		"cred":          b.Cleartext(Pair{Client: hmi, Server: plc, Transport: 2, Port: 23}, "ftp", now),
		"scanner":       b.Flag(other, FlagScanner, false, now),
		"internet flag": b.Flag(plc, FlagInternet, false, now),
	}
	fwNew, prev := b.Firmware(plc, "V4.0", now)
	unknown["firmware"] = fwNew
	if !slices.Equal(prev, []string{"V2.9.4", "V3.0.1"}) {
		t.Errorf("operational: previous firmware %v", prev)
	}
	if fw, prev := b.Firmware(other, "1.0", now); fw || prev != nil {
		t.Errorf("operational: first firmware of an unknown device: %v %v", fw, prev)
	}
	for k, v := range unknown {
		if v {
			t.Errorf("operational: new %s reported known", k)
		}
	}
	if got := b.Items(); len(got) != len(items) {
		t.Errorf("operational mode learned: %d items, was %d", len(got), len(items))
	}
	// Only the sightings of known items are pending: their last time.
	put, del := b.Pending()
	var keys []string
	for _, it := range put {
		keys = append(keys, it.Key)
		if !it.Last.Equal(now) {
			t.Errorf("operational: %s saved with last %v, want the sighting at %v", it.Key, it.Last, now)
		}
	}
	if want := []string{DeviceKey(plc), PairKey(modbus)}; !slices.Equal(keys, want) || len(del) != 0 {
		t.Errorf("operational mode left %v put, %v deleted; want %v put (last seen)", keys, del, want)
	}
	// The admin's flags go in whatever the mode.
	if !b.Flag(hmi, FlagScanner, true, now) || !b.HasFlag(hmi, FlagScanner) {
		t.Error("Flag(set) in operational mode did not set the flag")
	}
	// Channel profiles are frozen in operational mode but still sampled.
	ch := Channel{Op: Op{Pair: modbus, Protocol: "modbus", Function: 3}, Unit: 1}
	p := b.channels[ch].Period
	s1 := b.Channel(ch, now, 12)
	s2 := b.Channel(ch, now.Add(2*time.Second), 12)
	if s2.Period != 2*time.Second || b.channels[ch].Period != p || s1.Profile != p || s2.Profile != p {
		t.Errorf("operational channel: samples %+v %+v, profile %+v → %+v", s1, s2, p, b.channels[ch].Period)
	}

	// Learning mode learns each of these, and reports them known.
	l := New(Config{}, t0)
	for k, v := range map[string]bool{
		"device": l.Device(other, now), "flag": l.Flag(hmi, FlagProgrammer, false, now), "pair": l.Pair(newPair, now),
		"op": l.Op(Op{Pair: modbus, Protocol: "modbus", Function: 5}, now), "range": l.InRange(hr, 15, 25, now),
		"service": l.Service(Service{Host: plc, Transport: 2, Port: 80}, now),
		"remote":  l.Remote(Pair{Client: hmi, Server: plc, Transport: 2, Port: 22}, now),
		"cred":    l.Cleartext(Pair{Client: hmi, Server: plc, Transport: 2, Port: 23}, "ftp", now),
	} {
		if !v {
			t.Errorf("learning: %s reported unknown", k)
		}
	}
	if fw, prev := l.Firmware(plc, "V1", now); !fw || prev != nil {
		t.Errorf("learning: first firmware: %v %v", fw, prev)
	}
	if fw, prev := l.Firmware(plc, "V2", now); !fw || prev != nil {
		t.Errorf("learning: second firmware: %v %v", fw, prev)
	}
	// Devices: other, hmi (flag), plc (firmware); flag, pair, op, space,
	// service, remote, cred, two firmware versions.
	if st := l.Stats(); st.Items != 12 || st.Devices != 3 || st.Pairs != 1 || st.Ops != 1 || st.Ranges != 1 {
		t.Errorf("learning: stats %+v", st)
	}
	if !l.Device(other, now) || l.Device(Host{}, now) {
		t.Error("learning: Device of a known host false, or of no host true")
	}
	// At most 16 firmware versions per device.
	for i := range 20 {
		l.Firmware(ews, fmt.Sprintf("v%d", i), now)
	}
	if n := len(l.KnownFirmware(ews)); n != 16 {
		t.Errorf("learning: %d firmware versions kept, want 16", n)
	}
}

func TestRangesMergeAndCap(t *testing.T) {
	b := New(Config{MaxRanges: 4}, t0)
	sp := Space{Pair: modbus, Protocol: "modbus", Unit: 1, Name: "holding_registers"}
	for _, r := range []Range{{0, 0}, {10, 10}, {12, 12}, {100, 100}, {1000, 1000}, {1002, 1002}} {
		b.InRange(sp, r.Start, r.End, t0)
	}
	want := []Range{{0, 0}, {10, 12}, {100, 100}, {1000, 1002}}
	if got := b.Ranges(sp); !reflect.DeepEqual(got, want) {
		t.Errorf("capped at 4: %v, want %v (the closest ranges merged)", got, want)
	}
	// Overlapping and adjacent ranges merge; the top of the space works.
	b.InRange(sp, 1, 9, t0)
	b.InRange(sp, 95, 105, t0)
	b.InRange(sp, 4294967290, 4294967295, t0)
	want = []Range{{0, 12}, {95, 105}, {1000, 1002}, {4294967290, 4294967295}}
	if got := b.Ranges(sp); !reflect.DeepEqual(got, want) {
		t.Errorf("after merges: %v, want %v", got, want)
	}
	if st := b.Stats(); st.Ranges != 4 || st.Items != 1 {
		t.Errorf("stats %+v: one space item of 4 ranges", st)
	}
	b.EndLearning(t0)
	for _, c := range []struct {
		s, e uint32
		in   bool
	}{{0, 12, true}, {11, 11, true}, {96, 100, true}, {4294967295, 4294967295, true}, {12, 13, false}, {94, 96, false}, {106, 106, false}} {
		if got := b.InRange(sp, c.s, c.e, t0); got != c.in {
			t.Errorf("InRange(%d, %d) = %v, want %v", c.s, c.e, got, c.in)
		}
	}
}

// feed adds n new devices at time at.
func feed(b *Baseline, next *int, n int, at time.Time) {
	for range n {
		*next++
		b.Device(Host{IP: netip.AddrFrom4([4]byte{10, byte(*next >> 16), byte(*next >> 8), byte(*next)})}, at)
	}
}

func TestAutomaticEnd(t *testing.T) {
	cfg := Config{MinDuration: 7 * 24 * time.Hour, QuietDays: 3, NewRate: 0.01}
	day := func(d, h int) time.Time {
		return time.Date(2025, 1, 6+d, h, 0, 0, 0, time.UTC)
	}
	// run learns with news[d] new items on day d (spread over the day, from
	// the start hour) and ticks hourly; it returns when learning ended.
	run := func(start int, news []int) (time.Time, *Baseline) {
		b := New(cfg, day(0, start))
		next := 0
		for d := 0; d < 20; d++ {
			for h := 0; h < 24; h++ {
				now := day(d, h)
				if now.Before(b.Started()) {
					continue
				}
				if b.Tick(now) {
					if b.Learning() || !b.Ended().Equal(now) {
						t.Fatalf("Tick reported the end but mode %v ended %v", b.Mode(), b.Ended())
					}
					return now, b
				}
				if d < len(news) && h == 12 {
					feed(b, &next, news[d], now)
				}
			}
		}
		return time.Time{}, b
	}
	// A busy first days, then quiet: the minimum duration decides, to the
	// hour (learning started at 10:00).
	end, b := run(10, []int{800, 150, 30, 10, 3, 2, 1, 1})
	if want := day(7, 10); !end.Equal(want) {
		t.Errorf("quiet after day 3: learning ended %v, want %v (7 days after the start)", end, want)
	}
	if b.Progress(end).Percent != 100 {
		t.Errorf("percent after the end: %v", b.Progress(end).Percent)
	}
	// 1000 items in all; day 4 adds exactly 1% of them: not quiet. The
	// three quiet days are 5, 6, 7: the end is at the start of day 8.
	end, _ = run(0, []int{800, 150, 30, 10, 10})
	if want := day(8, 0); !end.Equal(want) {
		t.Errorf("1%% new on day 4: learning ended %v, want %v", end, want)
	}
	// Just under 1% on day 4 (9 of 999): quiet, the end is at 7 days.
	end, _ = run(0, []int{800, 150, 30, 10, 9})
	if want := day(7, 0); !end.Equal(want) {
		t.Errorf("just under 1%% new on day 4: learning ended %v, want %v", end, want)
	}
	// A busy day 5 holds it past the minimum; then a busy day 8 holds it
	// until days 9, 10, 11 are quiet.
	end, _ = run(0, []int{800, 150, 30, 10, 9, 50, 0, 0, 20})
	if want := day(12, 0); !end.Equal(want) {
		t.Errorf("busy days 4 and 8: learning ended %v, want %v", end, want)
	}
	// Nothing ever new: the minimum duration still holds.
	end, _ = run(0, nil)
	if want := day(7, 0); !end.Equal(want) {
		t.Errorf("empty network: learning ended %v, want %v", end, want)
	}
}

func TestProgressAndModes(t *testing.T) {
	cfg := Config{MinDuration: 4 * 24 * time.Hour, QuietDays: 2, NewRate: 0.01}
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	b := New(cfg, start)
	next := 0
	feed(b, &next, 500, start.Add(time.Hour))
	feed(b, &next, 100, start.Add(25*time.Hour))
	// Day 2, 12:00: 2.5 days of 4, no quiet day yet (day 1 added 100).
	p := b.Progress(start.Add(60 * time.Hour))
	if p.Mode != "learning" || p.Items != 600 || p.Elapsed != 60*3600 || p.Percent != 0 ||
		!reflect.DeepEqual(p.NewPerDay, []DayNew{{start, 500}, {start.Add(24 * time.Hour), 100}}) {
		t.Errorf("day 2: %+v", p)
	}
	// Day 3, 00:00: day 2 was quiet: 1 of 2 quiet days, 3 of 4 days: 50%.
	if p := b.Progress(start.Add(72 * time.Hour)); p.Percent != 50 {
		t.Errorf("day 3: percent %v, want 50 (1 of 2 quiet days)", p.Percent)
	}
	// Day 3, 12:00: day 3 is not complete yet, still 50%.
	if p := b.Progress(start.Add(84 * time.Hour)); p.Percent != 50 {
		t.Errorf("day 3 noon: percent %v, want 50", p.Percent)
	}
	if b.Tick(start.Add(96*time.Hour - time.Second)) {
		t.Error("Tick ended learning before the minimum duration")
	}
	// The admin ends it early instead.
	endAt := start.Add(90 * time.Hour)
	b.EndLearning(endAt)
	b.EndLearning(endAt.Add(time.Hour)) // no-op
	if b.Learning() || b.Mode() != Operational || !b.Ended().Equal(endAt) || b.Tick(endAt.Add(100*time.Hour)) {
		t.Errorf("EndLearning: mode %v ended %v", b.Mode(), b.Ended())
	}
	p = b.Progress(endAt.Add(100 * time.Hour))
	if p.Mode != "operational" || p.Percent != 100 || p.Elapsed != 90*3600 || !p.Ended.Equal(endAt) {
		t.Errorf("after EndLearning: %+v", p)
	}
	// Relearn: learning again from now, keeping the items.
	re := endAt.Add(200 * time.Hour)
	b.Relearn(re)
	if !b.Learning() || !b.Started().Equal(re) || !b.Ended().IsZero() || b.Stats().Items != 600 {
		t.Errorf("Relearn: mode %v started %v ended %v items %d", b.Mode(), b.Started(), b.Ended(), b.Stats().Items)
	}
	if p := b.Progress(re); p.Percent != 0 || len(p.NewPerDay) != 0 || p.Elapsed != 0 {
		t.Errorf("after Relearn: %+v", p)
	}
	if !b.Device(Host{IP: netip.MustParseAddr("10.200.0.1")}, re) || b.Stats().Items != 601 {
		t.Error("Relearn: new device not learned")
	}
	if b.Tick(re.Add(96*time.Hour-time.Second)) || !b.Tick(re.Add(96*time.Hour)) {
		t.Error("after Relearn: the minimum duration counts from the relearn")
	}
	if m := Learning.String() + Operational.String(); m != "learningoperational" {
		t.Errorf("mode names %q", m)
	}
}

func TestMaxItems(t *testing.T) {
	b := New(Config{MaxItems: 5}, t0)
	learned := 0
	for i := range 8 {
		if b.Device(Host{IP: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})}, t0) {
			learned++
		}
	}
	if learned != 5 {
		t.Errorf("%d devices learned, want the cap 5", learned)
	}
	// Every kind of new item is refused and counted once full.
	refused := []bool{
		b.Pair(modbus, t0), b.Op(Op{Pair: modbus, Protocol: "modbus", Function: 3}, t0),
		b.InRange(Space{Pair: modbus, Protocol: "modbus", Name: "coils"}, 0, 1, t0),
		b.Service(Service{Host: plc, Transport: 2, Port: 502}, t0), b.Remote(modbus, t0),
		b.Cleartext(modbus, "telnet", t0), b.Flag(plc, FlagOT, false, t0),
	}
	fw, _ := b.Firmware(plc, "1", t0)
	refused = append(refused, fw)
	for i, ok := range refused {
		if ok {
			t.Errorf("item %d learned beyond the cap", i)
		}
	}
	if st := b.Stats(); st.Items != 5 || st.Capped != 3+uint64(len(refused)) {
		t.Errorf("stats %+v, want 5 items and %d capped", st, 3+len(refused))
	}
	if got := len(b.Items()); got != 5 {
		t.Errorf("%d items listed, want 5", got)
	}
	// The cap counts what Stats counts: after a restart too.
	m := map[string]Item{}
	store(m, b)
	l, err := Load(Config{MaxItems: 5}, stored(m), t0)
	if err != nil {
		t.Fatal(err)
	}
	if l.Device(plc, t0) || l.Stats().Items != 5 {
		t.Errorf("loaded at the cap: learned a device, items %d", l.Stats().Items)
	}
}

func TestProfile(t *testing.T) {
	var p Profile
	for _, x := range []float64{2, 4, 4, 4, 5, 5, 7, 9} {
		p.Add(x)
	}
	// Sample standard deviation of the classic example: sqrt(32/7).
	if p.N != 8 || p.Mean != 5 || fmt.Sprintf("%.6f", p.Std()) != "2.138090" {
		t.Errorf("profile %+v std %v", p, p.Std())
	}
	var one Profile
	one.Add(3)
	if one.Std() != 0 {
		t.Errorf("std of one sample %v", one.Std())
	}
}

// BenchmarkPending measures a save of a learning baseline with 2000 polled
// channels, every one dirty, and 1000 grown register spaces, as after a
// busy save period (Pending runs under the engine's lock).
func BenchmarkPending(b *testing.B) {
	const n = 2000
	base := New(Config{}, t0)
	var chans []Channel
	for i := range n {
		h := Host{IP: netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)})}
		p := Pair{Client: h, Server: plc, Transport: 2, Port: 502}
		op := Op{Pair: p, Protocol: "modbus", Function: 3}
		base.Op(op, t0)
		base.InRange(Space{Pair: p, Protocol: "modbus", Unit: 1, Name: "holding_registers"}, 0, 9, t0)
		chans = append(chans, Channel{Op: op, Unit: 1})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at := t0.Add(time.Duration(i+1) * time.Second)
		for _, c := range chans {
			base.Channel(c, at, 12)
		}
		for _, c := range chans[:n/2] { // half the spaces grow
			base.InRange(Space{Pair: c.Op.Pair, Protocol: "modbus", Unit: 1, Name: "holding_registers"}, uint32(20+i%8), uint32(20+i%8), at)
		}
		put, _ := base.Pending()
		if len(put) < n {
			b.Fatalf("%d items pending, want at least %d", len(put), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/save")
}

// listed reports whether key k is one of the baseline's items.
func listed(b *Baseline, k string) bool {
	return slices.ContainsFunc(b.Items(), func(v ItemView) bool { return v.Key == k })
}
