package syslog

import (
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Named fixtures (RFC 3164 §5.4 and RFC 5424 §6.5 examples among them).
const (
	bsdSu         = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"
	bsdIPHost     = "<13>Feb  5 17:32:18 10.0.0.99 myproc[8710]: %% It's time to make the do-nuts."
	bsdNoHost     = "<78>Jan  2 03:04:05 cron[99]: (root) CMD (run-parts)"
	bsdNoHeader   = "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!"
	bsdISOTime    = "<30>2026-01-02T03:04:05+01:00 fw-1 dnsmasq[12]: query A example.com"
	rfc5424SD     = `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry`
	rfc5424TwoSD  = `<190>1 2026-01-02T03:04:05Z plc-gw01 - - - [origin ip="10.0.0.5"][meta x="a\]b"] boot complete`
	rfc5424Nil    = "<86>1 - - sshd 123 - - Accepted publickey for root"
	rfc5424NoMsg  = "<14>1 - host app - - -"
	rfc5424V2     = "<14>2 - host app - - - msg"
	rfc5424BadSD  = `<14>1 - host app - - [open="x" msg`
	badPRILetter  = "<1a>bad priority"
	badPRIZero    = "<013>Oct 11 22:14:15 host app: leading zero"
	badPRIRange   = "<200>1 - - - - - - out of range"
	badPRIMissing = "no priority at all"
	badPRIOpen    = "<134"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in                     string
		pri                          uint16
		format                       uint16
		ts, host, app, procid, msgid string
		sd                           int
		sdBad                        bool
		msgPrefix                    string
	}{
		{"bsdSu", bsdSu, 34, 3164, "Oct 11 22:14:15", "mymachine", "su", "", "", 0, false, "'su root'"},
		{"bsdIPHost", bsdIPHost, 13, 3164, "Feb  5 17:32:18", "10.0.0.99", "myproc", "8710", "", 0, false, "%% It's"},
		{"bsdNoHost", bsdNoHost, 78, 3164, "Jan  2 03:04:05", "", "cron", "99", "", 0, false, "(root)"},
		{"bsdNoHeader", bsdNoHeader, 0, 3164, "", "", "", "", "", 0, false, "1990 Oct"},
		{"bsdISOTime", bsdISOTime, 30, 3164, "2026-01-02T03:04:05+01:00", "fw-1", "dnsmasq", "12", "", 0, false, "query"},
		{"rfc5424SD", rfc5424SD, 165, 5424, "2003-10-11T22:14:15.003Z", "mymachine.example.com", "evntslog", "", "ID47", 1, false, "An application"},
		{"rfc5424TwoSD", rfc5424TwoSD, 190, 5424, "2026-01-02T03:04:05Z", "plc-gw01", "", "", "", 2, false, "boot complete"},
		{"rfc5424Nil", rfc5424Nil, 86, 5424, "", "", "sshd", "123", "", 0, false, "Accepted"},
		{"rfc5424NoMsg", rfc5424NoMsg, 14, 5424, "", "host", "app", "", "", 0, false, ""},
		{"rfc5424BadSD", rfc5424BadSD, 14, 5424, "", "host", "app", "", "", 0, true, ""},
	}
	for _, tc := range tests {
		var m Message
		if st := Parse([]byte(tc.in), &m); st != priOK {
			t.Errorf("%s: status %d", tc.name, st)
			continue
		}
		if m.PRI != tc.pri || m.Format != tc.format || string(m.Timestamp) != tc.ts || string(m.Hostname) != tc.host ||
			string(m.AppName) != tc.app || string(m.ProcID) != tc.procid || string(m.MsgID) != tc.msgid ||
			m.SDElements != tc.sd || m.SDBad != tc.sdBad || !strings.HasPrefix(string(m.Msg), tc.msgPrefix) {
			t.Errorf("%s: %+v (msg %q)", tc.name, m, m.Msg)
		}
		if m.Facility != uint8(tc.pri>>3) || m.Severity != uint8(tc.pri&7) {
			t.Errorf("%s: facility %d severity %d", tc.name, m.Facility, m.Severity)
		}
	}
	for in, want := range map[string]int{badPRILetter: priMalformed, badPRIZero: priMalformed, badPRIRange: priRange,
		badPRIMissing: priMissing, badPRIOpen: priMalformed, "": priMissing, "<>x": priMalformed, "<1234>x": priMalformed} {
		var m Message
		if st := Parse([]byte(in), &m); st != want {
			t.Errorf("%q: status %d, want %d", in, st, want)
		}
	}
}

