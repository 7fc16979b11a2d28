package indicator

import (
	"bytes"
	"testing"
)

// checkResult holds for every successful parse: limits respected, counts
// consistent, and every indicator canonical and findable in a Set.
func checkResult(t *testing.T, res *Result, lim Limits) {
	t.Helper()
	if len(res.Indicators) > lim.MaxIndicators || len(res.Errors) > lim.MaxErrors {
		t.Fatalf("limits exceeded: %d indicators, %d errors", len(res.Indicators), len(res.Errors))
	}
	if res.Ignored+res.Skipped > res.Read {
		t.Fatalf("read %d < ignored %d + skipped %d", res.Read, res.Ignored, res.Skipped)
	}
	total := 0
	for r, n := range res.Reasons {
		if r != ReasonPartial {
			total += n
		}
	}
	if total != res.Skipped {
		t.Fatalf("reasons %v do not add up to skipped %d", res.Reasons, res.Skipped)
	}
	var s Set
	for i := range res.Indicators {
		ind := res.Indicators[i]
		again := ind
		if err := again.normalize(); err != nil || again.Value != ind.Value || again.Kind != ind.Kind || again.Prefix != ind.Prefix {
			t.Fatalf("indicator %+v not canonical: %+v, %v", ind, again, err)
		}
		if _, err := s.Add(ind); err != nil {
			t.Fatalf("Add(%+v): %v", ind, err)
		}
		var ok bool
		switch ind.Kind {
		case KindAddr, KindPrefix:
			_, ok = s.MatchIP(ind.Prefix.Addr())
		case KindDomain:
			_, ok = s.MatchDomain(ind.domainKey())
		case KindURL:
			_, ok = s.MatchURL(ind.Value)
		}
		if !ok {
			t.Fatalf("indicator %s does not match its own value", ind.String())
		}
	}
}

func FuzzParseSTIX(f *testing.F) {
	f.Add(readFixture(f, "bundle.json"))
	for _, s := range []string{
		`{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '192.0.2.1']"}`,
		`[{"type":"indicator","id":"indicator--2","pattern":"[url:value = 'http://a.example/it\\'s'] OR [domain-name:value = 'b.example']"}]`,
		`{"type":"bundle","objects":[{"type":"indicator","pattern":"[(ipv6-addr:value = '2001:db8::/32' OR x:y = 'z')]","valid_until":"2030-01-01T00:00:00Z"}]}`,
		`{"type":"bundle","objects":[{"type":"indicator","pattern":"[a:b = 'c' AND d:e = 'f']","revoked":true}]}`,
		`{"objects":[null, 1, "x", []], "type":"bundle"}`,
		`{"type":"bundle","objects":[`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxBytes: 1 << 20, MaxIndicators: 1000, MaxErrors: 20}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseSTIX(bytes.NewReader(data), "fuzz.json", fixtureNow, lim)
		if err != nil {
			if res != nil {
				t.Fatalf("result with an error: %v", err)
			}
			return
		}
		checkResult(t, res, lim)
	})
}

func FuzzParseList(f *testing.F) {
	f.Add(readFixture(f, "list.txt"))
	f.Add(readFixture(f, "crlf.txt"))
	for _, s := range []string{
		"192.0.2.1\n10.0.0.0/8 # x\n*.evil.example,\"desc\"\nhxxp://a[.]example/x?y=%2f\n",
		"\xef\xbb\xbfip\n::ffff:1.2.3.4\n2001:DB8::/33\n.A.Example.\n",
		"http://[2001:db8::1]:8080/a%zz\n\x00\xff\n",
		"a.example\tb\n;c\n#d\n\n",
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxBytes: 1 << 20, MaxIndicators: 1000, MaxErrors: 20, MaxLine: 512}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseList(bytes.NewReader(data), "fuzz.txt", lim)
		if err != nil {
			t.Fatalf("list parse of %d bytes failed: %v", len(data), err)
		}
		if want := bytes.Count(data, []byte("\n")); res.Read != want && res.Read != want+1 {
			t.Fatalf("read %d lines of %d newlines", res.Read, want)
		}
		checkResult(t, res, lim)
	})
}
