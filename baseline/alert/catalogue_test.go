package alert

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// docEntry is one line of the catalogue in DETECTIONS.md.
type docEntry struct {
	Engine     Engine
	Title      string
	Severity   Severity // 0: "as configured"
	Techniques []string // sorted; nil with PerSignature
	Off        bool     // "(off)" or "(off by default)"
	// PerSignature: "per signature", the ICS malware behaviour rules.
	PerSignature bool
}

// docCopy is the catalogue of DETECTIONS.md as of this writing, so that the
// checks run without ../shared. TestCatalogueMatchesDetectionsDoc checks
// that it is still what the document says.
var docCopy = []docEntry{
	{EnginePolicy, "New asset detected", Major, []string{"T0848"}, false, false},
	{EnginePolicy, "New communication", Major, []string{"T0855"}, false, false},
	{EnginePolicy, "Unpermitted function code", Major, []string{"T0836", "T0855"}, false, false},
	{EnginePolicy, "Modbus address range violation", Major, []string{"T0836"}, false, false},
	{EnginePolicy, "Unauthorized PLC programming", Critical, []string{"T0843", "T0845", "T0889"}, false, false},
	{EnginePolicy, "Firmware version changed", Major, []string{"T0857"}, false, false},
	{EnginePolicy, "Unauthorized internet connectivity", Critical, []string{"T0883"}, false, false},
	{EnginePolicy, "Unauthorized remote access", Major, []string{"T0886"}, false, false},
	{EnginePolicy, "New port or protocol on a device", Minor, []string{"T0869", "T0885"}, false, false},
	{EnginePolicy, "Cleartext credentials", Major, []string{"T0812"}, false, false},
	{EngineProtocol, "Malformed packets", Major, []string{"T0806"}, false, false},
	{EngineProtocol, "Illegal Modbus operation", Major, []string{"T0866"}, false, false},
	{EngineProtocol, "Connection attempt on port 0", Minor, []string{"T0855"}, false, false},
	{EngineProtocol, "Unexpected message length", Critical, []string{"T0866"}, false, false},
	{EngineAnomaly, "Address scan", Critical, []string{"T0846"}, false, false},
	{EngineAnomaly, "Port scan", Critical, []string{"T0846"}, false, false},
	{EngineAnomaly, "PLC scan", Critical, []string{"T0846", "T0888"}, false, false},
	{EngineAnomaly, "ARP scan", Critical, []string{"T0846"}, true, false},
	{EngineAnomaly, "ARP spoofing / duplicate IP", Critical, []string{"T0830"}, false, false},
	{EngineAnomaly, "Excessive login attempts", Critical, []string{"T0806", "T0812"}, false, false},
	{EngineAnomaly, "Abnormal periodicity", Minor, []string{"T0801"}, true, false},
	{EngineAnomaly, "Abnormal bandwidth", Minor, []string{"T0814"}, true, false},
	{EngineAnomaly, "Denial of service", Critical, []string{"T0814"}, false, false},
	{EngineAnomaly, "Excessive restart rate", Major, []string{"T0816"}, true, false},
	{EngineOperational, "PLC stop / mode change", Critical, []string{"T0858"}, false, false},
	{EngineOperational, "Device restart or reset", Major, []string{"T0816"}, false, false},
	{EngineOperational, "Firmware update command", Minor, []string{"T0800", "T0857"}, false, false},
	{EngineOperational, "Device unresponsive", Major, []string{"T0881"}, false, false},
	{EngineOperational, "No traffic on capture interface", Critical, nil, false, false},
	{EngineMalware, "Known malicious address or domain", Critical, []string{"T0883"}, false, false},
	{EngineMalware, "Known ICS malware behaviour", Critical, nil, false, true},
	{EngineMalware, "Custom rules", 0, nil, false, false},
}

var techRE = regexp.MustCompile(`\bT0\d{3}\b`)

