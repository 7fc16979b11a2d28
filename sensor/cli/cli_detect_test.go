package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// TestAnalyzeJSONAlerts runs `otsensor analyze --json --learn A B` on a
// real program upload (B) after learning on other traffic (A) and checks
// the "alerts" array of the output: every element has the fields of the
// alert summary, and the programming alerts are there with their devices,
// severity, techniques and counts. --snippets writes each alert's pcap.
func TestAnalyzeJSONAlerts(t *testing.T) {
	root := dissectortest.RepoRoot(t)
	learn := filepath.Join(root, "pcaps/enip-cip/EIP-ViewDeviceStatus.pcap")
	upload := filepath.Join(root, "pcaps/enip-cip/EIP-SoftwareUpload.pcap")
	snips := t.TempDir()
	code, out, errs := run(t, "analyze", "--json", "--progress", "never", "--snippets", snips, "--learn", learn, upload)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s struct {
		Alerts   []map[string]json.RawMessage `json:"alerts"`
		Baseline struct {
			Mode      string   `json:"mode"`
			LearnedOn []string `json:"learned_on"`
			Items     int      `json:"items"`
		} `json:"baseline"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if s.Baseline.Mode != "operational" || !slices.Equal(s.Baseline.LearnedOn, []string{learn}) || s.Baseline.Items == 0 {
		t.Errorf("baseline %+v: want operational, learned on %s", s.Baseline, learn)
	}
	if len(s.Alerts) == 0 {
		t.Fatalf("no alerts in the output:\n%s", out)
	}
	type summary struct {
		ID         string    `json:"id"`
		Rule       string    `json:"rule"`
		Title      string    `json:"title"`
		Engine     string    `json:"engine"`
		Severity   string    `json:"severity"`
		Techniques []string  `json:"techniques"`
		Src        string    `json:"src"`
		Dst        string    `json:"dst"`
		Protocol   string    `json:"protocol"`
		Function   string    `json:"function"`
		Count      uint64    `json:"count"`
		FirstSeen  time.Time `json:"first_seen"`
		LastSeen   time.Time `json:"last_seen"`
		Snippet    int       `json:"snippet_bytes"`
	}
	prog := map[string]summary{}
	for i, raw := range s.Alerts {
		for _, f := range []string{"title", "engine", "severity", "techniques", "src", "dst", "protocol", "count",
			"first_seen", "last_seen"} {
			if _, ok := raw[f]; !ok {
				t.Errorf("alert %d has no %q: %v", i, f, raw)
			}
		}
		b, _ := json.Marshal(raw)
		var a summary
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("alert %d: %v", i, err)
		}
		if a.Title == "" || a.Engine == "" || a.Severity == "" || len(a.Techniques) == 0 || a.Count == 0 ||
			a.FirstSeen.IsZero() || a.LastSeen.Before(a.FirstSeen) {
			t.Errorf("alert %d: %+v", i, a)
		}
		// --snippets wrote its pcap.
		if b, err := os.ReadFile(filepath.Join(snips, a.ID+".pcap")); err != nil || len(b) != a.Snippet || a.Snippet == 0 {
			t.Errorf("alert %s: snippet file: %d bytes, %v; summary says %d", a.ID, len(b), err, a.Snippet)
		}
		if a.Rule == "policy.unauthorized_programming" {
			prog[a.Function] = a
		}
	}
	for fn, n := range map[string]uint64{"Logix Initiate Transfer (75)": 14, "Logix Upload Transfer (79)": 19,
		"Logix Program Service (76)": 2} {
		a, ok := prog[fn]
		if !ok {
			t.Errorf("no programming alert for %s", fn)
			continue
		}
		if a.Src != "192.168.10.105" || a.Dst != "192.168.10.120" || a.Engine != "policy" || a.Severity != "critical" ||
			a.Protocol != "cip" || a.Count != n || !slices.Equal(a.Techniques, []string{"T0843", "T0845", "T0889"}) ||
			!strings.HasPrefix(a.Title, "Unauthorized PLC programming: "+fn) {
			t.Errorf("programming alert %+v: want 192.168.10.105 → .120, policy, critical, cip, ×%d, T0843 T0845 T0889", a, n)
		}
	}
	if len(prog) != 3 {
		t.Errorf("%d programming alerts, want 3", len(prog))
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		return
	}
	a := prog["Logix Upload Transfer (79)"]
	cmd := exec.Command("tshark", "-n", "-r", filepath.Join(snips, a.ID+".pcap"), "-Y", "cip.sc == 0x4f",
		"-T", "fields", "-e", "frame.number")
	b, err := cmd.Output()
	if err != nil || len(strings.Fields(string(b))) == 0 {
		t.Errorf("tshark finds no Logix Upload Transfer (0x4F) in the alert's snippet: %v", err)
	}
}

// TestAnalyzeDetectConfigAndIndicators checks --detect-config (an exclusion
// and a custom rule) and --indicators on the command line.
func TestAnalyzeDetectConfigAndIndicators(t *testing.T) {
	root := dissectortest.RepoRoot(t)
	cfg := filepath.Join(t.TempDir(), "detect.json")
	if err := os.WriteFile(cfg, []byte(`{
  "exclusions": [{"name": "lock maintenance", "rules": ["operational.plc_lock"]}],
  "custom_rules": [{"name": "stop", "severity": "minor",
    "conditions": [{"field": "protocol", "op": "==", "value": "cip"}, {"field": "function", "op": "==", "value": "7"}]}]
}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "analyze", "--json", "--progress", "never", "--detect-config", cfg,
		filepath.Join(root, "pcaps/enip-cip/EIP-RemoteModeChangeAttempt.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s struct {
		Alerts []struct {
			Rule, Severity, Src, Dst string
		} `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var rules []string
	for _, a := range s.Alerts {
		rules = append(rules, a.Rule+"/"+a.Severity)
	}
	slices.Sort(rules)
	if want := []string{"custom/minor", "operational.plc_stop/critical"}; !slices.Equal(rules, want) {
		t.Errorf("alerts %v, want %v (the lock alerts excluded)", rules, want)
	}

	code, out, errs = run(t, "analyze", "--json", "--progress", "never", "--indicators",
		filepath.Join(root, "sensor/analyze/testdata/detect/indicators-wikipedia.stix.json"),
		filepath.Join(root, "pcaps/dns/wikipedia.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	s.Alerts = nil
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	n := 0
	for _, a := range s.Alerts {
		if a.Rule == "malware.indicator" && a.Severity == "critical" {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d indicator alerts, want 4 (address, DNS query, DNS answer, HTTP Host): %+v", n, s.Alerts)
	}

	// A bad custom rule is refused with the reason.
	if err := os.WriteFile(cfg, []byte(`{"custom_rules": [{"name": "x", "conditions": [{"field": "fnction", "op": "==", "value": "7"}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run(t, "analyze", "--json", "--progress", "never", "--detect-config", cfg,
		filepath.Join(root, "pcaps/enip-cip/cip_stop_plc.pcap"))
	if code == 0 || !strings.Contains(errs, `unknown field "fnction"`) {
		t.Errorf("bad rule: exit %d, stderr %q", code, errs)
	}
}
