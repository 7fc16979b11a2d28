package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the user, session and token tables.
var (
	// ErrExists is returned when creating a user or token whose name or ID
	// is taken.
	ErrExists = errors.New("store: already exists")
	// ErrLastOfRole is returned when a change would leave no user with the
	// guarded role (the last administrator).
	ErrLastOfRole = errors.New("store: the last user with this role")
	// ErrLimit is returned when a user already holds the maximum number of
	// tokens.
	ErrLimit = errors.New("store: limit reached")
)

// User is a web user. PasswordHash is the encoded argon2id hash (PHC
// string); the password itself is never stored.
type User struct {
	Name            string
	Role            string
	PasswordHash    string
	Created         time.Time
	PasswordChanged time.Time
	LastLogin       time.Time // zero: never logged in
}

// Session is a browser session. IDHash is the SHA-256 of the random ID in
// the cookie; the ID itself is never stored.
type Session struct {
	IDHash    []byte
	User      string
	Created   time.Time
	LastSeen  time.Time
	Expires   time.Time // absolute expiry
	ClientIP  string
	UserAgent string
}

// APIToken is an API token. Hash is the SHA-256 of the token; the token
// itself is shown once, when it is created, and never stored.
type APIToken struct {
	ID       string
	Hash     []byte
	Name     string
	Owner    string
	Role     string
	Created  time.Time
	Expires  time.Time
	LastUsed time.Time // zero: never used
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

const userColumns = "name, role, password_hash, created_ns, password_ns, login_ns"

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (User, error) {
	var u User
	var created, pw, login sql.NullInt64
	if err := r.Scan(&u.Name, &u.Role, &u.PasswordHash, &created, &pw, &login); err != nil {
		return User{}, err
	}
	u.Created, u.PasswordChanged, u.LastLogin = timeOf(created), timeOf(pw), timeOf(login)
	return u, nil
}

// CreateUser stores a new user; ErrExists when the name is taken.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	if u.Name == "" || u.Role == "" || u.PasswordHash == "" {
		return fmt.Errorf("store: creating user %q: name, role and password hash are required", u.Name)
	}
	err := s.write(ctx, "creating user "+u.Name, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?)",
			u.Name, u.Role, u.PasswordHash, u.Created.UnixNano(), u.PasswordChanged.UnixNano(), nsOrNull(u.LastLogin))
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: user %q", ErrExists, u.Name)
		}
		return err
	})
	return err
}

// User returns the user called name; ErrNotFound when there is none.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", name, err)
	}
	return u, nil
}

// Users returns every user, by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("store: listing users: %w", err)
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: listing users: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing users: %w", err)
	}
	return us, nil
}

// CountUsers returns the number of users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: counting users: %w", err)
	}
	return n, nil
}

// guardRole fails with ErrLastOfRole when name is the only user whose role
// is guard. An empty guard guards nothing.
func guardRole(ctx context.Context, tx *sql.Tx, name, guard string) error {
	if guard == "" {
		return nil
	}
	var role string
	err := tx.QueryRowContext(ctx, "SELECT role FROM users WHERE name = ?", name).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	if err != nil {
		return err
	}
	if role != guard {
		return nil
	}
	var others int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE role = ? AND name <> ?", guard, name).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return fmt.Errorf("%w %q: %q", ErrLastOfRole, guard, name)
	}
	return nil
}

func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return nil
}

// SetUserRole changes a user's role. With a non-empty guard, it fails with
// ErrLastOfRole when the user is the last one holding guard and the new
// role differs.
func (s *Store) SetUserRole(ctx context.Context, name, role, guard string) error {
	return s.write(ctx, "setting the role of "+name, func(tx *sql.Tx) error {
		if role != guard {
			if err := guardRole(ctx, tx, name, guard); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, "UPDATE users SET role = ? WHERE name = ?", role, name)
		return affected(res, err, "user "+name)
	})
}

// SetUserPassword replaces a user's password hash and ends the user's
// sessions, except the one whose hash is keep (nil: all). It returns the
// number of sessions ended.
func (s *Store) SetUserPassword(ctx context.Context, name, hash string, at time.Time, keep []byte) (int, error) {
	if hash == "" {
		return 0, fmt.Errorf("store: setting the password of %s: empty hash", name)
	}
	var ended int64
	err := s.write(ctx, "setting the password of "+name, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, password_ns = ? WHERE name = ?", hash, at.UnixNano(), name)
		if err := affected(res, err, "user "+name); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE user = ? AND id_hash IS NOT ?", name, keep)
		if err != nil {
			return err
		}
		ended, err = res.RowsAffected()
		return err
	})
	return int(ended), err
}

