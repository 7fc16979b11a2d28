package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
)

// Bounds of the alert and baseline lists and of comments.
const (
	defaultAlertLimit = 100
	maxAlertLimit     = 1000
	maxCommentLen     = 4096
)

// checkAlertFilter validates the names in f.
func checkAlertFilter(f *web.AlertFilter) error {
	if f.Offset < 0 || f.Limit < 0 {
		return invalid("negative limit or offset")
	}
	if f.Status != "" && f.Status != store.StatusOpen {
		if _, err := alert.ParseStatus(f.Status); err != nil {
			return invalid("status %q", f.Status)
		}
	}
	if f.Severity != "" {
		if _, err := alert.ParseSeverity(f.Severity); err != nil {
			return invalid("severity %q", f.Severity)
		}
	}
	if f.Engine != "" {
		if _, err := alert.ParseEngine(f.Engine); err != nil {
			return invalid("engine %q", f.Engine)
		}
	}
	return nil
}

// Alerts implements web.Backend. Live alerts come from the database (the
// book's changes are written first); a session's from its results.
func (a *App) Alerts(ctx context.Context, scope web.Scope, f web.AlertFilter) ([]*alert.Alert, int, error) {
	if err := checkAlertFilter(&f); err != nil {
		return nil, 0, err
	}
	if isLive(scope) {
		a.persistMu.Lock()
		ferr := a.book.Flush(ctx, a.st)
		a.persistMu.Unlock()
		if ferr != nil {
			a.log.Warn("app: writing alerts before a list", "err", ferr)
		}
		as, n, err := a.st.QueryAlerts(ctx, store.AlertQuery{Q: f.Q, AlertFilter: store.AlertFilter{Status: f.Status,
			Severity: f.Severity, Engine: f.Engine, Rule: f.Rule, IP: f.IP, Since: f.Since, Limit: f.Limit,
			Offset: f.Offset}})
		if err != nil {
			return nil, 0, fmt.Errorf("app: alerts: %w", err)
		}
		return as, n, nil
	}
	s, err := a.caps.session(ctx, scope)
	if err != nil {
		return nil, 0, err
	}
	return filterAlerts(s.alerts, f), countAlerts(s.alerts, f), nil
}

// alertMatches applies an alert filter in memory (sessions).
func alertMatches(al *alert.Alert, f *web.AlertFilter) bool {
	switch f.Status {
	case "":
	case store.StatusOpen:
		if al.Status == alert.StatusClosed {
			return false
		}
	default:
		if st, _ := alert.ParseStatus(f.Status); al.Status != st {
			return false
		}
	}
	if f.Severity != "" {
		if s, _ := alert.ParseSeverity(f.Severity); al.Severity != s {
			return false
		}
	}
	if f.Engine != "" {
		if e, _ := alert.ParseEngine(f.Engine); al.Engine != e {
			return false
		}
	}
	if f.Rule != "" && al.Rule != f.Rule {
		return false
	}
	if f.IP != "" && al.Src.IP != f.IP && al.Dst.IP != f.IP {
		return false
	}
	if f.Q != "" && !strings.Contains(strings.ToLower(al.Title), strings.ToLower(f.Q)) {
		return false
	}
	if !f.Since.IsZero() && al.LastSeen.Before(f.Since) {
		return false
	}
	return true
}

func countAlerts(as []*alert.Alert, f web.AlertFilter) int {
	n := 0
	for _, al := range as {
		if alertMatches(al, &f) {
			n++
		}
	}
	return n
}

