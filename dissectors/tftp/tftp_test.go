package tftp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Named fixtures.
const (
	rrqConfig     = "0001 636f6e6669672e74787400 6f6374657400"                                                        // RRQ config.txt octet
	wrqFirmware   = "0002 6669726d776172652e62696e00 6f6374657400 626c6b73697a650031303234 00 7473697a65003135303000" // WRQ firmware.bin octet blksize 1024 tsize 1500
	rrqBadMode    = "0001 706c632e63666700 62696e61727900"                                                            // RRQ plc.cfg binary
	rrqNoNul      = "0001 636f6e666967"                                                                               // file name without NUL
	oack          = "0006 626c6b73697a6500 3130323400 7473697a6500 3135303000"                                        // blksize 1024 tsize 1500
	oackBad       = "0006 626c6b73697a6500 3130"                                                                      // value without NUL
	ack0          = "0004 0000"
	ack1          = "0004 0001"
	ackLong       = "0004 0001 00"
	errNotFound   = "0005 0001 46696c65206e6f7420666f756e6400" // File not found
	errBadCode    = "0005 0063 7800"
	errNoNul      = "0005 0002 78"
	shortDataPkt  = "0003 00"
	illegalOpcode = "0009 0001"
	oneByte       = "00"
)

func data(block uint16, n int) []byte {
	return append([]byte{0, OpDATA, byte(block >> 8), byte(block)}, bytes.Repeat([]byte{'x'}, n)...)
}

func TestParseRequest(t *testing.T) {
	var r Request
	ParseRequest(unhex(t, wrqFirmware)[2:], &r)
	if string(r.Filename) != "firmware.bin" || string(r.Mode) != "octet" || !r.ModeOK || r.BlkSize != 1024 ||
		r.TSize != 1500 || !r.HasTSize || r.Bad {
		t.Errorf("WRQ: %+v", r)
	}
	ParseRequest(unhex(t, rrqBadMode)[2:], &r)
	if r.ModeOK || r.Bad || string(r.Filename) != "plc.cfg" {
		t.Errorf("bad mode: %+v", r)
	}
	ParseRequest(unhex(t, rrqNoNul)[2:], &r)
	if !r.Bad {
		t.Errorf("no NUL: %+v", r)
	}
}

func TestProbe(t *testing.T) {
	for name, c := range map[string]struct {
		in   []byte
		want dissect.ProbeResult
	}{
		"rrq":        {unhex(t, rrqConfig), dissect.ProbeYes},
		"wrq":        {unhex(t, wrqFirmware), dissect.ProbeYes},
		"badMode":    {unhex(t, rrqBadMode), dissect.ProbeYes},
		"data1":      {data(1, 512), dissect.ProbeYes},
		"data2":      {data(2, 512), dissect.ProbeNo},
		"ack0":       {unhex(t, ack0), dissect.ProbeYes},
		"ack1":       {unhex(t, ack1), dissect.ProbeYes},
		"ack7":       {unhex(t, "00040007"), dissect.ProbeNo},
		"ackLong":    {unhex(t, ackLong), dissect.ProbeNo},
		"error":      {unhex(t, errNotFound), dissect.ProbeYes},
		"errBadCode": {unhex(t, errBadCode), dissect.ProbeNo},
		"oack":       {unhex(t, oack), dissect.ProbeYes},
		"oackBad":    {unhex(t, oackBad), dissect.ProbeNo},
		"rrqNoNul":   {unhex(t, rrqNoNul), dissect.ProbeNo},
		"illegal":    {unhex(t, illegalOpcode), dissect.ProbeNo},
		"short":      {unhex(t, oneByte), dissect.ProbeNo},
		"dns":        {unhex(t, "12340100000100000000000003777777"), dissect.ProbeNo},
		"binaryName": {unhex(t, "0001 01020300 6f6374657400"), dissect.ProbeNo},
	} {
		if got := Probe(c.in); got != c.want {
			t.Errorf("%s: %d, want %d", name, got, c.want)
		}
	}
}

func TestRequests(t *testing.T) {
	d, rec, ctx := harness(requestFlow())
	d.Feed(ctx, dissect.ToServer, unhex(t, rrqConfig))
	d.Feed(ctx, dissect.ToServer, unhex(t, wrqFirmware))
	d.Feed(ctx, dissect.ToServer, unhex(t, rrqBadMode))
	d.Feed(ctx, dissect.ToServer, unhex(t, rrqNoNul))
	d.Feed(ctx, dissect.ToServer, unhex(t, illegalOpcode))
	d.Feed(ctx, dissect.ToServer, unhex(t, oneByte))
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 3 {
		t.Fatalf("transactions %+v", r.Transactions)
	}
	rrq, wrq := r.Transactions[0], r.Transactions[1]
	if rrq.Op != dissect.OpFile || rrq.Function != OpRRQ || rrq.FuncName != "Read Request" || rrq.Status != dissect.StatusOK ||
		rrq.Requester != dissect.ToServer {
		t.Errorf("RRQ %+v", rrq)
	}
	wantAttrs(t, "RRQ", rrq.Attrs, "filename", "config.txt", "mode", "octet", "write", "")
	wantAttrs(t, "WRQ", wrq.Attrs, "filename", "firmware.bin", "write", "1", "blksize", "1024", "tsize", "1500")
	got := strings.Join(violReasons(r.Violations), "|")
	want := "out_of_spec: " + reasonMode + "|malformed: " + reasonRequest + "|illegal_function: " + reasonOpcode +
		"|malformed: " + reasonShort
	if got != want {
		t.Errorf("violations\n got %s\nwant %s", got, want)
	}
	if len(r.Hints) != 1 || r.Hints[0].Side != dissect.ToClient || r.Hints[0].Role != dissect.RoleServer {
		t.Errorf("hints %+v", r.Hints)
	}
	if r.Fields["tftp_source_file"]["config.txt"] != 1 || r.Fields["tftp_destination_file"]["firmware.bin"] != 1 ||
		r.Fields["tftp_opcode"]["1"] != 3 {
		t.Errorf("fields %v", r.Fields)
	}
}

