package ssh

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Fixtures: identification lines and packets built to RFC 4253.
const (
	serverBanner = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n"
	clientBanner = "SSH-2.0-OpenSSH_9.6\r\n"
	dropbear     = "SSH-2.0-dropbear_2012.55\r\n"
	ssh1Banner   = "SSH-1.5-Cisco-1.25\r\n"
	preBanner    = "Welcome to the plant jump host\r\nAuthorised use only\r\n"
	newKeys      = "0000000c0a1500000000000000000000" // NEWKEYS with 10 bytes of padding
	badLength    = "00ffffff0a1400"
	badPadding   = "000000050a14000000"
)

func tcpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
		Client: dissect.Endpoint{Port: 51000}, Server: dissect.Endpoint{Port: 22}, Start: t0}
}

func namelist(s string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(s)))
	return append(b, s...)
}

func binpkt(payload []byte) []byte {
	pad := 8 - (len(payload)+5)%8
	if pad < 4 {
		pad += 8
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(len(payload)+pad+1))
	b = append(b, byte(pad))
	b = append(b, payload...)
	return append(b, make([]byte, pad)...)
}

// kexInit builds a KEXINIT with the same lists both ways.
func kexInit(kex, hostKey, enc, mac string) []byte {
	p := append([]byte{msgKexInit}, make([]byte, 16)...)
	for _, l := range []string{kex, hostKey, enc, enc, mac, mac, "none,zlib@openssh.com", "none,zlib@openssh.com", "", ""} {
		p = append(p, namelist(l)...)
	}
	return binpkt(append(p, 0, 0, 0, 0, 0))
}

var (
	modernKex = kexInit("curve25519-sha256,ecdh-sha2-nistp256", "ssh-ed25519,rsa-sha2-512",
		"chacha20-poly1305@openssh.com,aes128-ctr", "hmac-sha2-256-etm@openssh.com")
	oldKex = kexInit("diffie-hellman-group1-sha1,diffie-hellman-group14-sha1", "ssh-rsa,ssh-dss",
		"aes128-cbc,3des-cbc", "hmac-sha1,hmac-md5")
)

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

