package indicator

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustAdd(t testing.TB, s *Set, vals ...string) {
	t.Helper()
	var inds []Indicator
	for _, v := range vals {
		inds = append(inds, Indicator{Value: v, Source: "test"})
	}
	if _, err := s.Add(inds...); err != nil {
		t.Fatal(err)
	}
}

func matchIP(s *Set, a string) string {
	if ind, ok := s.MatchIP(netip.MustParseAddr(a)); ok {
		return ind.Value
	}
	return ""
}

func matchDomain(s *Set, d string) string {
	if ind, ok := s.MatchDomain(d); ok {
		return ind.Value
	}
	return ""
}

func TestParseValue(t *testing.T) {
	for _, c := range []struct {
		in   string
		kind Kind
		want string // "" for an error
	}{
		{"192.0.2.1", KindAddr, "192.0.2.1"},
		{" 192.0.2.1 ", KindAddr, "192.0.2.1"},
		{"::ffff:192.0.2.1", KindAddr, "192.0.2.1"},
		{"2001:DB8::1", KindAddr, "2001:db8::1"},
		{"192.0.2.1/32", KindAddr, "192.0.2.1"},
		{"192.0.2.77/24", KindPrefix, "192.0.2.0/24"},
		{"::ffff:10.0.0.0/104", KindPrefix, "10.0.0.0/8"},
		{"2001:db8::/32", KindPrefix, "2001:db8::/32"},
		{"10.0.0.0/8", KindPrefix, "10.0.0.0/8"},
		{"10.0.0.0/7", 0, ""},
		{"2000::/3", 0, ""},
		{"fe80::1%eth0", 0, ""},
		{"1.2.3", 0, ""},
		{"1.2.3.4.5", 0, ""},
		{"evil.example", KindDomain, "evil.example"},
		{"EVIL.Example.", KindDomain, "evil.example"},
		{"*.Evil.example", KindDomain, "*.evil.example"},
		{".evil.example", KindDomain, "*.evil.example"},
		{"_dmarc.evil.example", KindDomain, "_dmarc.evil.example"},
		{"xn--bcher-kva.example", KindDomain, "xn--bcher-kva.example"},
		{"bücher.example", 0, ""},
		{"-bad.example", 0, ""},
		{"a..example", 0, ""},
		{"*.", 0, ""},
		{"*.*.evil.example", 0, ""},
		{strings.Repeat("a", 64) + ".example", 0, ""},
		{strings.Repeat("abcdefghi.", 26) + "example", 0, ""},
		{"example", 0, ""},
		{"evil.123", 0, ""},
		{"evil.example:443", 0, ""},
		{"http://evil.example", KindURL, "http://evil.example/"},
		{"", 0, ""},
	} {
		ind, err := Parse(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("Parse(%q) = %+v, want an error", c.in, ind)
			}
			continue
		}
		if err != nil || ind.Kind != c.kind || ind.Value != c.want {
			t.Errorf("Parse(%q) = %v %q (%v), want %v %q", c.in, ind.Kind, ind.Value, err, c.kind, c.want)
		}
	}
}

func TestNormalizeURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://evil.example", "http://evil.example/"},
		{"HTTP://EVIL.Example:80/A/B", "http://evil.example/A/B"},
		{"https://evil.example:443/x?Q=1#frag", "https://evil.example/x?Q=1"},
		{"https://evil.example:8443/x", "https://evil.example:8443/x"},
		{"http://evil.example:0080/", "http://evil.example/"},
		{"http://user:pw@evil.example./x", "http://evil.example/x"},
		{"http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"},
		{"http://[::ffff:192.0.2.1]/x", "http://192.0.2.1/x"},
		{"ftp://files.example:21/a%2fb%3F", "ftp://files.example/a%2Fb%3F"},
		{"http://evil.example/a b", "http://evil.example/a%20b"},
		{"http://evil.example/?", "http://evil.example/"},
	} {
		got, err := NormalizeURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		// Normalisation is idempotent.
		if again, err := NormalizeURL(got); err != nil || again != got {
			t.Errorf("NormalizeURL(%q) = %q, %v; not idempotent", got, again, err)
		}
	}
	for _, in := range []string{"evil.example/x", "/x", "mailto:a@b.example", "http://", "http://evil.example:99999/", "http://[::1/", "http://a b.example/", "http://[fe80::1%25eth0]/", "a://../", "http://bücher.example/", "http://a_b!.example/", strings.Repeat("http://a.example/", 1000)} {
		if got, err := NormalizeURL(in); err == nil {
			t.Errorf("NormalizeURL(%q) = %q, want an error", in, got)
		}
	}
}

