package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
)

var _ alert.Store = (*Store)(nil)

// ErrNotFound is returned by lookups of an ID that is not stored.
var ErrNotFound = errors.New("store: not found")

const alertColumns = "id, key, rule, engine, severity, status, title, src_ip, dst_ip, protocol, first_ns, last_ns, count, doc, snippet"

// LoadAlerts returns every stored alert with its snippet, oldest first.
func (s *Store) LoadAlerts(ctx context.Context) ([]*alert.Alert, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT id, doc, snippet FROM alerts ORDER BY first_ns, id")
	if err != nil {
		return nil, fmt.Errorf("store: loading alerts: %w", err)
	}
	defer rows.Close()
	var as []*alert.Alert
	for rows.Next() {
		var id string
		var doc, snippet []byte
		if err := rows.Scan(&id, &doc, &snippet); err != nil {
			return nil, fmt.Errorf("store: loading alerts: %w", err)
		}
		a, err := decodeAlert(id, doc)
		if err != nil {
			return nil, fmt.Errorf("store: loading alerts: %w", err)
		}
		if len(snippet) > 0 {
			a.Snippet = snippet
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading alerts: %w", err)
	}
	return as, nil
}

func decodeAlert(id string, doc []byte) (*alert.Alert, error) {
	a := new(alert.Alert)
	if err := json.Unmarshal(doc, a); err != nil {
		return nil, fmt.Errorf("alert %q: %w", id, err)
	}
	if a.ID != id {
		return nil, fmt.Errorf("alert %q: document holds ID %q", id, a.ID)
	}
	return a, nil
}

type encodedAlert struct {
	a   *alert.Alert
	doc []byte
}

// SaveAlerts upserts the alerts by ID in one transaction: either all are
// stored or none is. The whole alert goes in as JSON, its Snippet in a
// column of its own; an alert saved without a snippet keeps the one already
// stored (snippets are cut once, at the first occurrence).
func (s *Store) SaveAlerts(ctx context.Context, as []*alert.Alert) error {
	enc := make([]encodedAlert, 0, len(as))
	for i, a := range as {
		if a == nil || a.ID == "" {
			return fmt.Errorf("store: saving alerts: alert %d has no ID", i)
		}
		doc, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("store: saving alerts: encoding %q: %w", a.ID, err)
		}
		enc = append(enc, encodedAlert{a: a, doc: doc})
	}
	if len(enc) == 0 {
		return nil
	}
	err := s.write(ctx, "saving alerts", func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, "INSERT INTO alerts ("+alertColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET key = excluded.key, rule = excluded.rule,
				engine = excluded.engine, severity = excluded.severity, status = excluded.status,
				title = excluded.title, src_ip = excluded.src_ip, dst_ip = excluded.dst_ip,
				protocol = excluded.protocol, first_ns = excluded.first_ns, last_ns = excluded.last_ns,
				count = excluded.count, doc = excluded.doc,
				snippet = coalesce(excluded.snippet, alerts.snippet)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range enc {
			a := e.a
			var snippet any
			if len(a.Snippet) > 0 {
				snippet = a.Snippet
			}
			count := int64(math.MaxInt64)
			if a.Count < math.MaxInt64 {
				count = int64(a.Count)
			}
			if _, err := st.ExecContext(ctx, a.ID, a.Key, a.Rule, a.Engine.String(), a.Severity.String(),
				a.Status.String(), a.Title, a.Src.IP, a.Dst.IP, a.Protocol,
				nsOrNull(a.FirstSeen), nsOrNull(a.LastSeen), count, e.doc, snippet); err != nil {
				return fmt.Errorf("upserting %q: %w", a.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.n.alertsSaved.Add(uint64(len(enc)))
	return nil
}

// AlertFilter selects alerts for ListAlerts. Empty fields match everything.
type AlertFilter struct {
	// Status, Severity and Engine take the names alert.ParseStatus,
	// alert.ParseSeverity and alert.ParseEngine accept ("high" is
	// "critical").
	Status   string
	Severity string
	Engine   string
	Rule     string
	// IP matches either side of the alert.
	IP string
	// Since keeps alerts last seen at or after it.
	Since time.Time
	// Limit caps the page (default 100, at most 1000); Offset skips.
	Limit, Offset int
}

// ListAlerts returns one page of the alerts that match f, most recently
// seen first, and how many match in all. The alerts come without their
// snippets (see AlertSnippet).
func (s *Store) ListAlerts(ctx context.Context, f AlertFilter) ([]*alert.Alert, int, error) {
	return s.listAlerts(ctx, f, nil, nil, false, false)
}

// AlertSnippet returns the pcap snippet of alert id: nil when the alert has
// none, ErrNotFound when there is no such alert.
func (s *Store) AlertSnippet(ctx context.Context, id string) ([]byte, error) {
	var snippet []byte
	err := s.reader.QueryRowContext(ctx, "SELECT snippet FROM alerts WHERE id = ?", id).Scan(&snippet)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: snippet of alert %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: snippet of alert %q: %w", id, err)
	}
	if len(snippet) == 0 {
		return nil, nil
	}
	return snippet, nil
}

// LoadMutes returns every mute, ordered by key.
func (s *Store) LoadMutes(ctx context.Context) ([]alert.Mute, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT key, doc FROM alert_mutes ORDER BY key")
	if err != nil {
		return nil, fmt.Errorf("store: loading mutes: %w", err)
	}
	defer rows.Close()
	var ms []alert.Mute
	for rows.Next() {
		var key string
		var doc []byte
		if err := rows.Scan(&key, &doc); err != nil {
			return nil, fmt.Errorf("store: loading mutes: %w", err)
		}
		var m alert.Mute
		if err := json.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("store: loading mutes: %q: %w", key, err)
		}
		m.Key = key
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading mutes: %w", err)
	}
	return ms, nil
}

// SaveMute stores m, replacing any mute with the same key.
func (s *Store) SaveMute(ctx context.Context, m alert.Mute) error {
	if m.Key == "" {
		return errors.New("store: saving mute: no key")
	}
	doc, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: saving mute %q: %w", m.Key, err)
	}
	err = s.write(ctx, "saving mute", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO alert_mutes (key, doc) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc",
			m.Key, doc)
		return err
	})
	if err != nil {
		return err
	}
	s.n.mutesSaved.Add(1)
	return nil
}

// DeleteMute removes the mute with key; removing a missing one is not an
// error.
func (s *Store) DeleteMute(ctx context.Context, key string) error {
	var n int64
	err := s.write(ctx, "deleting mute", func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, "DELETE FROM alert_mutes WHERE key = ?", key)
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	s.n.mutesDeleted.Add(uint64(n))
	return nil
}