// SetUserLogin records a successful login.
func (s *Store) SetUserLogin(ctx context.Context, name string, at time.Time) error {
	return s.write(ctx, "recording the login of "+name, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET login_ns = ? WHERE name = ?", at.UnixNano(), name)
		return affected(res, err, "user "+name)
	})
}

// DeleteUser deletes a user with its sessions and tokens. With a non-empty
// guard, it fails with ErrLastOfRole when the user is the last one holding
// guard.
func (s *Store) DeleteUser(ctx context.Context, name, guard string) error {
	return s.write(ctx, "deleting user "+name, func(tx *sql.Tx) error {
		if err := guardRole(ctx, tx, name, guard); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM users WHERE name = ?", name)
		return affected(res, err, "user "+name)
	})
}

// CreateSession stores a session. When the user then holds more than
// maxPerUser sessions (0: no cap), the oldest are ended; their number is
// returned.
func (s *Store) CreateSession(ctx context.Context, se Session, maxPerUser int) (int, error) {
	if len(se.IDHash) == 0 || se.User == "" {
		return 0, errors.New("store: creating session: ID hash and user are required")
	}
	var evicted int64
	err := s.write(ctx, "creating a session for "+se.User, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO sessions (id_hash, user, created_ns, seen_ns, expires_ns, client_ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)",
			se.IDHash, se.User, se.Created.UnixNano(), se.LastSeen.UnixNano(), se.Expires.UnixNano(), se.ClientIP, se.UserAgent); err != nil {
			return err
		}
		if maxPerUser <= 0 {
			return nil
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user = ? AND id_hash NOT IN
			(SELECT id_hash FROM sessions WHERE user = ? ORDER BY created_ns DESC, rowid DESC LIMIT ?)`,
			se.User, se.User, maxPerUser)
		if err != nil {
			return err
		}
		evicted, err = res.RowsAffected()
		return err
	})
	return int(evicted), err
}

// SessionByHash returns the session whose ID hashes to h, with its user;
// ErrNotFound when there is none. Expiry is the caller's business.
func (s *Store) SessionByHash(ctx context.Context, h []byte) (Session, User, error) {
	se := Session{IDHash: h}
	var created, seen, expires sql.NullInt64
	var u User
	var ucreated, upw, ulogin sql.NullInt64
	err := s.reader.QueryRowContext(ctx, `SELECT s.user, s.created_ns, s.seen_ns, s.expires_ns, s.client_ip, s.user_agent,
		u.name, u.role, u.password_hash, u.created_ns, u.password_ns, u.login_ns
		FROM sessions s JOIN users u ON u.name = s.user WHERE s.id_hash = ?`, h).
		Scan(&se.User, &created, &seen, &expires, &se.ClientIP, &se.UserAgent,
			&u.Name, &u.Role, &u.PasswordHash, &ucreated, &upw, &ulogin)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, User{}, fmt.Errorf("%w: session", ErrNotFound)
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("store: session: %w", err)
	}
	se.Created, se.LastSeen, se.Expires = timeOf(created), timeOf(seen), timeOf(expires)
	u.Created, u.PasswordChanged, u.LastLogin = timeOf(ucreated), timeOf(upw), timeOf(ulogin)
	return se, u, nil
}

// TouchSession records a use of the session (for the idle expiry).
func (s *Store) TouchSession(ctx context.Context, h []byte, at time.Time) error {
	return s.write(ctx, "touching a session", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET seen_ns = max(seen_ns, ?) WHERE id_hash = ?", at.UnixNano(), h)
		return affected(res, err, "session")
	})
}

// DeleteSession ends one session; ErrNotFound when there is none.
func (s *Store) DeleteSession(ctx context.Context, h []byte) error {
	return s.write(ctx, "deleting a session", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", h)
		return affected(res, err, "session")
	})
}

// Sessions returns the sessions of a user ("" for everyone's), newest first.
func (s *Store) Sessions(ctx context.Context, user string) ([]Session, error) {
	q := "SELECT id_hash, user, created_ns, seen_ns, expires_ns, client_ip, user_agent FROM sessions"
	var args []any
	if user != "" {
		q += " WHERE user = ?"
		args = append(args, user)
	}
	rows, err := s.reader.QueryContext(ctx, q+" ORDER BY created_ns DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var se Session
		var created, seen, expires sql.NullInt64
		if err := rows.Scan(&se.IDHash, &se.User, &created, &seen, &expires, &se.ClientIP, &se.UserAgent); err != nil {
			return nil, fmt.Errorf("store: listing sessions: %w", err)
		}
		se.Created, se.LastSeen, se.Expires = timeOf(created), timeOf(seen), timeOf(expires)
		out = append(out, se)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing sessions: %w", err)
	}
	return out, nil
}

// DeleteExpiredSessions ends the sessions past their absolute expiry at
// now, or unused since idleBefore; it returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	var n int64
	err := s.write(ctx, "deleting expired sessions", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires_ns <= ? OR seen_ns < ?", now.UnixNano(), idleBefore.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

const tokenColumns = "id, token_hash, name, owner, role, created_ns, expires_ns, used_ns"

func scanToken(r rowScanner) (APIToken, error) {
	var t APIToken
	var created, expires, used sql.NullInt64
	if err := r.Scan(&t.ID, &t.Hash, &t.Name, &t.Owner, &t.Role, &created, &expires, &used); err != nil {
		return APIToken{}, err
	}
	t.Created, t.Expires, t.LastUsed = timeOf(created), timeOf(expires), timeOf(used)
	return t, nil
}

// CreateToken stores an API token; ErrExists when its ID or hash is taken,
// ErrLimit when the owner already holds maxPerUser tokens (0: no cap).
func (s *Store) CreateToken(ctx context.Context, t APIToken, maxPerUser int) error {
	if t.ID == "" || len(t.Hash) == 0 || t.Owner == "" || t.Role == "" {
		return errors.New("store: creating token: ID, hash, owner and role are required")
	}
	return s.write(ctx, "creating token "+t.ID, func(tx *sql.Tx) error {
		if maxPerUser > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM api_tokens WHERE owner = ?", t.Owner).Scan(&n); err != nil {
				return err
			}
			if n >= maxPerUser {
				return fmt.Errorf("%w: %s holds %d tokens", ErrLimit, t.Owner, n)
			}
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO api_tokens ("+tokenColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.Hash, t.Name, t.Owner, t.Role, t.Created.UnixNano(), t.Expires.UnixNano(), nsOrNull(t.LastUsed))
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: token %q", ErrExists, t.ID)
		}
		if err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
			return fmt.Errorf("%w: user %q", ErrNotFound, t.Owner)
		}
		return err
	})
}

// TokenByHash returns the token that hashes to h, with its owner;
// ErrNotFound when there is none. Expiry is the caller's business.
func (s *Store) TokenByHash(ctx context.Context, h []byte) (APIToken, User, error) {
	t, err := scanToken(s.reader.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM api_tokens WHERE token_hash = ?", h))
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, User{}, fmt.Errorf("%w: token", ErrNotFound)
	}
	if err != nil {
		return APIToken{}, User{}, fmt.Errorf("store: token: %w", err)
	}
	u, err := s.User(ctx, t.Owner)
	if err != nil {
		return APIToken{}, User{}, err
	}
	return t, u, nil
}

// Tokens returns the tokens of owner ("" for everyone's), oldest first.
func (s *Store) Tokens(ctx context.Context, owner string) ([]APIToken, error) {
	q := "SELECT " + tokenColumns + " FROM api_tokens"
	var args []any
	if owner != "" {
		q += " WHERE owner = ?"
		args = append(args, owner)
	}
	rows, err := s.reader.QueryContext(ctx, q+" ORDER BY created_ns, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: listing tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing tokens: %w", err)
	}
	return out, nil
}

// DeleteToken revokes a token. With a non-empty owner, only a token of
// that owner is deleted; ErrNotFound otherwise.
func (s *Store) DeleteToken(ctx context.Context, id, owner string) error {
	return s.write(ctx, "deleting token "+id, func(tx *sql.Tx) error {
		q, args := "DELETE FROM api_tokens WHERE id = ?", []any{id}
		if owner != "" {
			q += " AND owner = ?"
			args = append(args, owner)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		return affected(res, err, "token "+id)
	})
}

// TouchToken records a use of a token.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, "touching token "+id, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE api_tokens SET used_ns = max(coalesce(used_ns, 0), ?) WHERE id = ?", at.UnixNano(), id)
		return affected(res, err, "token "+id)
	})
}

// DeleteExpiredTokens deletes the tokens expired at now; it returns how many.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, "deleting expired tokens", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM api_tokens WHERE expires_ns <= ?", now.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
