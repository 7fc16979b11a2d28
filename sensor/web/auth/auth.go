// Package auth is the web server's authentication and accountability:
// users with roles (Admin, Security Analyst, Read-only) and argon2id
// password hashes, browser sessions, API tokens, login rate limiting and
// the audit log, all kept in the sensor's SQLite store.
//
// Secrets never reach the database: passwords are stored as argon2id PHC
// strings, session IDs and API tokens (256 random bits each) as their
// SHA-256. The first start creates the user "admin" with a generated
// password that EnsureAdmin returns once, for the daemon to print.
//
// The CLI (otsensor user add/passwd) opens the same store and calls
// CreateUser and SetPassword.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/otwatch/otwatch/sensor/store"
)

// Errors of the service; the web server maps them to HTTP statuses.
var (
	// ErrInvalid is a bad user name, role, password or parameter (400).
	ErrInvalid = errors.New("invalid")
	// ErrNotFound is an unknown user or token (404).
	ErrNotFound = errors.New("not found")
	// ErrExists is a user name that is taken (409).
	ErrExists = errors.New("already exists")
	// ErrLastAdmin refuses to delete or demote the last administrator (409).
	ErrLastAdmin = errors.New("the last admin cannot be deleted or demoted")
	// ErrLimit is a user holding the maximum number of tokens (409).
	ErrLimit = errors.New("limit reached")
	// ErrBadCredentials is a wrong user name or password (401). It does
	// not say which.
	ErrBadCredentials = errors.New("invalid user name or password")
	// ErrUnauthenticated is a missing, unknown or expired session or
	// token (401).
	ErrUnauthenticated = errors.New("not authenticated")
	// ErrForbidden is an action above the caller's role (403).
	ErrForbidden = errors.New("forbidden")
)

