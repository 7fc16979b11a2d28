package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/sensor/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cheap are argon2id costs that keep the tests fast (the format and the
// code paths are the same as with DefaultParams).
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sensor.db"), store.Options{Sync: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newService(t *testing.T, cfg Config) (*Service, *store.Store, *clock) {
	t.Helper()
	st := openStore(t)
	c := newClock()
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	if cfg.Argon2 == (Params{}) {
		cfg.Argon2 = cheap
	}
	s, err := Open(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, st, c
}

func TestHashPassword(t *testing.T) {
	p := Params{Memory: 256, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}
	h1, err := HashPassword("correct horse battery", p, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPassword("correct horse battery", p, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=256,t=2,p=2$") {
		t.Errorf("hash %q is not an argon2id PHC string with the parameters", h1)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, h := range []string{h1, h2} {
		if ok, err := VerifyPassword("correct horse battery", h); !ok || err != nil {
			t.Errorf("VerifyPassword(right) = %v, %v", ok, err)
		}
		if ok, err := VerifyPassword("correct horse batterY", h); ok || err != nil {
			t.Errorf("VerifyPassword(wrong) = %v, %v", ok, err)
		}
	}
	got, salt, key, err := DecodeHash(h1)
	if err != nil || got != p || len(salt) != 16 || len(key) != 32 {
		t.Errorf("DecodeHash = %+v %d %d %v", got, len(salt), len(key), err)
	}
	parts := strings.Split(h1, "$")
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=256,t=2,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=256,t=2,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4194304,t=2,p=2$" + parts[4] + "$" + parts[5], // 4 GiB: refused, never allocated
		"$argon2id$v=19$m=256,t=1000,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=256,t=2,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=256,t=2,p=2,x=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=256,t=2,p=2$" + parts[4] + "$!!!",
		"$argon2id$v=19$m=256,t=2,p=2$AAAA$" + parts[5], // 3-byte salt
	} {
		if ok, err := VerifyPassword("x", bad); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw, err := GeneratePassword(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != GeneratedPasswordLen || len(pw) < 20 {
			t.Fatalf("password %q has %d characters", pw, len(pw))
		}
		for _, c := range pw {
			if !strings.ContainsRune(passwordAlphabet, c) {
				t.Fatalf("password %q has %q outside the alphabet", pw, c)
			}
		}
		if seen[pw] {
			t.Fatalf("password %q generated twice", pw)
		}
		seen[pw] = true
	}
	// A source that runs dry is an error, not a short password.
	if pw, err := GeneratePassword(bytes.NewReader(make([]byte, 10))); err == nil {
		t.Errorf("GeneratePassword on a short source = %q, nil", pw)
	}
}

// TestEnsureAdmin: the first start creates admin with a generated password,
// returned once; the database holds only its hash.
func TestEnsureAdmin(t *testing.T) {
	ctx := context.Background()
	s, st, _ := newService(t, Config{})
	pw, err := s.EnsureAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) < 20 {
		t.Fatalf("generated admin password %q is shorter than 20", pw)
	}
	again, err := s.EnsureAdmin(ctx)
	if err != nil || again != "" {
		t.Fatalf("second EnsureAdmin = %q, %v; want nothing", again, err)
	}
	us, err := s.ListUsers(ctx)
	if err != nil || len(us) != 1 || us[0].Name != AdminUser || us[0].Role != RoleAdmin {
		t.Fatalf("users = %+v, %v", us, err)
	}
	if _, err := s.Login(ctx, "admin", pw, "192.0.2.1", "test"); err != nil {
		t.Fatalf("login with the generated password: %v", err)
	}
	u, err := st.User(ctx, "admin")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("stored hash %q, %v", u.PasswordHash, err)
	}
	// Neither the database nor its WAL holds the password.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(st.Path() + "*")
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("%s contains the admin password in clear", f)
		}
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t, Config{})
	if _, err := s.CreateUser(ctx, "Alice", RoleAdmin, "alice-password-1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, pw string
		role     Role
		want     error
	}{
		{"alice", "another-password", RoleReadOnly, ErrExists},
		{"", "long-enough-password", RoleReadOnly, ErrInvalid},
		{"-bob", "long-enough-password", RoleReadOnly, ErrInvalid},
		{"bob smith", "long-enough-password", RoleReadOnly, ErrInvalid},
		{strings.Repeat("b", 65), "long-enough-password", RoleReadOnly, ErrInvalid},
		{"bob", "short", RoleReadOnly, ErrInvalid},
		{"bob", strings.Repeat("x", MaxPasswordLen+1), RoleReadOnly, ErrInvalid},
		{"bob", "long-enough-password", Role("root"), ErrInvalid},
	} {
		if _, err := s.CreateUser(ctx, tc.name, tc.role, tc.pw); !errors.Is(err, tc.want) {
			t.Errorf("CreateUser(%q, %q) = %v, want %v", tc.name, tc.role, err, tc.want)
		}
	}
	if _, err := s.CreateUser(ctx, "bob", RoleReadOnly, "bob-password-1"); err != nil {
		t.Fatal(err)
	}
	us, err := s.ListUsers(ctx)
	if err != nil || len(us) != 2 || us[0].Name != "alice" || us[1].Name != "bob" || us[1].Role != RoleReadOnly {
		t.Fatalf("ListUsers = %+v, %v", us, err)
	}
	// The last admin can be neither demoted nor deleted.
	if err := s.SetRole(ctx, "alice", RoleAnalyst); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("demoting the last admin: %v", err)
	}
	if err := s.DeleteUser(ctx, "alice"); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("deleting the last admin: %v", err)
	}
	if err := s.SetRole(ctx, "bob", RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, "alice", RoleAnalyst); err != nil {
		t.Errorf("demoting one of two admins: %v", err)
	}
	if err := s.DeleteUser(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting an unknown user: %v", err)
	}
	if err := s.SetPassword(ctx, "nobody", "long-enough-password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword of an unknown user: %v", err)
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted user: %v", err)
	}
}

