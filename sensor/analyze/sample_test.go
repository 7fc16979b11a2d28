package analyze_test

import "testing"

// sample keeps every capture, or under -short (the race-detector run of
// make test, whose full runs are done without -race) every eighth: the
// whole-corpus comparisons with tshark are dominated by tshark and by the
// race detector's slowdown of the analyser, not by anything concurrent.
func sample(t testing.TB, caps []string) []string {
	if !testing.Short() {
		return caps
	}
	var out []string
	for i, c := range caps {
		if i%8 == 0 {
			out = append(out, c)
		}
	}
	t.Logf("-short: %d of %d captures", len(out), len(caps))
	return out
}
