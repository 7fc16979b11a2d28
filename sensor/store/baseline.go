package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/otwatch/otwatch/baseline/learn"
)

var _ learn.Store = (*Store)(nil)

// LoadBaseline returns every baseline item, ordered by key. Times come back
// in UTC.
func (s *Store) LoadBaseline(ctx context.Context) ([]learn.Item, error) {
	rows, err := s.reader.QueryContext(ctx,
		"SELECT key, kind, data, first_ns, last_ns FROM baseline_items ORDER BY key")
	if err != nil {
		return nil, fmt.Errorf("store: loading baseline: %w", err)
	}
	defer rows.Close()
	var items []learn.Item
	for rows.Next() {
		var it learn.Item
		var first, last sql.NullInt64
		if err := rows.Scan(&it.Key, &it.Kind, &it.Data, &first, &last); err != nil {
			return nil, fmt.Errorf("store: loading baseline: %w", err)
		}
		it.First, it.Last = timeOf(first), timeOf(last)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading baseline: %w", err)
	}
	return items, nil
}

// SaveBaseline deletes the keys in del, then upserts put by key, all in one
// transaction: either every change is stored or none is. A key both in del
// and in put ends up stored. An item with an empty key is an error and
// nothing is written.
func (s *Store) SaveBaseline(ctx context.Context, put []learn.Item, del []string) error {
	for i := range put {
		if put[i].Key == "" {
			return fmt.Errorf("store: saving baseline: item %d has no key", i)
		}
	}
	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	err := s.write(ctx, "saving baseline", func(tx *sql.Tx) error {
		if len(del) > 0 {
			st, err := tx.PrepareContext(ctx, "DELETE FROM baseline_items WHERE key = ?")
			if err != nil {
				return err
			}
			defer st.Close()
			for _, k := range del {
				if _, err := st.ExecContext(ctx, k); err != nil {
					return fmt.Errorf("deleting %q: %w", k, err)
				}
			}
		}
		if len(put) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO baseline_items (key, kind, data, first_ns, last_ns)
				VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, data = excluded.data,
					first_ns = excluded.first_ns, last_ns = excluded.last_ns`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, it := range put {
				data := it.Data
				if data == nil {
					data = []byte{} // NOT NULL: an item without data is an empty blob
				}
				if _, err := st.ExecContext(ctx, it.Key, it.Kind, data, nsOrNull(it.First), nsOrNull(it.Last)); err != nil {
					return fmt.Errorf("putting %q: %w", it.Key, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.n.baselinePut.Add(uint64(len(put)))
	s.n.baselineDeleted.Add(uint64(len(del)))
	return nil
}
