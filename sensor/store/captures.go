package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Capture is an uploaded capture file and the state of its analysis
// session. Path is the file under the sensor's data directory.
type Capture struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Path       string    `json:"path"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	UploadedBy string    `json:"uploaded_by"`
	Uploaded   time.Time `json:"uploaded"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	Packets    uint64    `json:"packets"`
	Devices    int       `json:"devices"`
	Alerts     int       `json:"alerts"`
}

// SaveCapture upserts a capture by ID. A non-nil result replaces the
// stored analysis result; nil keeps it.
func (s *Store) SaveCapture(ctx context.Context, c Capture, result []byte) error {
	if c.ID == "" {
		return errors.New("store: saving capture: no ID")
	}
	doc, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("store: saving capture %q: %w", c.ID, err)
	}
	var res any
	if result != nil {
		res = result
	}
	return s.write(ctx, "saving capture", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO captures (id, uploaded_ns, size, doc, result) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET uploaded_ns = excluded.uploaded_ns, size = excluded.size,
				doc = excluded.doc, result = coalesce(excluded.result, captures.result)`,
			c.ID, nsOrNull(c.Uploaded), c.Size, doc, res)
		return err
	})
}

// LoadCaptures returns every capture, oldest upload first, without the
// analysis results.
func (s *Store) LoadCaptures(ctx context.Context) ([]Capture, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT id, doc FROM captures ORDER BY uploaded_ns, id")
	if err != nil {
		return nil, fmt.Errorf("store: loading captures: %w", err)
	}
	defer rows.Close()
	var out []Capture
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("store: loading captures: %w", err)
		}
		var c Capture
		if err := json.Unmarshal(doc, &c); err != nil {
			return nil, fmt.Errorf("store: loading capture %q: %w", id, err)
		}
		c.ID = id
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading captures: %w", err)
	}
	return out, nil
}

// CaptureResult returns the stored analysis result of a capture: nil when
// it has none yet, ErrNotFound when there is no such capture.
func (s *Store) CaptureResult(ctx context.Context, id string) ([]byte, error) {
	var res []byte
	err := s.reader.QueryRowContext(ctx, "SELECT result FROM captures WHERE id = ?", id).Scan(&res)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: result of capture %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: result of capture %q: %w", id, err)
	}
	return res, nil
}

// DeleteCapture removes a capture's row (ErrNotFound when there is none).
// The caller removes the file.
func (s *Store) DeleteCapture(ctx context.Context, id string) error {
	return s.write(ctx, "deleting capture", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM captures WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("capture %q: %w", id, errors.Join(ErrNotFound, err))
		}
		return nil
	})
}