// LockedError is returned by Login while the user name or the client
// address is locked out after repeated failures (429).
type LockedError struct {
	RetryAfter time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("too many failed logins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Config configures the service. The zero value is usable: see the
// defaults on each field.
type Config struct {
	// SessionIdle ends a session unused for this long (default 30 min).
	SessionIdle time.Duration
	// SessionMax ends a session this long after login (default 12 h).
	SessionMax time.Duration
	// MaxSessionsPerUser caps a user's sessions; the oldest are ended
	// (default 20).
	MaxSessionsPerUser int
	// MaxTokensPerUser caps a user's API tokens (default 50).
	MaxTokensPerUser int
	// MaxTokenTTL caps an API token's lifetime (default 2 years).
	MaxTokenTTL time.Duration
	// UserLockoutAfter failed logins for one user name lock it out
	// (default 5); IPLockoutAfter failures from one client address lock
	// the address out (default 10).
	UserLockoutAfter int
	IPLockoutAfter   int
	// LockoutBase is the first lockout; each further failure doubles it
	// up to LockoutMax (defaults 30 s and 15 min).
	LockoutBase time.Duration
	LockoutMax  time.Duration
	// LockoutForget forgets the failures of a name or address after this
	// long without one (default 1 h).
	LockoutForget time.Duration
	// MaxTracked caps the names and addresses whose failures are counted
	// (default 10000).
	MaxTracked int
	// MinPasswordLen is the shortest password accepted (default 10).
	MinPasswordLen int
	// Argon2 are the hashing costs (default DefaultParams()).
	Argon2 Params
	// MaxConcurrentHashes caps the password hashes computed at once, so
	// that a burst of logins cannot exhaust memory (default 2).
	MaxConcurrentHashes int
	// AuditKeep is the number of audit entries kept (default 100000);
	// older ones are pruned.
	AuditKeep int
	// TouchEvery is how often a session's or token's last use is written
	// (default 1 min).
	TouchEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of salts, IDs, tokens and passwords (default
	// crypto/rand.Reader).
	Rand io.Reader
	// Logger receives security events (default: discarded). Secrets are
	// never logged.
	Logger *slog.Logger
}

func (c *Config) defaults() {
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	setDur(&c.SessionIdle, 30*time.Minute)
	setDur(&c.SessionMax, 12*time.Hour)
	setDur(&c.MaxTokenTTL, 2*365*24*time.Hour)
	setDur(&c.LockoutBase, 30*time.Second)
	setDur(&c.LockoutMax, 15*time.Minute)
	setDur(&c.LockoutForget, time.Hour)
	setDur(&c.TouchEvery, time.Minute)
	setInt(&c.MaxSessionsPerUser, 20)
	setInt(&c.MaxTokensPerUser, 50)
	setInt(&c.UserLockoutAfter, 5)
	setInt(&c.IPLockoutAfter, 10)
	setInt(&c.MaxTracked, 10000)
	setInt(&c.MinPasswordLen, 10)
	setInt(&c.MaxConcurrentHashes, 2)
	setInt(&c.AuditKeep, 100000)
	if c.Argon2 == (Params{}) {
		c.Argon2 = DefaultParams()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// MaxPasswordLen is the longest password accepted, in bytes.
const MaxPasswordLen = 1024

// AdminUser is the user the first start creates.
const AdminUser = "admin"

// Stats count what the service did.
type Stats struct {
	LoginOK          uint64 `json:"login_ok"`
	LoginFailed      uint64 `json:"login_failed"`
	LoginLocked      uint64 `json:"login_locked"`
	Lockouts         uint64 `json:"lockouts"`
	SessionsCreated  uint64 `json:"sessions_created"`
	SessionsExpired  uint64 `json:"sessions_expired"`
	SessionsEvicted  uint64 `json:"sessions_evicted"`
	SessionsEnded    uint64 `json:"sessions_ended"`
	TokenAuthOK      uint64 `json:"token_auth_ok"`
	TokenAuthFailed  uint64 `json:"token_auth_failed"`
	CookieAuthFailed uint64 `json:"cookie_auth_failed"`
	LimiterTracked   int    `json:"limiter_tracked"`
	LimiterEvicted   uint64 `json:"limiter_evicted"`
	AuditWritten     uint64 `json:"audit_written"`
	AuditPruned      uint64 `json:"audit_pruned"`
	AuditErrors      uint64 `json:"audit_errors"`
	HashWaits        uint64 `json:"hash_waits"`
}

type counters struct {
	loginOK, loginFailed, loginLocked, lockouts                 atomic.Uint64
	sessionsCreated, sessionsExpired, sessionsEvicted, sessEnd  atomic.Uint64
	tokenOK, tokenFailed, cookieFailed                          atomic.Uint64
	auditWritten, auditPruned, auditErrors, hashWaits, auditSeq atomic.Uint64
}

// Service manages users, sessions, tokens and the audit log. It is safe
// for concurrent use.
type Service struct {
	st      *store.Store
	cfg     Config
	users   *limiter // failures by user name
	ips     *limiter // failures by client address
	hashSem chan struct{}
	dummy   string // hash that unknown users are checked against
	n       counters
}

// Open returns the service over a store opened with store.Open (its
// migrations create the tables).
func Open(st *store.Store, cfg Config) (*Service, error) {
	if st == nil {
		return nil, errors.New("auth: nil store")
	}
	cfg.defaults()
	if err := cfg.Argon2.check(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	s := &Service{
		st:      st,
		cfg:     cfg,
		users:   newLimiter(cfg.LockoutBase, cfg.LockoutMax, cfg.LockoutForget, cfg.MaxTracked),
		ips:     newLimiter(cfg.LockoutBase, cfg.LockoutMax, cfg.LockoutForget, cfg.MaxTracked),
		hashSem: make(chan struct{}, cfg.MaxConcurrentHashes),
	}
	// Unknown users are checked against a hash of a random password, so
	// that a login takes as long whether the user exists or not.
	pw, err := GeneratePassword(cfg.Rand)
	if err != nil {
		return nil, err
	}
	if s.dummy, err = HashPassword(pw, cfg.Argon2, cfg.Rand); err != nil {
		return nil, err
	}
	return s, nil
}

// Config returns the configuration in effect (defaults filled in).
func (s *Service) Config() Config { return s.cfg }

// Stats returns the counters.
func (s *Service) Stats() Stats {
	ut, ue := s.users.stats()
	it, ie := s.ips.stats()
	return Stats{
		LoginOK: s.n.loginOK.Load(), LoginFailed: s.n.loginFailed.Load(), LoginLocked: s.n.loginLocked.Load(),
		Lockouts: s.n.lockouts.Load(), SessionsCreated: s.n.sessionsCreated.Load(),
		SessionsExpired: s.n.sessionsExpired.Load(), SessionsEvicted: s.n.sessionsEvicted.Load(),
		SessionsEnded: s.n.sessEnd.Load(), TokenAuthOK: s.n.tokenOK.Load(), TokenAuthFailed: s.n.tokenFailed.Load(),
		CookieAuthFailed: s.n.cookieFailed.Load(), LimiterTracked: ut + it, LimiterEvicted: ue + ie,
		AuditWritten: s.n.auditWritten.Load(), AuditPruned: s.n.auditPruned.Load(),
		AuditErrors: s.n.auditErrors.Load(), HashWaits: s.n.hashWaits.Load(),
	}
}

// storeErr turns a store error about what into the service's: the
// sentinel and what for the known ones (short messages for the API), the
// store's own error otherwise.
func storeErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%w: %s", ErrExists, what)
	case errors.Is(err, store.ErrLastOfRole):
		return fmt.Errorf("%w: %s", ErrLastAdmin, what)
	case errors.Is(err, store.ErrLimit):
		return fmt.Errorf("%w: %s", ErrLimit, what)
	}
	return fmt.Errorf("auth: %s: %w", what, err)
}

// NormalizeName lower-cases and trims a user name and checks it: 1–64
// characters among a–z, 0–9, '.', '_', '-' and '@', starting with a letter
// or digit.
func NormalizeName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || len(n) > 64 {
		return "", fmt.Errorf("%w: user name must be 1–64 characters", ErrInvalid)
	}
	for i, c := range []byte(n) {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._-@", rune(c))) {
			return "", fmt.Errorf("%w: user name %q: letters, digits and . _ - @ only, starting with a letter or digit", ErrInvalid, name)
		}
	}
	return n, nil
}

func (s *Service) checkPassword(pw string) error {
	if len([]rune(pw)) < s.cfg.MinPasswordLen {
		return fmt.Errorf("%w: password must have at least %d characters", ErrInvalid, s.cfg.MinPasswordLen)
	}
	if len(pw) > MaxPasswordLen {
		return fmt.Errorf("%w: password longer than %d bytes", ErrInvalid, MaxPasswordLen)
	}
	return nil
}

// hashGate admits at most MaxConcurrentHashes password hashes at once.
func (s *Service) hashGate(ctx context.Context) (func(), error) {
	select {
	case s.hashSem <- struct{}{}:
	default:
		s.n.hashWaits.Add(1)
		select {
		case s.hashSem <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("auth: waiting to hash a password: %w", ctx.Err())
		}
	}
	return func() { <-s.hashSem }, nil
}

func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	release, err := s.hashGate(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(pw, s.cfg.Argon2, s.cfg.Rand)
}

func (s *Service) verify(ctx context.Context, pw, encoded string) (bool, error) {
	release, err := s.hashGate(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return VerifyPassword(pw, encoded)
}

// User is a user as the API shows it (never with the hash).
type User struct {
	Name            string    `json:"name"`
	Role            Role      `json:"role"`
	Created         time.Time `json:"created"`
	PasswordChanged time.Time `json:"password_changed"`
	LastLogin       time.Time `json:"last_login,omitzero"`
}

func userOf(u store.User) User {
	return User{Name: u.Name, Role: Role(u.Role), Created: u.Created, PasswordChanged: u.PasswordChanged, LastLogin: u.LastLogin}
}

// EnsureAdmin creates the user "admin" with a generated password when the
// store has no user at all, and returns that password: the only time it
// exists in clear (the caller prints it once). It returns "" when users
// exist already.
func (s *Service) EnsureAdmin(ctx context.Context) (string, error) {
	n, err := s.st.CountUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("auth: first start: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	pw, err := GeneratePassword(s.cfg.Rand)
	if err != nil {
		return "", err
	}
	if _, err := s.CreateUser(ctx, AdminUser, RoleAdmin, pw); err != nil {
		if errors.Is(err, ErrExists) { // another process won the race
			return "", nil
		}
		return "", fmt.Errorf("auth: first start: %w", err)
	}
	s.cfg.Logger.Info("auth: first start: created the admin user with a generated password", "user", AdminUser)
	return pw, nil
}

// CreateUser adds a user with a role and a password (see MinPasswordLen).
func (s *Service) CreateUser(ctx context.Context, name string, role Role, password string) (User, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, fmt.Errorf("%w: unknown role %q", ErrInvalid, role)
	}
	if err := s.checkPassword(password); err != nil {
		return User{}, err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	now := s.cfg.Now().UTC()
	u := store.User{Name: n, Role: string(role), PasswordHash: h, Created: now, PasswordChanged: now}
	if err := s.st.CreateUser(ctx, u); err != nil {
		return User{}, storeErr(err, fmt.Sprintf("user %q", n))
	}
	s.cfg.Logger.Info("auth: user created", "user", n, "role", role)
	return userOf(u), nil
}

// GetUser returns one user.
func (s *Service) GetUser(ctx context.Context, name string) (User, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return User{}, err
	}
	u, err := s.st.User(ctx, n)
	if err != nil {
		return User{}, storeErr(err, fmt.Sprintf("user %q", n))
	}
	return userOf(u), nil
}

// ListUsers returns every user, by name.
func (s *Service) ListUsers(ctx context.Context) ([]User, error) {
	us, err := s.st.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	out := make([]User, len(us))
	for i, u := range us {
		out[i] = userOf(u)
	}
	return out, nil
}

// SetPassword replaces a user's password (an admin's reset, or the CLI's
// otsensor user passwd) and ends all the user's sessions.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	_, err := s.setPassword(ctx, name, password, nil)
	return err
}

func (s *Service) setPassword(ctx context.Context, name, password string, keep []byte) (string, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return "", err
	}
	if err := s.checkPassword(password); err != nil {
		return "", err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return "", err
	}
	ended, err := s.st.SetUserPassword(ctx, n, h, s.cfg.Now().UTC(), keep)
	if err != nil {
		return "", storeErr(err, fmt.Sprintf("user %q", n))
	}
	s.n.sessEnd.Add(uint64(ended))
	s.users.reset("u:" + n)
	s.cfg.Logger.Info("auth: password changed", "user", n, "sessions_ended", ended)
	return n, nil
}

// ChangeOwnPassword changes the password of the identity's user after
// checking the current one (failures count towards the lockout like
// logins). The identity's session stays; the user's other sessions end.
func (s *Service) ChangeOwnPassword(ctx context.Context, id Identity, current, next, clientIP string) error {
	now := s.cfg.Now()
	if wait := max(s.users.locked("u:"+id.User, now), s.ips.locked("ip:"+clientIP, now)); wait > 0 {
		s.n.loginLocked.Add(1)
		return &LockedError{RetryAfter: wait}
	}
	u, err := s.st.User(ctx, id.User)
	if err != nil {
		return storeErr(err, fmt.Sprintf("user %q", id.User))
	}
	ok, err := s.verify(ctx, current, u.PasswordHash)
	if err != nil {
		return fmt.Errorf("auth: checking the password of %q: %w", id.User, err)
	}
	if !ok {
		s.failed(id.User, clientIP, now)
		return fmt.Errorf("%w: the current password is wrong", ErrBadCredentials)
	}
	_, err = s.setPassword(ctx, id.User, next, id.sessionHash)
	return err
}

// SetRole changes a user's role; the last admin cannot be demoted. It
// takes effect at the user's next request (sessions and tokens check the
// user's current role).
func (s *Service) SetRole(ctx context.Context, name string, role Role) error {
	n, err := NormalizeName(name)
	if err != nil {
		return err
	}
	if !role.Valid() {
		return fmt.Errorf("%w: unknown role %q", ErrInvalid, role)
	}
	if err := s.st.SetUserRole(ctx, n, string(role), string(RoleAdmin)); err != nil {
		return storeErr(err, fmt.Sprintf("user %q", n))
	}
	s.cfg.Logger.Info("auth: role changed", "user", n, "role", role)
	return nil
}

// DeleteUser deletes a user with its sessions and tokens; the last admin
// cannot be deleted.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	n, err := NormalizeName(name)
	if err != nil {
		return err
	}
	if err := s.st.DeleteUser(ctx, n, string(RoleAdmin)); err != nil {
		return storeErr(err, fmt.Sprintf("user %q", n))
	}
	s.cfg.Logger.Info("auth: user deleted", "user", n)
	return nil
}

