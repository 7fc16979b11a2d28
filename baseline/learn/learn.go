// Package learn holds the sensor's learned baseline: the devices, the
// communication pairs (client, server, transport, port), per pair the
// operations used (function codes with their object class, group or block
// type) and the Modbus register ranges, the services each device offers,
// the device flags (programming device, scanner, internet-allowed), the
// remote-access pairs, cleartext-credential channels, firmware versions and
// per channel the polling period and bandwidth profile.
//
// A baseline starts in learning mode: everything observed becomes a
// baseline item. Learning ends by itself when new items become rare
// (default: fewer than 1% new items per day over 3 days, after at least 7
// days) or when an admin ends it; then the baseline only answers whether
// traffic is known, and the detection engine raises policy alerts for what
// is not. The operator actions Learn and Unlearn add and remove items by
// key, so an alert only needs to carry the keys of the items it is about.
//
// Every item has a stable, self-describing string key; the baseline is
// persisted as key/JSON items through the Store interface.
//
// A Baseline is not safe for concurrent use: the detection engine
// serialises access.
package learn

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Mode is the baseline's mode.
type Mode uint8

// Modes.
const (
	Learning Mode = iota + 1
	Operational
)

// String returns "learning" or "operational".
func (m Mode) String() string {
	if m == Operational {
		return "operational"
	}
	return "learning"
}

// Config sets when learning ends and the bounds.
type Config struct {
	// Learning ends by itself when, after MinDuration, each of the last
	// QuietDays days added fewer than NewRate × items new items.
	MinDuration time.Duration // default 7 days
	QuietDays   int           // default 3
	NewRate     float64       // default 0.01
	// MaxItems caps the baseline (default 1,000,000); items beyond it are
	// not learned and counted.
	MaxItems int
	// MaxRanges caps the disjoint ranges kept per register space (default
	// 64); beyond it the closest ranges are merged.
	MaxRanges int
}

func (c *Config) fill() {
	if c.MinDuration <= 0 {
		c.MinDuration = 7 * 24 * time.Hour
	}
	if c.QuietDays <= 0 {
		c.QuietDays = 3
	}
	if c.NewRate <= 0 {
		c.NewRate = 0.01
	}
	if c.MaxItems <= 0 {
		c.MaxItems = 1_000_000
	}
	if c.MaxRanges <= 0 {
		c.MaxRanges = 64
	}
}

// Host identifies a device in the baseline: by IP when it has one, else by
// MAC.
type Host struct {
	IP  netip.Addr
	MAC [6]byte
}

// HostOf returns the baseline identity for a device seen with mac and ip.
func HostOf(mac [6]byte, ip netip.Addr) Host {
	if ip.IsValid() {
		return Host{IP: ip.Unmap()}
	}
	return Host{MAC: mac}
}

// Valid reports whether h identifies something.
func (h Host) Valid() bool { return h.IP.IsValid() || h.MAC != [6]byte{} }

// String returns the IP, or the MAC in colon notation.
func (h Host) String() string {
	if h.IP.IsValid() {
		return h.IP.String()
	}
	const hexd = "0123456789abcdef"
	b := make([]byte, 0, 17)
	for i, x := range h.MAC {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexd[x>>4], hexd[x&15])
	}
	return string(b)
}

// ParseHost is the inverse of Host.String.
func ParseHost(s string) (Host, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return Host{IP: ip.Unmap()}, nil
	}
	var h Host
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return h, fmt.Errorf("learn: bad host %q", s)
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return h, fmt.Errorf("learn: bad host %q: %w", s, err)
		}
		h.MAC[i] = byte(v)
	}
	return h, nil
}

// Pair is a communication channel: client, server, transport and server
// port (for L2 flows the EtherType).
type Pair struct {
	Client, Server Host
	Transport      uint8 // dissect.Transport
	Port           uint16
}

// Op is an operation on a pair: protocol, function code and the object
// class, group or block type it addressed (Sub, when HasSub).
type Op struct {
	Pair     Pair
	Protocol string
	Function uint32
	Sub      uint32
	HasSub   bool
}

// Space is a register space on a pair: protocol, unit and address space
// (e.g. modbus, unit 1, "holding_registers").
type Space struct {
	Pair     Pair
	Protocol string
	Unit     uint32
	Name     string
}

// Range is an inclusive address range.
type Range struct{ Start, End uint32 }

// Service is a port or protocol a device serves.
type Service struct {
	Host      Host
	Transport uint8
	Port      uint16
}

// Flag is a device flag.
type Flag uint8

// Device flags.
const (
	FlagProgrammer Flag = iota + 1 // programs controllers
	FlagScanner                    // approved scanner / discovery tool
	FlagInternet                   // may talk to public addresses
	FlagOT                         // speaks an OT protocol (its subnet is an OT subnet)
	flagCount
)

var flagNames = [...]string{"", "programmer", "scanner", "internet", "ot"}

// String returns the flag's name.
func (f Flag) String() string {
	if f < flagCount {
		return flagNames[f]
	}
	return "unknown"
}

// Channel is a polled channel: an operation on a pair with unit and
// address, for the polling-period and bandwidth profiles.
type Channel struct {
	Op        Op
	Unit      uint32
	AddrStart uint32
}

// Profile is a learned period or rate: mean and variance (Welford).
type Profile struct {
	N    uint64  `json:"n"`
	Mean float64 `json:"mean"`
	M2   float64 `json:"m2"`
}

