package indicator

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseListFixture(t *testing.T) {
	res, err := ParseList(bytes.NewReader(readFixture(t, "list.txt")), "list.txt", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"198.51.100.23", "203.0.113.0/24", "2001:db8:dead::/48", "2001:db8:beef::17",
		"update.evil-scada.example", "*.badhost.example", "*.dyn-dns.example",
		"http://evil-scada.example/payload/stage2.bin", "https://files.evil.example/drop.zip",
		"192.0.2.66", "198.51.100.77",
	}
	if got := values(res.Indicators); !slices.Equal(got, want) {
		t.Errorf("indicators:\n got %q\nwant %q", got, want)
	}
	if res.Read != 21 || res.Ignored != 4 || res.Skipped != 6 || res.Reasons[ReasonInvalid] != 6 {
		t.Errorf("read %d ignored %d skipped %d reasons %v", res.Read, res.Ignored, res.Skipped, res.Reasons)
	}
	var lines []int
	for _, e := range res.Errors {
		var se *SkipError
		if !errors.As(e, &se) {
			t.Fatalf("not a SkipError: %v", e)
		}
		lines = append(lines, se.Line)
		if !strings.HasPrefix(e.Error(), "list.txt:"+itoa(se.Line)+": invalid-value: ") {
			t.Errorf("error text: %q", e.Error())
		}
	}
	if !slices.Equal(lines, []int{16, 17, 18, 19, 20, 21}) {
		t.Errorf("error lines %v, want 16..21", lines)
	}
	for _, s := range []string{"10.0.0.0/33", "999.1.2.3", "too broad", "invalid character ' '", "single label"} {
		if !strings.Contains(errors.Join(res.Errors...).Error(), s) {
			t.Errorf("errors do not mention %q: %v", s, res.Errors)
		}
	}
	byValue := map[string]Indicator{}
	for _, ind := range res.Indicators {
		byValue[ind.Value] = ind
	}
	for v, d := range map[string]string{
		"198.51.100.23":      "GridWorm C2 server",
		"203.0.113.0/24":     "staging network",
		"*.badhost.example":  "C2 domains and their subdomains",
		"192.0.2.66":         "defanged download server",
		"198.51.100.77":      "quoted CSV field, with a comma",
		"2001:db8:dead::/48": "",
	} {
		if byValue[v].Description != d {
			t.Errorf("%s: description %q, want %q", v, byValue[v].Description, d)
		}
	}
	if ind := byValue["198.51.100.23"]; ind.Line != 4 || ind.Source != "list.txt" || ind.Kind != KindAddr {
		t.Errorf("provenance: %+v", ind)
	}
	if ind := byValue["*.dyn-dns.example"]; !ind.Subdomains || ind.Kind != KindDomain {
		t.Errorf("leading dot: %+v", ind)
	}
	if ind := byValue["update.evil-scada.example"]; ind.Subdomains {
		t.Errorf("a bare list domain must be exact: %+v", ind)
	}
}

