package tls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Fixtures from pcaps/tls/ecdhe.pcap: the client's hello, the server's
// hello record, and the client's key exchange + ChangeCipherSpec + encrypted
// Finished flight.
const (
	ecdheClientHello  = "160301009f0100009b0303ef18769dd170a048a025925479f1a573610851d30a1f3e7267836932797def95000004c01400ff020100006d000b000403000102000a00340032000e000d0019000b000c00180009000a00160017000800060007001400150004000500120013000100020003000f0010001100230000000d0020001e060106020603050105020503040104020403030103020303020102020203000f000101"
	ecdheServerHello  = "160303003d020000390303535bdbf95cb1fbd2e5c1f3605984d826eca11a8562b3c36d1f70fa44ba2f723c00c014000011ff01000100000b00040300010200230000"
	ecdheClientFinish = "1603030046100000424104a92b630b25f4404c632dcf9cf454d1cf685a95f4d7c34e1bed244d1051c6bf9fda52edd0c840620b6ddf7941f9ee8a2684eec11a5a2131a0a3389d1e491224721403030001011603030040fb5478ba05853d27d48ab525ac15733b4f7305facb38ad78479bfe2c97f6b4b3b89d11abbf776ca47f8a2496361d71ebb3c331f8b96a3e84d241a27564eb1b60"
	// heartbleedReq claims a 16384-byte payload in a 3-byte heartbeat.
	heartbleedReq = "1803020003014000"
	// heartbeatOK carries its 2-byte payload and 16 bytes of padding.
	heartbeatOK = "1803030015010002abcd00000000000000000000000000000000"
	fatalAlert  = "15030300020228"
	warnAlert   = "15030300020100"
	notTLS      = "474554202f20485454502f312e310d0a0d0a"
	badHello    = "16030300050100000103"
)

func tcpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
		Client: dissect.Endpoint{Port: 50000}, Server: dissect.Endpoint{Port: 443}, Start: t0}
}

type step struct {
	dir dissect.Direction
	b   []byte
}

func toSrv(b []byte) step { return step{dissect.ToServer, b} }
func toCli(b []byte) step { return step{dissect.ToClient, b} }

func run(t testing.TB, split int, steps ...step) *recorder {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	for _, s := range steps {
		ctx.Frame++
		ctx.Time = ctx.Time.Add(time.Millisecond)
		b := s.b
		for split > 0 && len(b) > split {
			d.Feed(&ctx, s.dir, b[:split])
			b = b[split:]
		}
		d.Feed(&ctx, s.dir, b)
	}
	d.End(&ctx)
	return rec
}

// Builders for hellos the captures lack.
func u16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }

func ext(typ int, body []byte) []byte { return append(append(u16(typ), u16(len(body))...), body...) }

func record(typ byte, body []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
}

