package http

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// fields are the tshark facts this package must reproduce.
var fields = []string{"http_host", "http_user_agent", "http_server"}

// knownDiffs excuses deliberate differences from tshark, per capture.
var knownDiffs = map[string]map[string]string{
	"bro.org": {
		"http_server=Apache/2.4.6 (Fedora)": "one response (frame 97, stream 2) lost a body segment (frame 179 follows a " +
			"gap): tshark's reassembly never completes the PDU so it never dissects the head; this dissector decodes " +
			"heads as soon as they are complete, so it counts the Server header (31, tshark 30)",
	},
	"methods": {
		"http_host": "methods.pcap is a request-line fuzzing capture (\"OPTIONSHTTP/1.1\", \"GET/\", \"GET / HTTP/1.\", " +
			"non-ASCII methods): tshark decodes whatever runs on port 80, while the strict probe only takes a flow whose " +
			"first line is a known method and a space (and HTTP/1.0 or 1.1 when a version is given); the flows it " +
			"refuses are not HTTP-conformant",
		"http_server": "same as http_host: the responses of the refused fuzzing flows are not decoded",
	},
}

func goldenName(capture string) string {
	return strings.TrimSuffix(filepath.Base(capture), filepath.Ext(capture))
}

// TestCaptures replays every HTTP capture, compares the output with its
// golden file and the field counts with tshark's.
func TestCaptures(t *testing.T) {
	caps := dissectortest.Captures(t, "http")
	if len(caps) == 0 {
		t.Fatal("no captures under pcaps/http")
	}
	for _, c := range caps {
		t.Run(goldenName(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			if len(res.Transactions) == 0 {
				t.Fatalf("%s: no transaction", c)
			}
			dissectortest.Golden(t, res, goldenName(c))
			dissectortest.CompareExpected(t, res, c, fields, knownDiffs[goldenName(c)])
		})
	}
}

// TestOtherCaptures checks the HTTP and SSDP inside captures of other
// protocols (SSDP NOTIFY and M-SEARCH to 239.255.255.250:1900 in the c37
// captures, WebSocket handshakes on port 8765 found by the probe).
func TestOtherCaptures(t *testing.T) {
	for _, c := range []string{"pcaps/dns/wikipedia.pcap", "pcaps/mixed-ot-it/c37118_1100_unclean.pcap",
		"pcaps/mixed-ot-it/c37_pmu_unclean.pcap"} {
		t.Run(goldenName(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec(), SSDPSpec())
			if strings.HasPrefix(goldenName(c), "c37") {
				dissectortest.Golden(t, res, goldenName(c))
			}
			dissectortest.CompareExpected(t, res, c, fields, nil)
		})
	}
}

// TestSharedCaptures runs the copies in ../shared/pcaps when present.
func TestSharedCaptures(t *testing.T) {
	for _, rel := range []string{"http/bro.org.pcap", "http/methods.pcap", "http/pipelined-requests.pcap",
		"dns/wikipedia.pcap"} {
		t.Run(rel, func(t *testing.T) {
			p := dissectortest.SharedPath(t, rel)
			res := dissectortest.Replay(t, p, Spec())
			dissectortest.CompareExpected(t, res, p, fields, knownDiffs[goldenName(p)])
		})
	}
}