// Identity is who a request comes from.
type Identity struct {
	User string `json:"user"`
	// Role is what the request may do: the user's current role, or for a
	// token the weaker of the token's role and its owner's.
	Role Role `json:"role"`
	// Via is "session" or "token".
	Via string `json:"via"`
	// TokenID names the token (Via "token").
	TokenID string `json:"token_id,omitempty"`
	// Expires is when the session or token ends at the latest.
	Expires time.Time `json:"expires"`

	csrf        string
	sessionHash []byte
}

// Via values of Identity.
const (
	ViaSession = "session"
	ViaToken   = "token"
)

// CSRFToken returns the synchronizer token of a session identity ("" for
// a token): state-changing requests authenticated by the session cookie
// must carry it.
func (id Identity) CSRFToken() string { return id.csrf }

// CheckCSRF reports whether token is the session's CSRF token (constant
// time).
func (id Identity) CheckCSRF(token string) bool {
	return id.csrf != "" && subtle.ConstantTimeCompare([]byte(id.csrf), []byte(token)) == 1
}

// Secret sizes and formats.
const (
	secretBytes = 32 // 256 bits
	// TokenPrefix starts every API token, so that leaked tokens are easy
	// to recognise (and to scan for).
	TokenPrefix = "otw_"
)

var b64url = base64.RawURLEncoding