// Add adds a sample.
func (p *Profile) Add(x float64) {
	p.N++
	d := x - p.Mean
	p.Mean += d / float64(p.N)
	p.M2 += d * (x - p.Mean)
}

// Std returns the standard deviation.
func (p *Profile) Std() float64 {
	if p.N < 2 {
		return 0
	}
	v := p.M2 / float64(p.N-1)
	if v <= 0 {
		return 0
	}
	return sqrt(v)
}

func sqrt(x float64) float64 {
	z := x
	if z <= 0 {
		return 0
	}
	for i := 0; i < 40; i++ {
		z = (z + x/z) / 2
	}
	return z
}

// chanState is a channel's profile plus its current sample state.
type chanState struct {
	Period Profile `json:"period"` // seconds between requests
	Rate   Profile `json:"rate"`   // bytes per minute
	last   time.Time
	bucket time.Time // start of the current minute
	bytes  float64
}

type devState struct {
	first, last time.Time
	flags       uint8 // 1<<Flag
	firmware    []string
}

type meta struct {
	first, last time.Time
}

// Stats count the baseline's contents and limits.
type Stats struct {
	Items   int    `json:"items"`
	Devices int    `json:"devices"`
	Pairs   int    `json:"pairs"`
	Ops     int    `json:"operations"`
	Ranges  int    `json:"ranges"`
	Capped  uint64 `json:"capped"` // items not learned because of MaxItems
}

// Baseline is the learned allowlist.
type Baseline struct {
	cfg      Config
	mode     Mode
	started  time.Time
	ended    time.Time
	devices  map[Host]*devState
	pairs    map[Pair]meta
	ops      map[Op]meta
	spaces   map[Space][]Range
	services map[Service]meta
	remote   map[Pair]meta
	creds    map[credKey]meta
	channels map[Channel]*chanState
	// daily counts of new items, by day number since the epoch
	newPerDay map[int64]int
	items     int
	capped    uint64
	dirty     map[string]bool // keys to save (true) or delete (false)
	// devices and pairs seen again since the last Pending (their last
	// time moved); sets of values, so that a sighting does not build a key
	seenDev  map[Host]struct{}
	seenPair map[Pair]struct{}
	gen      uint64 // see Generation
}

type credKey struct {
	Pair Pair
	Kind string
}

func (k credKey) key() string { return CredKey(k.Pair, k.Kind) }

// New returns an empty baseline in learning mode, started at now.
func New(cfg Config, now time.Time) *Baseline {
	cfg.fill()
	return &Baseline{
		cfg: cfg, mode: Learning, started: now,
		devices: map[Host]*devState{}, pairs: map[Pair]meta{}, ops: map[Op]meta{},
		spaces: map[Space][]Range{}, services: map[Service]meta{}, remote: map[Pair]meta{},
		creds: map[credKey]meta{}, channels: map[Channel]*chanState{}, newPerDay: map[int64]int{},
		dirty: map[string]bool{}, seenDev: map[Host]struct{}{}, seenPair: map[Pair]struct{}{},
	}
}

// Mode returns the current mode.
func (b *Baseline) Mode() Mode { return b.mode }

// Learning reports whether the baseline is in learning mode.
func (b *Baseline) Learning() bool { return b.mode == Learning }

// Started returns when learning started.
func (b *Baseline) Started() time.Time { return b.started }

// Ended returns when learning ended (zero while learning).
func (b *Baseline) Ended() time.Time { return b.ended }

// EndLearning switches to operational mode.
func (b *Baseline) EndLearning(now time.Time) {
	if b.mode == Operational {
		return
	}
	b.mode = Operational
	b.ended = now
	b.dirty[stateKey] = true
}

// Relearn switches back to learning mode, keeping what was learned.
func (b *Baseline) Relearn(now time.Time) {
	b.mode = Learning
	b.started = now
	b.ended = time.Time{}
	b.newPerDay = map[int64]int{}
	b.dirty[stateKey] = true
}

// Stats returns the baseline's counts.
func (b *Baseline) Stats() Stats {
	n := 0
	for _, rs := range b.spaces {
		n += len(rs)
	}
	return Stats{Items: b.items, Devices: len(b.devices), Pairs: len(b.pairs), Ops: len(b.ops), Ranges: n, Capped: b.capped}
}

func day(t time.Time) int64 { return t.Unix() / 86400 }

// added counts a new item, returning false when the cap forbids it.
func (b *Baseline) room() bool {
	if b.items >= b.cfg.MaxItems {
		b.capped++
		return false
	}
	return true
}

func (b *Baseline) added(key string, now time.Time) {
	b.gen++
	b.items++
	b.newPerDay[day(now)]++
	b.dirty[key] = true
	b.dirty[stateKey] = true
}

// Progress describes learning for the UI and API.
type Progress struct {
	Mode      string    `json:"mode"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended,omitzero"`
	Elapsed   float64   `json:"elapsed_seconds"`
	Items     int       `json:"items"`
	NewPerDay []DayNew  `json:"new_per_day"`
	// Percent is an estimate of how far learning is towards its automatic
	// end: the smaller of elapsed/MinDuration and quiet days/QuietDays
	// (both must be reached).
	Percent float64 `json:"percent"`
}

// DayNew is the number of new items on one day.
type DayNew struct {
	Day time.Time `json:"day"`
	New int       `json:"new"`
}

