package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are OWASP's recommendation for argon2id (19 MiB, 2 passes,
// 1 thread): about 30–60 ms on an x86 core, a few hundred ms on a
// Raspberry Pi.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds of the parameters accepted from an encoded hash, so that a
// crafted hash cannot make a login allocate gigabytes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 128
)

func (p Params) check() error {
	switch {
	case p.Memory < 8*uint32(max(p.Threads, 1)) || p.Memory > maxMemory:
		return fmt.Errorf("argon2id memory %d KiB out of range", p.Memory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("argon2id time %d out of range", p.Time)
	case p.Threads < 1:
		return errors.New("argon2id needs at least one thread")
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("argon2id salt length %d out of range", p.SaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("argon2id key length %d out of range", p.KeyLen)
	}
	return nil
}

var b64 = base64.RawStdEncoding

// HashPassword hashes a password with argon2id and a random salt read from
// rnd, and returns the PHC string
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<hash> (unpadded
// standard base64).
func HashPassword(password string, p Params, rnd io.Reader) (string, error) {
	if err := p.check(); err != nil {
		return "", fmt.Errorf("auth: hashing a password: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return "", fmt.Errorf("auth: hashing a password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// DecodeHash parses a PHC argon2id string into its parameters, salt and
// key.
func DecodeHash(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, errors.New("auth: not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("auth: argon2id version %q not supported", parts[2])
	}
	var p Params
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Params{}, nil, nil, fmt.Errorf("auth: argon2id parameter %q", kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, nil, nil, fmt.Errorf("auth: argon2id parameter %q: %w", kv, err)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, fmt.Errorf("auth: argon2id parameter %q out of range", kv)
			}
			p.Threads = uint8(n)
		default:
			return Params{}, nil, nil, fmt.Errorf("auth: argon2id parameter %q unknown", kv)
		}
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("auth: argon2id salt: %w", err)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("auth: argon2id hash: %w", err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.check(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("auth: %w", err)
	}
	return p, salt, key, nil
}

// VerifyPassword reports whether password matches the encoded hash. The
// comparison takes constant time; an error means the hash is malformed.
func VerifyPassword(password, encoded string) (bool, error) {
	p, salt, key, err := DecodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// GeneratedPasswordLen is the length of GeneratePassword's passwords.
const GeneratedPasswordLen = 24

// passwordAlphabet has no look-alikes (0/O, 1/l/I): 57 symbols, so a
// generated password carries 24 × log2(57) ≈ 140 bits.
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// GeneratePassword returns a random password of GeneratedPasswordLen
// characters drawn uniformly from rnd (crypto/rand.Reader in production).
func GeneratePassword(rnd io.Reader) (string, error) {
	const n = len(passwordAlphabet)
	limit := byte(256 - 256%n) // reject bytes ≥ limit: no modulo bias
	out := make([]byte, 0, GeneratedPasswordLen)
	buf := make([]byte, 32)
	for len(out) < GeneratedPasswordLen {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return "", fmt.Errorf("auth: generating a password: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < GeneratedPasswordLen {
				out = append(out, passwordAlphabet[int(b)%n])
			}
		}
	}
	return string(out), nil
}
