package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/sensor/analyze"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/pipeline"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
)

// Capture statuses.
const (
	statusQueued  = "queued"
	statusRunning = "running"
	statusDone    = "done"
	statusFailed  = "failed"
)

// maxCachedSessions is how many analysis results are kept decoded in
// memory.
const maxCachedSessions = 4

// sessionResult is what an analysis session found; it is stored as JSON
// with the capture.
type sessionResult struct {
	Packets     uint64                            `json:"packets"`
	Bytes       uint64                            `json:"bytes"`
	First       time.Time                         `json:"first,omitzero"`
	Last        time.Time                         `json:"last,omitzero"`
	Baseline    string                            `json:"baseline"` // mode of the baseline copy
	PolicyOff   bool                              `json:"policy_off,omitempty"`
	Devices     []inventory.Record                `json:"devices"`
	Alerts      []*alert.Alert                    `json:"alerts"`
	Snippets    map[string][]byte                 `json:"snippets,omitempty"`
	Connections []web.Connection                  `json:"connections"`
	Protocols   map[string]*analyze.ProtocolStats `json:"protocols,omitempty"`
}

// session is a decoded result, ready for the API.
type session struct {
	res    *sessionResult
	devs   []web.Device
	alerts []*alert.Alert
	conns  []web.Connection
}

func newSession(res *sessionResult) *session {
	s := &session{res: res, alerts: res.Alerts, conns: res.Connections}
	open := map[string]int{}
	for _, al := range res.Alerts {
		if al.Status == alert.StatusClosed {
			continue
		}
		if al.Src.IP != "" {
			open[al.Src.IP]++
		}
		if al.Dst.IP != "" && al.Dst.IP != al.Src.IP {
			open[al.Dst.IP]++
		}
	}
	s.devs = make([]web.Device, len(res.Devices))
	for i, r := range res.Devices {
		s.devs[i] = webDevice(r, nil, open)
	}
	return s
}

// capEntry is one uploaded capture.
type capEntry struct {
	meta     store.Capture
	progress atomic.Uint64 // float64 bits, 0–1
	cancel   context.CancelFunc
}

// captures runs the analysis sessions of uploaded captures, one at a
// time, in upload order.
type captures struct {
	a      *App
	mu     sync.Mutex
	list   map[string]*capEntry
	cache  map[string]*session
	order  []string // cache, least recently used first
	signal chan struct{}
	wg     sync.WaitGroup
}

// loadCaptures reads the stored captures; analyses a stop interrupted are
// queued again.
func loadCaptures(ctx context.Context, a *App) (*captures, error) {
	cs, err := a.st.LoadCaptures(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	c := &captures{a: a, list: map[string]*capEntry{}, cache: map[string]*session{}, signal: make(chan struct{}, 1)}
	for _, m := range cs {
		e := &capEntry{meta: m}
		if m.Status == statusRunning {
			e.meta.Status = statusQueued
		}
		if e.meta.Status == statusDone {
			e.progress.Store(math.Float64bits(1))
		}
		c.list[m.ID] = e
	}
	return c, nil
}

func (c *captures) start(ctx context.Context) {
	c.wg.Add(1)
	go c.worker(ctx)
	c.kick()
}

func (c *captures) wait() { c.wg.Wait() }

func (c *captures) kick() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

func (c *captures) worker(ctx context.Context) {
	defer c.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.signal:
		}
		for ctx.Err() == nil {
			e := c.next()
			if e == nil {
				break
			}
			c.run(ctx, e)
		}
	}
}

// next marks the oldest queued capture running and returns it.
func (c *captures) next() *capEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first *capEntry
	for _, e := range c.list {
		if e.meta.Status == statusQueued && (first == nil || e.meta.Uploaded.Before(first.meta.Uploaded) ||
			(e.meta.Uploaded.Equal(first.meta.Uploaded) && e.meta.ID < first.meta.ID)) {
			first = e
		}
	}
	if first != nil {
		first.meta.Status = statusRunning
	}
	return first
}

