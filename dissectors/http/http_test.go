package http

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Fixtures: HTTP/1.1 messages written to RFC 9110/9112.
const (
	getReq = "GET /index.html HTTP/1.1\r\nHost: plc.example\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"
	okResp = "HTTP/1.1 200 OK\r\nServer: Apache/2.4.6 (Fedora)\r\nContent-Length: 5\r\n\r\nhello"
	// postBasic carries credentials that must never leave the dissector.
	postBasic   = "POST /api/setpoint HTTP/1.1\r\nHost: hmi\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nContent-Length: 7\r\n\r\nvalue=1"
	createdResp = "HTTP/1.1 201 Created\r\nServer: lighttpd\r\nContent-Length: 0\r\n\r\n"
	headReq     = "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
	headResp    = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
	chunkedResp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n"
	notFound    = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop"
	continue100 = "HTTP/1.1 100 Continue\r\n\r\n"
	upgradeReq  = "GET /ws HTTP/1.1\r\nHost: 192.168.0.21:8765\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	upgradeResp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	wsFrame     = "\x81\x05hello"
	closeResp   = "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.12.3\r\n\r\n<html>until close"
	putReq      = "PUT /cfg HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	deleteReq   = "DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n"
	badLine     = "get lowercase\r\nHost: a\r\n\r\n"
	badChunk    = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
	badLength   = "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n"
)

func tcpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
		Client: dissect.Endpoint{Port: 50000}, Server: dissect.Endpoint{Port: 80}, Start: t0}
}

type step struct {
	dir dissect.Direction
	s   string
}

func toSrv(s string) step { return step{dissect.ToServer, s} }
func toCli(s string) step { return step{dissect.ToClient, s} }

// run feeds the steps; with split > 0 every chunk is cut into pieces of that
// many bytes.
func run(t testing.TB, split int, steps ...step) *recorder {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	for _, s := range steps {
		ctx.Frame++
		ctx.Time = ctx.Time.Add(time.Millisecond)
		b := []byte(s.s)
		for split > 0 && len(b) > split {
			d.Feed(&ctx, s.dir, b[:split])
			b = b[split:]
		}
		d.Feed(&ctx, s.dir, b)
	}
	d.End(&ctx)
	return rec
}

type wantTx struct {
	fn     string
	op     dissect.Op
	status dissect.Status
	attrs  []string
}

func TestTransactions(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  []wantTx
		viols []string
	}{
		{name: "get", steps: []step{toSrv(getReq), toCli(okResp)},
			want: []wantTx{{"GET", dissect.OpRead, dissect.StatusOK, []string{"status", "200", "host", "plc.example", "uri", "/index.html"}}}},
		{name: "post basic auth", steps: []step{toSrv(postBasic), toCli(createdResp)},
			want: []wantTx{{"POST", dissect.OpWrite, dissect.StatusOK, []string{"basic_auth", "1", "status", "201"}}}},
		{name: "pipelined", steps: []step{toSrv(getReq + headReq + deleteReq), toCli(chunkedResp + headResp + notFound)},
			want: []wantTx{
				{"GET", dissect.OpRead, dissect.StatusOK, []string{"status", "200"}},
				{"HEAD", dissect.OpRead, dissect.StatusOK, []string{"status", "200"}},
				{"DELETE", dissect.OpWrite, dissect.StatusException, []string{"status", "404"}}}},
		{name: "chunked request body", steps: []step{toSrv(putReq + getReq), toCli(createdResp + okResp)},
			want: []wantTx{{"PUT", dissect.OpWrite, dissect.StatusOK, nil}, {"GET", dissect.OpRead, dissect.StatusOK, nil}}},
		{name: "100 continue", steps: []step{toSrv(postBasic), toCli(continue100 + createdResp)},
			want: []wantTx{{"POST", dissect.OpWrite, dissect.StatusOK, []string{"status", "201"}}}},
		{name: "websocket upgrade", steps: []step{toSrv(upgradeReq), toCli(upgradeResp), toSrv(wsFrame), toCli(wsFrame)},
			want: []wantTx{{"GET", dissect.OpRead, dissect.StatusOK, []string{"status", "101"}}}},
		{name: "until close", steps: []step{toSrv(getReq), toCli(closeResp), toCli("HTTP/1.1 200 more body text\r\n\r\n")},
			want: []wantTx{{"GET", dissect.OpRead, dissect.StatusOK, nil}}},
		{name: "unanswered", steps: []step{toSrv(getReq)},
			want: []wantTx{{"GET", dissect.OpRead, dissect.StatusUnmatched, nil}}},
		{name: "orphan", steps: []step{toCli(notFound)},
			want: []wantTx{{"", dissect.OpOther, dissect.StatusOrphan, []string{"status", "404"}}}},
		{name: "bad request line", steps: []step{toSrv(badLine)}, viols: []string{"malformed: invalid request or status line"}},
		{name: "bad chunk", steps: []step{toSrv(getReq), toCli(badChunk)},
			want:  []wantTx{{"GET", dissect.OpRead, dissect.StatusOK, nil}},
			viols: []string{"malformed: invalid chunk size"}},
		{name: "bad length", steps: []step{toSrv(headReq), toCli(badLength)},
			want:  []wantTx{{"HEAD", dissect.OpRead, dissect.StatusOK, nil}},
			viols: []string{"bad_length: invalid Content-Length"}},
	}
	for _, c := range cases {
		for _, split := range []int{0, 1, 7} {
			rec := run(t, split, c.steps...)
			what := c.name + " split " + string(rune('0'+split))
			if got, want := strings.Join(violReasons(rec.R.Violations), "; "), strings.Join(c.viols, "; "); got != want {
				t.Errorf("%s: violations %q, want %q", what, got, want)
			}
			if len(rec.R.Transactions) != len(c.want) {
				t.Errorf("%s: %d transactions, want %d", what, len(rec.R.Transactions), len(c.want))
				continue
			}
			for i, w := range c.want {
				tx := rec.R.Transactions[i]
				if tx.FuncName != w.fn || tx.Op != w.op || tx.Status != w.status {
					t.Errorf("%s #%d: %q %v %v, want %q %v %v", what, i, tx.FuncName, tx.Op, tx.Status, w.fn, w.op, w.status)
				}
				wantAttrs(t, what, tx.Attrs, w.attrs...)
				for _, a := range tx.Attrs {
					if a.IsStr && strings.Contains(string(a.Str), "YWRtaW46") {
						t.Errorf("%s: credentials leaked in %s", what, a.Key)
					}
				}
			}
		}
	}
}

