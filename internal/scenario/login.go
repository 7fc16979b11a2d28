//go:build linux

package scenario

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// LoginProto is a cleartext login protocol with a server in this package.
type LoginProto uint8

// Login protocols.
const (
	// FTP is RFC 959 USER/PASS on port 21.
	FTP LoginProto = iota + 1
	// Telnet is a login(1) dialogue on port 23.
	Telnet
)

// String returns "ftp" or "telnet".
func (p LoginProto) String() string {
	switch p {
	case FTP:
		return "ftp"
	case Telnet:
		return "telnet"
	}
	return fmt.Sprintf("LoginProto(%d)", uint8(p))
}

// Port returns the protocol's well-known port (21, 23; 0 if unknown).
func (p LoginProto) Port() uint16 {
	switch p {
	case FTP:
		return 21
	case Telnet:
		return 23
	}
	return 0
}

// Telnet protocol bytes (RFC 854, 857, 858).
const (
	telnetIAC  = 255
	telnetDONT = 254
	telnetDO   = 253
	telnetWONT = 252
	telnetWILL = 251
	telnetSB   = 250
	telnetSE   = 240
	optEcho    = 1
	optSGA     = 3
)

// telnetMaxTries is how many failed logins the Telnet server allows on one
// connection before it hangs up, as login(1) does.
const telnetMaxTries = 5

// LoginServer is an FTP or Telnet server on the host end that knows no
// valid credentials: every login fails. FTP greets "220 (vsFTPd 3.0.3)",
// answers USER with 331, PASS with "530 Login incorrect.", QUIT with 221.
// Telnet offers WILL ECHO and WILL SUPPRESS-GO-AHEAD, prompts "login: " and
// "Password: ", answers "Login incorrect" and hangs up after 5 failures.
type LoginServer struct {
	// Addr is where it listens.
	Addr netip.AddrPort
	// Proto is the protocol it speaks.
	Proto    LoginProto
	srv      *tcpServer
	mu       sync.Mutex
	failures int
}

// ServeFTP starts the FTP server on 10.77.0.1:21 in the test's namespace.
// It stops with Close or at the end of the test.
func (n *Net) ServeFTP(t testing.TB) *LoginServer {
	t.Helper()
	s := &LoginServer{Addr: netip.AddrPortFrom(n.Host, FTP.Port()), Proto: FTP}
	s.srv = serveTCP(t, s.Addr, s.serveFTP)
	return s
}

// ServeTelnet starts the Telnet server on 10.77.0.1:23 in the test's
// namespace. It stops with Close or at the end of the test.
func (n *Net) ServeTelnet(t testing.TB) *LoginServer {
	t.Helper()
	s := &LoginServer{Addr: netip.AddrPortFrom(n.Host, Telnet.Port()), Proto: Telnet}
	s.srv = serveTCP(t, s.Addr, s.serveTelnet)
	return s
}

// Close stops the server and closes its connections.
func (s *LoginServer) Close() { s.srv.Close() }

// Failures counts the failed logins the server answered.
func (s *LoginServer) Failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures
}

// fail counts one failed login.
func (s *LoginServer) fail() {
	s.mu.Lock()
	s.failures++
	s.mu.Unlock()
}

// serveFTP runs one FTP control connection.
func (s *LoginServer) serveFTP(c net.Conn) {
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "220 (vsFTPd 3.0.3)\r\n"); err != nil {
		return
	}
	user := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cmd, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		var reply string
		switch strings.ToUpper(cmd) {
		case "USER":
			user, reply = true, "331 Please specify the password.\r\n"
		case "PASS":
			if !user {
				reply = "503 Login with USER first.\r\n"
				break
			}
			user, reply = false, "530 Login incorrect.\r\n"
			s.fail()
		case "QUIT":
			_, _ = io.WriteString(c, "221 Goodbye.\r\n")
			return
		default:
			reply = "530 Please login with USER and PASS.\r\n"
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

// serveTelnet runs one Telnet login dialogue.
func (s *LoginServer) serveTelnet(c net.Conn) {
	br := bufio.NewReader(c)
	hello := []byte{telnetIAC, telnetWILL, optEcho, telnetIAC, telnetWILL, optSGA}
	hello = append(hello, "\r\nDebian GNU/Linux 12\r\n\r\nplc-gw login: "...)
	if _, err := c.Write(hello); err != nil {
		return
	}
	for tries := 1; ; tries++ {
		user, err := readTelnetLine(br)
		if err != nil {
			return
		}
		// WILL ECHO: the server echoes what the user types.
		if _, err := io.WriteString(c, user+"\r\nPassword: "); err != nil {
			return
		}
		if _, err := readTelnetLine(br); err != nil {
			return
		}
		s.fail()
		msg := "\r\n\r\nLogin incorrect\r\n"
		if tries < telnetMaxTries {
			msg += "plc-gw login: "
		}
		if _, err := io.WriteString(c, msg); err != nil || tries >= telnetMaxTries {
			return
		}
	}
}

// readTelnetLine reads one line of user input, skipping Telnet commands
// and option negotiation; CR LF, CR NUL and LF end a line.
func readTelnetLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			return "", err
		}
		switch {
		case b == telnetIAC:
			if err := skipTelnetCommand(br); err != nil {
				return "", err
			}
		case b == '\r' || b == '\n':
			if len(line) == 0 {
				continue // the LF or NUL after a CR, or an empty line
			}
			return string(line), nil
		case b == 0:
		default:
			line = append(line, b)
		}
	}
}