func TestParseListLines(t *testing.T) {
	// CRLF, BOM, CSV header, no final newline.
	in := "\xef\xbb\xbfindicator,description\r\nCRLF.Example.\r\n192.0.2.5\t\"tab separated\""
	res, err := ParseList(strings.NewReader(in), "crlf.csv", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := values(res.Indicators); !slices.Equal(got, []string{"crlf.example", "192.0.2.5"}) || res.Ignored != 1 || res.Skipped != 0 {
		t.Errorf("crlf: %q ignored %d skipped %d %v", got, res.Ignored, res.Skipped, res.Errors)
	}
	if res.Indicators[1].Description != "tab separated" || res.Indicators[1].Line != 3 {
		t.Errorf("tab line: %+v", res.Indicators[1])
	}
	// A header-like word after data is an error, not a header.
	res, err = ParseList(strings.NewReader("192.0.2.1\nindicator\n"), "l", Limits{})
	if err != nil || res.Skipped != 1 {
		t.Errorf("late header: %v, skipped %d", err, res.Skipped)
	}
	// Binary junk is counted per line, without panics.
	res, err = ParseList(bytes.NewReader([]byte("\x00\xff\xfe\n\x01\x02\n192.0.2.9\n")), "bin", Limits{})
	if err != nil || res.Skipped != 2 || len(res.Indicators) != 1 {
		t.Errorf("binary: %v, skipped %d, %q", err, res.Skipped, values(res.Indicators))
	}
}

func TestParseListHugeLine(t *testing.T) {
	huge := strings.Repeat("a", 1<<20)
	in := "192.0.2.1\n" + huge + "\n192.0.2.2\n" + strings.Repeat("b", 100) + ".example\n" + huge
	res, err := ParseList(strings.NewReader(in), "huge.txt", Limits{MaxLine: 64})
	if err != nil {
		t.Fatal(err)
	}
	if got := values(res.Indicators); !slices.Equal(got, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Errorf("indicators %q", got)
	}
	if res.Reasons[ReasonTooLong] != 3 || res.Read != 5 {
		t.Errorf("too long %d, read %d: %v", res.Reasons[ReasonTooLong], res.Read, res.Errors)
	}
	var se *SkipError
	if len(res.Errors) != 3 || !errors.As(res.Errors[0], &se) || se.Line != 2 || !strings.Contains(se.Error(), "longer than 64 bytes") {
		t.Errorf("errors: %v", res.Errors)
	}
	// A line of exactly MaxLine bytes is read.
	exact := strings.Repeat("c", 55) + ".example" // 63 bytes, a valid name
	exact = exact[:len(exact)-1] + "e"
	res, err = ParseList(strings.NewReader(exact+"\r\n"), "exact", Limits{MaxLine: len(exact)})
	if err != nil || len(res.Indicators) != 1 {
		t.Errorf("line of MaxLine bytes: %v, %v", err, res.Errors)
	}
}

func TestParseListLimits(t *testing.T) {
	var b strings.Builder
	for i := range 300 {
		b.WriteString("10.1." + itoa(i/200) + "." + itoa(i%200) + "\nbad line " + itoa(i) + "\n")
	}
	res, err := ParseList(strings.NewReader(b.String()), "many", Limits{MaxIndicators: 250, MaxErrors: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Indicators) != 250 || res.Dropped != 50 || res.Skipped != 300 || len(res.Errors) != 10 {
		t.Errorf("%d indicators, %d dropped, %d skipped, %d errors", len(res.Indicators), res.Dropped, res.Skipped, len(res.Errors))
	}
	_, err = ParseList(strings.NewReader(b.String()), "many", Limits{MaxBytes: 100})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "many") {
		t.Errorf("size limit: %v", err)
	}
	if _, err := ParseList(neverEnding('x'), "endless", Limits{MaxBytes: 1 << 20}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("endless input: %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	res, err := LoadFile("testdata/bundle.json", fixtureNow, Limits{})
	if err != nil || res.Format != "stix" || len(res.Indicators) != 12 || res.Source != "bundle.json" {
		t.Fatalf("bundle: %v %+v", err, res)
	}
	res, err = LoadFile("testdata/list.txt", fixtureNow, Limits{})
	if err != nil || res.Format != "list" || len(res.Indicators) != 11 {
		t.Fatalf("list: %v %+v", err, res)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Detection by content, not by name; a BOM before JSON is allowed.
	res, err = LoadFile(write("feed.txt", "\xef\xbb\xbf\n  [ {\"type\":\"indicator\",\"id\":\"indicator--x\",\"pattern\":\"[url:value = 'http://a.example']\"} ]"), fixtureNow, Limits{})
	if err != nil || res.Format != "stix" || !slices.Equal(values(res.Indicators), []string{"http://a.example/"}) {
		t.Errorf("JSON array in .txt: %v %+v", err, res)
	}
	res, err = LoadFile(write("feed.json", "[2001:db8::1]\n2001:db8::2\n"), fixtureNow, Limits{})
	if err != nil || res.Format != "list" || res.Skipped != 1 || len(res.Indicators) != 1 {
		t.Errorf("bracketed list in .json: %v %+v", err, res)
	}
	res, err = LoadFile(write("empty", ""), fixtureNow, Limits{})
	if err != nil || res.Format != "list" || len(res.Indicators) != 0 {
		t.Errorf("empty file: %v %+v", err, res)
	}
	if _, err := LoadFile(write("broken.json", `{"type":"bundle","objects":[`), fixtureNow, Limits{}); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: %v", err)
	}
	big := write("big.txt", strings.Repeat("192.0.2.1\n", 200))
	if _, err := LoadFile(big, fixtureNow, Limits{MaxBytes: 1000}); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "big.txt") {
		t.Errorf("big file: %v", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing"), fixtureNow, Limits{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadFile(dir, fixtureNow, Limits{}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}