func (s *Service) secret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("auth: random secret: %w", err)
	}
	return b64url.EncodeToString(b), nil
}

// wellFormed reports whether s is a base64url encoding of secretBytes.
func wellFormed(s string) bool {
	if len(s) != b64url.EncodedLen(secretBytes) {
		return false
	}
	_, err := b64url.DecodeString(s)
	return err == nil
}

func sum(domain, secret string) []byte {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	return h.Sum(nil)
}

func sessionHash(id string) []byte { return sum("otwatch-session", id) }
func tokenHash(tok string) []byte  { return sum("otwatch-token", tok) }
func csrfOf(id string) string      { return b64url.EncodeToString(sum("otwatch-csrf", id)) }

// Login is a successful login: the session ID goes into the cookie, and
// is never stored.
type Login struct {
	SessionID string
	Identity  Identity
}

func (s *Service) failed(name, ip string, now time.Time) {
	s.n.loginFailed.Add(1)
	if lock := s.users.fail("u:"+name, s.cfg.UserLockoutAfter, now); lock > 0 {
		s.n.lockouts.Add(1)
		s.cfg.Logger.Warn("auth: user name locked out after failed logins", "user", name, "for", lock)
	}
	if ip != "" {
		if lock := s.ips.fail("ip:"+ip, s.cfg.IPLockoutAfter, now); lock > 0 {
			s.n.lockouts.Add(1)
			s.cfg.Logger.Warn("auth: client address locked out after failed logins", "client_ip", ip, "for", lock)
		}
	}
}