// parseDetections reads the catalogue section of DETECTIONS.md: entries are
// "- title · trigger · severity · techniques" (the trigger may be missing),
// possibly wrapped onto indented lines, under engine headings.
func parseDetections(t *testing.T, doc string) []docEntry {
	t.Helper()
	_, sec, ok := strings.Cut(doc, "\n## Catalogue")
	if !ok {
		t.Fatal("DETECTIONS.md: no \"## Catalogue\" section")
	}
	if i := strings.Index(sec, "\n## "); i >= 0 {
		sec = sec[:i]
	}
	headings := map[string]Engine{"Policy": EnginePolicy, "Protocol violation": EngineProtocol, "Anomaly": EngineAnomaly,
		"Operational": EngineOperational, "Malware and indicators": EngineMalware}
	var raw []string
	var engines []Engine
	var eng Engine
	for _, line := range strings.Split(sec, "\n")[1:] {
		switch {
		case strings.HasPrefix(line, "- "):
			if eng == 0 {
				t.Fatalf("DETECTIONS.md: entry %q before any engine heading", line)
			}
			raw = append(raw, strings.TrimPrefix(line, "- "))
			engines = append(engines, eng)
		case strings.HasPrefix(line, "  ") && len(raw) > 0:
			raw[len(raw)-1] += " " + strings.TrimSpace(line)
		case strings.TrimSpace(line) != "":
			head := strings.TrimSpace(line)
			if i := strings.Index(head, " ("); i >= 0 {
				head = head[:i]
			}
			e, ok := headings[head]
			if !ok {
				t.Fatalf("DETECTIONS.md: unknown engine heading %q", line)
			}
			eng = e
		}
	}
	var out []docEntry
	for i, r := range raw {
		parts := strings.Split(r, " · ")
		e := docEntry{Engine: engines[i], Title: strings.TrimSpace(parts[0])}
		for _, suffix := range []string{" (off by default)", " (off)"} {
			if s, ok := strings.CutSuffix(e.Title, suffix); ok {
				e.Title, e.Off = s, true
			}
		}
		sevAt := -1
		for j := len(parts) - 1; j >= 1; j-- {
			w, _, _ := strings.Cut(strings.TrimSpace(parts[j]), " ")
			if s, err := ParseSeverity(w); err == nil && w != "" && strings.ToUpper(w[:1]) == w[:1] {
				e.Severity, sevAt = s, j
				break
			}
		}
		if sevAt >= 0 {
			rest := strings.Join(parts[sevAt+1:], " · ")
			if strings.Contains(rest, "per signature") {
				e.PerSignature = true
			} else {
				e.Techniques = techRE.FindAllString(rest, -1)
				sort.Strings(e.Techniques)
			}
		} else if last := strings.TrimSpace(parts[len(parts)-1]); last != "as configured" {
			t.Errorf("DETECTIONS.md: entry %q has no severity", r)
		}
		out = append(out, e)
	}
	return out
}

// detectionsDoc returns DETECTIONS.md from ../shared beside the repository,
// or "" when it is not there.
func detectionsDoc(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, "..", "shared", "DETECTIONS.md"))
	if err != nil {
		return ""
	}
	return string(b)
}

func TestCatalogueMatchesDetectionsDoc(t *testing.T) {
	doc := detectionsDoc(t)
	if doc == "" {
		t.Skip("../shared/DETECTIONS.md not present: skipped (TestCatalogueCoversDoc checks the copy)")
	}
	got := parseDetections(t, doc)
	if len(got) < 30 {
		t.Fatalf("parsed only %d catalogue entries from DETECTIONS.md: %+v", len(got), got)
	}
	if !reflect.DeepEqual(got, docCopy) {
		for i := 0; i < max(len(got), len(docCopy)); i++ {
			var g, w docEntry
			if i < len(got) {
				g = got[i]
			}
			if i < len(docCopy) {
				w = docCopy[i]
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("entry %d: DETECTIONS.md says %+v, the test's copy %+v", i, g, w)
			}
		}
	}
	checkCovers(t, got)
}