func TestSetIP(t *testing.T) {
	s := NewSet(0)
	mustAdd(t, s, "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", "192.0.2.0/25", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::1")
	for _, c := range []struct{ ip, want string }{
		{"10.1.2.3", "10.1.2.3"},
		{"10.1.2.4", "10.1.2.0/24"},
		{"10.1.3.4", "10.1.0.0/16"},
		{"10.200.0.1", "10.0.0.0/8"},
		{"11.0.0.1", ""},
		{"192.0.2.127", "192.0.2.0/25"},
		{"192.0.2.128", ""},
		{"::ffff:10.1.2.3", "10.1.2.3"},
		{"2001:db8:1::1", "2001:db8:1::1"},
		{"2001:db8:1::2", "2001:db8:1::/48"},
		{"2001:db8:2::2", "2001:db8::/32"},
		{"fe80::1%eth0", ""},
		{"2001:db9::1", ""},
	} {
		if got := matchIP(s, c.ip); got != c.want {
			t.Errorf("MatchIP(%s) = %q, want %q", c.ip, got, c.want)
		}
	}
	// A zone does not hide an indicator; an invalid address matches nothing.
	mustAdd(t, s, "fe80::1")
	if got := matchIP(s, "fe80::1%eth0"); got != "fe80::1" {
		t.Errorf("zoned address: %q", got)
	}
	if _, ok := s.MatchIP(netip.Addr{}); ok {
		t.Error("zero Addr matched")
	}
	// The IPv4 prefix 10.0.0.0/8 must not match ::a00:1 (an IPv6 address).
	if got := matchIP(s, "::a00:1"); got != "" {
		t.Errorf("IPv6 ::a00:1 matched %q", got)
	}
}

func TestSetDomain(t *testing.T) {
	var s Set // the zero value works
	if got := matchDomain(&s, "evil.example"); got != "" {
		t.Fatalf("empty set matched %q", got)
	}
	mustAdd(t, &s, "evil.example", "*.sub.evil.example", ".corp-c2.example", "*.deep.a.example", "deep.a.example")
	for _, c := range []struct{ name, want string }{
		{"evil.example", "evil.example"},
		{"EVIL.EXAMPLE.", "evil.example"},
		{"www.evil.example", ""}, // exact only
		{"sub.evil.example", "*.sub.evil.example"},
		{"x.y.sub.evil.example", "*.sub.evil.example"},
		{"xsub.evil.example", ""}, // not a label boundary
		{"corp-c2.example", "*.corp-c2.example"},
		{"a.corp-c2.example", "*.corp-c2.example"},
		{"deep.a.example", "deep.a.example"}, // exact beats the rule
		{"x.deep.a.example", "*.deep.a.example"},
		{"a.example", ""},
		{"example", ""},
		{"", ""},
		{".", ""},
		{strings.Repeat("a", 300), ""},
	} {
		if got := matchDomain(&s, c.name); got != c.want {
			t.Errorf("MatchDomain(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestSetURL(t *testing.T) {
	s := NewSet(0)
	mustAdd(t, s, "http://evil.example/drop.exe", "https://evil.example/api?key=1")
	for _, c := range []struct{ url, want string }{
		{"http://evil.example/drop.exe", "http://evil.example/drop.exe"},
		{"HTTP://Evil.Example:80/drop.exe", "http://evil.example/drop.exe"},
		{"http://evil.example/drop.exe?v=2", "http://evil.example/drop.exe"}, // any query
		{"http://evil.example/Drop.exe", ""},                                 // paths are case-sensitive
		{"https://evil.example/drop.exe", ""},
		{"https://evil.example/api?key=1", "https://evil.example/api?key=1"},
		{"https://evil.example/api?key=2", ""},
		{"https://evil.example/api", ""},
		{"not a url", ""},
	} {
		got := ""
		if ind, ok := s.MatchURL(c.url); ok {
			got = ind.Value
		}
		if got != c.want {
			t.Errorf("MatchURL(%q) = %q, want %q", c.url, got, c.want)
		}
	}
}

func TestSetAddStatsAndSources(t *testing.T) {
	s := NewSet(6)
	a := []Indicator{
		{Value: "192.0.2.1", Source: "a", Name: "first"},
		{Kind: KindPrefix, Value: "198.51.100.0/24", Source: "a"},
		{Kind: KindDomain, Value: "evil.example", Subdomains: true, Source: "a"},
		{Kind: KindURL, Value: "HTTP://X.example", Source: "a"},
		{Kind: KindDomain, Value: "not valid!", Source: "a"},
		{Kind: Kind(9), Value: "x", Source: "a"},
	}
	n, err := s.Add(a...)
	if n != 4 || err == nil || !strings.Contains(err.Error(), "not valid!") || !strings.Contains(err.Error(), "unknown kind") {
		t.Fatalf("Add: %d, %v", n, err)
	}
	if ind, _ := s.MatchDomain("www.evil.example"); ind == nil || ind.Value != "*.evil.example" {
		t.Errorf("Subdomains flag: %+v", ind)
	}
	// Duplicates keep the first; the cap drops the rest.
	n, err = s.Add(Indicator{Value: "192.0.2.1", Source: "b", Name: "second"}, Indicator{Value: "192.0.2.2", Source: "b"},
		Indicator{Value: "192.0.2.3", Source: "b"}, Indicator{Value: "192.0.2.4", Source: "b"})
	if n != 2 || err != nil {
		t.Fatalf("Add b: %d, %v", n, err)
	}
	if ind, _ := s.MatchIP(netip.MustParseAddr("192.0.2.1")); ind == nil || ind.Name != "first" {
		t.Errorf("duplicate replaced the first: %+v", ind)
	}
	st := s.Stats()
	if s.Len() != 6 || st.Addrs != 3 || st.Prefixes != 1 || st.Subdomains != 1 || st.Domains != 0 || st.URLs != 1 ||
		st.Duplicates != 1 || st.Dropped != 1 || st.Invalid != 2 || st.Max != 6 || st.Sources["a"] != 4 || st.Sources["b"] != 4 {
		t.Errorf("stats: len %d %+v", s.Len(), st)
	}
	hits := st.Hits
	s.MatchIP(netip.MustParseAddr("192.0.2.2"))
	s.MatchIP(netip.MustParseAddr("203.0.113.1"))
	if got := s.Stats().Hits; got != hits+1 {
		t.Errorf("hits %d, want %d", got, hits+1)
	}

	// Removing source a lets b's duplicate and the dropped one in.
	if n := s.RemoveSource("a"); n != 4 {
		t.Errorf("RemoveSource: %d", n)
	}
	if ind, _ := s.MatchIP(netip.MustParseAddr("192.0.2.1")); ind == nil || ind.Name != "second" {
		t.Errorf("after removing a: %+v", ind)
	}
	if got := matchIP(s, "192.0.2.4"); got != "192.0.2.4" || s.Len() != 4 {
		t.Errorf("after removing a: %q, len %d", got, s.Len())
	}
	if n := s.RemoveSource("nothing"); n != 0 {
		t.Errorf("RemoveSource(nothing) = %d", n)
	}

	// Replace swaps a source's content.
	n, err = s.Replace("b", []Indicator{{Value: "203.0.113.9", Source: "ignored"}, {Value: "bad value!"}})
	if n != 1 || err == nil {
		t.Errorf("Replace: %d, %v", n, err)
	}
	if matchIP(s, "192.0.2.1") != "" || matchIP(s, "203.0.113.9") != "203.0.113.9" || s.Len() != 1 {
		t.Errorf("after Replace: len %d", s.Len())
	}
	if ind, _ := s.MatchIP(netip.MustParseAddr("203.0.113.9")); ind.Source != "b" {
		t.Errorf("Replace keeps the source name: %q", ind.Source)
	}
	if st := s.Stats(); st.Invalid != 3 || len(st.Sources) != 1 {
		t.Errorf("stats after Replace: %+v", st)
	}
	if n, err := s.Replace("b", nil); n != 0 || err != nil || s.Len() != 0 || len(s.Stats().Sources) != 0 {
		t.Errorf("Replace with nothing: %d %v len %d", n, err, s.Len())
	}
}

func TestSetExpire(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var s Set
	if _, err := s.Add(
		Indicator{Value: "192.0.2.1", Source: "f", ValidUntil: now.Add(-time.Hour)},
		Indicator{Value: "192.0.2.2", Source: "f", ValidUntil: now.Add(time.Hour)},
		Indicator{Value: "192.0.2.3", Source: "f"},
		Indicator{Value: "old.example", Source: "g", ValidUntil: now},
	); err != nil {
		t.Fatal(err)
	}
	if n := s.Expire(now); n != 2 {
		t.Errorf("Expire: %d, want 2", n)
	}
	if matchIP(&s, "192.0.2.1") != "" || matchIP(&s, "192.0.2.2") == "" || matchIP(&s, "192.0.2.3") == "" || matchDomain(&s, "old.example") != "" {
		t.Error("wrong indicators expired")
	}
	if st := s.Stats(); st.Sources["f"] != 2 || len(st.Sources) != 1 {
		t.Errorf("sources after Expire: %v", st.Sources)
	}
	if n := s.Expire(now.Add(2 * time.Hour)); n != 1 || s.Len() != 1 {
		t.Errorf("second Expire: %d, len %d", n, s.Len())
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	s := NewSet(0)
	var vals []string
	for i := range 64 {
		vals = append(vals, fmt.Sprintf("10.%d.0.0/16", i), fmt.Sprintf("192.0.%d.%d", i/8, i), fmt.Sprintf("bad%d.example", i), fmt.Sprintf("*.c2-%d.example", i))
	}
	for b := 8; b <= 32; b++ {
		vals = append(vals, fmt.Sprintf("172.16.0.0/%d", b))
	}
	for b := 16; b <= 128; b += 4 {
		vals = append(vals, netip.PrefixFrom(netip.MustParseAddr("2001:db8::"), b).Masked().String())
	}
	mustAdd(t, s, vals...)
	v4 := netip.MustParseAddr("10.33.1.1")
	v4miss := netip.MustParseAddr("203.0.113.1")
	v6 := netip.MustParseAddr("2001:db8::1")
	mapped := netip.MustParseAddr("::ffff:192.0.3.30")
	long := strings.Repeat("a", 300)
	for name, f := range map[string]func() bool{
		"ip exact":           func() bool { _, ok := s.MatchIP(mapped); return ok },
		"ip prefix":          func() bool { _, ok := s.MatchIP(v4); return ok },
		"ip miss":            func() bool { _, ok := s.MatchIP(v4miss); return !ok },
		"ipv6 prefix":        func() bool { _, ok := s.MatchIP(v6); return ok },
		"domain exact":       func() bool { _, ok := s.MatchDomain("bad7.example"); return ok },
		"domain upper":       func() bool { _, ok := s.MatchDomain("BAD7.Example."); return ok },
		"domain subdomain":   func() bool { _, ok := s.MatchDomain("a.b.c2-9.example"); return ok },
		"domain upper sub":   func() bool { _, ok := s.MatchDomain("A.B.C2-9.EXAMPLE"); return ok },
		"domain miss":        func() bool { _, ok := s.MatchDomain("www.benign.example.org"); return !ok },
		"domain miss length": func() bool { _, ok := s.MatchDomain(long); return !ok },
	} {
		if !f() {
			t.Errorf("%s: wrong answer", name)
			continue
		}
		if n := testing.AllocsPerRun(200, func() { f() }); n != 0 {
			t.Errorf("%s: %.1f allocations per match, want 0", name, n)
		}
	}
}

func TestSetConcurrent(t *testing.T) {
	s := NewSet(0)
	mustAdd(t, s, "192.0.2.0/24", "evil.example")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var misses [4]int
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// These two are never removed, whatever the writers do.
				if _, ok := s.MatchIP(netip.MustParseAddr("192.0.2.7")); !ok {
					misses[r]++
				}
				if _, ok := s.MatchDomain("EVIL.example"); !ok {
					misses[r]++
				}
				s.MatchURL("http://x.example/")
				_ = s.Stats()
			}
		}()
	}
	for i := range 200 {
		src := fmt.Sprintf("feed%d", i%3)
		if _, err := s.Replace(src, []Indicator{{Value: fmt.Sprintf("198.51.100.%d", i%250)}, {Value: "http://x.example"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Add(Indicator{Value: fmt.Sprintf("203.0.%d.0/24", i%250), Source: "adds"}); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			s.RemoveSource("adds")
			s.Expire(time.Now())
		}
	}
	close(stop)
	wg.Wait()
	for r, m := range misses {
		if m != 0 {
			t.Errorf("reader %d missed a permanent indicator %d times", r, m)
		}
	}
	if st := s.Stats(); st.Sources["test"] != 2 || st.Sources["feed0"] != 2 {
		t.Errorf("sources: %v", st.Sources)
	}
}

func BenchmarkMatch(b *testing.B) {
	s := NewSet(0)
	var inds []Indicator
	for i := range 100000 {
		inds = append(inds, Indicator{Value: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)})
		inds = append(inds, Indicator{Value: fmt.Sprintf("host%d.bad.example", i)})
	}
	for i := range 1000 {
		inds = append(inds, Indicator{Value: fmt.Sprintf("172.%d.%d.0/%d", 16+i%16, i%256, 20+i%5)})
		inds = append(inds, Indicator{Value: fmt.Sprintf("*.zone%d.example", i)})
	}
	if _, err := s.Add(inds...); err != nil {
		b.Fatal(err)
	}
	miss4 := netip.MustParseAddr("192.168.1.1")
	hit4 := netip.MustParseAddr("10.1.2.3")
	b.Run("ip-hit", func(b *testing.B) {
		for b.Loop() {
			s.MatchIP(hit4)
		}
	})
	b.Run("ip-miss", func(b *testing.B) {
		for b.Loop() {
			s.MatchIP(miss4)
		}
	})
	b.Run("domain-miss", func(b *testing.B) {
		for b.Loop() {
			s.MatchDomain("www.update.microsoft.example.com")
		}
	})
	b.Run("domain-sub", func(b *testing.B) {
		for b.Loop() {
			s.MatchDomain("a.b.zone77.example")
		}
	})
}