func TestSession(t *testing.T) {
	for _, split := range []int{0, 1, 5} {
		rec := run(t, split, toCli([]byte(serverBanner)), toSrv([]byte(clientBanner)), toSrv(modernKex),
			toCli(modernKex), toSrv(unhex(t, newKeys)), toCli(unhex(t, newKeys)),
			toSrv([]byte("\x00\x00\xff\xffencrypted junk that must be ignored")))
		if len(rec.R.Violations) != 0 {
			t.Errorf("split %d: violations %v", split, violReasons(rec.R.Violations))
		}
		if len(rec.R.Transactions) != 2 {
			t.Fatalf("split %d: %d transactions", split, len(rec.R.Transactions))
		}
		id, kex := rec.R.Transactions[0], rec.R.Transactions[1]
		if id.FuncName != "identification" || id.Op != dissect.OpSession || id.Status != dissect.StatusOK {
			t.Errorf("identification tx %+v", id)
		}
		wantAttrs(t, "identification", id.Attrs, "client_banner", "SSH-2.0-OpenSSH_9.6",
			"server_banner", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6")
		// tshark's ssh.kex.hassh and ssh.kex.hasshserver for these lists.
		wantAttrs(t, "kexinit", kex.Attrs, "hassh", "b95420342e1d925aace963ec5a47822c",
			"hassh_server", "b95420342e1d925aace963ec5a47822c", "client_weak_algorithms", "", "server_weak_algorithms", "")
		if len(rec.R.Hints) != 2 {
			t.Fatalf("%d hints", len(rec.R.Hints))
		}
		srv := rec.R.Hints[0]
		if srv.Role != dissect.RoleServer || srv.OS != "Ubuntu Linux" || srv.Side != dissect.ToClient ||
			attr(srv.Extra, "ssh_software") != "OpenSSH_8.9p1" || attr(srv.Extra, "ssh_comment") != "Ubuntu-3ubuntu0.6" {
			t.Errorf("server hint %+v", srv)
		}
		if cl := rec.R.Hints[1]; cl.Role != dissect.RoleClient || attr(cl.Extra, "ssh_software") != "OpenSSH_9.6" {
			t.Errorf("client hint %+v", cl)
		}
		if rec.R.Fields["ssh_banner"]["SSH-2.0-OpenSSH_9.6"] != 1 || len(rec.R.Fields["ssh_banner"]) != 2 {
			t.Errorf("fields %v", rec.R.Fields)
		}
	}
}

func TestWeakAlgorithms(t *testing.T) {
	rec := run(t, 0, toCli([]byte(dropbear)), toSrv([]byte("SSH-2.0-libssh_0.9.6\r\n")), toSrv(oldKex), toCli(oldKex))
	if len(rec.R.Transactions) != 2 {
		t.Fatalf("%d transactions", len(rec.R.Transactions))
	}
	wantAttrs(t, "kexinit", rec.R.Transactions[1].Attrs, "hassh", "b467241f66c658d797ac42ad51b28b35",
		"client_weak_algorithms", "1", "server_weak_algorithms", "1")
	if rec.R.Hints[0].OS != "embedded Linux" {
		t.Errorf("dropbear hint %+v", rec.R.Hints[0])
	}
}

func TestViolations(t *testing.T) {
	for _, c := range []struct {
		name  string
		steps []step
		want  string
	}{
		{"ssh1", []step{toCli([]byte(ssh1Banner))}, "out_of_spec: SSH protocol version 1 (obsolete and insecure)"},
		{"client not ssh", []step{toSrv([]byte("GET / HTTP/1.1\r\n"))}, "malformed: identification line does not start with SSH-"},
		{"long banner", []step{toCli([]byte("SSH-2.0-" + strings.Repeat("x", 300) + "\r\n"))},
			"out_of_spec: identification line longer than 255 bytes"},
		{"bad length", []step{toCli([]byte(serverBanner)), toCli(unhex(t, badLength))}, "bad_length: binary packet length out of range"},
		{"bad padding", []step{toCli([]byte(serverBanner)), toCli(unhex(t, badPadding))}, "malformed: padding longer than the packet"},
		{"kexinit cut", []step{toCli([]byte(serverBanner)), toCli(binpkt([]byte{msgKexInit, 1, 2}))}, "malformed: KEXINIT cut short"},
		{"version 3", []step{toCli([]byte("SSH-3.0-x\r\n"))}, "out_of_spec: unknown SSH protocol version"},
	} {
		rec := run(t, 0, c.steps...)
		if got := strings.Join(violReasons(rec.R.Violations), "; "); got != c.want {
			t.Errorf("%s: violations %q, want %q", c.name, got, c.want)
		}
	}
}

// TestPreBannerLines checks that a server may send lines before its
// identification (RFC 4253 §4.2).
func TestPreBannerLines(t *testing.T) {
	rec := run(t, 3, toCli([]byte(preBanner+serverBanner)))
	if len(rec.R.Violations) != 0 || rec.R.Fields["ssh_banner"]["SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6"] != 1 {
		t.Errorf("violations %v fields %v", violReasons(rec.R.Violations), rec.R.Fields)
	}
	// One side only: the session is flushed at End as an orphan.
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusOrphan {
		t.Errorf("%+v", rec.R.Transactions)
	}
}

func TestProbe(t *testing.T) {
	for s, want := range map[string]dissect.ProbeResult{serverBanner: dissect.ProbeYes, ssh1Banner: dissect.ProbeYes,
		"SSH": dissect.ProbeNeedMore, "SSH-2": dissect.ProbeNeedMore, "SSH-3.0-x": dissect.ProbeNo,
		"GET / HTTP/1.1": dissect.ProbeNo, "": dissect.ProbeNeedMore} {
		if got := Probe([]byte(s)); got != want {
			t.Errorf("Probe(%q) = %v, want %v", s, got, want)
		}
	}
}
