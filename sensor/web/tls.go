package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CertInfo describes the server's certificate.
type CertInfo struct {
	// SHA256 is the fingerprint of the leaf certificate (hex), for
	// operators to check what their browser shows.
	SHA256     string
	SelfSigned bool
	// Generated is true when this start generated the self-signed
	// certificate.
	Generated bool
	NotAfter  time.Time
	DNSNames  []string
	IPs       []net.IP
	CertFile  string
	KeyFile   string
}

// Self-signed certificate parameters.
const (
	selfSignedValidity = 10 * 365 * 24 * time.Hour
	// selfSignedRenew regenerates a self-signed certificate this close to
	// its expiry.
	selfSignedRenew = 30 * 24 * time.Hour
)

// tlsConfig is TLS 1.2 or later with forward-secret AEAD suites only.
func tlsConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		CipherSuites: []uint16{ // TLS 1.2; 1.3 suites are not configurable and all good
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
		NextProtos:       []string{"h2", "http/1.1"},
	}
}

func loadTLS(cfg Config, log *slog.Logger) (*tls.Config, CertInfo, error) {
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, CertInfo{}, errors.New("web: set both the certificate and the key file, or neither")
	}
	info := CertInfo{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}
	if cfg.CertFile == "" {
		if cfg.DataDir == "" {
			return nil, CertInfo{}, errors.New("web: need a data directory for the self-signed certificate, or a certificate and key")
		}
		dir := filepath.Join(cfg.DataDir, "tls")
		info = CertInfo{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"), SelfSigned: true}
		gen, err := ensureSelfSigned(dir, info.CertFile, info.KeyFile, cfg.Hosts, cfg.Now())
		if err != nil {
			return nil, CertInfo{}, err
		}
		info.Generated = gen
		if gen {
			log.Info("web: generated a self-signed certificate", "cert", info.CertFile)
		}
	}
	cert, err := tls.LoadX509KeyPair(info.CertFile, info.KeyFile)
	if err != nil {
		return nil, CertInfo{}, fmt.Errorf("web: loading the certificate %s: %w", info.CertFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, CertInfo{}, fmt.Errorf("web: parsing %s: %w", info.CertFile, err)
		}
	}
	sum := sha256.Sum256(leaf.Raw)
	info.SHA256, info.NotAfter, info.DNSNames, info.IPs = hex.EncodeToString(sum[:]), leaf.NotAfter, leaf.DNSNames, leaf.IPAddresses
	if now := cfg.Now(); now.After(leaf.NotAfter) {
		log.Warn("web: the certificate has expired", "cert", info.CertFile, "not_after", leaf.NotAfter)
	}
	return tlsConfig(cert), info, nil
}

// ensureSelfSigned keeps a valid self-signed certificate in certFile and
// keyFile: it reuses the one there unless it is unreadable or about to
// expire, and reports whether it generated one.
func ensureSelfSigned(dir, certFile, keyFile string, hosts []string, now time.Time) (bool, error) {
	if c, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err == nil && now.Add(selfSignedRenew).Before(leaf.NotAfter) {
			return false, nil
		}
	} else if _, serr := os.Stat(certFile); serr == nil {
		// A certificate is there but broken: keep it aside, make a new one.
		_ = os.Rename(certFile, certFile+".broken")
		_ = os.Rename(keyFile, keyFile+".broken")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("web: certificate directory: %w", err)
	}
	certPEM, keyPEM, err := selfSigned(hosts, now)
	if err != nil {
		return false, err
	}
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return false, err
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// selfSigned makes an ECDSA P-256 certificate for the hostname, localhost,
// the loopback addresses and hosts.
func selfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("web: generating a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("web: certificate serial: %w", err)
	}
	hostname, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "OTWatch sensor " + hostname, Organization: []string{"OTWatch"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	seen := map[string]bool{}
	for _, h := range append([]string{hostname, "localhost", "127.0.0.1", "::1"}, hosts...) {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("web: creating the certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("web: encoding the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("web: writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("web: writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("web: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("web: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("web: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("web: writing %s: %w", path, err)
	}
	return nil
}