// Progress reports learning progress at now.
func (b *Baseline) Progress(now time.Time) Progress {
	p := Progress{Mode: b.mode.String(), Started: b.started, Ended: b.ended, Items: b.items}
	end := now
	if !b.ended.IsZero() {
		end = b.ended
	}
	p.Elapsed = end.Sub(b.started).Seconds()
	days := make([]int64, 0, len(b.newPerDay))
	for d := range b.newPerDay {
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	for _, d := range days {
		p.NewPerDay = append(p.NewPerDay, DayNew{Day: time.Unix(d*86400, 0).UTC(), New: b.newPerDay[d]})
	}
	if b.mode == Operational {
		p.Percent = 100
		return p
	}
	frac := end.Sub(b.started).Seconds() / b.cfg.MinDuration.Seconds()
	if frac > 1 {
		frac = 1
	}
	q := float64(b.quietDays(now)) / float64(b.cfg.QuietDays)
	if q > 1 {
		q = 1
	}
	p.Percent = 100 * min(frac, q)
	if frac >= 1 {
		p.Percent = 100 * q
	}
	return p
}

// quietDays counts the complete days before now's day, most recent first,
// that added fewer than NewRate × items new items.
func (b *Baseline) quietDays(now time.Time) int {
	today := day(now)
	first := day(b.started)
	n := 0
	for d := today - 1; d >= first && n < b.cfg.QuietDays; d-- {
		if float64(b.newPerDay[d]) >= b.cfg.NewRate*float64(max(b.items, 1)) {
			break
		}
		n++
	}
	return n
}

// Tick ends learning by itself when the configured conditions hold; it
// reports whether it did.
func (b *Baseline) Tick(now time.Time) bool {
	if b.mode != Learning || now.Sub(b.started) < b.cfg.MinDuration {
		return false
	}
	if b.quietDays(now) >= b.cfg.QuietDays {
		b.EndLearning(now)
		return true
	}
	return false
}

// Device reports whether a device is in the baseline; in learning mode an
// unknown device is added (and reported as known).
func (b *Baseline) Device(h Host, now time.Time) (known bool) {
	if d := b.devices[h]; d != nil {
		if now.After(d.last) {
			d.last = now
			b.seenDev[h] = struct{}{}
		}
		return true
	}
	if b.mode != Learning || !h.Valid() || !b.room() {
		return false
	}
	b.devices[h] = &devState{first: now, last: now}
	b.added(DeviceKey(h), now)
	return true
}

// Generation changes whenever an item is added to or removed from the
// baseline (or a register range grows), so that a caller may cache the
// answers of the observers for as long as it stays the same.
func (b *Baseline) Generation() uint64 { return b.gen }

// HasDevice reports whether h is in the baseline, without learning.
func (b *Baseline) HasDevice(h Host) bool { return b.devices[h] != nil }

// Flag reports whether a device has a flag; in learning mode (or when set
// is true) it sets it.
func (b *Baseline) Flag(h Host, f Flag, learn bool, now time.Time) bool {
	d := b.devices[h]
	if d != nil && d.flags&(1<<f) != 0 {
		return true
	}
	if !learn && b.mode != Learning {
		return false
	}
	if d == nil {
		if !b.room() {
			return false
		}
		d = &devState{first: now, last: now}
		b.devices[h] = d
		b.added(DeviceKey(h), now)
	}
	d.flags |= 1 << f
	b.added(FlagKey(h, f), now)
	return true
}

// HasFlag reports whether the device has the flag, without learning.
func (b *Baseline) HasFlag(h Host, f Flag) bool {
	d := b.devices[h]
	return d != nil && d.flags&(1<<f) != 0
}

// Pair reports whether a pair is in the baseline (learning it in learning
// mode).
func (b *Baseline) Pair(p Pair, now time.Time) bool {
	if m, ok := b.pairs[p]; ok {
		if now.After(m.last) {
			m.last = now
			b.pairs[p] = m
			b.seenPair[p] = struct{}{}
		}
		return true
	}
	if b.mode != Learning || !b.room() {
		return false
	}
	b.pairs[p] = meta{first: now, last: now}
	b.added(PairKey(p), now)
	return true
}

// Op reports whether an operation is in the pair's baseline (learning it in
// learning mode).
func (b *Baseline) Op(o Op, now time.Time) bool { return observe(b, b.ops, o, OpKey, now) }

// observe reports whether k is in m, the set of one kind of item; in
// learning mode an unknown k is added (and reported as known), keyed by
// key(k) for persistence.
func observe[K comparable](b *Baseline, m map[K]meta, k K, key func(K) string, now time.Time) bool {
	if _, ok := m[k]; ok {
		return true
	}
	if b.mode != Learning || !b.room() {
		return false
	}
	m[k] = meta{first: now, last: now}
	b.added(key(k), now)
	return true
}

// Service reports whether a device is known to serve a port (learning it
// in learning mode).
func (b *Baseline) Service(s Service, now time.Time) bool {
	return observe(b, b.services, s, ServiceKey, now)
}

// Remote reports whether a remote-access pair is in the baseline (learning
// it in learning mode).
func (b *Baseline) Remote(p Pair, now time.Time) bool { return observe(b, b.remote, p, RemoteKey, now) }

// Cleartext reports whether a cleartext-credential channel of a kind
// (telnet, ftp, http_basic, snmp_community) is in the baseline (learning it
// in learning mode).
func (b *Baseline) Cleartext(p Pair, kind string, now time.Time) bool {
	return observe(b, b.creds, credKey{p, kind}, credKey.key, now)
}

// Firmware reports whether a firmware version is known for a device
// (learning it in learning mode). A device with no known version accepts
// its first one in learning mode only.
func (b *Baseline) Firmware(h Host, version string, now time.Time) (known bool, previous []string) {
	d := b.devices[h]
	if d != nil {
		for _, v := range d.firmware {
			if v == version {
				return true, nil
			}
		}
		previous = append(previous, d.firmware...)
	}
	if b.mode != Learning {
		return false, previous
	}
	if d == nil {
		if !b.room() {
			return false, nil
		}
		d = &devState{first: now, last: now}
		b.devices[h] = d
		b.added(DeviceKey(h), now)
	}
	if len(d.firmware) < 16 {
		d.firmware = append(d.firmware, version)
		b.added(FirmwareKey(h, version), now)
	}
	return true, nil
}

// KnownFirmware returns the firmware versions learned for a device.
func (b *Baseline) KnownFirmware(h Host) []string {
	if d := b.devices[h]; d != nil {
		return append([]string(nil), d.firmware...)
	}
	return nil
}

// InRange reports whether [start, end] lies within the learned ranges of a
// register space (learning it in learning mode).
func (b *Baseline) InRange(s Space, start, end uint32, now time.Time) bool {
	rs := b.spaces[s]
	for _, r := range rs {
		if start >= r.Start && end <= r.End {
			return true
		}
	}
	if b.mode != Learning {
		return false
	}
	return b.addRange(s, Range{start, end}, now)
}

// addRange adds r to space s; it reports false when the cap forbids a new
// space.
func (b *Baseline) addRange(s Space, r Range, now time.Time) bool {
	rs, existed := b.spaces[s]
	if !existed && !b.room() {
		return false
	}
	rs = append(rs, r)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	// Merge overlapping and adjacent ranges.
	out := rs[:1]
	for _, x := range rs[1:] {
		last := &out[len(out)-1]
		if uint64(x.Start) <= uint64(last.End)+1 {
			if x.End > last.End {
				last.End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	for len(out) > b.cfg.MaxRanges {
		// Merge the two ranges with the smallest gap.
		best, gap := 0, uint64(1<<63)
		for i := 0; i+1 < len(out); i++ {
			if g := uint64(out[i+1].Start) - uint64(out[i].End); g < gap {
				best, gap = i, g
			}
		}
		out[best].End = out[best+1].End
		out = append(out[:best+1], out[best+2:]...)
	}
	b.spaces[s] = out
	if !existed {
		b.items++
		b.newPerDay[day(now)]++
	}
	b.dirty[SpaceKey(s)] = true
	b.gen++
	return true
}

// Ranges returns the learned ranges of a space.
func (b *Baseline) Ranges(s Space) []Range { return append([]Range(nil), b.spaces[s]...) }

// ChannelSample is what Channel returns about a request on a channel.
type ChannelSample struct {
	// Period is the time since the previous request (0 for the first).
	Period time.Duration
	// Profile is the learned period profile (N == 0: none).
	Profile Profile
	// Minute is set when a minute of the channel's traffic completed: its
	// byte count, and the learned rate profile.
	Minute     bool
	MinuteRate float64
	Rate       Profile
}

// MaxChannels caps the channels profiled.
const MaxChannels = 100_000

// Channel records a request of bytes on a channel at now: in learning mode
// it feeds the period and rate profiles; in either mode it returns the
// sample for the anomaly engine.
func (b *Baseline) Channel(c Channel, now time.Time, bytes int) ChannelSample {
	st := b.channels[c]
	if st == nil {
		if len(b.channels) >= MaxChannels {
			b.capped++
			return ChannelSample{}
		}
		st = &chanState{last: now, bucket: now.Truncate(time.Minute), bytes: float64(bytes)}
		b.channels[c] = st
		return ChannelSample{}
	}
	if st.last.IsZero() {
		// A profile loaded from the store: no previous request to measure
		// a period or a minute from.
		st.last, st.bucket, st.bytes = now, now.Truncate(time.Minute), float64(bytes)
		return ChannelSample{}
	}
	var s ChannelSample
	if now.After(st.last) {
		s.Period = now.Sub(st.last)
	}
	st.last = now
	s.Profile = st.Period
	if m := now.Truncate(time.Minute); m.After(st.bucket) {
		s.Minute, s.MinuteRate, s.Rate = true, st.bytes, st.Rate
		if b.mode == Learning {
			st.Rate.Add(st.bytes)
		}
		st.bucket, st.bytes = m, 0
	}
	st.bytes += float64(bytes)
	if b.mode == Learning && s.Period > 0 {
		st.Period.Add(s.Period.Seconds())
		b.dirty[ChannelKey(c)] = true
	}
	return s
}

// Keys. Each is self-describing: ParseKey turns it back into the item.
const (
	stateKey = "state"
)

// DeviceKey is the item key of a device.
func DeviceKey(h Host) string { return "dev|" + h.String() }

// FlagKey is the item key of a device flag.
func FlagKey(h Host, f Flag) string { return "flag|" + f.String() + "|" + h.String() }

// PairKey is the item key of a pair.
func PairKey(p Pair) string {
	return "pair|" + pairPart(p)
}

func pairPart(p Pair) string {
	return p.Client.String() + "|" + p.Server.String() + "|" + strconv.Itoa(int(p.Transport)) + "|" +
		strconv.Itoa(int(p.Port))
}

// OpKey is the item key of an operation.
func OpKey(o Op) string {
	s := "op|" + pairPart(o.Pair) + "|" + o.Protocol + "|" + strconv.FormatUint(uint64(o.Function), 10)
	if o.HasSub {
		s += "|" + strconv.FormatUint(uint64(o.Sub), 10)
	}
	return s
}

// SpaceKey is the item key of a register space.
func SpaceKey(s Space) string {
	return "range|" + pairPart(s.Pair) + "|" + s.Protocol + "|" + strconv.FormatUint(uint64(s.Unit), 10) + "|" + s.Name
}

// RangeKey is the key an alert carries to learn one range of a space.
func RangeKey(s Space, r Range) string {
	return SpaceKey(s) + "|" + strconv.FormatUint(uint64(r.Start), 10) + "-" + strconv.FormatUint(uint64(r.End), 10)
}

// ServiceKey is the item key of a served port.
func ServiceKey(s Service) string {
	return "svc|" + s.Host.String() + "|" + strconv.Itoa(int(s.Transport)) + "|" + strconv.Itoa(int(s.Port))
}

// RemoteKey is the item key of a remote-access pair.
func RemoteKey(p Pair) string { return "remote|" + pairPart(p) }

// CredKey is the item key of a cleartext-credential channel.
func CredKey(p Pair, kind string) string { return "cred|" + pairPart(p) + "|" + kind }

// FirmwareKey is the item key of a known firmware version.
func FirmwareKey(h Host, version string) string { return "fw|" + h.String() + "|" + version }

// ChannelKey is the item key of a channel profile.
func ChannelKey(c Channel) string {
	return "chan|" + OpKey(c.Op)[3:] + "|" + strconv.FormatUint(uint64(c.Unit), 10) + "|" +
		strconv.FormatUint(uint64(c.AddrStart), 10)
}

func parsePair(f []string) (Pair, error) {
	var p Pair
	if len(f) < 4 {
		return p, fmt.Errorf("learn: short pair %q", strings.Join(f, "|"))
	}
	var err error
	if p.Client, err = ParseHost(f[0]); err != nil {
		return p, err
	}
	if p.Server, err = ParseHost(f[1]); err != nil {
		return p, err
	}
	tr, err := strconv.ParseUint(f[2], 10, 8)
	if err != nil {
		return p, fmt.Errorf("learn: bad transport %q: %w", f[2], err)
	}
	port, err := strconv.ParseUint(f[3], 10, 16)
	if err != nil {
		return p, fmt.Errorf("learn: bad port %q: %w", f[3], err)
	}
	p.Transport, p.Port = uint8(tr), uint16(port)
	return p, nil
}

func parseFlag(s string) (Flag, error) {
	for i, n := range flagNames {
		if i > 0 && n == s {
			return Flag(i), nil
		}
	}
	return 0, fmt.Errorf("learn: unknown flag %q", s)
}

// Add adds the item with the given key (the operator's Learn action, or a
// configured flag), whatever the mode.
func (b *Baseline) Add(key string, now time.Time) error {
	f := strings.Split(key, "|")
	switch f[0] {
	case "dev":
		h, err := ParseHost(strings.Join(f[1:], "|"))
		if err != nil {
			return err
		}
		if b.devices[h] == nil {
			b.devices[h] = &devState{first: now, last: now}
			b.added(key, now)
		}
	case "flag":
		if len(f) != 3 {
			return fmt.Errorf("learn: bad key %q", key)
		}
		fl, err := parseFlag(f[1])
		if err != nil {
			return err
		}
		h, err := ParseHost(f[2])
		if err != nil {
			return err
		}
		b.Flag(h, fl, true, now)
	case "pair", "remote":
		p, err := parsePair(f[1:])
		if err != nil {
			return err
		}
		m := b.pairs
		if f[0] == "remote" {
			m = b.remote
		}
		if _, ok := m[p]; !ok {
			m[p] = meta{first: now, last: now}
			b.added(key, now)
		}
	case "op":
		if len(f) < 7 {
			return fmt.Errorf("learn: bad key %q", key)
		}
		p, err := parsePair(f[1:5])
		if err != nil {
			return err
		}
		o := Op{Pair: p, Protocol: f[5]}
		v, err := strconv.ParseUint(f[6], 10, 32)
		if err != nil {
			return fmt.Errorf("learn: bad function in %q: %w", key, err)
		}
		o.Function = uint32(v)
		if len(f) > 7 {
			v, err := strconv.ParseUint(f[7], 10, 32)
			if err != nil {
				return fmt.Errorf("learn: bad sub in %q: %w", key, err)
			}
			o.Sub, o.HasSub = uint32(v), true
		}
		if _, ok := b.ops[o]; !ok {
			b.ops[o] = meta{first: now, last: now}
			b.added(key, now)
		}
	case "range":
		if len(f) != 9 && len(f) != 8 {
			return fmt.Errorf("learn: bad key %q", key)
		}
		p, err := parsePair(f[1:5])
		if err != nil {
			return err
		}
		unit, err := strconv.ParseUint(f[6], 10, 32)
		if err != nil {
			return fmt.Errorf("learn: bad unit in %q: %w", key, err)
		}
		s := Space{Pair: p, Protocol: f[5], Unit: uint32(unit), Name: f[7]}
		if len(f) == 9 {
			a, z, ok := strings.Cut(f[8], "-")
			st, err1 := strconv.ParseUint(a, 10, 32)
			en, err2 := strconv.ParseUint(z, 10, 32)
			if !ok || err1 != nil || err2 != nil || en < st {
				return fmt.Errorf("learn: bad range in %q", key)
			}
			b.addRange(s, Range{uint32(st), uint32(en)}, now)
		}
	case "svc":
		if len(f) != 4 {
			return fmt.Errorf("learn: bad key %q", key)
		}
		h, err := ParseHost(f[1])
		if err != nil {
			return err
		}
		tr, err1 := strconv.ParseUint(f[2], 10, 8)
		port, err2 := strconv.ParseUint(f[3], 10, 16)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("learn: bad key %q", key)
		}
		s := Service{Host: h, Transport: uint8(tr), Port: uint16(port)}
		if _, ok := b.services[s]; !ok {
			b.services[s] = meta{first: now, last: now}
			b.added(key, now)
		}
	case "cred":
		if len(f) != 6 {
			return fmt.Errorf("learn: bad key %q", key)
		}
		p, err := parsePair(f[1:5])
		if err != nil {
			return err
		}
		k := credKey{p, f[5]}
		if _, ok := b.creds[k]; !ok {
			b.creds[k] = meta{first: now, last: now}
			b.added(key, now)
		}
	case "fw":
		if len(f) < 3 {
			return fmt.Errorf("learn: bad key %q", key)
		}
		h, err := ParseHost(f[1])
		if err != nil {
			return err
		}
		v := strings.Join(f[2:], "|")
		d := b.devices[h]
		if d == nil {
			d = &devState{first: now, last: now}
			b.devices[h] = d
			b.added(DeviceKey(h), now)
		}
		for _, x := range d.firmware {
			if x == v {
				return nil
			}
		}
		d.firmware = append(d.firmware, v)
		b.added(key, now)
	default:
		return fmt.Errorf("learn: unknown item key %q", key)
	}
	return nil
}

// Remove removes the item with the given key (the operator's Unlearn). For
// a range key it removes the whole register space's learned ranges.
func (b *Baseline) Remove(key string) error {
	f := strings.Split(key, "|")
	found := false
	switch f[0] {
	case "dev":
		h, err := ParseHost(strings.Join(f[1:], "|"))
		if err != nil {
			return err
		}
		if d := b.devices[h]; d != nil {
			found = true
			for fl := Flag(1); fl < flagCount; fl++ {
				if d.flags&(1<<fl) != 0 {
					b.dirty[FlagKey(h, fl)] = false
					b.items--
				}
			}
			for _, v := range d.firmware {
				b.dirty[FirmwareKey(h, v)] = false
				b.items--
			}
			delete(b.devices, h)
		}
	case "flag":
		if len(f) != 3 {
			return fmt.Errorf("learn: bad key %q", key)
		}
		fl, err := parseFlag(f[1])
		if err != nil {
			return err
		}
		h, err := ParseHost(f[2])
		if err != nil {
			return err
		}
		if d := b.devices[h]; d != nil && d.flags&(1<<fl) != 0 {
			d.flags &^= 1 << fl
			found = true
		}
	case "pair", "remote":
		p, err := parsePair(f[1:])
		if err != nil {
			return err
		}
		m := b.pairs
		if f[0] == "remote" {
			m = b.remote
		}
		if _, ok := m[p]; ok {
			delete(m, p)
			found = true
		}
	case "op":
		for o := range b.ops {
			if OpKey(o) == key {
				delete(b.ops, o)
				found = true
			}
		}
	case "range":
		for s := range b.spaces {
			if sk := SpaceKey(s); sk == key || strings.HasPrefix(key, sk+"|") {
				delete(b.spaces, s)
				key = sk
				found = true
			}
		}
	case "svc":
		for s := range b.services {
			if ServiceKey(s) == key {
				delete(b.services, s)
				found = true
			}
		}
	case "cred":
		for k := range b.creds {
			if CredKey(k.Pair, k.Kind) == key {
				delete(b.creds, k)
				found = true
			}
		}
	case "fw":
		if len(f) < 3 {
			return fmt.Errorf("learn: bad key %q", key)
		}
		h, err := ParseHost(f[1])
		if err != nil {
			return err
		}
		v := strings.Join(f[2:], "|")
		if d := b.devices[h]; d != nil {
			for i, x := range d.firmware {
				if x == v {
					d.firmware = append(d.firmware[:i], d.firmware[i+1:]...)
					found = true
					break
				}
			}
		}
	default:
		return fmt.Errorf("learn: unknown item key %q", key)
	}
	if found {
		b.gen++
		b.items--
		b.dirty[key] = false
	}
	return nil
}

// ItemView is an item for listing (API and UI).
type ItemView struct {
	Key   string    `json:"key"`
	Kind  string    `json:"kind"`
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
	// Ranges for register-space items.
	Ranges []Range `json:"ranges,omitempty"`
	// Profile for channel items.
	Period *Profile `json:"period,omitempty"`
	Rate   *Profile `json:"rate,omitempty"`
}

// Items lists every item (sorted by key).
func (b *Baseline) Items() []ItemView {
	var out []ItemView
	for h, d := range b.devices {
		out = append(out, ItemView{Key: DeviceKey(h), Kind: "device", First: d.first, Last: d.last})
		for fl := Flag(1); fl < flagCount; fl++ {
			if d.flags&(1<<fl) != 0 {
				out = append(out, ItemView{Key: FlagKey(h, fl), Kind: "flag"})
			}
		}
		for _, v := range d.firmware {
			out = append(out, ItemView{Key: FirmwareKey(h, v), Kind: "firmware"})
		}
	}
	for p, m := range b.pairs {
		out = append(out, ItemView{Key: PairKey(p), Kind: "pair", First: m.first, Last: m.last})
	}
	for o, m := range b.ops {
		out = append(out, ItemView{Key: OpKey(o), Kind: "operation", First: m.first, Last: m.last})
	}
	for s, rs := range b.spaces {
		out = append(out, ItemView{Key: SpaceKey(s), Kind: "range", Ranges: append([]Range(nil), rs...)})
	}
	for s, m := range b.services {
		out = append(out, ItemView{Key: ServiceKey(s), Kind: "service", First: m.first, Last: m.last})
	}
	for p, m := range b.remote {
		out = append(out, ItemView{Key: RemoteKey(p), Kind: "remote_access", First: m.first, Last: m.last})
	}
	for k, m := range b.creds {
		out = append(out, ItemView{Key: CredKey(k.Pair, k.Kind), Kind: "cleartext_credentials", First: m.first, Last: m.last})
	}
	for c, st := range b.channels {
		if st.Period.N > 0 || st.Rate.N > 0 {
			p, r := st.Period, st.Rate
			out = append(out, ItemView{Key: ChannelKey(c), Kind: "channel", Period: &p, Rate: &r})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

type stateDoc struct {
	Mode      string        `json:"mode"`
	Started   time.Time     `json:"started"`
	Ended     time.Time     `json:"ended,omitzero"`
	NewPerDay map[int64]int `json:"new_per_day"`
}

type itemDoc struct {
	First  time.Time `json:"first,omitzero"`
	Last   time.Time `json:"last,omitzero"`
	Ranges []Range   `json:"ranges,omitempty"`
	Period *Profile  `json:"period,omitempty"`
	Rate   *Profile  `json:"rate,omitempty"`
}

// Pending returns the changes since the last call, as items to put and
// keys to delete, and forgets them. On a failed save, call Restore.
func (b *Baseline) Pending() (put []Item, del []string) {
	// Sightings move the last time of devices and pairs: save them too.
	for h := range b.seenDev {
		if b.devices[h] != nil {
			b.dirty[DeviceKey(h)] = true
		}
	}
	for p := range b.seenPair {
		if _, ok := b.pairs[p]; ok {
			b.dirty[PairKey(p)] = true
		}
	}
	clear(b.seenDev)
	clear(b.seenPair)
	for k, keep := range b.dirty {
		if !keep {
			del = append(del, k)
			continue
		}
		it, ok := b.item(k)
		if ok {
			put = append(put, it)
		} else {
			del = append(del, k)
		}
	}
	b.dirty = map[string]bool{}
	sort.Slice(put, func(i, j int) bool { return put[i].Key < put[j].Key })
	sort.Strings(del)
	return put, del
}

// Restore marks keys as changed again (after a failed save).
func (b *Baseline) Restore(put []Item, del []string) {
	for _, it := range put {
		b.dirty[it.Key] = true
	}
	for _, k := range del {
		if _, ok := b.dirty[k]; !ok {
			b.dirty[k] = false
		}
	}
}

// item builds the stored form of the item with key k, if it exists.
func (b *Baseline) item(k string) (Item, bool) {
	kind, _, _ := strings.Cut(k, "|")
	var doc itemDoc
	switch kind {
	case stateKey:
		d := stateDoc{Mode: b.mode.String(), Started: b.started, Ended: b.ended, NewPerDay: b.newPerDay}
		data, _ := json.Marshal(d)
		return Item{Key: k, Kind: "state", Data: data, First: b.started, Last: b.ended}, true
	case "range":
		// Parse the key rather than scan every space: Pending is called
		// with thousands of dirty keys while learning.
		sp, err := parseSpace(k)
		rs, ok := b.spaces[sp]
		if err != nil || !ok || SpaceKey(sp) != k {
			return Item{}, false
		}
		doc.Ranges = rs
		data, _ := json.Marshal(doc)
		return Item{Key: k, Kind: kind, Data: data}, true
	case "chan":
		c, err := parseChannel(k)
		st := b.channels[c]
		if err != nil || st == nil || ChannelKey(c) != k {
			return Item{}, false
		}
		p, r := st.Period, st.Rate
		doc.Period, doc.Rate = &p, &r
		data, _ := json.Marshal(doc)
		return Item{Key: k, Kind: kind, Data: data}, true
	}
	m, ok := b.itemMeta(k, nil)
	if !ok {
		return Item{}, false
	}
	data, _ := json.Marshal(doc)
	return Item{Key: k, Kind: kind, Data: data, First: m.first, Last: m.last}, true
}

// itemMeta returns the first and last time of the item with key k (zero
// for flags and firmware versions) and whether it is in the baseline; with
// set, it first replaces the times by *set.
func (b *Baseline) itemMeta(k string, set *meta) (meta, bool) {
	f := strings.Split(k, "|")
	switch f[0] {
	case "dev":
		h, err := ParseHost(strings.Join(f[1:], "|"))
		d := b.devices[h]
		if err != nil || d == nil {
			return meta{}, false
		}
		if set != nil {
			d.first, d.last = set.first, set.last
		}
		return meta{d.first, d.last}, true
	case "flag":
		if len(f) != 3 {
			return meta{}, false
		}
		fl, err1 := parseFlag(f[1])
		h, err2 := ParseHost(f[2])
		return meta{}, err1 == nil && err2 == nil && b.HasFlag(h, fl)
	case "pair", "remote":
		p, err := parsePair(f[1:])
		if err != nil {
			return meta{}, false
		}
		if f[0] == "pair" {
			return setMeta(b.pairs, p, set)
		}
		return setMeta(b.remote, p, set)
	case "fw":
		if len(f) < 3 {
			return meta{}, false
		}
		h, err := ParseHost(f[1])
		if err != nil {
			return meta{}, false
		}
		v := strings.Join(f[2:], "|")
		for _, x := range b.KnownFirmware(h) {
			if x == v {
				return meta{}, true
			}
		}
		return meta{}, false
	case "op", "svc", "cred":
		// Parsing round trip: add to a scratch baseline and compare.
		s := New(b.cfg, time.Time{})
		if s.Add(k, time.Time{}) != nil {
			return meta{}, false
		}
		for o := range s.ops {
			return setMeta(b.ops, o, set)
		}
		for x := range s.services {
			return setMeta(b.services, x, set)
		}
		for x := range s.creds {
			return setMeta(b.creds, x, set)
		}
	}
	return meta{}, false
}

func setMeta[K comparable](m map[K]meta, k K, set *meta) (meta, bool) {
	x, ok := m[k]
	if ok && set != nil {
		x = *set
		m[k] = x
	}
	return x, ok
}

// Load restores a baseline from stored items.
func Load(cfg Config, items []Item, now time.Time) (*Baseline, error) {
	b := New(cfg, now)
	var state *stateDoc
	for _, it := range items {
		switch it.Kind {
		case "state":
			state = &stateDoc{}
			if err := json.Unmarshal(it.Data, state); err != nil {
				return nil, fmt.Errorf("learn: loading state: %w", err)
			}
			continue
		case "range":
			var d itemDoc
			if err := json.Unmarshal(it.Data, &d); err != nil {
				return nil, fmt.Errorf("learn: loading %s: %w", it.Key, err)
			}
			for _, r := range d.Ranges {
				if err := b.Add(it.Key+"|"+strconv.FormatUint(uint64(r.Start), 10)+"-"+
					strconv.FormatUint(uint64(r.End), 10), it.First); err != nil {
					return nil, err
				}
			}
			continue
		case "chan":
			continue // profiles are relearned from their stored form below
		}
		if err := b.Add(it.Key, it.First); err != nil {
			return nil, fmt.Errorf("learn: loading: %w", err)
		}
		if !it.Last.Equal(it.First) { // Add set both to First
			b.itemMeta(it.Key, &meta{first: it.First, last: it.Last})
		}
	}
	for _, it := range items {
		if it.Kind != "chan" {
			continue
		}
		c, err := parseChannel(it.Key)
		if err != nil {
			return nil, err
		}
		var d itemDoc
		if err := json.Unmarshal(it.Data, &d); err != nil {
			return nil, fmt.Errorf("learn: loading %s: %w", it.Key, err)
		}
		st := &chanState{}
		if d.Period != nil {
			st.Period = *d.Period
		}
		if d.Rate != nil {
			st.Rate = *d.Rate
		}
		b.channels[c] = st
	}
	// Loading is not news: the counters of new items per day are the
	// stored ones, and nothing is dirty.
	b.newPerDay = map[int64]int{}
	if state != nil {
		b.started, b.ended = state.Started, state.Ended
		if state.Mode == "operational" {
			b.mode = Operational
		}
		if state.NewPerDay != nil {
			b.newPerDay = state.NewPerDay
		}
	}
	b.dirty = map[string]bool{}
	b.items = 0
	for _, it := range b.Items() {
		if it.Kind != "channel" { // profiles are capped by MaxChannels, not counted
			b.items++
		}
	}
	return b, nil
}

// parseSpace is the inverse of SpaceKey.
func parseSpace(k string) (Space, error) {
	f := strings.Split(k, "|")
	if len(f) != 8 || f[0] != "range" {
		return Space{}, fmt.Errorf("learn: bad space key %q", k)
	}
	p, err := parsePair(f[1:5])
	if err != nil {
		return Space{}, err
	}
	unit, err := strconv.ParseUint(f[6], 10, 32)
	if err != nil {
		return Space{}, fmt.Errorf("learn: bad unit in %q: %w", k, err)
	}
	return Space{Pair: p, Protocol: f[5], Unit: uint32(unit), Name: f[7]}, nil
}

func parseChannel(k string) (Channel, error) {
	f := strings.Split(k, "|")
	if len(f) < 9 {
		return Channel{}, fmt.Errorf("learn: bad channel key %q", k)
	}
	n := len(f)
	unit, err1 := strconv.ParseUint(f[n-2], 10, 32)
	addr, err2 := strconv.ParseUint(f[n-1], 10, 32)
	if err1 != nil || err2 != nil {
		return Channel{}, fmt.Errorf("learn: bad channel key %q", k)
	}
	s := New(Config{}, time.Time{})
	if err := s.Add("op|"+strings.Join(f[1:n-2], "|"), time.Time{}); err != nil {
		return Channel{}, err
	}
	for o := range s.ops {
		return Channel{Op: o, Unit: uint32(unit), AddrStart: uint32(addr)}, nil
	}
	return Channel{}, fmt.Errorf("learn: bad channel key %q", k)
}

// Hosts returns the devices that have flag f.
func (b *Baseline) Hosts(f Flag) []Host {
	var out []Host
	for h, d := range b.devices {
		if d.flags&(1<<f) != 0 {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