// Login checks a user name and password and opens a session. It fails
// with ErrBadCredentials (whether the name or the password is wrong, in
// the same time), or with *LockedError while the name or the client
// address is locked out.
func (s *Service) Login(ctx context.Context, name, password, clientIP, userAgent string) (Login, error) {
	now := s.cfg.Now()
	n, nameErr := NormalizeName(name)
	if nameErr != nil {
		n = strings.ToLower(strings.TrimSpace(name))
		if len(n) > 64 {
			n = n[:64]
		}
	}
	if wait := max(s.users.locked("u:"+n, now), s.ips.locked("ip:"+clientIP, now)); wait > 0 {
		s.n.loginLocked.Add(1)
		return Login{}, &LockedError{RetryAfter: wait}
	}
	var u store.User
	var err error
	if nameErr == nil && len(password) <= MaxPasswordLen {
		u, err = s.st.User(ctx, n)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Login{}, fmt.Errorf("auth: login: %w", err)
		}
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = s.dummy
	}
	ok, err := s.verify(ctx, password, hash)
	if err != nil {
		return Login{}, fmt.Errorf("auth: login: %w", err)
	}
	if !ok || u.PasswordHash == "" {
		s.failed(n, clientIP, now)
		return Login{}, ErrBadCredentials
	}
	s.users.reset("u:" + n)
	l, err := s.openSession(ctx, u, clientIP, userAgent)
	if err != nil {
		return Login{}, err
	}
	s.n.loginOK.Add(1)
	if err := s.st.SetUserLogin(ctx, n, now.UTC()); err != nil {
		s.cfg.Logger.Warn("auth: recording a login", "user", n, "err", err)
	}
	return l, nil
}