func TestCatalogueCoversDoc(t *testing.T) { checkCovers(t, docCopy) }

// checkCovers checks that every entry has a rule with the same engine,
// title, severity, technique IDs and default state.
func checkCovers(t *testing.T, entries []docEntry) {
	t.Helper()
	byTitle := map[string]Rule{}
	for _, r := range Catalogue() {
		byTitle[r.Title] = r
	}
	for _, e := range entries {
		switch {
		case e.PerSignature:
			// One rule per documented campaign signature.
			var sigs []Rule
			for _, r := range Catalogue() {
				if r.Category == "ICS malware" {
					sigs = append(sigs, r)
				}
			}
			if len(sigs) < 3 {
				t.Errorf("%q: %d signature rules, want at least 3 (IEC 104 burst, Modbus sweep, OPC enumeration)", e.Title, len(sigs))
			}
			for _, r := range sigs {
				if r.Engine != e.Engine || r.Severity != e.Severity || len(r.Techniques) == 0 {
					t.Errorf("%q: signature rule %s: engine %v severity %v techniques %v", e.Title, r.ID, r.Engine, r.Severity, r.Techniques)
				}
			}
		case e.Title == "Custom rules":
			r, ok := Lookup(RuleCustom)
			if !ok || r.Engine != EngineCustom {
				t.Errorf("custom rules: no rule %s of the custom engine", RuleCustom)
			}
		default:
			r, ok := byTitle[e.Title]
			if !ok {
				t.Errorf("%q: no rule with this title", e.Title)
				continue
			}
			tech := append([]string(nil), r.Techniques...)
			sort.Strings(tech)
			if len(tech) == 0 {
				tech = nil
			}
			if r.Engine != e.Engine || r.Severity != e.Severity || !reflect.DeepEqual(tech, e.Techniques) || r.DefaultOff != e.Off {
				t.Errorf("%q: rule %s has engine %v severity %v techniques %v off %v; the catalogue says %v %v %v %v",
					e.Title, r.ID, r.Engine, r.Severity, tech, r.DefaultOff, e.Engine, e.Severity, e.Techniques, e.Off)
			}
		}
	}
}

func TestCatalogueRules(t *testing.T) {
	ids, titles := map[string]bool{}, map[string]bool{}
	cat := Catalogue()
	if len(cat) != len(catalogue) {
		t.Fatalf("Catalogue() has %d rules, the table %d", len(cat), len(catalogue))
	}
	for i, r := range cat {
		if i > 0 && (cat[i-1].Engine > r.Engine || cat[i-1].Engine == r.Engine && cat[i-1].ID >= r.ID) {
			t.Errorf("Catalogue() not sorted by engine then ID at %s, %s", cat[i-1].ID, r.ID)
		}
		if ids[r.ID] || titles[r.Title] {
			t.Errorf("rule %s: duplicate ID or title %q", r.ID, r.Title)
		}
		ids[r.ID], titles[r.Title] = true, true
		if r.Engine.String() == "unknown" || r.Severity.String() == "unknown" || r.Category == "" || r.Trigger == "" {
			t.Errorf("rule %s: engine %v severity %v category %q trigger %q", r.ID, r.Engine, r.Severity, r.Category, r.Trigger)
		}
		if prefix, _, _ := strings.Cut(r.ID, "."); prefix != r.Engine.String() {
			t.Errorf("rule %s: ID does not start with its engine %s", r.ID, r.Engine)
		}
		if r.Remediation == "" && r.ID != RuleCustom {
			t.Errorf("rule %s: no remediation", r.ID)
		}
		if r.Learnable != (r.Engine == EnginePolicy) {
			t.Errorf("rule %s: learnable %v, want policy rules (only) learnable", r.ID, r.Learnable)
		}
		for _, id := range r.Techniques {
			if err := ValidTechnique(id); err != nil {
				t.Errorf("rule %s: %v", r.ID, err)
			}
		}
		if len(r.Techniques) > 0 && len(Tactics(r.Techniques)) == 0 {
			t.Errorf("rule %s: techniques %v have no tactic", r.ID, r.Techniques)
		}
		got, ok := Lookup(r.ID)
		if !ok || got.Title != r.Title || MustRule(r.ID) != got {
			t.Errorf("Lookup(%s) = %v, %v", r.ID, got, ok)
		}
	}
	// Catalogue returns a copy: changing it does not change the rules.
	cat[0].Title = "changed"
	if Catalogue()[0].Title == "changed" {
		t.Error("Catalogue() returned the table itself")
	}
	if _, ok := Lookup("policy.nope"); ok {
		t.Error("Lookup found an unknown rule")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustRule of an unknown rule did not panic")
		}
	}()
	MustRule("policy.nope")
}

