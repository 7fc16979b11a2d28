package indicator

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var fixtureNow = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func values(inds []Indicator) []string {
	var out []string
	for _, ind := range inds {
		out = append(out, ind.Value)
	}
	return out
}

func TestParseSTIXBundle(t *testing.T) {
	res, err := ParseSTIX(bytes.NewReader(readFixture(t, "bundle.json")), "bundle.json", fixtureNow, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"198.51.100.23",
		"203.0.113.0/24",
		"2001:db8:dead::/48", "2001:db8:beef::17",
		"update.evil-scada.example",
		"c2.badhost.example", "c2-backup.badhost.example",
		"http://evil-scada.example/payload/stage2.bin", "192.0.2.66",
		"https://files.evil.example/it's/a%2Fb?name=o\\brien",
		"192.0.2.99",
		"192.0.2.201",
	}
	if got := values(res.Indicators); !slices.Equal(got, want) {
		t.Errorf("indicators:\n got %q\nwant %q", got, want)
	}
	if res.Read != 23 || res.Ignored != 7 || res.Skipped != 7 || res.Dropped != 0 {
		t.Errorf("read %d ignored %d skipped %d dropped %d, want 23 7 7 0", res.Read, res.Ignored, res.Skipped, res.Dropped)
	}
	wantReasons := map[string]int{
		ReasonUnsupported: 3, // AND, LIKE, REPEATS
		ReasonObjectType:  1, // file hash
		ReasonPatternType: 1, // snort
		ReasonExpired:     1,
		ReasonRevoked:     1,
		ReasonPartial:     1, // ipv4 OR file:name
	}
	for k, v := range wantReasons {
		if res.Reasons[k] != v {
			t.Errorf("reason %s: %d, want %d (all: %v)", k, res.Reasons[k], v, res.Reasons)
		}
	}
	if len(res.Errors) != 8 {
		t.Errorf("%d errors, want 8: %v", len(res.Errors), res.Errors)
	}
	// Every error names the object it is about.
	for _, e := range res.Errors {
		var se *SkipError
		if !errors.As(e, &se) || !strings.HasPrefix(se.ID, "indicator--") || !strings.Contains(e.Error(), se.ID) || se.Source != "bundle.json" {
			t.Errorf("error without its indicator id or source: %v", e)
		}
	}
	joined := errors.Join(res.Errors...).Error()
	for _, s := range []string{"AND", "LIKE", "qualifier REPEATS", "file:hashes", `pattern_type "snort"`, "valid_until 2020-01-01T00:00:00Z", "file:name"} {
		if !strings.Contains(joined, s) {
			t.Errorf("errors do not mention %q:\n%s", s, joined)
		}
	}

	first := res.Indicators[0]
	if first.Kind != KindAddr || first.ID != "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" ||
		first.Name != "GridWorm C2 server" || !strings.Contains(first.Description, "TCP/443") ||
		!first.HasConfidence || first.Confidence != 85 || first.Source != "bundle.json" ||
		first.Bundle != "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d" ||
		!slices.Equal(first.Labels, []string{"malicious-activity", "attribution"}) ||
		!first.ValidFrom.Equal(time.Date(2024, 3, 1, 9, 15, 0, 0, time.UTC)) || !first.ValidUntil.IsZero() {
		t.Errorf("first indicator: %+v", first)
	}
	if ind := res.Indicators[1]; ind.Kind != KindPrefix || ind.HasConfidence ||
		!ind.ValidUntil.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("prefix indicator: %+v", ind)
	}
	if ind := res.Indicators[4]; ind.Kind != KindDomain || ind.Subdomains || !slices.Equal(ind.Labels, []string{"ics", "malicious-activity"}) {
		t.Errorf("STIX domain-name must be exact: %+v", ind)
	}
	if ind := res.Indicators[11]; ind.Name != "Exfiltration server (revised)" {
		t.Errorf("versioned indicator: got %q, want the latest modified version", ind.Name)
	}

	// With a later clock the prefix (valid until 2026-03-01) expires too.
	later, err := ParseSTIX(bytes.NewReader(readFixture(t, "bundle.json")), "bundle.json", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if later.Reasons[ReasonExpired] != 2 || slices.Contains(values(later.Indicators), "203.0.113.0/24") {
		t.Errorf("at 2026-03-01: expired %d, indicators %q", later.Reasons[ReasonExpired], values(later.Indicators))
	}
	// A zero clock checks no expiry.
	noClock, err := ParseSTIX(bytes.NewReader(readFixture(t, "bundle.json")), "bundle.json", time.Time{}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if noClock.Reasons[ReasonExpired] != 0 || len(noClock.Indicators) != 13 {
		t.Errorf("zero now: expired %d, %d indicators", noClock.Reasons[ReasonExpired], len(noClock.Indicators))
	}
}

func TestSTIXBundleMatching(t *testing.T) {
	res, err := ParseSTIX(bytes.NewReader(readFixture(t, "bundle.json")), "bundle.json", fixtureNow, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var s Set
	if n, err := s.Add(res.Indicators...); err != nil || n != 12 {
		t.Fatalf("Add: %d, %v", n, err)
	}
	for _, c := range []struct {
		ip   string
		want string // indicator value, "" for no match
	}{
		{"198.51.100.23", "198.51.100.23"},
		{"198.51.100.24", ""},
		{"203.0.113.200", "203.0.113.0/24"},
		{"203.0.114.1", ""},
		{"2001:db8:dead:1::5", "2001:db8:dead::/48"},
		{"2001:db8:beef::17", "2001:db8:beef::17"},
		{"2001:db8:beef::18", ""},
		{"192.0.2.99", "192.0.2.99"},
		{"192.0.2.150", ""}, // revoked
		{"198.51.100.250", ""},
		{"192.0.2.200", ""}, // superseded version
		{"192.0.2.201", "192.0.2.201"},
		{"198.51.100.7", ""}, // AND pattern
		{"192.0.2.77", ""},   // REPEATS qualifier
	} {
		ind, ok := s.MatchIP(netip.MustParseAddr(c.ip))
		got := ""
		if ok {
			got = ind.Value
		}
		if got != c.want {
			t.Errorf("MatchIP(%s) = %q, want %q", c.ip, got, c.want)
		}
	}
	for _, c := range []struct{ name, want string }{
		{"update.evil-scada.example", "update.evil-scada.example"},
		{"UPDATE.Evil-Scada.Example.", "update.evil-scada.example"},
		{"www.update.evil-scada.example", ""}, // STIX domain-name is exact
		{"evil-scada.example", ""},
		{"c2-backup.badhost.example", "c2-backup.badhost.example"},
		{"badhost.example", ""},
	} {
		ind, ok := s.MatchDomain(c.name)
		got := ""
		if ok {
			got = ind.Value
		}
		if got != c.want {
			t.Errorf("MatchDomain(%s) = %q, want %q", c.name, got, c.want)
		}
	}
	for _, c := range []struct{ url, want string }{
		{"http://evil-scada.example/payload/stage2.bin", "http://evil-scada.example/payload/stage2.bin"},
		{"http://EVIL-SCADA.example:80/payload/stage2.bin#frag", "http://evil-scada.example/payload/stage2.bin"},
		{"http://evil-scada.example:8080/payload/stage2.bin", ""},
		{"https://evil-scada.example/payload/stage2.bin", ""},
		{"https://files.evil.example/it's/a%2fb?name=o\\brien", "https://files.evil.example/it's/a%2Fb?name=o\\brien"},
	} {
		ind, ok := s.MatchURL(c.url)
		got := ""
		if ok {
			got = ind.Value
		}
		if got != c.want {
			t.Errorf("MatchURL(%s) = %q, want %q", c.url, got, c.want)
		}
	}
}

func TestParsePattern(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    []string // "type:prop=value"
		reason  string
	}{
		{`[ipv4-addr:value = '1.2.3.4']`, []string{"ipv4-addr:value=1.2.3.4"}, ""},
		{`[ipv4-addr:value='1.2.3.4']`, []string{"ipv4-addr:value=1.2.3.4"}, ""},
		{`[ipv4-addr:value = '10.0.0.0/8' OR ipv4-addr:value = '1.2.3.4']`, []string{"ipv4-addr:value=10.0.0.0/8", "ipv4-addr:value=1.2.3.4"}, ""},
		{`[a:value = 'x'] OR [b:value = 'y'] or ([c:value = 'z'])`, []string{"a:value=x", "b:value=y", "c:value=z"}, ""},
		{`[url:value = 'it\'s \\ here']`, []string{`url:value=it's \ here`}, ""},
		{`[file:hashes.'SHA-256' = 'ab']`, []string{"file:hashes.'SHA-256'=ab"}, ""},
		{`[email-message:to_refs[*].value = 'a@b.example']`, []string{"email-message:to_refs[*].value=a@b.example"}, ""},
		{`[a:value = 'x' AND b:value = 'y']`, nil, ReasonUnsupported},
		{`[a:value = 'x'] AND [b:value = 'y']`, nil, ReasonUnsupported},
		{`[a:value = 'x'] FOLLOWEDBY [b:value = 'y']`, nil, ReasonUnsupported},
		{`[a:value != 'x']`, nil, ReasonUnsupported},
		{`[a:value > 'x']`, nil, ReasonUnsupported},
		{`[a:value NOT = 'x']`, nil, ReasonUnsupported},
		{`[a:value LIKE 'x%']`, nil, ReasonUnsupported},
		{`[a:value MATCHES '^x']`, nil, ReasonUnsupported},
		{`[a:value IN ('x', 'y')]`, nil, ReasonUnsupported},
		{`[a:value = 'x'] WITHIN 5 SECONDS`, nil, ReasonUnsupported},
		{`[a:value = 'x'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`, nil, ReasonUnsupported},
		{`[EXISTS a:value]`, nil, ReasonUnsupported},
		{`[a:port = 502]`, nil, ReasonUnsupported},
		{`[a:value = h'ff']`, nil, ReasonUnsupported},
		{``, nil, ReasonSyntax},
		{`ipv4-addr:value = '1.2.3.4'`, nil, ReasonSyntax},
		{`[ipv4-addr:value = '1.2.3.4'`, nil, ReasonSyntax},
		{`[ipv4-addr:value = '1.2.3.4]`, nil, ReasonSyntax},
		{`[ipv4-addr:value = 'a\x']`, nil, ReasonSyntax},
		{`[ipv4-addr:value = '1.2.3.4']]`, nil, ReasonSyntax},
		{`[value = '1.2.3.4']`, nil, ReasonSyntax},
		{`[a:value = 'x' OR]`, nil, ReasonSyntax},
		{`[]`, nil, ReasonSyntax},
		{`[a:value = 'x'] $`, nil, ReasonSyntax},
		{strings.Repeat("(", 40) + "[a:value = 'x']" + strings.Repeat(")", 40), nil, ReasonSyntax},
		{"[" + strings.Repeat("(", 40) + "a:value = 'x'" + strings.Repeat(")", 40) + "]", nil, ReasonSyntax},
	} {
		cmps, err := parsePattern(c.pattern)
		if c.reason != "" {
			if err == nil || reasonOf(err) != c.reason {
				t.Errorf("%s: err %v (reason %s), want reason %s", c.pattern, err, reasonOf(err), c.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.pattern, err)
			continue
		}
		var got []string
		for _, cm := range cmps {
			got = append(got, cm.objType+":"+cm.prop+"="+cm.value)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.pattern, got, c.want)
		}
	}
}

func TestParseSTIXShapes(t *testing.T) {
	bare := `{"type":"indicator","spec_version":"2.1","id":"indicator--1","pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`
	res, err := ParseSTIX(strings.NewReader(bare), "bare.json", fixtureNow, Limits{})
	if err != nil || len(res.Indicators) != 1 || res.Indicators[0].ID != "indicator--1" || res.Indicators[0].Bundle != "" {
		t.Errorf("bare indicator: %+v, %v", res, err)
	}
	arr := `[` + bare + `, {"type":"malware","id":"malware--1","name":"x","is_family":false},
		{"type":"indicator","id":"indicator--2","pattern":"[domain-name:value = 'x.example']","valid_from":"2024-01-01T00:00:00Z"}]`
	res, err = ParseSTIX(strings.NewReader(arr), "arr.json", fixtureNow, Limits{})
	if err != nil || !slices.Equal(values(res.Indicators), []string{"192.0.2.1", "x.example"}) || res.Ignored != 1 {
		t.Errorf("array: %+v, %v", res, err)
	}
	// objects before type and id, as key order is free in JSON.
	late := `{"objects":[` + bare + `],"id":"bundle--9","type":"bundle","spec_version":"2.0"}`
	res, err = ParseSTIX(strings.NewReader(late), "late.json", fixtureNow, Limits{})
	if err != nil || len(res.Indicators) != 1 || res.Indicators[0].Bundle != "bundle--9" {
		t.Errorf("objects first: %+v, %v", res, err)
	}
	res, err = ParseSTIX(strings.NewReader(`{"type":"bundle","id":"bundle--e"}`), "empty.json", fixtureNow, Limits{})
	if err != nil || len(res.Indicators) != 0 {
		t.Errorf("empty bundle: %+v, %v", res, err)
	}
	// Malformed members of indicators are skipped; of other objects, ignored.
	odd := `{"type":"bundle","id":"bundle--o","objects":[
		{"type":"indicator","id":"indicator--3","pattern":42},
		{"type":"indicator","id":"indicator--4","pattern":"[ipv4-addr:value = '192.0.2.4']","valid_from":"yesterday"},
		{"type":"indicator","id":"indicator--5","pattern":"[ipv4-addr:value = 'fe80::1']"},
		{"type":"indicator","id":"indicator--6","pattern":"[ipv6-addr:value = '192.0.2.6']"},
		{"type":"indicator","id":"indicator--7","pattern":"[domain-name:value = 'bad_host!.example']"},
		{"type":"indicator","id":"indicator--8"},
		{"type":"malware","id":"malware--2","confidence":"high"},
		"not an object", 17, null]}`
	res, err = ParseSTIX(strings.NewReader(odd), "odd.json", fixtureNow, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Indicators) != 0 || res.Reasons[ReasonMalformed] != 6 || res.Reasons[ReasonInvalid] != 3 || res.Ignored != 1 {
		t.Errorf("odd objects: reasons %v ignored %d indicators %q\n%v", res.Reasons, res.Ignored, values(res.Indicators), res.Errors)
	}
}

func TestParseSTIXMalformed(t *testing.T) {
	bundle := readFixture(t, "bundle.json")
	for _, c := range []struct {
		name, input, want string
	}{
		{"empty", "", "empty input"},
		{"blank", "  \n ", "empty input"},
		{"number", "42", "not a JSON object or array"},
		{"string", `"bundle"`, "not a JSON object or array"},
		{"invalid", `{"type":"bundle","objects":[{"type":"indicator",}]}`, "invalid character"},
		{"truncated", string(bundle[:len(bundle)/2]), "truncated"},
		{"trailing", `{"type":"bundle","id":"b"} {"x":1}`, "data after the JSON value"},
		{"trailing garbage", `{"type":"bundle","id":"b"} xyz`, "invalid character"},
		{"objects not array", `{"type":"bundle","objects":{}}`, `"objects" is not an array`},
		{"not a bundle", `{"type":"report","objects":[]}`, `of type "report"`},
		{"no type", `{"id":"x"}`, `no "type"`},
		{"other object", `{"type":"malware","id":"malware--1"}`, `type "malware", not a bundle`},
	} {
		res, err := ParseSTIX(strings.NewReader(c.input), "in.json", fixtureNow, Limits{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "in.json") {
			t.Errorf("%s: %v (result %v), want an error with %q", c.name, err, res, c.want)
		}
	}
	// Every truncation of the bundle fails cleanly.
	for n := 0; n < len(bundle)-2; n += 37 {
		if _, err := ParseSTIX(bytes.NewReader(bundle[:n]), "cut.json", fixtureNow, Limits{}); err == nil {
			t.Fatalf("bundle cut at %d bytes parsed without error", n)
		}
	}
	// Size limit: exactly at the limit is fine, one byte more is not.
	if _, err := ParseSTIX(bytes.NewReader(bundle), "b.json", fixtureNow, Limits{MaxBytes: int64(len(bundle))}); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	_, err := ParseSTIX(bytes.NewReader(bundle), "b.json", fixtureNow, Limits{MaxBytes: int64(len(bundle) - 1)})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "b.json") {
		t.Errorf("over the limit: %v", err)
	}
	// A reader that never ends stops at the limit.
	endless := io.MultiReader(strings.NewReader(`{"type":"bundle","objects":[`), neverEnding(' '))
	if _, err := ParseSTIX(endless, "endless", fixtureNow, Limits{MaxBytes: 1 << 20}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("endless input: %v", err)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestParseSTIXLimits(t *testing.T) {
	bundle := readFixture(t, "bundle.json")
	res, err := ParseSTIX(bytes.NewReader(bundle), "b.json", fixtureNow, Limits{MaxIndicators: 5, MaxErrors: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Indicators) != 5 || res.Dropped != 7 || len(res.Errors) != 2 || res.Skipped != 7 {
		t.Errorf("limits: %d indicators, %d dropped, %d errors, %d skipped", len(res.Indicators), res.Dropped, len(res.Errors), res.Skipped)
	}
	// One pattern with many values is capped too.
	var b strings.Builder
	b.WriteString(`{"type":"indicator","id":"indicator--big","pattern":"[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("ipv4-addr:value = '10.0." + itoa(i/250) + "." + itoa(i%250) + "'")
	}
	b.WriteString(`]"}`)
	res, err = ParseSTIX(strings.NewReader(b.String()), "big.json", fixtureNow, Limits{MaxIndicators: 100})
	if err != nil || len(res.Indicators) != 100 || res.Dropped != 900 {
		t.Errorf("big pattern: %v, %d indicators, %d dropped", err, len(res.Indicators), res.Dropped)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
