package all

import (
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// infrastructure packages under dissectors/ that are not dissectors, and
// payload dissectors reached through a transport dissector (cotp hands off
// to s7comm, s7commplus and mms).
var notRegistered = map[string]string{
	"dissect":       "the contract",
	"all":           "this list",
	"dissectortest": "the test kit",
	"internal":      "shared helpers",
	"s7comm":        "payload of cotp",
	"s7commplus":    "payload of cotp",
	"mms":           "payload of cotp",
}

// TestEveryDissectorRegistered checks that each package under dissectors/
// is imported here, so no dissector is forgotten.
func TestEveryDissectorRegistered(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "all.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	imported := map[string]bool{}
	for _, im := range f.Imports {
		p := strings.Trim(im.Path.Value, `"`)
		imported[p[strings.LastIndex(p, "/")+1:]] = true
	}
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, skip := notRegistered[e.Name()]; skip {
			continue
		}
		if !imported[e.Name()] {
			t.Errorf("dissectors/%s is not registered in dissectors/all", e.Name())
		}
	}
}

func TestRegistryBuilds(t *testing.T) {
	r := Registry()
	if r.Len() != len(Specs()) {
		t.Fatalf("registry holds %d of %d specs", r.Len(), len(Specs()))
	}
	for _, s := range Specs() {
		if s.Description == "" {
			t.Errorf("%s: spec has no description", s.Name)
		}
		if s.Class == 0 {
			t.Errorf("%s: spec has no class", s.Name)
		}
	}
}

// TestEveryDissectorHasItsKit checks that each dissector package carries
// the kit of dissectors/CONTRIBUTING.md: a README, a fuzz target, a
// benchmark and an allocation test.
func TestEveryDissectorHasItsKit(t *testing.T) {
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if why, skip := notRegistered[e.Name()]; skip && !strings.HasPrefix(why, "payload") {
			continue
		}
		dir := "../" + e.Name()
		if _, err := os.Stat(dir + "/README.md"); err != nil {
			t.Errorf("dissectors/%s has no README.md", e.Name())
		}
		var tests strings.Builder
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if strings.HasSuffix(f.Name(), "_test.go") {
				b, _ := os.ReadFile(dir + "/" + f.Name())
				tests.Write(b)
			}
		}
		src := tests.String()
		for _, want := range []string{"func Fuzz", "func Benchmark", "testing.AllocsPerRun"} {
			if !strings.Contains(src, want) {
				t.Errorf("dissectors/%s: no %s in its tests", e.Name(), strings.TrimPrefix(want, "func "))
			}
		}
	}
}