func TestProbe(t *testing.T) {
	for in, want := range map[string]dissect.ProbeResult{
		bsdSu: dissect.ProbeYes, rfc5424SD: dissect.ProbeYes, "52 " + rfc5424Nil: dissect.ProbeYes,
		"": dissect.ProbeNeedMore, "<": dissect.ProbeNeedMore, "<13": dissect.ProbeNeedMore, "<13>": dissect.ProbeNeedMore,
		"12": dissect.ProbeNeedMore, "12 ": dissect.ProbeNeedMore,
		badPRILetter: dissect.ProbeNo, badPRIRange: dissect.ProbeNo, badPRIZero: dissect.ProbeNo,
		"GET / HTTP/1.1\r\n": dissect.ProbeNo, "<?xml version": dissect.ProbeNo, "<13>\x00\x01": dissect.ProbeNo,
		"200 OK": dissect.ProbeNo, "123456789 <13>x": dissect.ProbeNo,
	} {
		if got := Probe([]byte(in)); got != want {
			t.Errorf("Probe(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestPlausibleHost(t *testing.T) {
	for in, want := range map[string]bool{"mymachine": true, "mymachine.example.com": true, "plc-gw01": true,
		"10.0.0.99": false, "fe80::1": false, "": false, "-": false, "a b": false, "1234": false,
		strings.Repeat("a", 254): false} {
		if PlausibleHost([]byte(in)) != want {
			t.Errorf("PlausibleHost(%q) != %v", in, want)
		}
	}
}

func TestUDPMessages(t *testing.T) {
	d, rec, ctx := harness(dissect.TransportUDP)
	for _, m := range []string{bsdSu, rfc5424SD + "\n", bsdIPHost, bsdSu, badPRILetter, badPRIRange, rfc5424V2,
		rfc5424BadSD, badPRIMissing} {
		d.Feed(ctx, dissect.ToServer, []byte(m))
	}
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 6 {
		t.Fatalf("transactions: %d %+v", len(r.Transactions), r.Transactions)
	}
	tx := r.Transactions[0]
	if tx.Op != dissect.OpNotify || tx.Status != dissect.StatusOK || tx.Function != 34 || tx.FuncName != "auth.crit" ||
		tx.Requester != dissect.ToServer || tx.ReqBytes != len(bsdSu) {
		t.Errorf("bsdSu: %+v", tx)
	}
	wantAttrs(t, "bsdSu", tx.Attrs, "facility", "4", "severity", "2", "app", "su", "rfc", "3164",
		"timestamp", "Oct 11 22:14:15", "hostname", "mymachine")
	wantAttrs(t, "rfc5424SD", r.Transactions[1].Attrs, "facility", "20", "severity", "5", "app", "evntslog",
		"rfc", "5424", "msgid", "ID47", "sd_elements", "1")
	if r.Transactions[1].FuncName != "local4.notice" {
		t.Errorf("FuncName %q", r.Transactions[1].FuncName)
	}
	wantAttrs(t, "bsdIPHost", r.Transactions[2].Attrs, "app", "myproc", "procid", "8710")
	got := strings.Join(violReasons(r.Violations), "|")
	want := strings.Join([]string{"malformed: " + reasonPRIMalformed, "out_of_spec: " + reasonPRIRange,
		"out_of_spec: " + reasonVersion, "malformed: " + reasonSD, "malformed: " + reasonPRIMissing}, "|")
	if got != want {
		t.Errorf("violations\n got %s\nwant %s", got, want)
	}
	// Collector once; host name mymachine once (its FQDN is the same
	// host, the IP host name is not a name, "host" makes the sender a
	// relay whose names are no longer reported).
	var names []string
	servers := 0
	for _, h := range r.Hints {
		if h.Role == dissect.RoleServer {
			servers++
			if h.Side != dissect.ToClient {
				t.Errorf("collector side %v", h.Side)
			}
		}
		if h.Name != "" {
			names = append(names, h.Name)
		}
	}
	if servers != 1 || strings.Join(names, ",") != "mymachine" || d.nameState[0] != nameRelay {
		t.Errorf("hints: %d servers, names %v", servers, names)
	}
	if r.Fields["syslog_level"]["2"] != 2 || r.Fields["syslog_facility"]["20"] != 1 {
		t.Errorf("fields %v", r.Fields)
	}
}

func octetFrame(m string) string { return itoa(len(m)) + " " + m }

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// feedSplit feeds s in chunks of n bytes.
func feedSplit(d *dissector, ctx *dissect.Context, s string, n int) {
	for len(s) > 0 {
		k := min(n, len(s))
		d.Feed(ctx, dissect.ToServer, []byte(s[:k]))
		s = s[k:]
	}
}

func TestTCPFraming(t *testing.T) {
	msgs := []string{bsdSu, rfc5424SD, rfc5424Nil}
	octet := octetFrame(msgs[0]) + octetFrame(msgs[1]) + octetFrame(msgs[2]+"\n")
	lf := msgs[0] + "\n" + msgs[1] + "\r\n\n" + msgs[2] + "\x00"
	for _, stream := range []string{octet, lf} {
		for _, chunk := range []int{1, 2, 7, 64, len(stream)} {
			d, rec, ctx := harness(dissect.TransportTCP)
			feedSplit(d, ctx, stream, chunk)
			d.End(ctx)
			r := rec.R
			if len(r.Transactions) != 3 || len(r.Violations) != 0 {
				t.Errorf("chunk %d of %.10q: %d transactions, violations %v", chunk, stream, len(r.Transactions),
					violReasons(r.Violations))
				continue
			}
			for i, tx := range r.Transactions {
				var m Message
				Parse([]byte(msgs[i]), &m)
				if tx.Function != uint32(m.PRI) {
					t.Errorf("chunk %d: message %d PRI %d", chunk, i, tx.Function)
				}
			}
		}
	}
}

func TestTCPOversizeAndGap(t *testing.T) {
	long := "<13>Oct 11 22:14:15 host app: " + strings.Repeat("x", MaxMessage+100)
	// LF framing: the long line is parsed (cut) and the next line is intact.
	d, rec, ctx := harness(dissect.TransportTCP)
	feedSplit(d, ctx, long+"\n"+bsdSu+"\n", 1000)
	if n := len(rec.R.Transactions); n != 2 || len(rec.R.Violations) != 1 || rec.R.Violations[0].Reason != reasonTooLong {
		t.Errorf("LF oversize: %d transactions, %v", n, violReasons(rec.R.Violations))
	}
	// Octet counting, in one chunk and split.
	for _, chunk := range []int{len(long) + 20, 999} {
		d, rec, ctx = harness(dissect.TransportTCP)
		feedSplit(d, ctx, octetFrame(long)+octetFrame(bsdSu), chunk)
		if n := len(rec.R.Transactions); n != 2 || len(rec.R.Violations) != 1 {
			t.Errorf("octet oversize chunk %d: %d transactions, %v", chunk, n, violReasons(rec.R.Violations))
		}
	}
	// A gap in the middle of an octet-counted frame: resynchronise on the
	// next header.
	d, rec, ctx = harness(dissect.TransportTCP)
	f := octetFrame(rfc5424SD) // ends in a letter: "...8 52 <" would read as a frame of 852
	d.Feed(ctx, dissect.ToServer, []byte(f[:10]))
	d.Gap(ctx, dissect.ToServer, 30)
	d.Feed(ctx, dissect.ToServer, []byte(f[40:]+octetFrame(rfc5424Nil)))
	if n := len(rec.R.Transactions); n != 1 || rec.R.Transactions[0].Function != 86 {
		t.Errorf("octet gap: %+v", rec.R.Transactions)
	}
	// A gap in LF framing: skip to the next line.
	d, rec, ctx = harness(dissect.TransportTCP)
	d.Feed(ctx, dissect.ToServer, []byte(bsdSu[:10]))
	d.Gap(ctx, dissect.ToServer, 30)
	d.Feed(ctx, dissect.ToServer, []byte(bsdSu[40:]+"\n"+rfc5424Nil+"\n"))
	if n := len(rec.R.Transactions); n != 1 || rec.R.Transactions[0].Function != 86 {
		t.Errorf("LF gap: %+v", rec.R.Transactions)
	}
	// A bad octet header.
	d, rec, ctx = harness(dissect.TransportTCP)
	d.Feed(ctx, dissect.ToServer, []byte("12x"+octetFrame(bsdSu)))
	if len(rec.R.Violations) != 1 || rec.R.Violations[0].Reason != reasonFrame || len(rec.R.Transactions) != 1 {
		t.Errorf("bad header: %v %d", violReasons(rec.R.Violations), len(rec.R.Transactions))
	}
}