// run analyses one capture and stores its result.
func (c *captures) run(ctx context.Context, e *capEntry) {
	a := c.a
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	e.cancel = cancel
	meta := e.meta
	c.mu.Unlock()
	if err := a.st.SaveCapture(ctx, meta, nil); err != nil {
		a.log.Warn("app: capture status", "id", meta.ID, "err", err)
	}
	start := time.Now()
	res, readErr, err := a.analyzeCapture(actx, meta.Path, func(done, total int64) {
		if total > 0 {
			e.progress.Store(math.Float64bits(float64(done) / float64(total)))
		}
	})
	c.mu.Lock()
	deleted := c.list[meta.ID] != e
	e.cancel = nil
	c.mu.Unlock()
	if deleted || ctx.Err() != nil {
		return // deleted meanwhile, or the sensor stops: queued again at the next start
	}
	var doc []byte
	if err == nil {
		meta.Status = statusDone
		meta.Packets, meta.Devices, meta.Alerts = res.Packets, len(res.Devices), len(res.Alerts)
		if readErr != nil {
			meta.Error = readErr.Error()
		}
		if doc, err = json.Marshal(res); err != nil {
			err = fmt.Errorf("encoding the results: %w", err)
		}
	}
	if err != nil {
		meta.Status, meta.Error, doc = statusFailed, err.Error(), nil
	}
	if serr := a.st.SaveCapture(ctx, meta, doc); serr != nil {
		a.log.Warn("app: storing capture results", "id", meta.ID, "err", serr)
		meta.Status, meta.Error = statusFailed, serr.Error()
	}
	c.mu.Lock()
	if c.list[meta.ID] == e {
		e.meta = meta
		e.progress.Store(math.Float64bits(1))
		if meta.Status == statusDone {
			c.cacheLocked(meta.ID, newSession(res))
		}
	}
	c.mu.Unlock()
	a.log.Info("app: capture analysed", "id", meta.ID, "name", meta.Name, "status", meta.Status,
		"packets", meta.Packets, "devices", meta.Devices, "alerts", meta.Alerts, "err", meta.Error,
		"duration", time.Since(start).Round(time.Millisecond))
}

func (c *captures) cacheLocked(id string, s *session) {
	if _, ok := c.cache[id]; !ok && len(c.order) >= maxCachedSessions {
		delete(c.cache, c.order[0])
		c.order = c.order[1:]
	}
	c.order = slices.DeleteFunc(c.order, func(x string) bool { return x == id })
	c.order = append(c.order, id)
	c.cache[id] = s
}

// session returns the results of a capture: empty while it is queued,
// running or failed.
func (c *captures) session(ctx context.Context, scope web.Scope) (*session, error) {
	id := string(scope)
	c.mu.Lock()
	e := c.list[id]
	if e == nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: capture %s", web.ErrNotFound, id)
	}
	if s, ok := c.cache[id]; ok {
		c.cacheLocked(id, s)
		c.mu.Unlock()
		return s, nil
	}
	status := e.meta.Status
	c.mu.Unlock()
	if status != statusDone {
		return newSession(&sessionResult{}), nil
	}
	doc, err := c.a.st.CaptureResult(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: capture %s", web.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	res := &sessionResult{}
	if len(doc) > 0 {
		if err := json.Unmarshal(doc, res); err != nil {
			return nil, fmt.Errorf("app: results of capture %s: %w", id, err)
		}
	}
	s := newSession(res)
	c.mu.Lock()
	if c.list[id] == e {
		c.cacheLocked(id, s)
	}
	c.mu.Unlock()
	return s, nil
}

// baselineSnapshot writes the live baseline and reads it back: an
// independent copy of it as of now.
func (a *App) baselineSnapshot(ctx context.Context) ([]learn.Item, error) {
	a.persistMu.Lock()
	defer a.persistMu.Unlock()
	if err := a.eng.SaveBaseline(ctx, a.st); err != nil {
		return nil, err
	}
	return a.st.LoadBaseline(ctx)
}

