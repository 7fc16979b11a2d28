//go:build linux

package scenario

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// connIdle bounds how long the package's own servers wait for a client.
const connIdle = 30 * time.Second

// tcpServer is a listener in the test's namespace whose connections are
// each served by handle on a goroutine; Close ends them all and waits.
type tcpServer struct {
	ln     net.Listener
	handle func(net.Conn)
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	once   sync.Once
}

// serveTCP listens on addr and serves every connection with handle until
// Close or the end of the test.
func serveTCP(t testing.TB, addr netip.AddrPort, handle func(net.Conn)) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatalf("scenario: listen on %v: %v", addr, err)
	}
	s := &tcpServer{ln: ln, handle: handle, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// accept runs the accept loop.
func (s *tcpServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			_ = c.SetDeadline(time.Now().Add(connIdle))
			s.handle(c)
		}()
	}
}

// Close stops listening, closes every connection and waits for the
// handlers.
func (s *tcpServer) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.ln.Close()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

// SilentModbusServer is a tiny Modbus/TCP responder on the host end that
// answers the first requests and then goes silent: it keeps the TCP
// connections open and reads (so the kernel acknowledges) every further
// request without replying, like a device whose application hung.
type SilentModbusServer struct {
	// Addr is where it listens.
	Addr        netip.AddrPort
	srv         *tcpServer
	answerFirst int
	mu          sync.Mutex
	answered    int
	ignored     int
}

// ServeSilentModbus starts a SilentModbusServer on 10.77.0.1:502 that
// answers the first answerFirst requests (over all connections). It stops
// with Close or at the end of the test.
func (n *Net) ServeSilentModbus(t testing.TB, answerFirst int) *SilentModbusServer {
	t.Helper()
	s := &SilentModbusServer{Addr: netip.AddrPortFrom(n.Host, ModbusPort), answerFirst: answerFirst}
	s.srv = serveTCP(t, s.Addr, s.serve)
	return s
}

// Close stops the server and closes its connections.
func (s *SilentModbusServer) Close() { s.srv.Close() }

// Answered and Ignored count the requests answered and left unanswered.
func (s *SilentModbusServer) Answered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered
}

// Ignored counts the requests left unanswered.
func (s *SilentModbusServer) Ignored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ignored
}

// serve handles one connection.
func (s *SilentModbusServer) serve(c net.Conn) {
	buf := make([]byte, 260)
	for {
		if _, _, err := readADU(c, buf); err != nil {
			return
		}
		l := 6 + int(binary.BigEndian.Uint16(buf[4:]))
		s.mu.Lock()
		answer := s.answered < s.answerFirst
		if answer {
			s.answered++
		} else {
			s.ignored++
		}
		s.mu.Unlock()
		if !answer {
			_ = c.SetDeadline(time.Now().Add(connIdle))
			continue
		}
		resp := modbusResponse(buf[:l])
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// modbusResponse answers a request ADU like a plain device: reads return
// their address pattern, writes are echoed, other function codes get
// exception 1 (illegal function).
func modbusResponse(req []byte) []byte {
	be := binary.BigEndian
	out := append([]byte(nil), req[:7]...)
	pdu := req[7:]
	fc := pdu[0]
	var addr, qty uint16
	if len(pdu) >= 5 {
		addr, qty = be.Uint16(pdu[1:]), be.Uint16(pdu[3:])
	}
	switch {
	case (fc == FCReadCoils || fc == FCReadDiscreteInputs) && len(pdu) >= 5 && qty >= 1 && qty <= 2000:
		n := (int(qty) + 7) / 8
		out = append(out, fc, byte(n))
		for i := 0; i < n; i++ {
			out = append(out, 0x55)
		}
	case (fc == FCReadHoldingRegisters || fc == FCReadInputRegisters) && len(pdu) >= 5 && qty >= 1 && qty <= 125:
		out = append(out, fc, byte(2*qty))
		for i := uint16(0); i < qty; i++ {
			out = be.AppendUint16(out, addr+i)
		}
	case (fc == FCWriteSingleCoil || fc == FCWriteSingleRegister) && len(pdu) >= 5:
		out = append(out, pdu[:5]...)
	case (fc == FCWriteMultipleCoils || fc == FCWriteMultipleRegisters) && len(pdu) >= 5:
		out = append(out, pdu[:5]...)
	default:
		out = append(out, fc|0x80, 1)
	}
	be.PutUint16(out[4:], uint16(len(out)-6))
	return out
}

// readUntil reads from r into acc until acc contains want, with r's
// deadline bounding the wait.
func readUntil(r io.Reader, acc []byte, want string) ([]byte, error) {
	buf := make([]byte, 512)
	for !bytes.Contains(acc, []byte(want)) {
		k, err := r.Read(buf)
		acc = append(acc, buf[:k]...)
		if err != nil {
			return acc, fmt.Errorf("waiting for %q: %w", want, err)
		}
	}
	return acc, nil
}
