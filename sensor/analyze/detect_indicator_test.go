package analyze_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect/indicator"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// loadIndicators reads an indicator file of testdata/detect into a set.
func loadIndicators(t *testing.T, name string) (*indicator.Set, *indicator.Result) {
	t.Helper()
	res, err := indicator.LoadFile(filepath.Join("testdata", "detect", name), time.Now(), indicator.Limits{})
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	set := indicator.NewSet(0)
	if _, err := set.Add(res.Indicators...); err != nil {
		t.Fatalf("indexing %s: %v", name, err)
	}
	return set, res
}

// TestDetectIndicators matches imported indicators against real traffic:
// pcaps/dns/wikipedia.pcap, where 141.142.220.118 asks 141.142.2.2 for
// upload.wikimedia.org (8 queries, 16 messages with the answers) and opens
// 6 HTTP connections to 208.80.152.3, with 12 requests for that Host
// (tshark checks these facts below).
// The address and the name are listed as malicious in a STIX 2.1 bundle and
// in a plain list; a bundle of other indicators raises nothing.
func TestDetectIndicators(t *testing.T) {
	t.Parallel()
	ck := newChecker(t)
	wiki := pcapPath(t, "dns/wikipedia.pcap")
	for _, c := range []struct {
		file, format string
	}{
		{"indicators-wikipedia.stix.json", "stix"},
		{"indicators-wikipedia.txt", "list"},
	} {
		t.Run(c.format, func(t *testing.T) {
			t.Parallel()
			set, res := loadIndicators(t, c.file)
			if res.Format != c.format || len(res.Indicators) != 2 || res.Skipped != 0 {
				t.Fatalf("%s: format %q, %d indicators, %d skipped (%v): want %s, 2, 0", c.file, res.Format,
					len(res.Indicators), res.Skipped, res.Errors, c.format)
			}
			r := ck.run(t, []string{wiki}, analyze.DetectOptions{Indicators: set})
			got := expectAlerts(t, r.alerts, []wantAlert{
				// One per connection to the listed address.
				{rule: alert.RuleIndicator, src: "141.142.220.118", dst: "208.80.152.3", function: "208.80.152.3",
					count: 6, title: "Known malicious address or domain: 208.80.152.3 (" + c.file + ")"},
				// One per DNS query naming the listed domain…
				{rule: alert.RuleIndicator, src: "141.142.220.118", dst: "141.142.2.2",
					function: "upload.wikimedia.org", count: 8,
					title: "Known malicious address or domain: upload.wikimedia.org (" + c.file + ")"},
				// … one per answer, which names it too (from the resolver's
				// side: the engine sees the name in a packet from it)…
				{rule: alert.RuleIndicator, src: "141.142.2.2", dst: "141.142.220.118",
					function: "upload.wikimedia.org", count: 8,
					title: "Known malicious address or domain: upload.wikimedia.org (" + c.file + ")"},
				// … and one per HTTP request with the name as Host.
				{rule: alert.RuleIndicator, src: "141.142.220.118", dst: "208.80.152.3",
					function: "upload.wikimedia.org", count: 12,
					title: "Known malicious address or domain: upload.wikimedia.org (" + c.file + ")"},
			})
			for _, a := range got {
				if a != nil && !strings.Contains(a.Evidence[0].Detail, c.file) {
					t.Errorf("%s: evidence %q does not name the source %s", alertKey(a), a.Evidence[0].Detail, c.file)
				}
			}
			if c.format == "stix" && got[0] != nil && !strings.Contains(got[0].Description, "wikipedia.pcap") {
				t.Errorf("address alert: description %q is not the indicator's", got[0].Description)
			}
		})
	}
	t.Run("no match", func(t *testing.T) {
		t.Parallel()
		set, res := loadIndicators(t, "indicators-nomatch.stix.json")
		if set.Len() != 3 {
			t.Fatalf("indicators-nomatch.stix.json: %d indicators indexed (%d read, %v): want 3", set.Len(),
				len(res.Indicators), res.Errors)
		}
		r := ck.run(t, []string{wiki}, analyze.DetectOptions{Indicators: set})
		if bad := only(r.alerts, alert.RuleIndicator); len(bad) > 0 {
			t.Errorf("indicators that the capture does not hold raised:%s", describe(bad))
		}
	})
	t.Run("tshark", func(t *testing.T) {
		t.Parallel()
		needTool(t, "tshark")
		syn := tsharkFields(t, wiki, "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.dst == 208.80.152.3", "ip.src")
		dns := tsharkFields(t, wiki, `dns.qry.name == "upload.wikimedia.org"`, "ip.src", "ip.dst", "dns.flags.response")
		queries := 0
		for _, r := range dns {
			if r[2] == "0" || r[2] == "False" {
				queries++
				if r[0] != "141.142.220.118" || r[1] != "141.142.2.2" {
					t.Errorf("tshark: query for upload.wikimedia.org from %s to %s", r[0], r[1])
				}
			}
		}
		hosts := tsharkFields(t, wiki, `http.host == "upload.wikimedia.org"`, "ip.src", "ip.dst")
		for _, r := range hosts {
			if r[0] != "141.142.220.118" || r[1] != "208.80.152.3" {
				t.Errorf("tshark: HTTP request for upload.wikimedia.org from %s to %s", r[0], r[1])
			}
		}
		if len(syn) != 6 || queries != 8 || len(dns) != 16 || len(hosts) != 12 {
			t.Errorf("tshark: %d connections to 208.80.152.3, %d queries and %d messages for upload.wikimedia.org, "+
				"%d HTTP requests with it as Host; the test expects 6, 8, 16 and 12", len(syn), queries, len(dns),
				len(hosts))
		}
	})
}