// skipTelnetCommand skips the rest of a command after IAC.
func skipTelnetCommand(br *bufio.Reader) error {
	cmd, err := br.ReadByte()
	if err != nil {
		return err
	}
	switch {
	case cmd >= telnetWILL && cmd <= telnetDONT:
		_, err = br.ReadByte()
	case cmd == telnetSB:
		for prev := byte(0); ; {
			b, err := br.ReadByte()
			if err != nil {
				return err
			}
			if prev == telnetIAC && b == telnetSE {
				return nil
			}
			prev = b
		}
	}
	return err
}

// LoginOptions describe a login brute force.
type LoginOptions struct {
	// Proto is FTP or Telnet.
	Proto LoginProto
	// Server is where to connect (default 10.77.0.1 on Proto's port).
	Server netip.AddrPort
	// From is the client's source address, one of Net.Peers (default
	// 10.77.0.2).
	From netip.Addr
	// Attempts is the number of USER/PASS attempts (default 25).
	Attempts int
	// PerConnection is the number of attempts on one connection before the
	// client reconnects (default 5, at most 5 for Telnet).
	PerConnection int
	// User is the user name (default "admin").
	User string
	// Passwords are tried in turn (default a short common-password list).
	Passwords []string
	// Interval is the pause between attempts (default none).
	Interval time.Duration
	// Timeout bounds the connection and each reply (default 2s).
	Timeout time.Duration
}

// LoginResult counts a brute force.
type LoginResult struct {
	// Attempts counts the passwords sent, Rejected the failures the server
	// reported (530, "Login incorrect"), Connections the TCP connections.
	Attempts, Rejected, Connections int
}

// defaultPasswords are tried when LoginOptions.Passwords is empty.
func defaultPasswords() []string {
	return []string{"admin", "password", "123456", "12345678", "root", "plc", "siemens", "schneider", "1234", "qwerty", "letmein", "default"}
}

