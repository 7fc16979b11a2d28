// Package store is the sensor's SQLite database: the learned baseline, the
// alerts with their pcap snippets, the alert mutes and a small key/value
// table. It implements learn.Store and alert.Store.
//
// The database runs in WAL mode with synchronous=FULL (see Sync), so that a
// write that returned is on disk, and a crash or kill -9 in the middle of a
// write leaves the previous state intact. Every write is one transaction on a
// single writer connection; reads go through a separate pool of read-only
// connections and run concurrently with the writer.
//
// The schema is versioned with goose: numbered SQL files embedded from
// migrations/ are applied by Open. A later feature adds a table by adding the
// next numbered file; files that have shipped are never edited.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Sync is the durability level of a commit (PRAGMA synchronous).
type Sync uint8

const (
	// SyncFull (the default) fsyncs the WAL at every commit: a write that
	// returned survives a kill -9, an OS crash and a power loss.
	SyncFull Sync = iota
	// SyncNormal fsyncs only at checkpoints: a write that returned
	// survives a kill -9 of the sensor (the WAL is in the OS page cache),
	// but the last commits can be lost on an OS crash or power loss. The
	// database is never corrupted either way.
	SyncNormal
)

// String returns the PRAGMA synchronous value.
func (s Sync) String() string {
	if s == SyncNormal {
		return "NORMAL"
	}
	return "FULL"
}

// Defaults and caps of Options and AlertFilter.
const (
	DefaultBusyTimeout = 5 * time.Second
	DefaultReaders     = 4
	MaxReaders         = 64
	DefaultListLimit   = 100
	MaxListLimit       = 1000
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// BusyTimeout is how long a connection waits for a lock held by
	// another connection or process (default 5 s).
	BusyTimeout time.Duration
	// Readers caps the read-only connections (default 4, at most 64).
	Readers int
	// Sync is the commit durability (default SyncFull).
	Sync Sync
	// Logger receives the migrations applied (default: discarded).
	Logger *slog.Logger
}

// Stats count the rows the store wrote.
type Stats struct {
	Transactions    uint64 `json:"transactions"`
	BaselinePut     uint64 `json:"baseline_put"`
	BaselineDeleted uint64 `json:"baseline_deleted"`
	AlertsSaved     uint64 `json:"alerts_saved"`
	MutesSaved      uint64 `json:"mutes_saved"`
	MutesDeleted    uint64 `json:"mutes_deleted"`
	WriteErrors     uint64 `json:"write_errors"`
	ListCapped      uint64 `json:"list_capped"`
}

type counters struct {
	transactions, baselinePut, baselineDeleted, alertsSaved atomic.Uint64
	mutesSaved, mutesDeleted, writeErrors, listCapped       atomic.Uint64
}

// Store is the sensor's database. It is safe for concurrent use.
type Store struct {
	path   string
	writer *sql.DB // one connection: writes are serialised here
	reader *sql.DB // read-only connections, concurrent with the writer
	log    *slog.Logger
	n      counters
}

// Open opens or creates the database at path, sets the pragmas and applies
// the pending migrations. It fails when the file holds a schema newer than
// this binary knows.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: %q: need a plain file path (WAL needs a file; no URI, '?' or '#')", path)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.Readers <= 0 {
		opts.Readers = DefaultReaders
	}
	opts.Readers = min(opts.Readers, MaxReaders)
	if opts.Sync > SyncNormal {
		return nil, fmt.Errorf("store: unknown sync level %d", opts.Sync)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)

	wq := url.Values{}
	wq.Set("_busy_timeout", busy)
	wq.Set("_journal_mode", "WAL")
	wq.Set("_synchronous", opts.Sync.String())
	wq.Set("_foreign_keys", "1")
	wq.Set("_txlock", "immediate") // take the write lock at BEGIN: no deadlock on upgrade
	writer, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	s := &Store{path: path, writer: writer, log: opts.Logger}

	var mode string
	if err := writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		writer.Close()
		return nil, fmt.Errorf("store: %s: journal mode is %q, not WAL", path, mode)
	}
	if err := s.migrate(ctx); err != nil {
		writer.Close()
		return nil, err
	}

	rq := url.Values{}
	rq.Set("_busy_timeout", busy)
	rq.Set("_foreign_keys", "1")
	rq.Set("_query_only", "1")
	reader, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: opening %s for reading: %w", path, err)
	}
	reader.SetMaxOpenConns(opts.Readers)
	reader.SetMaxIdleConns(opts.Readers)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close()
		writer.Close()
		return nil, fmt.Errorf("store: opening %s for reading: %w", path, err)
	}
	s.reader = reader
	return s, nil
}

func migrationsFS() (fs.FS, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return sub, nil
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := migrationsFS()
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.writer, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSlog(s.log))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

func (s *Store) migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("store: %s: schema version: %w", s.path, err)
	}
	if current > target {
		return fmt.Errorf("store: %s: schema version %d is newer than this sensor's %d", s.path, current, target)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: %s: migrating from version %d: %w", s.path, current, err)
	}
	for _, r := range res {
		s.log.Info("store: migration applied", "path", s.path, "version", r.Source.Version,
			"file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// SchemaVersion returns the highest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	p, err := s.provider()
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// Close closes the database. The last connection to close checkpoints the
// WAL into the main file.
func (s *Store) Close() error {
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: closing %s: %w", s.path, err)
	}
	return nil
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Stats returns the write counters.
func (s *Store) Stats() Stats {
	return Stats{
		Transactions:    s.n.transactions.Load(),
		BaselinePut:     s.n.baselinePut.Load(),
		BaselineDeleted: s.n.baselineDeleted.Load(),
		AlertsSaved:     s.n.alertsSaved.Load(),
		MutesSaved:      s.n.mutesSaved.Load(),
		MutesDeleted:    s.n.mutesDeleted.Load(),
		WriteErrors:     s.n.writeErrors.Load(),
		ListCapped:      s.n.listCapped.Load(),
	}
}

// write runs fn in one immediate transaction on the writer connection and
// commits it; any error rolls the whole transaction back.
func (s *Store) write(ctx context.Context, what string, fn func(*sql.Tx) error) (err error) {
	defer func() {
		if err != nil {
			s.n.writeErrors.Add(1)
		}
	}()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: begin: %w", what, err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return fmt.Errorf("store: %s: %w (rollback: %v)", what, err, rerr)
		}
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s: commit: %w", what, err)
	}
	s.n.transactions.Add(1)
	return nil
}

// Meta returns the value stored under key in the meta table, and whether
// there is one.
func (s *Store) Meta(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.reader.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: meta %q: %w", key, err)
	}
	return v, true, nil
}

// SetMeta stores value under key in the meta table.
func (s *Store) SetMeta(ctx context.Context, key string, value []byte) error {
	return s.write(ctx, "set meta "+strconv.Quote(key), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			key, value)
		return err
	})
}

// nsOrNull stores a time as Unix nanoseconds; the zero time as NULL.
func nsOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// timeOf is the inverse of nsOrNull; times come back in UTC.
func timeOf(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return time.Unix(0, ns.Int64).UTC()
}
