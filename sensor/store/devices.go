package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/otwatch/otwatch/baseline/inventory"
)

// DeviceOperator is what operators set on a device: a name, notes, the
// authorization, role and Purdue level overrides and the devices merged
// into it. ID is the inventory's device ID.
type DeviceOperator struct {
	ID             uint64    `json:"id"`
	CustomName     string    `json:"custom_name,omitempty"`
	Notes          string    `json:"notes,omitempty"`
	Authorized     bool      `json:"authorized,omitempty"`
	RoleOverride   string    `json:"role_override,omitempty"`
	PurdueOverride *int      `json:"purdue_override,omitempty"`
	MergedIDs      []uint64  `json:"merged_ids,omitempty"`
	Updated        time.Time `json:"updated,omitzero"`
	UpdatedBy      string    `json:"updated_by,omitempty"`
}

// SaveDevices stores the inventory records in put (upsert by ID) and the
// operator fields in ops, and deletes the devices in del with their
// operator fields, all in one transaction. Deletions come first, so a
// device both deleted and put ends up stored.
func (s *Store) SaveDevices(ctx context.Context, put []inventory.Record, ops []DeviceOperator, del []uint64) error {
	type enc struct {
		id   uint64
		last any
		doc  []byte
	}
	docs := make([]enc, 0, len(put))
	for i := range put {
		if put[i].ID == 0 {
			return fmt.Errorf("store: saving devices: record %d has no ID", i)
		}
		doc, err := json.Marshal(&put[i])
		if err != nil {
			return fmt.Errorf("store: saving devices: encoding %d: %w", put[i].ID, err)
		}
		docs = append(docs, enc{put[i].ID, nsOrNull(put[i].LastSeen), doc})
	}
	opDocs := make([]enc, 0, len(ops))
	for i := range ops {
		if ops[i].ID == 0 {
			return fmt.Errorf("store: saving devices: operator fields %d have no device ID", i)
		}
		doc, err := json.Marshal(&ops[i])
		if err != nil {
			return fmt.Errorf("store: saving devices: encoding operator fields of %d: %w", ops[i].ID, err)
		}
		opDocs = append(opDocs, enc{ops[i].ID, nsOrNull(ops[i].Updated), doc})
	}
	if len(docs) == 0 && len(opDocs) == 0 && len(del) == 0 {
		return nil
	}
	return s.write(ctx, "saving devices", func(tx *sql.Tx) error {
		for _, id := range del {
			if _, err := tx.ExecContext(ctx, "DELETE FROM devices WHERE id = ?", int64(id)); err != nil {
				return fmt.Errorf("deleting device %d: %w", id, err)
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM device_operator WHERE id = ?", int64(id)); err != nil {
				return fmt.Errorf("deleting operator fields of %d: %w", id, err)
			}
		}
		if len(docs) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO devices (id, last_ns, doc) VALUES (?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET last_ns = excluded.last_ns, doc = excluded.doc`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, d := range docs {
				if _, err := st.ExecContext(ctx, int64(d.id), d.last, d.doc); err != nil {
					return fmt.Errorf("upserting device %d: %w", d.id, err)
				}
			}
		}
		for _, d := range opDocs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO device_operator (id, doc, updated_ns) VALUES (?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_ns = excluded.updated_ns`,
				int64(d.id), d.doc, d.last); err != nil {
				return fmt.Errorf("upserting operator fields of %d: %w", d.id, err)
			}
		}
		return nil
	})
}

// LoadDevices returns every stored inventory record, ordered by ID.
func (s *Store) LoadDevices(ctx context.Context) ([]inventory.Record, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT id, doc FROM devices ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: loading devices: %w", err)
	}
	defer rows.Close()
	var out []inventory.Record
	for rows.Next() {
		var id int64
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("store: loading devices: %w", err)
		}
		var r inventory.Record
		if err := json.Unmarshal(doc, &r); err != nil {
			return nil, fmt.Errorf("store: loading device %d: %w", id, err)
		}
		if r.ID != uint64(id) {
			return nil, fmt.Errorf("store: loading devices: row %d holds device %d", id, r.ID)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading devices: %w", err)
	}
	return out, nil
}

// LoadDeviceOperators returns every device's operator fields, ordered by
// device ID.
func (s *Store) LoadDeviceOperators(ctx context.Context) ([]DeviceOperator, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT id, doc FROM device_operator ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: loading device operator fields: %w", err)
	}
	defer rows.Close()
	var out []DeviceOperator
	for rows.Next() {
		var id int64
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("store: loading device operator fields: %w", err)
		}
		var op DeviceOperator
		if err := json.Unmarshal(doc, &op); err != nil {
			return nil, fmt.Errorf("store: loading operator fields of %d: %w", id, err)
		}
		op.ID = uint64(id)
		out = append(out, op)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading device operator fields: %w", err)
	}
	return out, nil
}

// CountDevices returns the number of stored devices.
func (s *Store) CountDevices(ctx context.Context) (int, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, "SELECT count(*) FROM devices").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: counting devices: %w", err)
	}
	return n, nil
}