func TestValidTechnique(t *testing.T) {
	for _, id := range []string{"T0800", "T0890", "T0846", "T0858", "T0883"} {
		if err := ValidTechnique(id); err != nil {
			t.Errorf("ValidTechnique(%s): %v", id, err)
		}
	}
	for _, tc := range []struct{ id, why string }{
		{"T0000", "outside"}, {"T0799", "outside"}, {"T0891", "outside"}, {"T0900", "outside"}, {"T1059", "outside"},
		{"T0808", "not in the"}, // a gap in the ICS matrix
		{"", "not of the form"}, {"t0800", "not of the form"}, {"T08000", "not of the form"},
		{"T0800.001", "not of the form"}, {"X0800", "not of the form"}, {"T08O0", "outside"}, {"T-800", "outside"},
		{"Tabcd", "outside"},
	} {
		err := ValidTechnique(tc.id)
		if err == nil {
			t.Errorf("ValidTechnique(%q) accepted it", tc.id)
		} else if !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ValidTechnique(%q) = %v, want an error saying %q", tc.id, err, tc.why)
		}
	}
	// Every current technique of the embedded matrix in the range is valid.
	// (ATT&CK for ICS v18 goes up to T0895; the sensor's range stops at
	// T0890, so T0891–T0895 are rejected as "outside".)
	n := 0
	for id, tech := range techniques {
		n++
		err := ValidTechnique(id)
		switch {
		case id > "T0890":
			if err == nil || !strings.Contains(err.Error(), "outside") {
				t.Errorf("matrix technique %s beyond T0890: %v, want outside the range", id, err)
			}
		case err != nil && !tech.Deprecated:
			t.Errorf("matrix technique %s: %v", id, err)
		}
	}
	if n < 75 {
		t.Errorf("the embedded matrix has %d techniques, want the ~80 of ATT&CK for ICS", n)
	}
	tech, ok := LookupTechnique("T0846")
	if !ok || tech.Name != "Remote System Discovery" || !slices.Equal(tech.Tactics, []string{"discovery"}) {
		t.Errorf("LookupTechnique(T0846) = %+v, %v", tech, ok)
	}
	if _, ok := LookupTechnique("T1059"); ok {
		t.Error("LookupTechnique found an enterprise technique")
	}
}

func TestTactics(t *testing.T) {
	for _, tc := range []struct {
		ids  []string
		want []string
	}{
		{nil, nil},
		{[]string{"T0846", "T0888"}, []string{"discovery"}},
		{[]string{"T0858", "T0816", "T0857"}, []string{"execution", "evasion", "inhibit-response-function", "persistence"}},
		{[]string{"T0866", "T0886"}, []string{"initial-access", "lateral-movement"}},
		{[]string{"T9999", "T0812"}, []string{"lateral-movement"}}, // unknown IDs have no tactics
	} {
		if got := Tactics(tc.ids); !slices.Equal(got, tc.want) {
			t.Errorf("Tactics(%v) = %v, want %v", tc.ids, got, tc.want)
		}
	}
}
