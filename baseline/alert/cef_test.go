package alert

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func fixtureAlert() *Alert {
	r := MustRule(RuleUnauthProgramming)
	return &Alert{
		ID:          "a-20250301-0007",
		Rule:        r.ID,
		Engine:      r.Engine,
		Category:    r.Category,
		Title:       r.Title,
		Severity:    r.Severity,
		Src:         Device{MAC: "00:1B:1B:AA:BB:CC", IP: "10.10.1.50", Port: 50123, Name: "eng-ws-3"},
		Dst:         Device{MAC: "00:0e:8c:01:02:03", IP: "10.10.2.10", Port: 102, Name: "plc-boiler"},
		Protocol:    "s7comm",
		Function:    "download block",
		FirstSeen:   time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC),
		LastSeen:    time.Date(2025, 3, 1, 9, 5, 30, 250_000_000, time.FixedZone("CET", 3600)),
		Count:       3,
		Status:      StatusNew,
		Techniques:  r.Techniques,
		Remediation: "Confirm the change with the control engineer responsible.",
	}
}

// 2025-03-01T08:00:00Z is 1740816000000 ms; 08:05:30.250Z is 1740816330250.
const fixtureCEF = `CEF:0|OTWatch|otsensor|1.4.0|policy.unauthorized_programming|Unauthorized PLC programming|10|` +
	`rt=1740816330250 start=1740816000000 end=1740816330250 cnt=3 src=10.10.1.50 dst=10.10.2.10 ` +
	`smac=00:1b:1b:aa:bb:cc dmac=00:0e:8c:01:02:03 spt=50123 dpt=102 shost=eng-ws-3 dhost=plc-boiler ` +
	`app=s7comm act=new cat=policy/Unauthorized PLC programming externalId=a-20250301-0007 ` +
	`cs1Label=techniques cs1=T0843,T0845,T0889 cs2Label=function cs2=download block ` +
	`cs3Label=tactics cs3=lateral-movement,collection,persistence deviceSeverity=critical ` +
	`msg=Confirm the change with the control engineer responsible.`

func TestAppendCEFFixture(t *testing.T) {
	got := string(fixtureAlert().AppendCEF(nil, ProductInfo{Version: "1.4.0"}))
	if got != fixtureCEF {
		t.Errorf("CEF line:\n got %s\nwant %s", got, fixtureCEF)
	}
	// Appends to what is there, and honours a product name.
	got = string(fixtureAlert().AppendCEF([]byte("x "), ProductInfo{Vendor: "Acme", Product: "ot", Version: "2"}))
	if !strings.HasPrefix(got, "x CEF:0|Acme|ot|2|policy.unauthorized_programming|") {
		t.Errorf("prefix: %s", got)
	}
}

func TestAppendSyslogFixture(t *testing.T) {
	a := fixtureAlert()
	const sd = `[otwatch@32473 id="a-20250301-0007" rule="policy.unauthorized_programming" engine="policy" ` +
		`severity="critical" status="new" count="3" src="10.10.1.50" sport="50123" dst="10.10.2.10" dport="102" ` +
		`protocol="s7comm" function="download block" techniques="T0843,T0845,T0889" ` +
		`tactics="lateral-movement,collection,persistence"]`
	// user (1) × 8 + crit (2) = 10.
	want := `<10>1 2025-03-01T08:05:30.250000Z sensor-01 otsensor - policy.unauthorized_programming ` + sd +
		` Unauthorized PLC programming: 10.10.1.50:50123 (eng-ws-3) -> 10.10.2.10:102 (plc-boiler) [s7comm download block] count=3`
	if got := string(AppendSyslog(nil, a, "sensor-01", "otsensor", 1)); got != want {
		t.Errorf("syslog line:\n got %s\nwant %s", got, want)
	}
	// local0 (16) × 8 + crit (2) = 130, and the CEF line as MSG.
	want = `<130>1 2025-03-01T08:05:30.250000Z sensor-01 otsensor - policy.unauthorized_programming ` + sd + " " + fixtureCEF
	if got := string(AppendSyslogCEF(nil, a, "sensor-01", "otsensor", 16, ProductInfo{Version: "1.4.0"})); got != want {
		t.Errorf("syslog CEF line:\n got %s\nwant %s", got, want)
	}
}