// analyzeCapture runs a capture through the pipeline and the engines in
// an isolated session: its own inventory, alert book and connections, and
// a copy of the live baseline (the policy engine runs when the live
// baseline is operational, and is off while it learns). readErr is a
// damaged file's error: the results hold everything before it.
func (a *App) analyzeCapture(ctx context.Context, path string, progress func(done, total int64)) (
	res *sessionResult, readErr, err error) {
	items, err := a.baselineSnapshot(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("copying the baseline: %w", err)
	}
	base, err := learn.Load(a.cfg.Learning, items, a.now())
	if err != nil {
		return nil, nil, fmt.Errorf("copying the baseline: %w", err)
	}
	s, _ := a.Settings(ctx)
	cfg := a.detectConfig(&s)
	cfg.NoPolicy = base.Mode() != learn.Operational
	book := alert.NewBook(alert.BookConfig{MaxAlerts: a.cfg.Retention.MaxAlerts})
	book.SetExclusions(s.Exclusions)
	eng, err := detect.New(cfg, base, book, detect.Options{Logger: a.log})
	if err != nil {
		return nil, nil, err
	}
	inv := inventory.New(inventory.Config{MaxDevices: a.cfg.Retention.MaxDevices}, a.oui)
	tr := newConnTracker(a.cfg.Retention.MaxConnections)
	sum, err := analyze.Run(ctx, []string{path}, analyze.Options{Registry: a.reg, NoFields: true, Live: true,
		Inventory: inv, Detect: eng, Tap: tr, Progress: progress, Pipeline: pipeline.Config{Workers: a.cfg.Workers}})
	if err != nil {
		var fe *capture.FileError
		if !errors.As(err, &fe) {
			return nil, nil, err
		}
		readErr = err
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	res = &sessionResult{Packets: sum.Packets, Bytes: sum.Bytes, First: sum.First, Last: sum.Last,
		Baseline: base.Mode().String(), PolicyOff: cfg.NoPolicy, Devices: inventory.Export(inv.Devices()),
		Alerts: book.Alerts(false), Snippets: map[string][]byte{}, Protocols: sum.Protocols}
	for _, al := range res.Alerts {
		if len(al.Snippet) > 0 {
			res.Snippets[al.ID] = al.Snippet
			al.Snippet = nil
		}
	}
	res.Connections = tr.connections(func(mac [6]byte, ip netip.Addr) uint64 {
		if d := inv.Lookup(mac, ip); d != nil {
			return d.ID
		}
		return 0
	})
	if res.Connections == nil {
		res.Connections = []web.Connection{}
	}
	return res, readErr, nil
}

// Capture magic numbers: pcap (both byte orders, micro- and nanosecond),
// pcapng, gzip.
var captureMagics = [][]byte{
	{0xa1, 0xb2, 0xc3, 0xd4}, {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, {0x4d, 0x3c, 0xb2, 0xa1},
	{0x0a, 0x0d, 0x0d, 0x0a}, {0x1f, 0x8b},
}

func captureMagic(b []byte) bool {
	for _, m := range captureMagics {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return false
}

// cleanName keeps the base name of an uploaded file, printable and at
// most 255 bytes.
func cleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if len(name) > 255 {
		name = name[:255]
	}
	if name == "" || name == "." || name == "/" {
		name = "capture"
	}
	return name
}

func newID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("app: capture ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Upload implements web.Backend: the file must start like a pcap, pcapng
// or gzip file, be at most MaxUpload bytes and open as a capture (its
// header and first record); it is stored under the data directory and
// queued for analysis.
func (a *App) Upload(ctx context.Context, name string, r io.Reader, actor string) (web.Capture, error) {
	c := a.caps
	c.mu.Lock()
	waiting := 0
	for _, e := range c.list {
		if e.meta.Status == statusQueued {
			waiting++
		}
	}
	c.mu.Unlock()
	if waiting >= a.cfg.MaxQueued {
		return web.Capture{}, fmt.Errorf("%w: %d captures are waiting for analysis", web.ErrBusy, waiting)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if len(head) < 2 || !captureMagic(head) {
		if err != nil && !errors.Is(err, io.EOF) {
			return web.Capture{}, fmt.Errorf("app: upload: %w", err)
		}
		return web.Capture{}, invalid("not a capture file: want pcap, pcapng or gzip")
	}
	id, err := newID()
	if err != nil {
		return web.Capture{}, err
	}
	if err := os.MkdirAll(a.capturesDir, 0o700); err != nil {
		return web.Capture{}, fmt.Errorf("app: upload: %w", err)
	}
	path := filepath.Join(a.capturesDir, id)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return web.Capture{}, fmt.Errorf("app: upload: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			os.Remove(path)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(br, a.cfg.MaxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return web.Capture{}, fmt.Errorf("app: upload: %w", err)
	}
	if n > a.cfg.MaxUpload {
		return web.Capture{}, fmt.Errorf("%w: a capture may take at most %d bytes", web.ErrTooLarge, a.cfg.MaxUpload)
	}
	if err := checkCapture(path); err != nil {
		return web.Capture{}, invalid("not a readable capture: %v", err)
	}
	meta := store.Capture{ID: id, Name: cleanName(name), Path: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)),
		UploadedBy: actor, Uploaded: a.now().UTC(), Status: statusQueued}
	if err := a.st.SaveCapture(ctx, meta, nil); err != nil {
		return web.Capture{}, fmt.Errorf("app: upload: %w", err)
	}
	keep = true
	e := &capEntry{meta: meta}
	c.mu.Lock()
	c.list[id] = e
	wc := webCapture(e)
	c.mu.Unlock()
	c.kick()
	a.log.Info("app: capture uploaded", "id", id, "name", meta.Name, "bytes", n, "by", actor)
	return wc, nil
}

// checkCapture opens a stored upload and reads its first record.
func checkCapture(path string) error {
	src, err := capture.OpenFiles([]string{path}, capture.FileOptions{})
	if err != nil {
		return err
	}
	defer src.Close()
	var p capture.Packet
	if err := src.Next(&p); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func webCapture(e *capEntry) web.Capture {
	m := e.meta
	return web.Capture{ID: m.ID, Name: m.Name, Size: m.Size, SHA256: m.SHA256, UploadedBy: m.UploadedBy,
		Uploaded: m.Uploaded, Status: m.Status, Error: m.Error, Progress: math.Float64frombits(e.progress.Load()),
		Packets: m.Packets, Devices: m.Devices, Alerts: m.Alerts, Scope: web.Scope(m.ID)}
}

// Captures implements web.Backend: the uploads, newest first.
func (a *App) Captures(ctx context.Context) ([]web.Capture, error) {
	c := a.caps
	c.mu.Lock()
	out := make([]web.Capture, 0, len(c.list))
	for _, e := range c.list {
		out = append(out, webCapture(e))
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(x, y web.Capture) int {
		if d := y.Uploaded.Compare(x.Uploaded); d != 0 {
			return d
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out, nil
}

// Capture implements web.Backend.
func (a *App) Capture(ctx context.Context, id string) (web.Capture, error) {
	c := a.caps
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.list[id]
	if e == nil {
		return web.Capture{}, fmt.Errorf("%w: capture %s", web.ErrNotFound, id)
	}
	return webCapture(e), nil
}

// DeleteCapture implements web.Backend: a running analysis is stopped.
func (a *App) DeleteCapture(ctx context.Context, id, actor string) error {
	if err := a.caps.remove(ctx, id); err != nil {
		return err
	}
	a.log.Info("app: capture deleted", "id", id, "by", actor)
	return nil
}

func (c *captures) remove(ctx context.Context, id string) error {
	c.mu.Lock()
	e := c.list[id]
	if e == nil {
		c.mu.Unlock()
		return fmt.Errorf("%w: capture %s", web.ErrNotFound, id)
	}
	if e.cancel != nil {
		e.cancel()
	}
	delete(c.list, id)
	delete(c.cache, id)
	c.order = slices.DeleteFunc(c.order, func(x string) bool { return x == id })
	path := e.meta.Path
	c.mu.Unlock()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.a.log.Warn("app: removing capture file", "path", path, "err", err)
	}
	if err := c.a.st.DeleteCapture(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("app: deleting capture %s: %w", id, err)
	}
	return nil
}

// prune deletes the oldest finished captures while the files take more
// than maxBytes.
func (c *captures) prune(ctx context.Context, maxBytes int64) (int, error) {
	c.mu.Lock()
	var total int64
	var done []*capEntry
	for _, e := range c.list {
		total += e.meta.Size
		if e.meta.Status == statusDone || e.meta.Status == statusFailed {
			done = append(done, e)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(done, func(x, y *capEntry) int { return x.meta.Uploaded.Compare(y.meta.Uploaded) })
	n := 0
	for _, e := range done {
		if total <= maxBytes {
			break
		}
		if err := c.remove(ctx, e.meta.ID); err != nil && !errors.Is(err, web.ErrNotFound) {
			return n, err
		}
		total -= e.meta.Size
		n++
		c.a.log.Info("app: retention: capture deleted", "id", e.meta.ID, "bytes", e.meta.Size)
	}
	return n, nil
}

// captureCounts counts the uploads by status.
func (c *captures) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{statusQueued: 0, statusRunning: 0, statusDone: 0, statusFailed: 0}
	for _, e := range c.list {
		out[e.meta.Status]++
	}
	return out
}