// FailedLogins runs a login brute force from inside the namespace against
// a LoginServer (ServeFTP or ServeTelnet) and fails the test on a
// connection or protocol error.
func (n *Net) FailedLogins(t testing.TB, opt LoginOptions) LoginResult {
	t.Helper()
	if opt.Proto != FTP && opt.Proto != Telnet {
		t.Fatalf("scenario: failed logins: unknown protocol %v", opt.Proto)
	}
	if !opt.Server.IsValid() {
		opt.Server = netip.AddrPortFrom(n.Host, opt.Proto.Port())
	}
	if !opt.From.IsValid() {
		opt.From = n.Peer
	}
	if opt.Attempts <= 0 {
		opt.Attempts = 25
	}
	if opt.Attempts > MaxLoginAttempts {
		t.Fatalf("scenario: %d login attempts exceed %d", opt.Attempts, MaxLoginAttempts)
	}
	if opt.PerConnection <= 0 {
		opt.PerConnection = 5
	}
	if opt.Proto == Telnet && opt.PerConnection > telnetMaxTries {
		opt.PerConnection = telnetMaxTries
	}
	if opt.User == "" {
		opt.User = "admin"
	}
	if len(opt.Passwords) == 0 {
		opt.Passwords = defaultPasswords()
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 2 * time.Second
	}
	var res LoginResult
	err := n.InNS(func() error {
		d := net.Dialer{Timeout: opt.Timeout, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(opt.From, 0))}
		for res.Attempts < opt.Attempts {
			c, err := d.Dial("tcp", opt.Server.String())
			if err != nil {
				return fmt.Errorf("scenario: %v login %v -> %v: %w", opt.Proto, opt.From, opt.Server, err)
			}
			res.Connections++
			k := min(opt.PerConnection, opt.Attempts-res.Attempts)
			if opt.Proto == FTP {
				err = ftpAttempts(c, opt, k, &res)
			} else {
				err = telnetAttempts(c, opt, k, &res)
			}
			c.Close()
			if err != nil {
				return fmt.Errorf("scenario: %v login %v -> %v: %w", opt.Proto, opt.From, opt.Server, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ftpAttempts makes k USER/PASS attempts on one FTP connection and QUITs.
func ftpAttempts(c net.Conn, opt LoginOptions, k int, res *LoginResult) error {
	br := bufio.NewReader(c)
	expect := func(code string) error {
		_ = c.SetDeadline(time.Now().Add(opt.Timeout))
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return fmt.Errorf("waiting for %s: %w", code, err)
			}
			if len(line) >= 4 && line[3] == '-' {
				continue // multi-line reply
			}
			if !strings.HasPrefix(line, code) {
				return fmt.Errorf("want %s, got %q", code, strings.TrimSpace(line))
			}
			return nil
		}
	}
	send := func(s string) error {
		_ = c.SetDeadline(time.Now().Add(opt.Timeout))
		_, err := io.WriteString(c, s+"\r\n")
		return err
	}
	if err := expect("220"); err != nil {
		return err
	}
	for i := 0; i < k; i++ {
		if i > 0 && opt.Interval > 0 {
			time.Sleep(opt.Interval)
		}
		if err := send("USER " + opt.User); err != nil {
			return err
		}
		if err := expect("331"); err != nil {
			return err
		}
		if err := send("PASS " + opt.Passwords[res.Attempts%len(opt.Passwords)]); err != nil {
			return err
		}
		res.Attempts++
		if err := expect("530"); err != nil {
			return err
		}
		res.Rejected++
	}
	if err := send("QUIT"); err != nil {
		return err
	}
	return expect("221")
}

// telnetConn is the client side of a Telnet connection: it answers the
// server's option offers (DO ECHO and SGA, refusing the rest) and collects
// the text.
type telnetConn struct {
	c    net.Conn
	text []byte
	buf  []byte
}

// expect reads until the text contains want and drops the text up to its
// end.
func (tc *telnetConn) expect(want string, timeout time.Duration) error {
	_ = tc.c.SetDeadline(time.Now().Add(timeout))
	for {
		if i := bytes.Index(tc.text, []byte(want)); i >= 0 {
			tc.text = tc.text[i+len(want):]
			return nil
		}
		k, err := tc.c.Read(tc.buf)
		if err != nil {
			return fmt.Errorf("waiting for %q: %w", want, err)
		}
		if err := tc.absorb(tc.buf[:k]); err != nil {
			return err
		}
	}
}

// absorb takes received bytes: commands are answered, text is kept. A
// command split across reads is good enough to ignore here: the server
// sends its offers in one write.
func (tc *telnetConn) absorb(b []byte) error {
	var reply []byte
	for i := 0; i < len(b); i++ {
		if b[i] != telnetIAC || i+1 >= len(b) {
			tc.text = append(tc.text, b[i])
			continue
		}
		cmd := b[i+1]
		if cmd < telnetWILL || cmd > telnetDONT || i+2 >= len(b) {
			i++
			continue
		}
		opt := b[i+2]
		i += 2
		switch cmd {
		case telnetWILL:
			if opt == optEcho || opt == optSGA {
				reply = append(reply, telnetIAC, telnetDO, opt)
			} else {
				reply = append(reply, telnetIAC, telnetDONT, opt)
			}
		case telnetDO:
			reply = append(reply, telnetIAC, telnetWONT, opt)
		}
	}
	if len(reply) > 0 {
		if _, err := tc.c.Write(reply); err != nil {
			return fmt.Errorf("telnet negotiation: %w", err)
		}
	}
	return nil
}

// telnetAttempts makes k login attempts on one Telnet connection.
func telnetAttempts(c net.Conn, opt LoginOptions, k int, res *LoginResult) error {
	tc := &telnetConn{c: c, buf: make([]byte, 512)}
	for i := 0; i < k; i++ {
		if i > 0 && opt.Interval > 0 {
			time.Sleep(opt.Interval)
		}
		if err := tc.expect("login: ", opt.Timeout); err != nil {
			return err
		}
		if _, err := io.WriteString(c, opt.User+"\r\n"); err != nil {
			return err
		}
		if err := tc.expect("Password: ", opt.Timeout); err != nil {
			return err
		}
		if _, err := io.WriteString(c, opt.Passwords[res.Attempts%len(opt.Passwords)]+"\r\n"); err != nil {
			return err
		}
		res.Attempts++
		if err := tc.expect("Login incorrect", opt.Timeout); err != nil {
			return err
		}
		res.Rejected++
	}
	return nil
}
