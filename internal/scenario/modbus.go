//go:build linux

package scenario

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	goburrow "github.com/goburrow/modbus"
	simonvetter "github.com/simonvetter/modbus"
)

// ModbusPort is the Modbus/TCP port.
const ModbusPort = 502

// Modbus function codes the helpers use.
const (
	FCReadCoils              = 1
	FCReadDiscreteInputs     = 2
	FCReadHoldingRegisters   = 3
	FCReadInputRegisters     = 4
	FCWriteSingleCoil        = 5
	FCWriteSingleRegister    = 6
	FCWriteMultipleCoils     = 15
	FCWriteMultipleRegisters = 16
)

// ModbusOp is one Modbus request.
type ModbusOp struct {
	// FC is the function code.
	FC uint8
	// Address is the first coil or register, Quantity how many (ignored by
	// the single writes).
	Address, Quantity uint16
	// Values are written by the write function codes: register values, or
	// coil states (non-zero is on). Missing values are 0.
	Values []uint16
	// Data is the whole request data after the function code for function
	// codes the helpers do not build (e.g. 8, 43); it needs the raw client
	// (ModbusOps.Raw).
	Data []byte
}

// ModbusOps describe what a client does: Ops in order, the whole list
// Repeat times, one round every Period, over one TCP connection.
type ModbusOps struct {
	// Server is where to connect (default 10.77.0.1:502).
	Server netip.AddrPort
	// From is the client's source address, one of Net.Peers (default
	// 10.77.0.2). Any other address than Net.Peer needs the raw client,
	// which is then used.
	From netip.Addr
	// Raw selects the package's own Modbus/TCP client (a net.Dialer bound
	// to From, framing by hand) instead of goburrow/modbus.
	Raw bool
	// UnitID is the unit identifier (default 1).
	UnitID uint8
	// Ops is one round of requests.
	Ops []ModbusOp
	// Repeat is the number of rounds (default 1).
	Repeat int
	// Period is the time from the start of one round to the next.
	Period time.Duration
	// Timeout bounds the connection and each response (default 1s). A
	// request without a response in time is counted in Timeouts and the
	// client goes on with the next one on the same connection.
	Timeout time.Duration
}

// ModbusResult counts what a client did.
type ModbusResult struct {
	// Requests counts requests sent; Responses those answered normally,
	// Exceptions those answered with an exception, Timeouts those not
	// answered within the timeout.
	Requests, Responses, Exceptions, Timeouts int
	// ByFC counts requests per function code.
	ByFC map[uint8]int
	// Client is "goburrow" or "raw".
	Client string
}

// ModbusPolling is the baseline traffic of a SCADA poller: every period,
// read holding registers 0–9 (FC 3) and coils 0–7 (FC 1); n rounds.
func ModbusPolling(period time.Duration, n int) ModbusOps {
	return ModbusOps{
		Ops: []ModbusOp{
			{FC: FCReadHoldingRegisters, Address: 0, Quantity: 10},
			{FC: FCReadCoils, Address: 0, Quantity: 8},
		},
		Repeat: n,
		Period: period,
	}
}

// ModbusWrites is an operator (or attacker) writing: every period, write
// single register 100 (FC 6) and multiple registers 200–203 (FC 16); n
// rounds. Against a ModbusPolling baseline both function codes and both
// ranges are new.
func ModbusWrites(period time.Duration, n int) ModbusOps {
	return ModbusOps{
		Ops: []ModbusOp{
			{FC: FCWriteSingleRegister, Address: 100, Values: []uint16{1234}},
			{FC: FCWriteMultipleRegisters, Address: 200, Quantity: 4, Values: []uint16{1, 2, 3, 4}},
		},
		Repeat: n,
		Period: period,
	}
}

// ModbusOutOfRange reads holding registers 500–509 (FC 3, learned by
// ModbusPolling, at an address range it never used) every period; n rounds.
func ModbusOutOfRange(period time.Duration, n int) ModbusOps {
	return ModbusOps{
		Ops:    []ModbusOp{{FC: FCReadHoldingRegisters, Address: 500, Quantity: 10}},
		Repeat: n,
		Period: period,
	}
}

// ModbusServerCounts count the requests a ModbusServer handled, by table
// and direction.
type ModbusServerCounts struct {
	ReadCoils, WriteCoils, ReadDiscrete, ReadHolding, WriteHolding, ReadInput int
}

