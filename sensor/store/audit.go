package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// AuditEntry is one line of the audit log: who did what, when, to what,
// and how it ended.
type AuditEntry struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Via      string    `json:"via"` // session, token, cli, system, anonymous
	ClientIP string    `json:"client_ip,omitempty"`
	Method   string    `json:"method,omitempty"`
	Route    string    `json:"route,omitempty"`
	Target   string    `json:"target,omitempty"`
	Status   int       `json:"status,omitempty"`
	Result   string    `json:"result"` // ok, denied, failed
	Detail   string    `json:"detail,omitempty"`
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Actor  string
	Result string
	Since  time.Time // inclusive; zero: no lower bound
	Until  time.Time // exclusive; zero: no upper bound
	Limit  int       // default 100, at most 1000
	Offset int
}

// Caps of the audit log's text fields, in bytes.
const (
	MaxAuditField  = 256
	MaxAuditDetail = 1024
)

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// AppendAudit adds an entry to the audit log and returns its ID. Text
// fields are clipped (MaxAuditField, MaxAuditDetail).
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) (int64, error) {
	if e.Actor == "" || e.Via == "" || e.Result == "" {
		return 0, fmt.Errorf("store: audit entry needs actor, via and result (got %q %q %q)", e.Actor, e.Via, e.Result)
	}
	var id int64
	err := s.write(ctx, "appending to the audit log", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit_log (time_ns, actor, via, client_ip, method, route, target, status, result, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Time.UnixNano(), clip(e.Actor, MaxAuditField), clip(e.Via, MaxAuditField), clip(e.ClientIP, MaxAuditField),
			clip(e.Method, MaxAuditField), clip(e.Route, MaxAuditField), clip(e.Target, MaxAuditField), e.Status,
			clip(e.Result, MaxAuditField), clip(e.Detail, MaxAuditDetail))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// ListAudit returns a page of the audit log, newest first, and the number
// of entries that match the filter.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, int, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultListLimit
	}
	if f.Limit > MaxListLimit {
		f.Limit = MaxListLimit
		s.n.listCapped.Add(1)
	}
	f.Offset = max(f.Offset, 0)
	var where []string
	var args []any
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Result != "" {
		where, args = append(where, "result = ?"), append(args, f.Result)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "time_ns >= ?"), append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "time_ns < ?"), append(args, f.Until.UnixNano())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("store: listing the audit log: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var total int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM audit_log"+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: listing the audit log: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, time_ns, actor, via, client_ip, method, route, target, status, result, detail
		FROM audit_log`+cond+" ORDER BY time_ns DESC, id DESC LIMIT ? OFFSET ?", append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: listing the audit log: %w", err)
	}
	defer rows.Close()
	out := make([]AuditEntry, 0, min(f.Limit, total))
	for rows.Next() {
		var e AuditEntry
		var t sql.NullInt64
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Via, &e.ClientIP, &e.Method, &e.Route, &e.Target, &e.Status, &e.Result, &e.Detail); err != nil {
			return nil, 0, fmt.Errorf("store: listing the audit log: %w", err)
		}
		e.Time = timeOf(t)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: listing the audit log: %w", err)
	}
	return out, total, nil
}

// PruneAudit keeps the newest keep entries of the audit log and deletes
// the rest; it returns how many it deleted.
func (s *Store) PruneAudit(ctx context.Context, keep int) (int, error) {
	if keep < 0 {
		keep = 0
	}
	var n int64
	err := s.write(ctx, "pruning the audit log", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"DELETE FROM audit_log WHERE id <= (SELECT id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET ?)", keep)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
