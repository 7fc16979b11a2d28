// Package archtest enforces the dependency rules of the architecture
// (ARCHITECTURE.md, "Dependency rules") with `go list -deps`.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/otwatch/otwatch/"

type pkgInfo struct {
	path    string
	imports []string // direct imports
	deps    []string // transitive
}

func goList(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	return string(out)
}

func packages(t *testing.T) []pkgInfo {
	out := goList(t, "-deps=false", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}", "./...")
	var ps []pkgInfo
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 {
			continue
		}
		ps = append(ps, pkgInfo{path: f[0], imports: strings.Fields(f[1]), deps: strings.Fields(f[2])})
	}
	return ps
}

func rel(p string) string { return strings.TrimPrefix(p, mod) }

func internal(p string) bool { return strings.HasPrefix(p, mod) }

func under(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }

// allowed reports whether package from may import the project package to.
func allowed(from, to string) bool {
	switch {
	case strings.Contains(to, "/cmd/") || strings.HasSuffix(to, "/cmd"):
		return false // nothing imports a cmd/ package
	case under(to, "internal"):
		return true
	}
	top := strings.SplitN(from, "/", 2)[0]
	switch top {
	case "dissectors":
		if from == "dissectors/dissect" {
			return false
		}
		if from == "dissectors/dissectortest" {
			// The test kit replays captures through the sensor's own path.
			return under(to, "dissectors") || to == "sensor/capture" || to == "sensor/decode" || to == "sensor/flow"
		}
		if from == "dissectors/all" {
			return under(to, "dissectors")
		}
		if from == "dissectors/cotp" && (to == "dissectors/s7comm" || to == "dissectors/s7commplus" || to == "dissectors/mms") {
			return true // the transport hands payloads to the protocols it carries
		}
		return to == "dissectors/dissect" || under(to, "dissectors/internal")
	case "baseline":
		return to == "dissectors/dissect" || under(to, "baseline")
	case "sync":
		return under(to, "sync")
	case "sensor":
		return under(to, "dissectors") || under(to, "baseline") || under(to, "sync") || under(to, "sensor") ||
			to == "firmware/update" || under(to, "firmware/manifest")
	case "console":
		return to == "sync/wire" || to == "sync/ingest" || to == "sync/mqtt" || to == "dissectors/dissect" ||
			under(to, "console")
	case "firmware":
		return under(to, "firmware")
	case "internal":
		return true
	}
	return false
}

// TestDependencyRules checks every project import against the rules.
func TestDependencyRules(t *testing.T) {
	ps := packages(t)
	if len(ps) < 5 {
		t.Fatalf("go list found only %d packages", len(ps))
	}
	for _, p := range ps {
		from := rel(p.path)
		for _, imp := range p.imports {
			if !internal(imp) {
				continue
			}
			if !allowed(from, rel(imp)) {
				t.Errorf("%s imports %s: not allowed by the dependency rules", from, rel(imp))
			}
		}
	}
}

// TestDissectorsUseStandardLibraryOnly checks with the transitive deps that
// the dissectors and the contract pull in no third-party code.
func TestDissectorsUseStandardLibraryOnly(t *testing.T) {
	std := map[string]bool{}
	for _, s := range strings.Fields(goList(t, "std")) {
		std[s] = true
	}
	for _, p := range packages(t) {
		from := rel(p.path)
		if !under(from, "dissectors") || from == "dissectors/dissectortest" {
			continue
		}
		for _, d := range p.deps {
			if !std[d] && !internal(d) {
				t.Errorf("%s depends on %s: dissectors may use the standard library only", from, d)
			}
		}
	}
}

// TestRulesRejectViolations makes sure the rule function is not vacuous.
func TestRulesRejectViolations(t *testing.T) {
	bad := [][2]string{
		{"dissectors/modbus", "sensor/flow"},
		{"dissectors/dissect", "dissectors/internal/cursor"},
		{"dissectors/modbus", "dissectors/dnp3"},
		{"baseline/detect", "sensor/store"},
		{"sync/outbox", "sensor/store"},
		{"console/alerts", "baseline/alert"},
		{"console/alerts", "sensor/store"},
		{"firmware/update", "sync/wire"},
		{"sensor/web", "sensor/cmd/otsensor"},
	}
	for _, b := range bad {
		if allowed(b[0], b[1]) {
			t.Errorf("rule allows %s → %s", b[0], b[1])
		}
	}
	good := [][2]string{
		{"dissectors/modbus", "dissectors/dissect"},
		{"dissectors/cotp", "dissectors/s7comm"},
		{"sensor/pipeline", "sensor/flow"},
		{"console/receiver", "sync/ingest"},
		{"baseline/detect", "dissectors/dissect"},
	}
	for _, g := range good {
		if !allowed(g[0], g[1]) {
			t.Errorf("rule forbids %s → %s", g[0], g[1])
		}
	}
}