// ModbusServer is a github.com/simonvetter/modbus server on the host end
// serving 65536 coils, discrete inputs, holding and input registers from
// memory (holding register i starts at i, input register i at 1000+i,
// discrete input i is i%2 == 1; writes are stored).
type ModbusServer struct {
	// Addr is where it listens.
	Addr netip.AddrPort
	srv  *simonvetter.ModbusServer
	h    *modbusHandler
	stop sync.Once
}

// ServeModbus starts a Modbus server on 10.77.0.1:502 in the test's
// namespace. It stops with Close or at the end of the test.
func (n *Net) ServeModbus(t testing.TB) *ModbusServer {
	t.Helper()
	addr := netip.AddrPortFrom(n.Host, ModbusPort)
	h := &modbusHandler{coils: make([]bool, 1<<16), regs: make([]uint16, 1<<16)}
	for i := range h.regs {
		h.regs[i] = uint16(i)
	}
	srv, err := simonvetter.NewServer(&simonvetter.ServerConfiguration{
		URL:        "tcp://" + addr.String(),
		Timeout:    30 * time.Second,
		MaxClients: 64,
		Logger:     log.New(io.Discard, "", 0),
	}, h)
	if err != nil {
		t.Fatalf("scenario: modbus server: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("scenario: modbus server on %v: %v", addr, err)
	}
	s := &ModbusServer{Addr: addr, srv: srv, h: h}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and closes its connections.
func (s *ModbusServer) Close() {
	s.stop.Do(func() { _ = s.srv.Stop() })
}

// Counts returns the requests handled so far.
func (s *ModbusServer) Counts() ModbusServerCounts {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.h.counts
}

// modbusHandler implements simonvetter's RequestHandler from memory.
type modbusHandler struct {
	mu     sync.Mutex
	coils  []bool
	regs   []uint16
	counts ModbusServerCounts
}

func (h *modbusHandler) HandleCoils(req *simonvetter.CoilsRequest) ([]bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	end := int(req.Addr) + int(req.Quantity)
	if end > len(h.coils) {
		return nil, simonvetter.ErrIllegalDataAddress
	}
	if req.IsWrite {
		h.counts.WriteCoils++
		copy(h.coils[req.Addr:end], req.Args)
		return nil, nil
	}
	h.counts.ReadCoils++
	return append([]bool(nil), h.coils[req.Addr:end]...), nil
}

func (h *modbusHandler) HandleDiscreteInputs(req *simonvetter.DiscreteInputsRequest) ([]bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts.ReadDiscrete++
	res := make([]bool, req.Quantity)
	for i := range res {
		res[i] = (int(req.Addr)+i)%2 == 1
	}
	return res, nil
}

func (h *modbusHandler) HandleHoldingRegisters(req *simonvetter.HoldingRegistersRequest) ([]uint16, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	end := int(req.Addr) + int(req.Quantity)
	if end > len(h.regs) {
		return nil, simonvetter.ErrIllegalDataAddress
	}
	if req.IsWrite {
		h.counts.WriteHolding++
		copy(h.regs[req.Addr:end], req.Args)
		return nil, nil
	}
	h.counts.ReadHolding++
	return append([]uint16(nil), h.regs[req.Addr:end]...), nil
}

func (h *modbusHandler) HandleInputRegisters(req *simonvetter.InputRegistersRequest) ([]uint16, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts.ReadInput++
	res := make([]uint16, req.Quantity)
	for i := range res {
		res[i] = uint16(1000 + int(req.Addr) + i)
	}
	return res, nil
}

// RunModbus runs a Modbus client inside the namespace: goburrow/modbus
// (NewTCPClientHandler) from 10.77.0.2, or the package's raw client when
// ops.Raw is set or From is another peer address. Exceptions and timeouts
// are counted, not errors; failing to connect, or a write or read error
// other than a timeout, fails the test.
func (n *Net) RunModbus(t testing.TB, ops ModbusOps) ModbusResult {
	t.Helper()
	res, err := n.runModbus(ops)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// runModbus is RunModbus returning its error.
func (n *Net) runModbus(ops ModbusOps) (ModbusResult, error) {
	if !ops.Server.IsValid() {
		ops.Server = netip.AddrPortFrom(n.Host, ModbusPort)
	}
	if !ops.From.IsValid() {
		ops.From = n.Peer
	}
	if ops.UnitID == 0 {
		ops.UnitID = 1
	}
	if ops.Repeat <= 0 {
		ops.Repeat = 1
	}
	if ops.Timeout <= 0 {
		ops.Timeout = time.Second
	}
	if total := len(ops.Ops) * ops.Repeat; total > MaxModbusRequests {
		return ModbusResult{}, fmt.Errorf("scenario: modbus client: %d requests exceed %d", total, MaxModbusRequests)
	}
	known := false
	for _, p := range n.Peers {
		known = known || p == ops.From
	}
	if !known {
		return ModbusResult{}, fmt.Errorf("scenario: modbus client: %v is not a peer address (AddPeer)", ops.From)
	}
	res := ModbusResult{ByFC: map[uint8]int{}}
	var err error
	if ops.Raw || ops.From != n.Peer {
		res.Client = "raw"
		err = n.InNS(func() error { return rawModbus(ops, &res) })
	} else {
		res.Client = "goburrow"
		err = n.InNS(func() error { return goburrowModbus(ops, &res) })
	}
	return res, err
}

// rounds calls round for each round of ops, paced by Period.
func rounds(ops ModbusOps, round func() error) error {
	start := time.Now()
	for r := 0; r < ops.Repeat; r++ {
		if r > 0 && ops.Period > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(r) * ops.Period)))
		}
		if err := round(); err != nil {
			return err
		}
	}
	return nil
}

