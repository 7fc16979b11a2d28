package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/web"
)

// Bounds of the settings.
const (
	maxExclusions     = 1000
	maxCustomRules    = 500
	maxForwardTargets = 16
)

// Forwarding formats and networks.
const (
	FormatCEF     = "cef"
	FormatRFC5424 = "rfc5424"
)

// cloneSettings deep-copies settings through JSON (their only form).
func cloneSettings(s *web.Settings) web.Settings {
	b, err := json.Marshal(s)
	if err != nil {
		return *s
	}
	var c web.Settings
	if err := json.Unmarshal(b, &c); err != nil {
		return *s
	}
	return c
}

// Settings implements web.Backend.
func (a *App) Settings(ctx context.Context) (web.Settings, error) {
	a.setMu.Lock()
	defer a.setMu.Unlock()
	return cloneSettings(&a.settings), nil
}

// validateSettings checks s and fills the defaults of the forwarding
// targets; the error wraps web.ErrInvalid.
func (a *App) validateSettings(s *web.Settings) error {
	th := reflect.ValueOf(s.Thresholds)
	for i := 0; i < th.NumField(); i++ {
		f := th.Field(i)
		name := th.Type().Field(i).Tag.Get("json")
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			if f.Int() < 0 {
				return invalid("threshold %s is negative", name)
			}
		case reflect.Float64:
			if f.Float() < 0 {
				return invalid("threshold %s is negative", name)
			}
		}
	}
	if s.Thresholds.AddressScanPrefix > 32 {
		return invalid("threshold address_scan_prefix: at most 32")
	}
	if len(s.Exclusions) > maxExclusions {
		return invalid("more than %d exclusions", maxExclusions)
	}
	for i, e := range s.Exclusions {
		for _, r := range e.Rules {
			if _, ok := alert.Lookup(r); !ok {
				return invalid("exclusion %d (%s): unknown rule %q", i+1, e.Name, r)
			}
		}
		if e.DailyFrom < 0 || e.DailyFrom > 1440 || e.DailyTo < 0 || e.DailyTo > 1440 {
			return invalid("exclusion %d (%s): daily window in minutes 0–1440", i+1, e.Name)
		}
		if !e.Start.IsZero() && !e.End.IsZero() && !e.End.After(e.Start) {
			return invalid("exclusion %d (%s): ends before it starts", i+1, e.Name)
		}
	}
	if len(s.Custom) > maxCustomRules {
		return invalid("more than %d custom rules", maxCustomRules)
	}
	cfg := a.detectConfig(s)
	if err := cfg.Validate(); err != nil {
		return invalid("%v", err)
	}
	fw := &s.Forwarding
	if len(fw.Syslog) > maxForwardTargets || len(fw.Webhooks) > maxForwardTargets {
		return invalid("at most %d syslog targets and %d webhooks", maxForwardTargets, maxForwardTargets)
	}
	for i := range fw.Syslog {
		t := &fw.Syslog[i]
		if t.Network == "" {
			t.Network = "udp"
		}
		if t.Format == "" {
			t.Format = FormatCEF
		}
		switch t.Network {
		case "udp", "tcp", "tls":
		default:
			return invalid("syslog target %d: network %q: want udp, tcp or tls", i+1, t.Network)
		}
		switch t.Format {
		case FormatCEF, FormatRFC5424:
		default:
			return invalid("syslog target %d: format %q: want cef or rfc5424", i+1, t.Format)
		}
		host, port, err := net.SplitHostPort(t.Address)
		if err != nil || host == "" {
			return invalid("syslog target %d: address %q: want host:port", i+1, t.Address)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return invalid("syslog target %d: port %q", i+1, port)
		}
		if err := checkSeverity(t.MinSeverity); err != nil {
			return invalid("syslog target %d: %v", i+1, err)
		}
	}
	for i := range fw.Webhooks {
		w := &fw.Webhooks[i]
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("webhook %d: URL %q: want http(s)://host/…", i+1, w.URL)
		}
		if err := checkSeverity(w.MinSeverity); err != nil {
			return invalid("webhook %d: %v", i+1, err)
		}
	}
	return nil
}

func checkSeverity(s string) error {
	if s == "" {
		return nil
	}
	if _, err := alert.ParseSeverity(s); err != nil {
		return fmt.Errorf("min_severity %q: %w", s, err)
	}
	return nil
}

// UpdateSettings implements web.Backend: the settings are checked, applied
// to the running engines (thresholds, rules, custom rules), the alert book
// (exclusions) and the forwarders, and stored.
func (a *App) UpdateSettings(ctx context.Context, s web.Settings, actor string) (web.Settings, error) {
	s = cloneSettings(&s)
	if err := a.validateSettings(&s); err != nil {
		return web.Settings{}, err
	}
	doc, err := json.Marshal(&s)
	if err != nil {
		return web.Settings{}, fmt.Errorf("app: settings: %w", err)
	}
	a.setMu.Lock()
	defer a.setMu.Unlock()
	if err := a.eng.Reconfigure(a.detectConfig(&s)); err != nil {
		return web.Settings{}, invalid("%v", err)
	}
	if err := a.st.SetSetting(ctx, settingsKey, doc, a.now()); err != nil {
		// Back to the stored settings.
		if rerr := a.eng.Reconfigure(a.detectConfig(&a.settings)); rerr != nil {
			a.log.Error("app: restoring the engine settings", "err", rerr)
		}
		return web.Settings{}, fmt.Errorf("app: storing settings: %w", err)
	}
	a.book.SetExclusions(s.Exclusions)
	a.fwd.configure(nil, s.Forwarding)
	a.settings = s
	a.log.Info("app: settings updated", "by", actor, "exclusions", len(s.Exclusions), "custom_rules", len(s.Custom),
		"syslog", len(s.Forwarding.Syslog), "webhooks", len(s.Forwarding.Webhooks))
	return cloneSettings(&s), nil
}

// targetName names a forwarding target for logs and metrics.
func targetName(kind, name, addr string) string {
	if name != "" {
		return kind + ":" + name
	}
	return kind + ":" + strings.TrimSpace(addr)
}