// TestLoginRateLimit: five failures lock a user name out with a lock that
// doubles at each further failure; ten lock a client address out; the
// lock holds even for the right password; a success resets the name.
func TestLoginRateLimit(t *testing.T) {
	ctx := context.Background()
	s, _, c := newService(t, Config{LockoutBase: 30 * time.Second, LockoutMax: 2 * time.Minute})
	if _, err := s.CreateUser(ctx, "op", RoleAnalyst, "right-password"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := s.Login(ctx, "op", "wrong-password", "192.0.2.1", ""); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	var le *LockedError
	if _, err := s.Login(ctx, "op", "right-password", "192.0.2.2", ""); !errors.As(err, &le) || le.RetryAfter != 30*time.Second {
		t.Fatalf("login after 5 failures = %v, want locked for 30s", err)
	}
	c.Add(31 * time.Second)
	if _, err := s.Login(ctx, "op", "wrong-password", "192.0.2.2", ""); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("after the lock: %v", err)
	}
	if _, err := s.Login(ctx, "op", "right-password", "192.0.2.2", ""); !errors.As(err, &le) || le.RetryAfter != 60*time.Second {
		t.Fatalf("6th failure = %v, want locked for 60s (doubled)", err)
	}
	c.Add(61 * time.Second)
	for range 3 { // 7th, 8th, 9th failures: 2 min (capped)
		s.Login(ctx, "op", "wrong-password", "192.0.2.3", "")
		c.Add(2*time.Minute + time.Second)
	}
	if n := s.users.count("u:op"); n != 9 {
		t.Errorf("failures of op = %d, want 9", n)
	}
	if _, err := s.Login(ctx, "op", "right-password", "192.0.2.3", ""); err != nil {
		t.Fatalf("right password after the lock: %v", err)
	}
	if n := s.users.count("u:op"); n != 0 {
		t.Errorf("a success left %d failures on the name", n)
	}
	st := s.Stats()
	if st.LoginOK != 1 || st.LoginFailed != 9 || st.LoginLocked != 2 || st.Lockouts < 5 {
		t.Errorf("stats %+v", st)
	}

	// Ten failures from one address, on as many names, lock the address,
	// also for unknown names (and these take the same path as known ones).
	c.Add(time.Hour)
	for i := range 10 {
		if _, err := s.Login(ctx, "user"+string(rune('a'+i)), "pw-pw-pw-pw", "198.51.100.7", ""); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("spray %d: %v", i, err)
		}
	}
	if _, err := s.Login(ctx, "op", "right-password", "198.51.100.7", ""); !errors.As(err, &le) {
		t.Fatalf("login from a sprayed address = %v, want locked", err)
	}
	if _, err := s.Login(ctx, "op", "right-password", "198.51.100.8", ""); err != nil {
		t.Fatalf("login from another address: %v", err)
	}
}