// goburrowModbus runs ops with goburrow/modbus on the calling thread.
func goburrowModbus(ops ModbusOps, res *ModbusResult) error {
	h := goburrow.NewTCPClientHandler(ops.Server.String())
	h.Timeout = ops.Timeout
	h.IdleTimeout = 0 // no idle timer left behind
	h.SlaveId = ops.UnitID
	if err := h.Connect(); err != nil {
		return fmt.Errorf("scenario: modbus client %v -> %v: %w", ops.From, ops.Server, err)
	}
	defer h.Close()
	c := goburrow.NewClient(h)
	return rounds(ops, func() error {
		for _, op := range ops.Ops {
			var err error
			switch op.FC {
			case FCReadCoils:
				_, err = c.ReadCoils(op.Address, op.Quantity)
			case FCReadDiscreteInputs:
				_, err = c.ReadDiscreteInputs(op.Address, op.Quantity)
			case FCReadHoldingRegisters:
				_, err = c.ReadHoldingRegisters(op.Address, op.Quantity)
			case FCReadInputRegisters:
				_, err = c.ReadInputRegisters(op.Address, op.Quantity)
			case FCWriteSingleCoil:
				v := uint16(0)
				if op.value(0) != 0 {
					v = 0xFF00
				}
				_, err = c.WriteSingleCoil(op.Address, v)
			case FCWriteSingleRegister:
				_, err = c.WriteSingleRegister(op.Address, op.value(0))
			case FCWriteMultipleCoils:
				_, err = c.WriteMultipleCoils(op.Address, op.Quantity, op.coilBytes())
			case FCWriteMultipleRegisters:
				_, err = c.WriteMultipleRegisters(op.Address, op.Quantity, op.registerBytes())
			default:
				return fmt.Errorf("scenario: goburrow client has no function code %d (set Raw)", op.FC)
			}
			res.Requests++
			res.ByFC[op.FC]++
			var mbErr *goburrow.ModbusError
			var netErr net.Error
			switch {
			case err == nil:
				res.Responses++
			case errors.As(err, &mbErr):
				res.Exceptions++
			case errors.As(err, &netErr) && netErr.Timeout():
				res.Timeouts++
			default:
				return fmt.Errorf("scenario: modbus FC %d at %d: %w", op.FC, op.Address, err)
			}
		}
		return nil
	})
}

// value returns Values[i] or 0.
func (op ModbusOp) value(i int) uint16 {
	if i < len(op.Values) {
		return op.Values[i]
	}
	return 0
}

// registerBytes is Quantity values, big-endian.
func (op ModbusOp) registerBytes() []byte {
	b := make([]byte, 2*int(op.Quantity))
	for i := 0; i < int(op.Quantity); i++ {
		binary.BigEndian.PutUint16(b[2*i:], op.value(i))
	}
	return b
}

// coilBytes is Quantity coil states packed LSB first.
func (op ModbusOp) coilBytes() []byte {
	b := make([]byte, (int(op.Quantity)+7)/8)
	for i := 0; i < int(op.Quantity); i++ {
		if op.value(i) != 0 {
			b[i/8] |= 1 << (i % 8)
		}
	}
	return b
}

