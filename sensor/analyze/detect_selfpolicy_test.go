package analyze_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// sharedCaptures lists the captures of ../shared/pcaps (licence unclear,
// not in the repository) that pcaps/ does not hold under the same path.
func sharedCaptures(tb testing.TB) []string {
	tb.Helper()
	root := dissectortest.RepoRoot(tb)
	shared := filepath.Join(filepath.Dir(root), "shared", "pcaps")
	if _, err := os.Stat(shared); err != nil {
		return nil
	}
	var out []string
	err := filepath.WalkDir(shared, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "expected" {
			return filepath.SkipDir
		}
		if d.IsDir() || !dissectortest.IsCapture(p) {
			return nil
		}
		rel, _ := filepath.Rel(shared, p)
		if _, err := os.Stat(filepath.Join(root, "pcaps", rel)); err == nil {
			return nil // the same capture is in the repository
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		tb.Fatalf("listing %s: %v", shared, err)
	}
	return out
}

// TestDetectSelfLearnNoPolicyAlerts is the "learning on a capture and
// detecting on the same capture raises zero policy alerts" acceptance test,
// on every capture in pcaps/ with at least two IP addresses (tshark's
// facts) and on the ../shared captures when present. The other engines
// still run; only the policy engine must be silent.
func TestDetectSelfLearnNoPolicyAlerts(t *testing.T) {
	t.Parallel()
	root := dissectortest.RepoRoot(t)
	var caps []string
	for _, c := range dissectortest.Captures(t, "") {
		caps = append(caps, filepath.Join(root, c))
	}
	repo := len(caps)
	caps = append(caps, sharedCaptures(t)...)
	if repo < 150 {
		t.Fatalf("only %d captures under pcaps/", repo)
	}
	t.Logf("%d captures in pcaps/, %d more in ../shared/pcaps", repo, len(caps)-repo)
	ck := newChecker(t)
	for _, p := range sample(t, caps) {
		name := strings.TrimPrefix(filepath.ToSlash(p), filepath.ToSlash(filepath.Dir(root))+"/")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			exp := dissectortest.LoadExpected(t, p)
			if len(exp.IPAddresses) < 2 {
				t.Skipf("%d IP addresses: fewer than two devices", len(exp.IPAddresses))
			}
			r := ck.run(t, []string{p}, analyze.DetectOptions{Learn: []string{p}})
			if r.sum.Baseline.Mode != "operational" {
				t.Fatalf("baseline mode %q after learning", r.sum.Baseline.Mode)
			}
			if bad := ofEngine(r.alerts, alert.EnginePolicy); len(bad) > 0 {
				t.Errorf("%d policy alerts after learning on the same capture:%s", len(bad), describe(bad))
			}
		})
	}
}