func handshakeMsg(typ byte, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// greaseHello is a TLS 1.3 ClientHello with GREASE values in the cipher
// suites, extensions, groups and versions, SNI, ALPN h2 and sigalgs.
func greaseHello() []byte {
	var b []byte
	b = append(b, 3, 3)
	b = append(b, make([]byte, 32)...)
	b = append(b, 0)
	ciphers := []int{0x0a0a, 0x1301, 0x1302, 0xc02b}
	b = append(b, u16(2*len(ciphers))...)
	for _, c := range ciphers {
		b = append(b, u16(c)...)
	}
	b = append(b, 1, 0)
	name := []byte("plc-07.plant.example")
	sni := append(append(u16(len(name)+3), 0), append(u16(len(name)), name...)...)
	var exts []byte
	exts = append(exts, ext(0x1a1a, nil)...)
	exts = append(exts, ext(0, sni)...)
	exts = append(exts, ext(10, []byte{0, 6, 0x2a, 0x2a, 0, 0x1d, 0, 0x17})...)
	exts = append(exts, ext(11, []byte{1, 0})...)
	exts = append(exts, ext(13, []byte{0, 4, 4, 3, 8, 4})...)
	exts = append(exts, ext(16, []byte{0, 3, 2, 'h', '2'})...)
	exts = append(exts, ext(43, []byte{4, 0x3a, 0x3a, 3, 4})...)
	b = append(b, u16(len(exts))...)
	b = append(b, exts...)
	return record(22, handshakeMsg(1, b))
}

func TestGreaseHello(t *testing.T) {
	rec := run(t, 0, toSrv(greaseHello()))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusUnmatched {
		t.Fatalf("%+v", rec.R.Transactions)
	}
	// JA3 string without GREASE: 771,4865-4866-49195,0-10-11-13-16-43,29-23,0
	ja3 := attr(rec.R.Transactions[0].Attrs, "ja3")
	if got := md5hex("771,4865-4866-49195,0-10-11-13-16-43,29-23,0"); ja3 != got {
		t.Errorf("ja3 %s, want md5 of the GREASE-free string %s", ja3, got)
	}
	wantAttrs(t, "hello", rec.R.Transactions[0].Attrs, "sni", "plc-07.plant.example", "alpn", "h2", "client_version", "772")
	ja4 := attr(rec.R.Transactions[0].Attrs, "ja4")
	wantA := "t13d0306h2_"
	if !strings.HasPrefix(ja4, wantA) || len(ja4) != 36 {
		t.Errorf("ja4 %q, want prefix %q", ja4, wantA)
	}
	if b := sha12("1301,1302,c02b"); ja4[11:23] != b {
		t.Errorf("ja4 b %s, want %s", ja4[11:23], b)
	}
	if c := sha12("000a,000b,000d,002b_0403,0804"); ja4[24:] != c {
		t.Errorf("ja4 c %s, want %s", ja4[24:], c)
	}
	if rec.R.Fields["tls_sni"]["plc-07.plant.example"] != 1 || rec.R.Fields["tls_ja3"][ja3] != 1 {
		t.Errorf("fields %v", rec.R.Fields)
	}
}

func TestHandshake(t *testing.T) {
	for _, split := range []int{0, 1, 13} {
		rec := run(t, split, toSrv(unhex(t, ecdheClientHello)), toCli(unhex(t, ecdheServerHello)),
			toSrv(unhex(t, ecdheClientFinish)))
		if len(rec.R.Transactions) != 1 || len(rec.R.Violations) != 0 {
			t.Fatalf("split %d: %d tx, violations %v", split, len(rec.R.Transactions), violReasons(rec.R.Violations))
		}
		tx := rec.R.Transactions[0]
		if tx.Op != dissect.OpSession || tx.Status != dissect.StatusOK || tx.FuncName != "handshake" {
			t.Errorf("tx %v %v %q", tx.Op, tx.Status, tx.FuncName)
		}
		wantAttrs(t, "handshake", tx.Attrs, "client_version", "771", "version", "771", "cipher", "49172",
			"ja3", "29d8afc9e0a4d38d138ec2643966815f")
		if rec.R.Fields["tls_ja3"]["29d8afc9e0a4d38d138ec2643966815f"] != 1 {
			t.Errorf("fields %v", rec.R.Fields)
		}
		if len(rec.R.Hints) != 1 || rec.R.Hints[0].Role != dissect.RoleClient {
			t.Errorf("hints %+v", rec.R.Hints)
		}
	}
}

// TestHelloAcrossRecords splits one ClientHello message over two records.
func TestHelloAcrossRecords(t *testing.T) {
	msg := unhex(t, ecdheClientHello)[5:]
	b := append(record(22, msg[:40]), record(22, msg[40:])...)
	rec := run(t, 0, toSrv(b))
	if len(rec.R.Transactions) != 1 || attr(rec.R.Transactions[0].Attrs, "ja3") != "29d8afc9e0a4d38d138ec2643966815f" {
		t.Errorf("%+v", rec.R.Transactions)
	}
}

func TestOrphanServerHello(t *testing.T) {
	rec := run(t, 0, toCli(unhex(t, ecdheServerHello)))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusOrphan {
		t.Errorf("%+v", rec.R.Transactions)
	}
}

func TestRecords(t *testing.T) {
	for _, c := range []struct {
		name, hex string
		dir       dissect.Direction
		viols     string
		tx        string
	}{
		{"heartbleed", heartbleedReq, dissect.ToServer, "bad_length: heartbeat payload length exceeds the record (Heartbleed)", ""},
		{"heartbeat", heartbeatOK, dissect.ToServer, "", ""},
		{"fatal alert", fatalAlert, dissect.ToClient, "", "fatal alert/handshake_failure"},
		{"warning alert", warnAlert, dissect.ToClient, "", ""},
		{"not tls", notTLS, dissect.ToServer, "malformed: not a TLS record", ""},
		{"bad hello", badHello, dissect.ToServer, "malformed: malformed ClientHello", ""},
	} {
		rec := run(t, 0, step{c.dir, unhex(t, c.hex)})
		if got := strings.Join(violReasons(rec.R.Violations), "; "); got != c.viols {
			t.Errorf("%s: violations %q, want %q", c.name, got, c.viols)
		}
		var got string
		if len(rec.R.Transactions) > 0 {
			got = rec.R.Transactions[0].FuncName + "/" + rec.R.Transactions[0].CodeName
			if rec.R.Transactions[0].Status != dissect.StatusException {
				t.Errorf("%s: status %v", c.name, rec.R.Transactions[0].Status)
			}
		}
		if got != c.tx {
			t.Errorf("%s: tx %q, want %q", c.name, got, c.tx)
		}
	}
}

// TestEncryptedAfterCCS checks that handshake records after a
// ChangeCipherSpec are not parsed (they would be garbage).
func TestEncryptedAfterCCS(t *testing.T) {
	garbage := record(22, handshakeMsg(1, []byte{1, 2, 3}))
	rec := run(t, 0, toSrv(append(record(20, []byte{1}), garbage...)))
	if len(rec.R.Violations) != 0 || len(rec.R.Transactions) != 0 {
		t.Errorf("tx %d violations %v", len(rec.R.Transactions), violReasons(rec.R.Violations))
	}
}

func TestCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7),
		Subject:   pkix.Name{CommonName: "plc-01.local", Organization: []string{"Plant"}},
		NotBefore: time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	list := append([]byte{byte(len(der) >> 16), byte(len(der) >> 8), byte(len(der))}, der...)
	body := append([]byte{byte(len(list) >> 16), byte(len(list) >> 8), byte(len(list))}, list...)
	msg := handshakeMsg(11, body)
	// The certificate spans two records, as large chains do.
	b := append(unhex(t, ecdheServerHello), append(record(22, msg[:100]), record(22, msg[100:])...)...)
	rec := run(t, 0, toSrv(unhex(t, ecdheClientHello)), toCli(b))
	if len(rec.R.Violations) != 0 {
		t.Fatalf("violations %v", violReasons(rec.R.Violations))
	}
	var h *dissect.AssetHint
	for i := range rec.R.Hints {
		if rec.R.Hints[i].Role == dissect.RoleServer {
			h = &rec.R.Hints[i]
		}
	}
	if h == nil {
		t.Fatalf("no server hint in %+v", rec.R.Hints)
	}
	if h.Name != "plc-01.local" || h.Side != dissect.ToClient {
		t.Errorf("hint %+v", h)
	}
	wantAttrs(t, "cert", h.Extra, "cert_subject_cn", "plc-01.local", "cert_issuer_cn", "plc-01.local",
		"cert_not_before", "2020-01-02", "cert_not_after", "2025-06-30", "cert_expired", "1", "cert_self_issued", "1")
	// The same certificate sent by the client (mutual TLS) describes the client.
	rec = run(t, 0, toSrv(append(unhex(t, ecdheClientHello), record(22, msg)...)))
	if len(rec.R.Hints) != 2 || rec.R.Hints[1].Role != dissect.RoleClient || rec.R.Hints[1].Name != "plc-01.local" {
		t.Errorf("client certificate hints %+v", rec.R.Hints)
	}
}

