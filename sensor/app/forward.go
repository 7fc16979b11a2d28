package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/web"
)

// Webhook headers: the HMAC-SHA256 of the body with the webhook's secret,
// hex-encoded after "sha256=", and the kind of event.
const (
	SignatureHeader = "X-OTWatch-Signature"
	EventHeader     = "X-OTWatch-Event"
)

// SyslogFacility is the facility of forwarded syslog messages (local0).
const SyslogFacility = 16

// forwardTimeout bounds one delivery (dial and write, or HTTP request).
const forwardTimeout = 10 * time.Second

// fwdCounters count one target's deliveries; they survive reconfiguration.
type fwdCounters struct {
	sent, dropped, failed atomic.Uint64
}

// fwdTarget is one syslog receiver or webhook with its queue.
type fwdTarget struct {
	name   string
	syslog *web.SyslogTarget
	hook   *web.Webhook
	min    alert.Severity
	q      chan *alert.Alert
	n      *fwdCounters
	conn   net.Conn // owned by the target's goroutine
}

// forwarder sends created alerts to the configured targets, asynchronously:
// the engine's hook queues the alert ID (bounded: drops counted); a
// dispatcher reads the alert from the book and hands it to every target's
// own bounded queue (drops counted per target); each target delivers on
// its own goroutine, so that a slow receiver delays no other.
type forwarder struct {
	a        *App
	log      *slog.Logger
	qsize    int
	in       chan string
	dropped  atomic.Uint64
	client   *http.Client
	hostname string

	mu       sync.Mutex
	ctx      context.Context
	targets  []*fwdTarget
	cancel   context.CancelFunc
	counters map[string]*fwdCounters
	wg       sync.WaitGroup
}

func newForwarder(a *App, qsize int, log *slog.Logger) *forwarder {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "otsensor"
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: forwardTimeout,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute, ForceAttemptHTTP2: true}
	return &forwarder{a: a, log: log, qsize: qsize, in: make(chan string, qsize), hostname: host,
		client: &http.Client{Timeout: forwardTimeout, Transport: tr}, counters: map[string]*fwdCounters{}}
}

// configure replaces the targets. The first call gives the context that
// bounds the forwarder's life and starts the dispatcher.
func (f *forwarder) configure(ctx context.Context, fw web.Forwarding) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx == nil {
		f.ctx = ctx
		f.wg.Add(1)
		go f.dispatch(ctx)
	}
	if f.cancel != nil {
		f.cancel()
	}
	tctx, cancel := context.WithCancel(f.ctx)
	f.cancel = cancel
	f.targets = nil
	add := func(t *fwdTarget, minSev string) {
		t.min, _ = alert.ParseSeverity(minSev)
		t.q = make(chan *alert.Alert, f.qsize)
		if f.counters[t.name] == nil {
			f.counters[t.name] = &fwdCounters{}
		}
		t.n = f.counters[t.name]
		f.targets = append(f.targets, t)
		f.wg.Add(1)
		go f.deliver(tctx, t)
	}
	for i := range fw.Syslog {
		s := fw.Syslog[i]
		add(&fwdTarget{name: targetName("syslog", s.Name, s.Address), syslog: &s}, s.MinSeverity)
	}
	for i := range fw.Webhooks {
		h := fw.Webhooks[i]
		add(&fwdTarget{name: targetName("webhook", h.Name, h.URL), hook: &h}, h.MinSeverity)
	}
}

// enqueue queues a created alert; it never blocks (the engine's lock is
// held).
func (f *forwarder) enqueue(id string) {
	select {
	case f.in <- id:
	default:
		f.dropped.Add(1)
	}
}

func (f *forwarder) dispatch(ctx context.Context) {
	defer f.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-f.in:
			al, ok := f.a.book.Get(id)
			if !ok {
				continue
			}
			al.Snippet = nil
			f.mu.Lock()
			ts := f.targets
			f.mu.Unlock()
			for _, t := range ts {
				if al.Severity < t.min {
					continue
				}
				select {
				case t.q <- al:
				default:
					t.n.dropped.Add(1)
				}
			}
		}
	}
}