func TestSyslogPRI(t *testing.T) {
	for _, c := range []struct {
		sev      Severity
		facility int
		pri      int
	}{
		{Critical, 1, 10}, {Major, 1, 11}, {Minor, 1, 12}, {Warning, 1, 13}, {0, 1, 14},
		{Critical, 0, 2}, {Warning, 23, 189}, {Major, 16, 131},
		{Critical, -1, 10}, {Critical, 24, 10}, // out of range: user
	} {
		a := &Alert{Rule: "r", Severity: c.sev}
		got := string(AppendSyslog(nil, a, "", "", c.facility))
		want := "<" + strconv.Itoa(c.pri) + ">1 - - - - r [otwatch@32473 rule=\"r\""
		if !strings.HasPrefix(got, want) {
			t.Errorf("%v facility %d: %s, want prefix %s", c.sev, c.facility, got, want)
		}
	}
}

// parseCEF splits a CEF line on unescaped pipes into its 7 header fields
// and the extension, unescapes the header, and parses the extension into
// keys and unescaped values.
func parseCEF(t *testing.T, line string) ([]string, map[string]string, []string) {
	t.Helper()
	if !strings.HasPrefix(line, "CEF:") || strings.ContainsAny(line, "\r\n") || !utf8.ValidString(line) {
		t.Fatalf("not a one-line UTF-8 CEF line: %q", line)
	}
	var fields []string
	var cur strings.Builder
	i := 0
	for ; i < len(line) && len(fields) < 7; i++ {
		switch c := line[i]; c {
		case '\\':
			if i+1 >= len(line) || (line[i+1] != '\\' && line[i+1] != '|') {
				t.Fatalf("bad header escape at %d in %q", i, line)
			}
			cur.WriteByte(line[i+1])
			i++
		case '|':
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if len(fields) != 7 {
		t.Fatalf("%d header fields in %q", len(fields), line)
	}
	fields = append(fields, line[i:]) // the 8th: the extension
	ext := fields[7]
	var eqs []int
	for j := 0; j < len(ext); j++ {
		if ext[j] == '\\' {
			j++
			continue
		}
		if ext[j] == '=' {
			eqs = append(eqs, j)
		}
	}
	keyRe := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	kv := map[string]string{}
	var order []string
	starts := make([]int, len(eqs))
	for k, eq := range eqs {
		starts[k] = strings.LastIndexByte(ext[:eq], ' ') + 1
	}
	for k, eq := range eqs {
		key := ext[starts[k]:eq]
		if !keyRe.MatchString(key) {
			t.Fatalf("bad key %q in %q", key, ext)
		}
		end := len(ext)
		if k+1 < len(eqs) {
			end = starts[k+1] - 1
		}
		raw := ext[eq+1 : end]
		var v strings.Builder
		for j := 0; j < len(raw); j++ {
			if raw[j] != '\\' {
				v.WriteByte(raw[j])
				continue
			}
			if j+1 >= len(raw) {
				t.Fatalf("dangling backslash in %q", raw)
			}
			j++
			switch raw[j] {
			case '\\', '=':
				v.WriteByte(raw[j])
			case 'n':
				v.WriteByte('\n')
			case 'r':
				v.WriteByte('\r')
			default:
				t.Fatalf("bad extension escape \\%c in %q", raw[j], raw)
			}
		}
		if _, dup := kv[key]; dup {
			t.Fatalf("key %s twice in %q", key, ext)
		}
		kv[key] = v.String()
		order = append(order, key)
	}
	return fields[:7], kv, order
}

func TestCEFEscaping(t *testing.T) {
	a := fixtureAlert()
	a.Rule = `custom|rule\1`
	a.Title = "Write | to \\\\server\\share = coil 5\nsecond line\r\tend"
	a.Function = "a=b|c"
	a.Description = "path C:\\temp\\x=1\r\nline 2 | pipe \x00 nul, bad utf-8 \xff, é"
	a.Src.Name = `host\name=x`
	line := string(a.AppendCEF(nil, ProductInfo{Vendor: `Ven|dor\`, Version: "1|2"}))

	wantHead := `CEF:0|Ven\|dor\\|otsensor|1\|2|custom\|rule\\1|Write \| to \\\\server\\share = coil 5 second line  end|10|`
	if !strings.HasPrefix(line, wantHead) {
		t.Errorf("header:\n got %s\nwant %s", line, wantHead)
	}
	for _, s := range []string{
		`cs2=a\=b|c`,
		`shost=host\\name\=x`,
		`msg=path C:\\temp\\x\=1\r\nline 2 | pipe   nul, bad utf-8 ` + "\uFFFD, é",
	} {
		if !strings.Contains(line, s) {
			t.Errorf("line lacks %s:\n%s", s, line)
		}
	}
	head, ext, _ := parseCEF(t, line)
	if head[1] != `Ven|dor\` || head[3] != "1|2" || head[4] != `custom|rule\1` ||
		head[5] != "Write | to \\\\server\\share = coil 5 second line  end" || head[6] != "10" {
		t.Errorf("header fields back: %q", head)
	}
	if ext["cs2"] != "a=b|c" || ext["shost"] != `host\name=x` ||
		ext["msg"] != "path C:\\temp\\x=1\r\nline 2 | pipe   nul, bad utf-8 \uFFFD, é" {
		t.Errorf("extension back: %q", ext)
	}
}

func TestCEFIPv6AndOddDevices(t *testing.T) {
	a := fixtureAlert()
	a.Src = Device{IP: "2001:DB8::5", Port: 47808}
	a.Dst = Device{IP: "::ffff:192.0.2.9", MAC: "not a mac"}
	line := string(a.AppendCEF(nil, ProductInfo{}))
	_, ext, order := parseCEF(t, line)
	if ext["c6a2"] != "2001:db8::5" || ext["c6a2Label"] != "Source IPv6 Address" || ext["src"] != "" {
		t.Errorf("IPv6 source: %q", ext)
	}
	if ext["dst"] != "192.0.2.9" || ext["c6a3"] != "" || ext["dmac"] != "" || ext["spt"] != "47808" {
		t.Errorf("mapped destination: %q", ext)
	}
	if strings.Join(order[:6], " ") != "rt start end cnt c6a2Label c6a2" {
		t.Errorf("key order %v", order)
	}
	a.Dst = Device{IP: "fe80::1%eth0", Port: 502}
	_, ext, _ = parseCEF(t, string(a.AppendCEF(nil, ProductInfo{})))
	if ext["c6a3"] != "fe80::1" || ext["c6a3Label"] != "Destination IPv6 Address" {
		t.Errorf("zoned destination: %q", ext)
	}
	syslog := string(AppendSyslog(nil, a, "h", "a", 1))
	if !strings.Contains(syslog, `src="2001:db8::5" sport="47808" dst="fe80::1" dport="502"`) || !strings.Contains(syslog, ": [2001:db8::5]:47808 -> [fe80::1]:502 [") {
		t.Errorf("syslog IPv6 endpoints: %s", syslog)
	}
	// An alert with nothing but a rule still formats.
	empty := &Alert{Rule: "x"}
	if got := string(empty.AppendCEF(nil, ProductInfo{})); got != "CEF:0|OTWatch|otsensor||x|x|1|" {
		t.Errorf("empty alert: %q", got)
	}
	if got := string(AppendSyslog(nil, empty, "", "", 1)); got != `<14>1 - - - - x [otwatch@32473 rule="x"] x` {
		t.Errorf("empty alert syslog: %q", got)
	}
}

func TestCEFLimits(t *testing.T) {
	a := fixtureAlert()
	a.Title = strings.Repeat("é", 400) // 800 bytes
	a.Description = strings.Repeat("ab€", 600)
	head, ext, _ := parseCEF(t, string(a.AppendCEF(nil, ProductInfo{})))
	if len(head[5]) > 512 || !strings.HasSuffix(head[5], "...") || !utf8.ValidString(head[5]) {
		t.Errorf("title of %d bytes: %q", len(head[5]), head[5])
	}
	if len(ext["msg"]) > 1023 || len(ext["msg"]) < 1015 || !strings.HasSuffix(ext["msg"], "...") || !utf8.ValidString(ext["msg"]) {
		t.Errorf("msg of %d bytes", len(ext["msg"]))
	}
	line := string(AppendSyslog(nil, a, strings.Repeat("h", 300)+" x\x01", strings.Repeat("a", 60), 1))
	f := strings.SplitN(line, " ", 7)
	if len(f[2]) != 255 || len(f[3]) != 48 {
		t.Errorf("hostname %d bytes, app-name %d bytes", len(f[2]), len(f[3]))
	}
	if got := string(AppendSyslog(nil, &Alert{Rule: "r"}, "a b\x00é", "x\ty", 1)); !strings.HasPrefix(got, "<14>1 - a_b___ x_y - r ") {
		t.Errorf("header sanitising: %q", got)
	}
}

func TestSyslogSDEscaping(t *testing.T) {
	a := fixtureAlert()
	a.ID = `id"with]quote\and`
	a.Function = "f]\n\"x\""
	got := string(AppendSyslog(nil, a, "h", "a", 1))
	if !strings.Contains(got, `id="id\"with\]quote\\and"`) || !strings.Contains(got, `function="f\] \"x\""`) {
		t.Errorf("SD escaping: %s", got)
	}
	checkSyslog(t, got)
}

var syslogRe = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S{1,255}) (\S{1,48}) - (\S{1,32}) \[otwatch@32473((?: [a-z]{1,32}="(?:[^"\\\]]|\\["\\\]])*")*)\] (.+)$`)

// checkSyslog checks the RFC 5424 shape of a line and returns its MSG.
func checkSyslog(t *testing.T, line string) string {
	t.Helper()
	m := syslogRe.FindStringSubmatch(line)
	if m == nil || strings.ContainsAny(line, "\r\n") || !utf8.ValidString(line) {
		t.Fatalf("not an RFC 5424 line: %q", line)
	}
	if pri, _ := strconv.Atoi(m[1]); pri > 191 {
		t.Fatalf("PRI %d", pri)
	}
	if m[2] != "-" {
		if _, err := time.Parse(time.RFC3339Nano, m[2]); err != nil {
			t.Fatalf("timestamp: %v", err)
		}
	}
	return m[7]
}

func TestEveryRuleFormats(t *testing.T) {
	first := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, r := range Catalogue() {
		a := &Alert{
			ID: fmt.Sprintf("a-%03d", i), Rule: r.ID, Engine: r.Engine, Category: r.Category, Title: r.Title,
			Severity: r.Severity, Techniques: r.Techniques, Remediation: r.Remediation,
			Src:       Device{IP: "10.0.0.1", MAC: "02:00:00:00:00:01"},
			Dst:       Device{IP: "2001:db8::2", Port: 502},
			FirstSeen: first, LastSeen: first.Add(time.Duration(i) * time.Minute), Count: uint64(i + 1), Status: StatusActive,
		}
		line := string(a.AppendCEF(nil, ProductInfo{Version: "0.1"}))
		head, ext, _ := parseCEF(t, line)
		if head[0] != "CEF:0" || head[1] != "OTWatch" || head[2] != "otsensor" || head[3] != "0.1" ||
			head[4] != r.ID || head[5] != r.Title || head[6] != strconv.Itoa(r.Severity.CEF()) {
			t.Errorf("%s: header %q", r.ID, head)
		}
		if ext["externalId"] != a.ID || ext["cs1"] != strings.Join(r.Techniques, ",") || ext["cs3"] != strings.Join(Tactics(r.Techniques), ",") ||
			ext["msg"] != r.Remediation || ext["cat"] != r.Engine.String()+"/"+r.Category || ext["deviceSeverity"] != r.Severity.String() ||
			ext["rt"] != strconv.FormatInt(a.LastSeen.UnixMilli(), 10) || ext["cnt"] != strconv.Itoa(i+1) ||
			ext["src"] != "10.0.0.1" || ext["c6a3"] != "2001:db8::2" || ext["act"] != "active" {
			t.Errorf("%s: extension %q", r.ID, ext)
		}
		if len(r.Techniques) > 0 && (ext["cs3"] == "" || ext["cs1Label"] != "techniques" || ext["cs3Label"] != "tactics") {
			t.Errorf("%s: techniques without tactics: %q", r.ID, ext)
		}
		msg := checkSyslog(t, string(AppendSyslog(nil, a, "sensor", "otsensor", 16)))
		if !strings.HasPrefix(msg, r.Title+": 10.0.0.1 -> [2001:db8::2]:502") {
			t.Errorf("%s: syslog MSG %q", r.ID, msg)
		}
		if msg := checkSyslog(t, string(AppendSyslogCEF(nil, a, "sensor", "otsensor", 16, ProductInfo{Version: "0.1"}))); msg != line {
			t.Errorf("%s: syslog CEF MSG %q", r.ID, msg)
		}
	}
}

func BenchmarkAppendCEF(b *testing.B) {
	a := fixtureAlert()
	buf := make([]byte, 0, 2048)
	for b.Loop() {
		buf = a.AppendCEF(buf[:0], ProductInfo{Version: "1"})
	}
}