func TestProbe(t *testing.T) {
	for h, want := range map[string]dissect.ProbeResult{ecdheClientHello: dissect.ProbeYes,
		ecdheServerHello: dissect.ProbeYes, "1603": dissect.ProbeNeedMore, "17030300": dissect.ProbeNo,
		notTLS: dissect.ProbeNo, fatalAlert: dissect.ProbeNo, "160305000401": dissect.ProbeNo,
		"16030100040b": dissect.ProbeNo} {
		if got := Probe(unhex(t, h)); got != want {
			t.Errorf("Probe(%s) = %v, want %v", h, got, want)
		}
	}
}

func TestTimeout(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	d.Feed(&ctx, dissect.ToServer, unhex(t, ecdheClientHello))
	ctx.Time = t0.Add(Timeout)
	d.Feed(&ctx, dissect.ToClient, unhex(t, ecdheServerHello))
	if len(rec.R.Transactions) != 2 || rec.R.Transactions[0].Status != dissect.StatusUnmatched || rec.R.Transactions[1].Status != dissect.StatusOrphan {
		t.Errorf("%+v", rec.R.Transactions)
	}
}

func md5hex(s string) string {
	sum := md5sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sha12(s string) string { return string(appendHash12(nil, []byte(s))) }

func md5sum(b []byte) [16]byte { return md5.Sum(b) }
