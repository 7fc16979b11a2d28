package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Setting returns the document stored under key in the settings table, and
// whether there is one.
func (s *Store) Setting(ctx context.Context, key string) ([]byte, bool, error) {
	var doc []byte
	err := s.reader.QueryRowContext(ctx, "SELECT doc FROM settings WHERE key = ?", key).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: setting %q: %w", key, err)
	}
	return doc, true, nil
}

// SetSetting stores doc under key in the settings table.
func (s *Store) SetSetting(ctx context.Context, key string, doc []byte, at time.Time) error {
	if doc == nil {
		doc = []byte{}
	}
	return s.write(ctx, "set setting "+strconv.Quote(key), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, doc, updated_ns) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, updated_ns = excluded.updated_ns`,
			key, doc, nsOrNull(at))
		return err
	})
}