func (s *Service) openSession(ctx context.Context, u store.User, clientIP, userAgent string) (Login, error) {
	now := s.cfg.Now().UTC()
	if _, err := s.st.DeleteExpiredSessions(ctx, now, now.Add(-s.cfg.SessionIdle)); err != nil {
		s.cfg.Logger.Warn("auth: pruning sessions", "err", err)
	}
	id, err := s.secret()
	if err != nil {
		return Login{}, err
	}
	se := store.Session{IDHash: sessionHash(id), User: u.Name, Created: now, LastSeen: now,
		Expires: now.Add(s.cfg.SessionMax), ClientIP: clip(clientIP, 64), UserAgent: clip(userAgent, 256)}
	evicted, err := s.st.CreateSession(ctx, se, s.cfg.MaxSessionsPerUser)
	if err != nil {
		return Login{}, fmt.Errorf("auth: opening a session: %w", err)
	}
	s.n.sessionsCreated.Add(1)
	s.n.sessionsEvicted.Add(uint64(evicted))
	return Login{SessionID: id, Identity: Identity{User: u.Name, Role: Role(u.Role), Via: ViaSession,
		Expires: se.Expires, csrf: csrfOf(id), sessionHash: se.IDHash}}, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Session returns the identity of a session cookie's ID; ErrUnauthenticated
// when the session is unknown or expired (idle or absolute; an expired one
// is deleted).
func (s *Service) Session(ctx context.Context, sessionID string) (Identity, error) {
	if !wellFormed(sessionID) {
		s.n.cookieFailed.Add(1)
		return Identity{}, ErrUnauthenticated
	}
	h := sessionHash(sessionID)
	se, u, err := s.st.SessionByHash(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		s.n.cookieFailed.Add(1)
		return Identity{}, ErrUnauthenticated
	}
	if err != nil {
		return Identity{}, fmt.Errorf("auth: session: %w", err)
	}
	now := s.cfg.Now()
	if !now.Before(se.Expires) || now.Sub(se.LastSeen) > s.cfg.SessionIdle {
		s.n.sessionsExpired.Add(1)
		if err := s.st.DeleteSession(ctx, h); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.cfg.Logger.Warn("auth: deleting an expired session", "err", err)
		}
		return Identity{}, fmt.Errorf("%w: session expired", ErrUnauthenticated)
	}
	if now.Sub(se.LastSeen) >= s.cfg.TouchEvery {
		if err := s.st.TouchSession(ctx, h, now.UTC()); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.cfg.Logger.Warn("auth: touching a session", "err", err)
		}
	}
	return Identity{User: u.Name, Role: Role(u.Role), Via: ViaSession, Expires: se.Expires,
		csrf: csrfOf(sessionID), sessionHash: h}, nil
}

