package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Connection is a communication pair with its traffic totals: client,
// server, transport and server port (the EtherType for L2 flows).
type Connection struct {
	Key       string    `json:"key"`
	ClientMAC string    `json:"client_mac,omitempty"`
	ClientIP  string    `json:"client_ip,omitempty"`
	ServerMAC string    `json:"server_mac,omitempty"`
	ServerIP  string    `json:"server_ip,omitempty"`
	Transport string    `json:"transport"`
	Port      uint16    `json:"port"`
	Protocol  string    `json:"protocol,omitempty"`
	Flows     uint64    `json:"flows"`
	Packets   uint64    `json:"packets"`
	Bytes     uint64    `json:"bytes"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
}

// SaveConnections upserts the connections by key and deletes the keys in
// del, in one transaction (deletions first).
func (s *Store) SaveConnections(ctx context.Context, put []Connection, del []string) error {
	docs := make([][]byte, len(put))
	for i := range put {
		if put[i].Key == "" {
			return fmt.Errorf("store: saving connections: connection %d has no key", i)
		}
		doc, err := json.Marshal(&put[i])
		if err != nil {
			return fmt.Errorf("store: saving connections: encoding %q: %w", put[i].Key, err)
		}
		docs[i] = doc
	}
	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	return s.write(ctx, "saving connections", func(tx *sql.Tx) error {
		for _, k := range del {
			if _, err := tx.ExecContext(ctx, "DELETE FROM connections WHERE key = ?", k); err != nil {
				return fmt.Errorf("deleting %q: %w", k, err)
			}
		}
		if len(put) == 0 {
			return nil
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO connections (key, protocol, last_ns, doc) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET protocol = excluded.protocol, last_ns = excluded.last_ns, doc = excluded.doc`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i := range put {
			if _, err := st.ExecContext(ctx, put[i].Key, put[i].Protocol, nsOrNull(put[i].Last), docs[i]); err != nil {
				return fmt.Errorf("upserting %q: %w", put[i].Key, err)
			}
		}
		return nil
	})
}

// LoadConnections returns every stored connection, ordered by key.
func (s *Store) LoadConnections(ctx context.Context) ([]Connection, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT key, doc FROM connections ORDER BY key")
	if err != nil {
		return nil, fmt.Errorf("store: loading connections: %w", err)
	}
	defer rows.Close()
	var out []Connection
	for rows.Next() {
		var key string
		var doc []byte
		if err := rows.Scan(&key, &doc); err != nil {
			return nil, fmt.Errorf("store: loading connections: %w", err)
		}
		var c Connection
		if err := json.Unmarshal(doc, &c); err != nil {
			return nil, fmt.Errorf("store: loading connection %q: %w", key, err)
		}
		c.Key = key
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading connections: %w", err)
	}
	return out, nil
}