// requestPDU builds the request data after the function code.
func (op ModbusOp) requestPDU() ([]byte, error) {
	pdu := []byte{op.FC}
	be := binary.BigEndian
	switch op.FC {
	case FCReadCoils, FCReadDiscreteInputs, FCReadHoldingRegisters, FCReadInputRegisters:
		pdu = be.AppendUint16(be.AppendUint16(pdu, op.Address), op.Quantity)
	case FCWriteSingleCoil:
		v := uint16(0)
		if op.value(0) != 0 {
			v = 0xFF00
		}
		pdu = be.AppendUint16(be.AppendUint16(pdu, op.Address), v)
	case FCWriteSingleRegister:
		pdu = be.AppendUint16(be.AppendUint16(pdu, op.Address), op.value(0))
	case FCWriteMultipleCoils:
		b := op.coilBytes()
		pdu = append(be.AppendUint16(be.AppendUint16(pdu, op.Address), op.Quantity), byte(len(b)))
		pdu = append(pdu, b...)
	case FCWriteMultipleRegisters:
		b := op.registerBytes()
		pdu = append(be.AppendUint16(be.AppendUint16(pdu, op.Address), op.Quantity), byte(len(b)))
		pdu = append(pdu, b...)
	default:
		if op.Data == nil {
			return nil, fmt.Errorf("scenario: modbus FC %d needs Data", op.FC)
		}
		pdu = append(pdu, op.Data...)
	}
	if len(pdu) > 253 {
		return nil, fmt.Errorf("scenario: modbus FC %d: PDU of %d bytes exceeds 253", op.FC, len(pdu))
	}
	return pdu, nil
}

// rawModbus runs ops with a hand-framed Modbus/TCP client on a net.Dialer
// bound to ops.From, on the calling thread.
func rawModbus(ops ModbusOps, res *ModbusResult) error {
	d := net.Dialer{Timeout: ops.Timeout, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ops.From, 0))}
	conn, err := d.Dial("tcp", ops.Server.String())
	if err != nil {
		return fmt.Errorf("scenario: modbus client %v -> %v: %w", ops.From, ops.Server, err)
	}
	defer conn.Close()
	var tx uint16
	buf := make([]byte, 260)
	return rounds(ops, func() error {
		for _, op := range ops.Ops {
			pdu, err := op.requestPDU()
			if err != nil {
				return err
			}
			tx++
			adu := make([]byte, 7, 7+len(pdu))
			binary.BigEndian.PutUint16(adu[0:], tx)
			binary.BigEndian.PutUint16(adu[4:], uint16(len(pdu)+1))
			adu[6] = ops.UnitID
			adu = append(adu, pdu...)
			if err := conn.SetDeadline(time.Now().Add(ops.Timeout)); err != nil {
				return fmt.Errorf("scenario: modbus client: %w", err)
			}
			if _, err := conn.Write(adu); err != nil {
				return fmt.Errorf("scenario: modbus FC %d write: %w", op.FC, err)
			}
			res.Requests++
			res.ByFC[op.FC]++
			for {
				fc, rtx, err := readADU(conn, buf)
				var netErr net.Error
				if errors.As(err, &netErr) && netErr.Timeout() {
					res.Timeouts++
					break
				}
				if err != nil {
					return fmt.Errorf("scenario: modbus FC %d read: %w", op.FC, err)
				}
				if rtx != tx {
					continue // a late answer to an earlier request
				}
				if fc&0x80 != 0 {
					res.Exceptions++
				} else {
					res.Responses++
				}
				break
			}
		}
		return nil
	})
}

// readADU reads one Modbus/TCP frame into buf and returns its function
// code and transaction identifier.
func readADU(r io.Reader, buf []byte) (fc uint8, tx uint16, err error) {
	if _, err := io.ReadFull(r, buf[:7]); err != nil {
		return 0, 0, err
	}
	l := int(binary.BigEndian.Uint16(buf[4:]))
	if l < 2 || l > 254 {
		return 0, 0, fmt.Errorf("modbus frame length %d out of range", l)
	}
	if _, err := io.ReadFull(r, buf[7:6+l]); err != nil {
		return 0, 0, err
	}
	return buf[7], binary.BigEndian.Uint16(buf), nil
}
