package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
)

// PruneAlerts deletes closed alerts last seen before before (zero: none by
// age), then the oldest closed alerts while more than max alerts are
// stored (max <= 0: no cap). Open alerts are never deleted. It returns how
// many alerts it deleted.
func (s *Store) PruneAlerts(ctx context.Context, max int, before time.Time) (int, error) {
	var n int64
	closed := alert.StatusClosed.String()
	err := s.write(ctx, "pruning alerts", func(tx *sql.Tx) error {
		if !before.IsZero() {
			r, err := tx.ExecContext(ctx, "DELETE FROM alerts WHERE status = ? AND last_ns < ?", closed, before.UnixNano())
			if err != nil {
				return err
			}
			k, _ := r.RowsAffected()
			n += k
		}
		if max <= 0 {
			return nil
		}
		var total int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM alerts").Scan(&total); err != nil {
			return err
		}
		if total <= max {
			return nil
		}
		r, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE id IN (
			SELECT id FROM alerts WHERE status = ? ORDER BY last_ns, id LIMIT ?)`, closed, total-max)
		if err != nil {
			return err
		}
		k, _ := r.RowsAffected()
		n += k
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// SnippetBytes returns the total size of the stored pcap snippets.
func (s *Store) SnippetBytes(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	if err := s.reader.QueryRowContext(ctx, "SELECT sum(length(snippet)) FROM alerts").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: snippet bytes: %w", err)
	}
	return n.Int64, nil
}

// PruneSnippets drops the pcap snippets of alerts last seen before before
// (zero: none by age), then the snippets of the least recently seen alerts
// while the snippets take more than maxBytes (maxBytes <= 0: no cap). The
// alerts stay. It returns how many snippets it dropped.
func (s *Store) PruneSnippets(ctx context.Context, maxBytes int64, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, "pruning snippets", func(tx *sql.Tx) error {
		if !before.IsZero() {
			r, err := tx.ExecContext(ctx, "UPDATE alerts SET snippet = NULL WHERE snippet IS NOT NULL AND last_ns < ?",
				before.UnixNano())
			if err != nil {
				return err
			}
			k, _ := r.RowsAffected()
			n += k
		}
		if maxBytes <= 0 {
			return nil
		}
		var total sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT sum(length(snippet)) FROM alerts").Scan(&total); err != nil {
			return err
		}
		excess := total.Int64 - maxBytes
		if excess <= 0 {
			return nil
		}
		rows, err := tx.QueryContext(ctx,
			"SELECT id, length(snippet) FROM alerts WHERE snippet IS NOT NULL ORDER BY last_ns, id")
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() && excess > 0 {
			var id string
			var size int64
			if err := rows.Scan(&id, &size); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			excess -= size
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, "UPDATE alerts SET snippet = NULL WHERE id = ?", id); err != nil {
				return err
			}
		}
		n += int64(len(ids))
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
