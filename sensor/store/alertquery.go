package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/otwatch/otwatch/baseline/alert"
)

// StatusOpen is the AlertQuery status that matches every alert not closed.
const StatusOpen = "open"

// AlertQuery is AlertFilter plus what the API's alert lists need: Status
// may also be "open" (new or active), and Q matches a substring of the
// title (case-insensitive for ASCII).
type AlertQuery struct {
	AlertFilter
	Q string
}

// QueryAlerts returns one page of the alerts that match q, most recently
// seen first (then in storage order), and how many match in all, without
// their snippets.
func (s *Store) QueryAlerts(ctx context.Context, q AlertQuery) ([]*alert.Alert, int, error) {
	f := q.AlertFilter
	var where []string
	var args []any
	statusFiltered, search := false, q.Q != ""
	if f.Status == StatusOpen {
		statusFiltered = true
		// IN rather than != so that the status indexes serve it.
		where = append(where, "status IN (?, ?)")
		args = append(args, alert.StatusNew.String(), alert.StatusActive.String())
		f.Status = ""
	}
	if q.Q != "" {
		where = append(where, `title LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape(q.Q)+"%")
	}
	return s.listAlerts(ctx, f, where, args, statusFiltered, search)
}

// likeEscape escapes the LIKE wildcards of s with '\'.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// listAlerts is ListAlerts with extra conditions; statusFiltered and
// search say where holds a condition on the status and on the title.
func (s *Store) listAlerts(ctx context.Context, f AlertFilter, where []string, args []any, statusFiltered, search bool) (
	[]*alert.Alert, int, error) {
	if f.Status != "" {
		statusFiltered = true
		v, err := alert.ParseStatus(f.Status)
		if err != nil {
			return nil, 0, fmt.Errorf("store: listing alerts: %w", err)
		}
		where, args = append(where, "status = ?"), append(args, v.String())
	}
	if f.Severity != "" {
		v, err := alert.ParseSeverity(f.Severity)
		if err != nil {
			return nil, 0, fmt.Errorf("store: listing alerts: %w", err)
		}
		where, args = append(where, "severity = ?"), append(args, v.String())
	}
	if f.Engine != "" {
		v, err := alert.ParseEngine(f.Engine)
		if err != nil {
			return nil, 0, fmt.Errorf("store: listing alerts: %w", err)
		}
		where, args = append(where, "engine = ?"), append(args, v.String())
	}
	if f.Rule != "" {
		where, args = append(where, "rule = ?"), append(args, f.Rule)
	}
	if f.IP != "" {
		where, args = append(where, "(src_ip = ? OR dst_ip = ?)"), append(args, f.IP, f.IP)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "last_ns >= ?"), append(args, f.Since.UnixNano())
	}
	if f.Offset < 0 {
		return nil, 0, fmt.Errorf("store: listing alerts: negative offset %d", f.Offset)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	if limit > MaxListLimit {
		limit = MaxListLimit
		s.n.listCapped.Add(1)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	from := " FROM alerts"
	switch {
	case statusFiltered && f.Severity != "":
		// The planner prefers the severity index to avoid sorting, and
		// then reads every alert of that severity to check its status
		// (seconds with 100,000 alerts and no match).
		from = " FROM alerts INDEXED BY alerts_status_severity"
	case search && f.IP == "" && f.Rule == "":
		// A substring search scans the titles: the title index is far
		// smaller than the alert documents.
		from = " FROM alerts INDEXED BY alerts_title"
	}
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("store: listing alerts: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to undo
	var total int
	if err := tx.QueryRowContext(ctx, "SELECT count(*)"+from+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: listing alerts: counting: %w", err)
	}
	// The page's rows are chosen from the indexes alone (rowid and
	// last_ns), and only then are their documents read.
	rows, err := tx.QueryContext(ctx, "SELECT id, doc FROM alerts WHERE rowid IN (SELECT rowid"+from+cond+
		" ORDER BY last_ns DESC, rowid LIMIT ? OFFSET ?) ORDER BY last_ns DESC, rowid", append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: listing alerts: %w", err)
	}
	defer rows.Close()
	as := make([]*alert.Alert, 0, min(limit, total))
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, 0, fmt.Errorf("store: listing alerts: %w", err)
		}
		a, err := decodeAlert(id, doc)
		if err != nil {
			return nil, 0, fmt.Errorf("store: listing alerts: %w", err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: listing alerts: %w", err)
	}
	return as, total, nil
}

// GetAlert returns one stored alert with its snippet (ErrNotFound when
// there is no such alert).
func (s *Store) GetAlert(ctx context.Context, id string) (*alert.Alert, error) {
	var doc, snippet []byte
	err := s.reader.QueryRowContext(ctx, "SELECT doc, snippet FROM alerts WHERE id = ?", id).Scan(&doc, &snippet)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: alert %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: alert %q: %w", id, err)
	}
	a, err := decodeAlert(id, doc)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if len(snippet) > 0 {
		a.Snippet = snippet
	}
	return a, nil
}

// OpenAlertsByIP counts the open alerts naming each IP address, on
// either side (an alert naming the same address on both sides counts
// twice). The status indexes answer it without reading the alerts.
func (s *Store) OpenAlertsByIP(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, col := range []string{"src_ip", "dst_ip"} {
		rows, err := s.reader.QueryContext(ctx, "SELECT "+col+", count(*) FROM alerts WHERE status IN (?, ?) AND "+
			col+" != '' GROUP BY "+col, alert.StatusNew.String(), alert.StatusActive.String())
		if err != nil {
			return nil, fmt.Errorf("store: counting open alerts: %w", err)
		}
		for rows.Next() {
			var ip string
			var n int
			if err := rows.Scan(&ip, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: counting open alerts: %w", err)
			}
			out[ip] += n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: counting open alerts: %w", err)
		}
	}
	return out, nil
}

// AlertCount is the number of alerts of one severity and status.
type AlertCount struct {
	Severity string
	Status   string
	N        int
}

// AlertCounts counts the stored alerts by severity and status.
func (s *Store) AlertCounts(ctx context.Context) ([]AlertCount, error) {
	rows, err := s.reader.QueryContext(ctx,
		"SELECT severity, status, count(*) FROM alerts GROUP BY severity, status ORDER BY severity, status")
	if err != nil {
		return nil, fmt.Errorf("store: counting alerts: %w", err)
	}
	defer rows.Close()
	var out []AlertCount
	for rows.Next() {
		var c AlertCount
		var sev, st sql.NullString
		if err := rows.Scan(&sev, &st, &c.N); err != nil {
			return nil, fmt.Errorf("store: counting alerts: %w", err)
		}
		c.Severity, c.Status = sev.String, st.String
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: counting alerts: %w", err)
	}
	return out, nil
}