func (f *forwarder) deliver(ctx context.Context, t *fwdTarget) {
	defer f.wg.Done()
	defer func() {
		if t.conn != nil {
			t.conn.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case al := <-t.q:
			var err error
			if t.syslog != nil {
				err = f.sendSyslog(ctx, t, al)
			} else {
				err = f.sendWebhook(ctx, t, al)
			}
			if err != nil {
				t.n.failed.Add(1)
				f.log.Warn("app: forwarding an alert", "target", t.name, "alert", al.ID, "err", err)
				continue
			}
			t.n.sent.Add(1)
		}
	}
}

// syslogMessage formats an alert for a syslog target.
func (f *forwarder) syslogMessage(t *web.SyslogTarget, al *alert.Alert) []byte {
	if t.Format == FormatRFC5424 {
		return alert.AppendSyslog(nil, al, f.hostname, "otsensor", SyslogFacility)
	}
	return alert.AppendSyslogCEF(nil, al, f.hostname, "otsensor", SyslogFacility,
		alert.ProductInfo{Version: f.a.cfg.Version})
}

// sendSyslog sends one message: a datagram over UDP; over TCP and TLS
// with octet-counting framing (RFC 6587), reconnecting once on error.
func (f *forwarder) sendSyslog(ctx context.Context, t *fwdTarget, al *alert.Alert) error {
	msg := f.syslogMessage(t.syslog, al)
	if t.syslog.Network != "udp" {
		msg = append(append(strconv.AppendInt(nil, int64(len(msg)), 10), ' '), msg...)
	}
	var err error
	for try := 0; try < 2; try++ {
		if t.conn == nil {
			if t.conn, err = f.dial(ctx, t.syslog); err != nil {
				return err
			}
		}
		t.conn.SetWriteDeadline(time.Now().Add(forwardTimeout))
		if _, err = t.conn.Write(msg); err == nil {
			return nil
		}
		t.conn.Close()
		t.conn = nil
	}
	return fmt.Errorf("syslog %s: %w", t.syslog.Address, err)
}

func (f *forwarder) dial(ctx context.Context, s *web.SyslogTarget) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	if s.Network == "tls" {
		host, _, _ := net.SplitHostPort(s.Address)
		d := &tls.Dialer{Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
		c, err := d.DialContext(dctx, "tcp", s.Address)
		if err != nil {
			return nil, fmt.Errorf("syslog %s: %w", s.Address, err)
		}
		return c, nil
	}
	var d net.Dialer
	c, err := d.DialContext(dctx, s.Network, s.Address)
	if err != nil {
		return nil, fmt.Errorf("syslog %s: %w", s.Address, err)
	}
	return c, nil
}

// Sign returns the value of SignatureHeader for a webhook body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// sendWebhook POSTs the alert as JSON.
func (f *forwarder) sendWebhook(ctx context.Context, t *fwdTarget, al *alert.Alert) error {
	body, err := al.MarshalJSONLine()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.hook.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", t.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "otsensor/"+f.a.cfg.Version)
	req.Header.Set(EventHeader, "alert")
	if t.hook.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(t.hook.Secret, body))
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", t.name, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s: status %s", t.name, resp.Status)
	}
	return nil
}

// wait waits for the goroutines, once the context given to configure is
// done.
func (f *forwarder) wait() { f.wg.Wait() }

// ForwardStats count one target's deliveries.
type ForwardStats struct {
	Target                string
	Sent, Dropped, Failed uint64
}

// stats returns the counters of every target configured so far, and the
// alerts dropped before dispatch.
func (f *forwarder) stats() ([]ForwardStats, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ForwardStats, 0, len(f.counters))
	for name, n := range f.counters {
		out = append(out, ForwardStats{Target: name, Sent: n.sent.Load(), Dropped: n.dropped.Load(), Failed: n.failed.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out, f.dropped.Load()
}

// Forwarding returns the forwarding counters per target and the alerts
// dropped because the dispatch queue was full.
func (a *App) Forwarding() ([]ForwardStats, uint64) { return a.fwd.stats() }
