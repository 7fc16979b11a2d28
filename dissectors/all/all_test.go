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