func TestFieldsAndHints(t *testing.T) {
	rec := run(t, 0, toSrv(getReq+getReq), toCli(okResp+okResp))
	if rec.R.Fields["http_host"]["plc.example"] != 2 || rec.R.Fields["http_user_agent"]["curl/8.0"] != 2 ||
		rec.R.Fields["http_server"]["Apache/2.4.6 (Fedora)"] != 2 {
		t.Errorf("fields %v", rec.R.Fields)
	}
	if len(rec.R.Hints) != 3 {
		t.Fatalf("%d hints, want 3 (host, client, server)", len(rec.R.Hints))
	}
	host, c, s := rec.R.Hints[0], rec.R.Hints[1], rec.R.Hints[2]
	if host.Side != dissect.ToClient || attr(host.Extra, "http_host") != "plc.example" {
		t.Errorf("host hint %+v: the Host header names the server", host)
	}
	if c.Side != dissect.ToServer || c.Role != dissect.RoleClient || attr(c.Extra, "user_agent") != "curl/8.0" {
		t.Errorf("client hint %+v", c)
	}
	if s.Side != dissect.ToClient || s.Role != dissect.RoleServer || s.Model != "Apache/2.4.6 (Fedora)" || s.OS != "Fedora" {
		t.Errorf("server hint %+v", s)
	}
}

func TestHeadTooLarge(t *testing.T) {
	big := "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", MaxHeader) + "\r\n\r\n"
	rec := run(t, 1000, toSrv(big), toSrv(getReq))
	if got := strings.Join(violReasons(rec.R.Violations), "; "); got != "out_of_spec: message head larger than 16 KiB" {
		t.Errorf("violations %q", got)
	}
	// The next request resynchronises the stream.
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].FuncName != "GET" {
		t.Errorf("%d transactions after resync", len(rec.R.Transactions))
	}
}

func TestGapResync(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	d.Feed(&ctx, dissect.ToServer, []byte(getReq[:20]))
	d.Gap(&ctx, dissect.ToServer, 100)
	d.Feed(&ctx, dissect.ToServer, []byte("tail of something\r\n\r\n"))
	d.Feed(&ctx, dissect.ToServer, []byte(headReq))
	d.Feed(&ctx, dissect.ToClient, []byte(headResp))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].FuncName != "HEAD" || rec.R.Transactions[0].Status != dissect.StatusOK || len(rec.R.Violations) != 0 {
		t.Errorf("tx %+v viols %v", rec.R.Transactions, violReasons(rec.R.Violations))
	}
}

func TestTimeout(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	d.Feed(&ctx, dissect.ToServer, []byte(getReq))
	ctx.Time = t0.Add(Timeout)
	d.Feed(&ctx, dissect.ToServer, []byte(headReq))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusUnmatched || rec.R.Transactions[0].FuncName != "GET" {
		t.Errorf("%+v", rec.R.Transactions)
	}
}

func TestProbe(t *testing.T) {
	for s, want := range map[string]dissect.ProbeResult{
		getReq: dissect.ProbeYes, okResp: dissect.ProbeYes, "GE": dissect.ProbeNeedMore,
		"GET /a": dissect.ProbeNeedMore, "GET /a HTTP/1.": dissect.ProbeNeedMore, "OPTIONS\r\n": dissect.ProbeYes, "GET /HTTP/1.1\r\n": dissect.ProbeYes, "HTTP/1.1 20": dissect.ProbeNeedMore,
		"HTTP/1.1 200\r\n": dissect.ProbeYes, "GET / HTTP/2.0\r\n": dissect.ProbeNo, "FOO / HTTP/1.1\r\n": dissect.ProbeNo,
		"\x16\x03\x01\x02\x00": dissect.ProbeNo, "SSH-2.0-OpenSSH\r\n": dissect.ProbeNo, "HTTP/1.1 abc\r\n": dissect.ProbeNo,
		"GETX /\r\n": dissect.ProbeNo, "get / HTTP/1.1\r\n": dissect.ProbeNo, "M-SEARCH * HTTP/1.1\r\n": dissect.ProbeYes,
	} {
		if got := Probe([]byte(s)); got != want {
			t.Errorf("Probe(%q) = %v, want %v", s, got, want)
		}
	}
}