// filterAlerts returns one page of the matching alerts, most recently seen
// first (as the database lists them).
func filterAlerts(as []*alert.Alert, f web.AlertFilter) []*alert.Alert {
	var out []*alert.Alert
	for _, al := range as {
		if alertMatches(al, &f) {
			out = append(out, al)
		}
	}
	slices.SortStableFunc(out, func(x, y *alert.Alert) int {
		if c := y.LastSeen.Compare(x.LastSeen); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	limit := f.Limit
	if limit == 0 {
		limit = defaultAlertLimit
	}
	limit = min(limit, maxAlertLimit)
	if f.Offset >= len(out) {
		return []*alert.Alert{}
	}
	page := out[f.Offset:min(len(out), f.Offset+limit)]
	res := make([]*alert.Alert, len(page))
	for i, al := range page {
		c := al.Clone()
		c.Snippet = nil
		res[i] = c
	}
	return res
}

// Alert implements web.Backend.
func (a *App) Alert(ctx context.Context, scope web.Scope, id string) (*alert.Alert, error) {
	if isLive(scope) {
		if al, ok := a.book.Get(id); ok {
			return al, nil
		}
		al, err := a.st.GetAlert(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: alert %s", web.ErrNotFound, id)
		}
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		return al, nil
	}
	s, err := a.caps.session(ctx, scope)
	if err != nil {
		return nil, err
	}
	for _, al := range s.alerts {
		if al.ID == id {
			return al.Clone(), nil
		}
	}
	return nil, fmt.Errorf("%w: alert %s in capture %s", web.ErrNotFound, id, scope)
}

// alertErr maps the book's errors to the API's.
func alertErr(id string, err error) error {
	switch {
	case errors.Is(err, alert.ErrNotFound):
		return fmt.Errorf("%w: alert %s", web.ErrNotFound, id)
	case errors.Is(err, alert.ErrClosed):
		return fmt.Errorf("%w: alert %s is closed", web.ErrConflict, id)
	}
	return fmt.Errorf("app: alert %s: %w", id, err)
}

// ActOnAlert implements web.Backend: Ack, Learn (the alert's items join the
// baseline), Mute (for good, stored), Close and Unlearn.
func (a *App) ActOnAlert(ctx context.Context, id string, act web.AlertAction, actor string) (*alert.Alert, error) {
	now := a.now()
	var (
		al  *alert.Alert
		err error
	)
	switch act {
	case web.ActionAck:
		al, err = a.book.Ack(id)
	case web.ActionLearn:
		cur, ok := a.book.Get(id)
		if !ok {
			return nil, alertErr(id, alert.ErrNotFound)
		}
		if !cur.Learnable {
			return nil, invalid("alert %s (%s) has nothing to learn", id, cur.Rule)
		}
		al, err = a.eng.Learn(id, now)
	case web.ActionMute:
		var m alert.Mute
		al, m, err = a.book.Mute(id, actor, now)
		if err == nil {
			if serr := a.st.SaveMute(ctx, m); serr != nil {
				return nil, fmt.Errorf("app: muting alert %s: %w", id, serr)
			}
		}
	case web.ActionClose:
		al, err = a.book.Close(id, now)
	case web.ActionUnlearn:
		if _, err = a.eng.Unlearn(id); err == nil {
			al, _ = a.book.Get(id)
		}
	default:
		return nil, invalid("unknown action %q", act)
	}
	if err != nil {
		return nil, alertErr(id, err)
	}
	if err := a.persistDecisions(ctx); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a.invalidateView()
	a.log.Info("app: alert action", "id", id, "action", string(act), "by", actor)
	return al, nil
}

// CommentAlert implements web.Backend.
func (a *App) CommentAlert(ctx context.Context, id, text, actor string) (*alert.Alert, error) {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > maxCommentLen {
		return nil, invalid("a comment takes 1 to %d bytes", maxCommentLen)
	}
	al, err := a.book.Comment(id, actor, text, a.now())
	if err != nil {
		return nil, alertErr(id, err)
	}
	if err := a.persistDecisions(ctx); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return al, nil
}

// AlertSnippet implements web.Backend.
func (a *App) AlertSnippet(ctx context.Context, scope web.Scope, id string) ([]byte, error) {
	if isLive(scope) {
		if al, ok := a.book.Get(id); ok && len(al.Snippet) > 0 {
			return al.Snippet, nil
		}
		b, err := a.st.AlertSnippet(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && len(b) == 0) {
			return nil, fmt.Errorf("%w: no snippet for alert %s", web.ErrNotFound, id)
		}
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		return b, nil
	}
	s, err := a.caps.session(ctx, scope)
	if err != nil {
		return nil, err
	}
	if b := s.res.Snippets[id]; len(b) > 0 {
		return b, nil
	}
	return nil, fmt.Errorf("%w: no snippet for alert %s in capture %s", web.ErrNotFound, id, scope)
}

// Baseline implements web.Backend.
func (a *App) Baseline(ctx context.Context) (web.BaselineStatus, error) {
	now := a.now()
	var s web.BaselineStatus
	a.eng.Locked(func(b *learn.Baseline) {
		s.Progress = b.Progress(now)
		s.Stats = b.Stats()
	})
	return s, nil
}

// BaselineItems implements web.Backend: items of one kind (all when
// empty) whose key contains q (case-insensitive), by key.
func (a *App) BaselineItems(ctx context.Context, kind, q string, limit, offset int) ([]learn.ItemView, int, error) {
	if limit < 0 || offset < 0 {
		return nil, 0, invalid("negative limit or offset")
	}
	if limit == 0 {
		limit = defaultAlertLimit
	}
	limit = min(limit, maxAlertLimit)
	var items []learn.ItemView
	a.eng.Locked(func(b *learn.Baseline) { items = b.Items() })
	q = strings.ToLower(q)
	out := items[:0]
	for _, it := range items {
		if (kind == "" || it.Kind == kind) && (q == "" || strings.Contains(strings.ToLower(it.Key), q)) {
			out = append(out, it)
		}
	}
	total := len(out)
	if offset >= total {
		return []learn.ItemView{}, total, nil
	}
	return out[offset:min(total, offset+limit)], total, nil
}

// EndLearning implements web.Backend.
func (a *App) EndLearning(ctx context.Context, actor string) (web.BaselineStatus, error) {
	a.eng.EndLearning(a.now())
	if err := a.persistDecisions(ctx); err != nil {
		return web.BaselineStatus{}, fmt.Errorf("app: %w", err)
	}
	a.log.Info("app: learning ended", "by", actor)
	return a.Baseline(ctx)
}

// BaselineItemKeys returns the keys of the live baseline's items (tests,
// diagnostics).
func (a *App) BaselineItemKeys() []string {
	var keys []string
	a.eng.Locked(func(b *learn.Baseline) {
		for _, it := range b.Items() {
			keys = append(keys, it.Key)
		}
	})
	return keys
}
