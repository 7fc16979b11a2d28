package alert

import (
	_ "embed"
	"fmt"
	"strings"
)

// attackTSV is MITRE ATT&CK for ICS (v18): id, name, tactics (comma
// separated), deprecated, revoked. It comes from ../shared, derived from
// MITRE's public ATT&CK data.
//
//go:embed attack-ics-techniques.tsv
var attackTSV string

// Technique is one MITRE ATT&CK for ICS technique.
type Technique struct {
	ID      string
	Name    string
	Tactics []string
	// Deprecated or revoked techniques are not valid in new alerts.
	Deprecated bool
}

var techniques = func() map[string]Technique {
	m := map[string]Technique{}
	for i, line := range strings.Split(attackTSV, "\n") {
		f := strings.Split(strings.TrimRight(line, "\r"), "\t")
		if i == 0 || len(f) < 5 {
			continue
		}
		t := Technique{ID: f[0], Name: f[1], Deprecated: f[3] == "True" || f[4] == "True"}
		for _, tac := range strings.Split(f[2], ",") {
			if tac = strings.TrimSpace(tac); tac != "" {
				t.Tactics = append(t.Tactics, tac)
			}
		}
		m[t.ID] = t
	}
	return m
}()

// LookupTechnique returns the ATT&CK for ICS technique with the given ID.
func LookupTechnique(id string) (Technique, bool) {
	t, ok := techniques[id]
	return t, ok
}

// ValidTechnique checks that id is a current ATT&CK for ICS technique: in
// the T0800–T0890 range, in the matrix, neither deprecated nor revoked, and
// with at least one tactic.
func ValidTechnique(id string) error {
	var n int
	if len(id) != 5 || id[0] != 'T' {
		return fmt.Errorf("technique %q: not of the form T0nnn", id)
	}
	if _, err := fmt.Sscanf(id[1:], "%d", &n); err != nil || n < 800 || n > 890 {
		return fmt.Errorf("technique %q: outside the ICS range T0800–T0890", id)
	}
	t, ok := techniques[id]
	if !ok {
		return fmt.Errorf("technique %q: not in the ATT&CK for ICS matrix", id)
	}
	if t.Deprecated {
		return fmt.Errorf("technique %q (%s): deprecated or revoked", id, t.Name)
	}
	if len(t.Tactics) == 0 {
		return fmt.Errorf("technique %q (%s): no tactic", id, t.Name)
	}
	return nil
}

// Tactics returns the distinct tactic names of the given techniques, in
// order of first appearance.
func Tactics(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		for _, tac := range techniques[id].Tactics {
			if !seen[tac] {
				seen[tac] = true
				out = append(out, tac)
			}
		}
	}
	return out
}