func TestLimiterCapacity(t *testing.T) {
	l := newLimiter(time.Second, time.Minute, time.Hour, 100)
	now := time.Unix(1e9, 0)
	for i := range 1000 {
		l.fail(strings.Repeat("k", i%7)+string(rune(i)), 3, now)
	}
	tracked, evicted := l.stats()
	if tracked > 100 || evicted < 900 {
		t.Errorf("tracked %d evicted %d, want ≤100 and ≥900", tracked, evicted)
	}
	// Locked keys survive eviction of unlocked ones.
	l = newLimiter(time.Minute, time.Hour, time.Hour, 10)
	for range 3 {
		l.fail("attacker", 3, now)
	}
	for i := range 50 {
		l.fail(string(rune('A'+i)), 3, now)
	}
	if l.locked("attacker", now) == 0 {
		t.Error("a locked key was evicted to make room for unlocked ones")
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s, st, c := newService(t, Config{SessionIdle: 10 * time.Minute, SessionMax: time.Hour, MaxSessionsPerUser: 3})
	if _, err := s.CreateUser(ctx, "op", RoleAnalyst, "right-password"); err != nil {
		t.Fatal(err)
	}
	l, err := s.Login(ctx, "op", "right-password", "192.0.2.1", "ua")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.SessionID) != 43 || l.Identity.CSRFToken() == "" || l.Identity.CSRFToken() == l.SessionID {
		t.Fatalf("login = %+v", l)
	}
	id, err := s.Session(ctx, l.SessionID)
	if err != nil || id.User != "op" || id.Role != RoleAnalyst || id.Via != ViaSession {
		t.Fatalf("Session = %+v, %v", id, err)
	}
	if !id.CheckCSRF(l.Identity.CSRFToken()) || id.CheckCSRF("") || id.CheckCSRF(l.SessionID) {
		t.Error("CheckCSRF accepts the wrong tokens or refuses the right one")
	}
	// The store holds the hash, not the ID.
	ss, err := st.Sessions(ctx, "op")
	if err != nil || len(ss) != 1 || bytes.Contains(ss[0].IDHash, []byte(l.SessionID)) || len(ss[0].IDHash) != 32 {
		t.Fatalf("stored sessions %+v, %v", ss, err)
	}
	// Idle expiry: each use within the idle time keeps it alive.
	for range 5 {
		c.Add(8 * time.Minute)
		if _, err := s.Session(ctx, l.SessionID); err != nil {
			t.Fatalf("used every 8 min: %v", err)
		}
	}
	c.Add(11 * time.Minute)
	if _, err := s.Session(ctx, l.SessionID); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("idle for 11 min: %v", err)
	}
	if ss, _ := st.Sessions(ctx, "op"); len(ss) != 0 {
		t.Error("the expired session is still stored")
	}
	// Absolute expiry, however busy.
	l, _ = s.Login(ctx, "op", "right-password", "192.0.2.1", "ua")
	for range 6 {
		c.Add(9 * time.Minute)
		if _, err := s.Session(ctx, l.SessionID); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(9 * time.Minute) // 63 min after login, 9 after the last use
	if _, err := s.Session(ctx, l.SessionID); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("63 min after login: %v", err)
	}
	// Logout ends it; the cap ends the oldest.
	var ids []string
	for range 4 {
		l, err := s.Login(ctx, "op", "right-password", "192.0.2.1", "ua")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.SessionID)
		c.Add(time.Second)
	}
	if _, err := s.Session(ctx, ids[0]); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("the oldest of 4 sessions (cap 3) survived: %v", err)
	}
	id, err = s.Session(ctx, ids[3])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, ids[3]); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session after logout: %v", err)
	}
	// Garbage never reaches the database.
	for _, bad := range []string{"", "x", strings.Repeat("A", 43) + "=", "../../etc/passwd"} {
		if _, err := s.Session(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Session(%q) = %v", bad, err)
		}
	}
	// Changing one's password ends the other sessions, keeps this one.
	id1, _ := s.Session(ctx, ids[1])
	if err := s.ChangeOwnPassword(ctx, id1, "wrong", "new-password-2", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("change with a wrong current password: %v", err)
	}
	if err := s.ChangeOwnPassword(ctx, id1, "right-password", "new-password-2", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, ids[1]); err != nil {
		t.Errorf("own session after a password change: %v", err)
	}
	if _, err := s.Session(ctx, ids[2]); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("other session after a password change: %v", err)
	}
	if _, err := s.Login(ctx, "op", "new-password-2", "192.0.2.1", ""); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	// An admin reset ends them all; a role change applies at once.
	if err := s.SetPassword(ctx, "op", "reset-password-3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, ids[1]); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session after a reset: %v", err)
	}
	l, _ = s.Login(ctx, "op", "reset-password-3", "192.0.2.1", "")
	if _, err := s.CreateUser(ctx, "boss", RoleAdmin, "boss-password"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, "op", RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	if id, err := s.Session(ctx, l.SessionID); err != nil || id.Role != RoleReadOnly {
		t.Errorf("role after demotion = %v, %v", id.Role, err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s, st, c := newService(t, Config{MaxTokensPerUser: 3})
	for _, u := range []struct {
		n string
		r Role
	}{{"boss", RoleAdmin}, {"op", RoleAnalyst}} {
		if _, err := s.CreateUser(ctx, u.n, u.r, "password-"+u.n); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.CreateToken(ctx, "op", "grafana", RoleAdmin, time.Hour); !errors.Is(err, ErrForbidden) {
		t.Errorf("token stronger than its owner: %v", err)
	}
	for _, ttl := range []time.Duration{0, -time.Hour, 3 * 365 * 24 * time.Hour} {
		if _, _, err := s.CreateToken(ctx, "op", "x", RoleReadOnly, ttl); !errors.Is(err, ErrInvalid) {
			t.Errorf("ttl %s: %v", ttl, err)
		}
	}
	tok, info, err := s.CreateToken(ctx, "op", "grafana", RoleAnalyst, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != len(TokenPrefix)+43 || info.Owner != "op" || info.Role != RoleAnalyst {
		t.Fatalf("token %q %+v", tok, info)
	}
	id, err := s.TokenIdentity(ctx, tok)
	if err != nil || id.User != "op" || id.Role != RoleAnalyst || id.Via != ViaToken || id.TokenID != info.ID || id.CSRFToken() != "" {
		t.Fatalf("TokenIdentity = %+v, %v", id, err)
	}
	// Stored hashed.
	ts, _ := st.Tokens(ctx, "op")
	if len(ts) != 1 || bytes.Contains(ts[0].Hash, []byte(tok[len(TokenPrefix):])) {
		t.Fatalf("stored tokens %+v", ts)
	}
	for _, bad := range []string{"", tok[:len(tok)-1], "otw_" + strings.Repeat("A", 43), strings.TrimPrefix(tok, TokenPrefix)} {
		if _, err := s.TokenIdentity(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("TokenIdentity(%q) = %v", bad, err)
		}
	}
	// The owner's demotion weakens the token.
	if err := s.SetRole(ctx, "op", RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.TokenIdentity(ctx, tok); id.Role != RoleReadOnly {
		t.Errorf("token role after the owner's demotion = %v", id.Role)
	}
	// Expiry.
	c.Add(24 * time.Hour)
	if _, err := s.TokenIdentity(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired token: %v", err)
	}
	// The cap, revocation by owner, and the owner's deletion.
	var toks []string
	for i := range 2 {
		tk, _, err := s.CreateToken(ctx, "op", "t"+string(rune('0'+i)), RoleReadOnly, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tk)
	}
	if _, _, err := s.CreateToken(ctx, "op", "too many", RoleReadOnly, time.Hour); !errors.Is(err, ErrLimit) {
		t.Errorf("4th token with a cap of 3: %v", err)
	}
	list, _ := s.Tokens(ctx, "op")
	var t0 string
	for _, tk := range list {
		if tk.Name == "t0" {
			t0 = tk.ID
		}
	}
	if len(list) != 3 || t0 == "" {
		t.Fatalf("tokens of op: %+v", list)
	}
	if err := s.DeleteToken(ctx, t0, "boss"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking another owner's token: %v", err)
	}
	if err := s.DeleteToken(ctx, t0, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenIdentity(ctx, toks[0]); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := s.TokenIdentity(ctx, toks[1]); err != nil {
		t.Errorf("other token: %v", err)
	}
	if err := s.DeleteUser(ctx, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenIdentity(ctx, toks[1]); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("token of a deleted user: %v", err)
	}
	if all, _ := s.Tokens(ctx, ""); len(all) != 0 {
		t.Errorf("tokens left after the owner's deletion: %+v", all)
	}
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	s, st, c := newService(t, Config{})
	for i := range 30 {
		actor := []string{"alice", "bob", "carol"}[i%3]
		res := "ok"
		if i%5 == 0 {
			res = "denied"
		}
		if err := s.Audit(ctx, store.AuditEntry{Actor: actor, Via: ViaSession, Method: "POST", Route: "/api/v1/x/:id",
			Target: "t", Status: 200, Result: res, Detail: strings.Repeat("d", 5000)}); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Minute)
	}
	if err := s.Audit(ctx, store.AuditEntry{Actor: "x"}); err == nil {
		t.Error("an entry without via and result was accepted")
	}
	es, total, err := s.AuditLog(ctx, store.AuditFilter{Actor: "bob", Limit: 4})
	if err != nil || total != 10 || len(es) != 4 {
		t.Fatalf("bob: %d of %d, %v", len(es), total, err)
	}
	if !es[0].Time.After(es[1].Time) || es[0].Actor != "bob" || len(es[0].Detail) > store.MaxAuditDetail+4 {
		t.Errorf("entries %+v", es[:2])
	}
	start := newClock().Now()
	es, total, _ = s.AuditLog(ctx, store.AuditFilter{Since: start.Add(10 * time.Minute), Until: start.Add(20 * time.Minute)})
	if total != 10 || len(es) != 10 {
		t.Errorf("time window: %d of %d", len(es), total)
	}
	_, total, _ = s.AuditLog(ctx, store.AuditFilter{Result: "denied"})
	if total != 6 {
		t.Errorf("denied: %d, want 6", total)
	}
	n, err := st.PruneAudit(ctx, 7)
	if err != nil || n != 23 {
		t.Errorf("PruneAudit(7) = %d, %v", n, err)
	}
	es, total, _ = s.AuditLog(ctx, store.AuditFilter{})
	if total != 7 || es[len(es)-1].Time != start.Add(23*time.Minute) {
		t.Errorf("after pruning: %d entries, oldest %v", total, es[len(es)-1].Time)
	}
}

// TestDefaultCost measures a login with the default argon2id costs.
func TestDefaultCost(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t, Config{Argon2: DefaultParams()})
	if _, err := s.CreateUser(ctx, "op", RoleAnalyst, "right-password"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.Login(ctx, "op", "right-password", "", ""); err != nil {
		t.Fatal(err)
	}
	t.Logf("login with argon2id m=19 MiB t=2 p=1: %s", time.Since(start))
}
