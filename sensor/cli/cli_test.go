package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestAnalyzeJSON(t *testing.T) {
	path := filepath.Join(dissectortest.RepoRoot(t), "pcaps/modbus/modbus_test.pcap")
	code, out, errs := run(t, "analyze", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s struct {
		Packets            int                       `json:"packets"`
		FramesWithProtocol map[string]int            `json:"frames_with_protocol"`
		MACAddresses       []string                  `json:"mac_addresses"`
		IPAddresses        []string                  `json:"ip_addresses"`
		Fields             map[string]map[string]int `json:"fields"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	exp := dissectortest.LoadExpected(t, "pcaps/modbus/modbus_test.pcap")
	if s.Packets != exp.Packets || s.FramesWithProtocol["tcp"] != exp.FramesWithProtocol["tcp"] {
		t.Fatalf("packets %d tcp %d, tshark %d %d", s.Packets, s.FramesWithProtocol["tcp"], exp.Packets, exp.FramesWithProtocol["tcp"])
	}
	if strings.Join(s.IPAddresses, ",") != strings.Join(exp.IPAddresses, ",") {
		t.Fatalf("ip addresses %v, tshark %v", s.IPAddresses, exp.IPAddresses)
	}
	if len(s.MACAddresses) != len(exp.MACAddresses) {
		t.Fatalf("mac addresses %v, tshark %v", s.MACAddresses, exp.MACAddresses)
	}
}

func TestAnalyzeOutWritesJSONLines(t *testing.T) {
	path := filepath.Join(dissectortest.RepoRoot(t), "pcaps/modbus/modbus_test.pcap")
	outPath := filepath.Join(t.TempDir(), "events.jsonl")
	code, out, errs := run(t, "analyze", "--out", outPath, path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Packets:") || !strings.Contains(out, "Top talkers") {
		t.Fatalf("summary missing:\n%s", out)
	}
	f, err := os.Open(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	types := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		types[rec["type"].(string)]++
	}
	if types["flow"] == 0 {
		t.Fatalf("no flow records: %v", types)
	}
}

func TestAnalyzeTruncatedFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(dissectortest.RepoRoot(t), "pcaps/modbus/modbus_test.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "analyze", "--json", cut)
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr %s", code, errs)
	}
	if !strings.Contains(errs, cut) || !strings.Contains(errs, "byte offset") {
		t.Fatalf("error does not name the file and offset: %q", errs)
	}
	var s struct {
		Packets int    `json:"packets"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary not printed: %v", err)
	}
	if s.Packets == 0 || s.Error == "" {
		t.Fatalf("summary of the readable part: packets %d error %q", s.Packets, s.Error)
	}
}

func TestAnalyzeRejectsGarbageAndMissingFiles(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk.pcap")
	if err := os.WriteFile(junk, []byte("this is not a capture at all, not even close"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{junk, filepath.Join(t.TempDir(), "missing.pcap")} {
		code, _, errs := run(t, "analyze", p)
		if code == 0 || !strings.Contains(errs, p) {
			t.Fatalf("%s: exit %d stderr %q", p, code, errs)
		}
	}
	if code, _, _ := run(t, "analyze"); code == 0 {
		t.Fatal("analyze without files succeeded")
	}
}

func TestProtocolsListsDissectors(t *testing.T) {
	code, out, _ := run(t, "protocols")
	if code != 0 || !strings.Contains(out, "modbus") || !strings.Contains(out, "tcp/502") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestAnalyzeInventoryOutputs(t *testing.T) {
	path := filepath.Join(dissectortest.RepoRoot(t), "pcaps/modbus/ModbusTCP.pcap")
	dir := t.TempDir()
	jsonPath, csvPath := filepath.Join(dir, "inv.json"), filepath.Join(dir, "inv.csv")
	code, out, errs := run(t, "analyze", "--inventory", "--inventory-json", jsonPath, "--inventory-csv", csvPath, path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Asset inventory (14 devices)") || !strings.Contains(out, "141.81.0.10") {
		t.Fatalf("inventory table missing:\n%s", out)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(b, &recs); err != nil || len(recs) != 14 {
		t.Fatalf("JSON inventory: %v, %d records", err, len(recs))
	}
	c, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(c), "\n"); lines != 15 {
		t.Fatalf("CSV inventory has %d lines, want header + 14", lines)
	}
}

func TestAnalyzeProgressBar(t *testing.T) {
	path := filepath.Join(dissectortest.RepoRoot(t), "pcaps/modbus/ModbusTCP.pcap")
	code, _, errs := run(t, "analyze", "--progress", "always", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "100.0%") || !strings.Contains(errs, "MiB/s") {
		t.Fatalf("no progress bar on stderr: %q", errs)
	}
	// Without a terminal, auto draws nothing.
	if _, _, errs := run(t, "analyze", path); errs != "" {
		t.Fatalf("progress drawn without a terminal: %q", errs)
	}
}