func TestReadTransfer(t *testing.T) {
	// The server's new port sends DATA first: it is the flow's client.
	d, rec, ctx := harness(dataFlow())
	srv, cl := dissect.ToServer, dissect.ToClient
	d.Feed(ctx, srv, data(1, 512))
	d.Feed(ctx, cl, unhex(t, ack1))
	d.Feed(ctx, srv, data(2, 512))
	d.Feed(ctx, srv, data(2, 512)) // retransmission
	d.Feed(ctx, cl, unhex(t, "00040002"))
	d.Feed(ctx, srv, data(3, 100))
	ctx.Time = t0.Add(1e9)
	d.Feed(ctx, cl, unhex(t, "00040003"))
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 1 || len(r.Violations) != 0 {
		t.Fatalf("transactions %+v violations %v", r.Transactions, violReasons(r.Violations))
	}
	tx := r.Transactions[0]
	if tx.Op != dissect.OpFile || tx.FuncName != "Transfer" || tx.Status != dissect.StatusOK || tx.Requester != cl ||
		!tx.RespTime.Equal(t0.Add(1e9)) || tx.RespBytes != 3*516+104 || tx.ReqBytes != 12 {
		t.Errorf("transfer %+v", tx)
	}
	wantAttrs(t, "read", tx.Attrs, "blocks", "3", "bytes", "1124", "write", "", "complete", "1", "retransmits", "1")
	if len(r.Hints) != 1 || r.Hints[0].Side != srv {
		t.Errorf("hints %+v", r.Hints)
	}
}

func TestWriteTransferWithOptions(t *testing.T) {
	d, rec, ctx := harness(dataFlow())
	srv, cl := dissect.ToServer, dissect.ToClient
	d.Feed(ctx, srv, unhex(t, oack))
	d.Feed(ctx, cl, data(1, 1024))
	d.Feed(ctx, srv, unhex(t, ack1))
	d.Feed(ctx, cl, data(2, 476))
	d.Feed(ctx, srv, unhex(t, "00040002"))
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 1 || len(r.Violations) != 0 {
		t.Fatalf("transactions %+v violations %v", r.Transactions, violReasons(r.Violations))
	}
	wantAttrs(t, "write", r.Transactions[0].Attrs, "blocks", "2", "bytes", "1500", "write", "1", "complete", "1",
		"blksize", "1024", "tsize", "1500")
}

func TestErrors(t *testing.T) {
	// A refused request: a lone exception.
	d, rec, ctx := harness(dataFlow())
	d.Feed(ctx, dissect.ToServer, unhex(t, errNotFound))
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 1 || r.Transactions[0].Status != dissect.StatusException || r.Transactions[0].Code != 1 ||
		r.Transactions[0].CodeName != "File not found" || r.Transactions[0].Function != OpERROR {
		t.Fatalf("error %+v", r.Transactions)
	}
	wantAttrs(t, "error", r.Transactions[0].Attrs, "message", "File not found")
	// An error in the middle of a transfer ends it as an exception.
	d, rec, ctx = harness(dataFlow())
	d.Feed(ctx, dissect.ToServer, data(1, 512))
	d.Feed(ctx, dissect.ToClient, unhex(t, "0005 0003 00"))
	d.End(ctx)
	r = rec.R
	if len(r.Transactions) != 1 || r.Transactions[0].Status != dissect.StatusException || r.Transactions[0].Code != 3 {
		t.Fatalf("aborted transfer %+v", r.Transactions)
	}
	wantAttrs(t, "aborted", r.Transactions[0].Attrs, "blocks", "1", "complete", "")
	// Malformed errors, ACKs, DATA and OACK.
	d, rec, ctx = harness(dataFlow())
	for _, s := range []string{errBadCode, errNoNul, ackLong, shortDataPkt, oackBad, "0005 00"} {
		d.Feed(ctx, dissect.ToServer, unhex(t, s))
	}
	d.Feed(ctx, dissect.ToServer, data(1, 600))
	d.End(ctx)
	got := strings.Join(violReasons(rec.R.Violations), "|")
	want := strings.Join([]string{"out_of_spec: " + reasonErrCode, "malformed: " + reasonErrMsg, "bad_length: " + reasonAckLen,
		"malformed: " + reasonShort, "malformed: " + reasonOption, "malformed: " + reasonShort,
		"bad_length: " + reasonBlockSize}, "|")
	if got != want {
		t.Errorf("violations\n got %s\nwant %s", got, want)
	}
}

func TestReusedPortPair(t *testing.T) {
	d, rec, ctx := harness(dataFlow())
	for i := 0; i < 2; i++ {
		d.Feed(ctx, dissect.ToServer, data(1, 512))
		d.Feed(ctx, dissect.ToServer, data(2, 10))
	}
	d.End(ctx)
	if n := len(rec.R.Transactions); n != 2 {
		t.Errorf("%d transfers, want 2", n)
	}
}