// Logout ends the identity's session (nothing for a token).
func (s *Service) Logout(ctx context.Context, id Identity) error {
	if id.sessionHash == nil {
		return nil
	}
	if err := s.st.DeleteSession(ctx, id.sessionHash); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("auth: logout: %w", err)
	}
	s.n.sessEnd.Add(1)
	return nil
}

// Token is an API token as the API shows it (never the secret).
type Token struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Owner    string    `json:"owner"`
	Role     Role      `json:"role"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	LastUsed time.Time `json:"last_used,omitzero"`
}

func tokenOf(t store.APIToken) Token {
	return Token{ID: t.ID, Name: t.Name, Owner: t.Owner, Role: Role(t.Role), Created: t.Created, Expires: t.Expires, LastUsed: t.LastUsed}
}

// CreateToken creates an API token for owner with a role no stronger than
// the owner's, valid for ttl (at most MaxTokenTTL). The returned secret is
// shown once and never stored.
func (s *Service) CreateToken(ctx context.Context, owner, name string, role Role, ttl time.Duration) (string, Token, error) {
	o, err := NormalizeName(owner)
	if err != nil {
		return "", Token{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 {
		return "", Token{}, fmt.Errorf("%w: token name must be 1–64 characters", ErrInvalid)
	}
	if !role.Valid() {
		return "", Token{}, fmt.Errorf("%w: unknown role %q", ErrInvalid, role)
	}
	if ttl <= 0 || ttl > s.cfg.MaxTokenTTL {
		return "", Token{}, fmt.Errorf("%w: token lifetime must be between 0 and %s", ErrInvalid, s.cfg.MaxTokenTTL)
	}
	u, err := s.st.User(ctx, o)
	if err != nil {
		return "", Token{}, storeErr(err, fmt.Sprintf("user %q", o))
	}
	if !Role(u.Role).AtLeast(role) {
		return "", Token{}, fmt.Errorf("%w: a token cannot have a stronger role (%s) than its owner's (%s)", ErrForbidden, role, u.Role)
	}
	sec, err := s.secret()
	if err != nil {
		return "", Token{}, err
	}
	idb := make([]byte, 8)
	if _, err := io.ReadFull(s.cfg.Rand, idb); err != nil {
		return "", Token{}, fmt.Errorf("auth: token ID: %w", err)
	}
	tok := TokenPrefix + sec
	now := s.cfg.Now().UTC()
	t := store.APIToken{ID: hex.EncodeToString(idb), Hash: tokenHash(tok), Name: name, Owner: o, Role: string(role),
		Created: now, Expires: now.Add(ttl)}
	if err := s.st.CreateToken(ctx, t, s.cfg.MaxTokensPerUser); err != nil {
		return "", Token{}, storeErr(err, fmt.Sprintf("tokens of %q", o))
	}
	s.cfg.Logger.Info("auth: token created", "id", t.ID, "owner", o, "role", role, "expires", t.Expires)
	return tok, tokenOf(t), nil
}

// TokenIdentity returns the identity of an API token; ErrUnauthenticated
// when it is unknown or expired.
func (s *Service) TokenIdentity(ctx context.Context, token string) (Identity, error) {
	sec, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok || !wellFormed(sec) {
		s.n.tokenFailed.Add(1)
		return Identity{}, ErrUnauthenticated
	}
	t, u, err := s.st.TokenByHash(ctx, tokenHash(token))
	if errors.Is(err, store.ErrNotFound) {
		s.n.tokenFailed.Add(1)
		return Identity{}, ErrUnauthenticated
	}
	if err != nil {
		return Identity{}, fmt.Errorf("auth: token: %w", err)
	}
	now := s.cfg.Now()
	if !now.Before(t.Expires) {
		s.n.tokenFailed.Add(1)
		return Identity{}, fmt.Errorf("%w: token expired", ErrUnauthenticated)
	}
	if now.Sub(t.LastUsed) >= s.cfg.TouchEvery {
		if err := s.st.TouchToken(ctx, t.ID, now.UTC()); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.cfg.Logger.Warn("auth: touching a token", "err", err)
		}
	}
	s.n.tokenOK.Add(1)
	return Identity{User: u.Name, Role: Weaker(Role(t.Role), Role(u.Role)), Via: ViaToken, TokenID: t.ID, Expires: t.Expires}, nil
}

// Tokens lists the tokens of owner ("" for everyone's).
func (s *Service) Tokens(ctx context.Context, owner string) ([]Token, error) {
	ts, err := s.st.Tokens(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	out := make([]Token, len(ts))
	for i, t := range ts {
		out[i] = tokenOf(t)
	}
	return out, nil
}

// DeleteToken revokes a token; with a non-empty owner only a token of that
// owner (ErrNotFound otherwise, so that others' tokens stay invisible).
func (s *Service) DeleteToken(ctx context.Context, id, owner string) error {
	if err := s.st.DeleteToken(ctx, id, owner); err != nil {
		return storeErr(err, fmt.Sprintf("token %q", id))
	}
	s.cfg.Logger.Info("auth: token revoked", "id", id)
	return nil
}

// Audit appends an entry to the audit log (the time defaults to now) and
// prunes the log to AuditKeep entries now and then. Failures are counted
// and returned.
func (s *Service) Audit(ctx context.Context, e store.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = s.cfg.Now().UTC()
	}
	if _, err := s.st.AppendAudit(ctx, e); err != nil {
		s.n.auditErrors.Add(1)
		return fmt.Errorf("auth: audit: %w", err)
	}
	s.n.auditWritten.Add(1)
	if s.n.auditSeq.Add(1)%1000 == 0 {
		n, err := s.st.PruneAudit(ctx, s.cfg.AuditKeep)
		if err != nil {
			s.n.auditErrors.Add(1)
			return fmt.Errorf("auth: audit: %w", err)
		}
		s.n.auditPruned.Add(uint64(n))
	}
	return nil
}

// AuditCLI records a change made with the command line (otsensor user
// add/passwd): actor is the operating-system user, what the command, err
// its outcome.
func (s *Service) AuditCLI(ctx context.Context, actor, what, target string, err error) error {
	e := store.AuditEntry{Actor: actor, Via: "cli", Route: what, Target: target, Result: "ok"}
	if e.Actor == "" {
		e.Actor = "cli"
	}
	if err != nil {
		e.Result, e.Detail = "failed", err.Error()
	}
	return s.Audit(ctx, e)
}

// AuditLog returns a page of the audit log, newest first, and the total.
func (s *Service) AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, int, error) {
	es, total, err := s.st.ListAudit(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("auth: %w", err)
	}
	return es, total, nil
}
