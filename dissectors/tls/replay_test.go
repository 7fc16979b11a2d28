package tls

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// fields are the tshark facts this package must reproduce.
var fields = []string{"tls_sni", "tls_ja3"}

// knownDiffs excuses deliberate differences from tshark, per capture.
var knownDiffs = map[string]map[string]string{}

func goldenName(capture string) string {
	return strings.TrimSuffix(filepath.Base(capture), filepath.Ext(capture))
}

// TestCaptures replays every TLS capture, compares the output with its
// golden file and the field counts with tshark's.
func TestCaptures(t *testing.T) {
	caps := dissectortest.Captures(t, "tls")
	if len(caps) == 0 {
		t.Fatal("no captures under pcaps/tls")
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

// TestSharedCaptures runs the copies in ../shared/pcaps when present.
func TestSharedCaptures(t *testing.T) {
	for _, name := range []string{"chrome-34-google.pcap", "hrr.pcap", "tls13-ech.pcap", "heartbleed.pcap"} {
		t.Run(name, func(t *testing.T) {
			p := dissectortest.SharedPath(t, "tls/"+name)
			res := dissectortest.Replay(t, p, Spec())
			dissectortest.CompareExpected(t, res, p, fields, knownDiffs[goldenName(p)])
		})
	}
}
