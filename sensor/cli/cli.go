// Package cli holds the otsensor command line: the subcommands and their
// wiring. The binary's main only calls Execute.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/baseline/inventory/oui"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/sensor/analyze"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/pipeline"
)

// Execute runs the otsensor command line with args and returns the process
// exit code.
func Execute(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintln(stderr, "otsensor:", err)
		return 1
	}
	return 0
}

// exitError carries an exit code for errors already reported.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "otsensor",
		Short:         "OTWatch sensor: passive OT/ICS network monitoring",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAnalyze(stdout, stderr), newVersion(stdout), newProtocols(stdout), newRules(stdout), newRun(stdout, stderr), newUser(stdout))
	return root
}

func newVersion(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(stdout, "otsensor", version())
			return nil
		},
	}
}

func newProtocols(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "protocols",
		Short: "List the protocols the sensor decodes",
		RunE: func(cmd *cobra.Command, args []string) error {
			specs := all.Specs()
			sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
			for _, s := range specs {
				var where []string
				for _, p := range s.TCPPorts {
					where = append(where, fmt.Sprintf("tcp/%d", p))
				}
				for _, p := range s.UDPPorts {
					where = append(where, fmt.Sprintf("udp/%d", p))
				}
				for _, e := range s.EtherTypes {
					where = append(where, fmt.Sprintf("ethertype/0x%04x", e))
				}
				if len(s.LLC) > 0 {
					where = append(where, "llc")
				}
				fmt.Fprintf(stdout, "%-12s %-3s %-40s %s\n", s.Name, s.Class, strings.Join(where, ","), s.Description)
			}
			return nil
		},
	}
}

type analyzeFlags struct {
	cpuProfile    string
	inventory     bool
	inventoryJSON string
	inventoryCSV  string
	json          bool
	out           string
	workers       int
	progress      string
	maxFlows      int
	learn         []string
	alerts        bool
	alertsOut     string
	alertsFormat  string
	snippets      string
	indicators    []string
	detectConfig  string
	noDetect      bool
}

func newAnalyze(stdout, stderr io.Writer) *cobra.Command {
	var fl analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze FILE...",
		Short: "Analyse pcap/pcapng captures (gzip too) offline, as the live sensor would",
		Long: `Runs the sensor pipeline over capture files (merged in timestamp order) and prints a summary:
packets, bytes, time span, protocols, flows, top talkers and errors. --out writes JSON Lines of
flows, transactions, asset hints and protocol violations; --json prints one JSON object.
A truncated or corrupt file is analysed up to the damage, then reported with its byte offset
and a non-zero exit status.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyze(cmd.Context(), fl, args, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&fl.json, "json", false, "print the summary as one JSON object")
	f.StringVar(&fl.out, "out", "", "write JSON Lines of flows, transactions, hints and violations to this file (- for stdout)")
	f.IntVar(&fl.workers, "workers", 1, "worker goroutines (flows are sharded by host pair)")
	f.StringVar(&fl.progress, "progress", "auto", "progress bar on stderr: auto (when a terminal), always, never")
	f.IntVar(&fl.maxFlows, "max-flows", 0, "flow table capacity per worker (0: default)")
	f.BoolVar(&fl.inventory, "inventory", false, "print the asset inventory (devices) as a table")
	f.StringVar(&fl.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the analysis to this file")
	f.StringVar(&fl.inventoryJSON, "inventory-json", "", "write the asset inventory as JSON to this file")
	f.StringVar(&fl.inventoryCSV, "inventory-csv", "", "write the asset inventory as CSV to this file")
	f.StringSliceVar(&fl.learn, "learn", nil, "learn the baseline from these captures first, then detect on FILE... (repeatable, comma-separated)")
	f.BoolVar(&fl.alerts, "alerts", false, "print the alerts")
	f.StringVar(&fl.alertsOut, "alerts-out", "", "write the alerts to this file (- for stdout) in --alerts-format")
	f.StringVar(&fl.alertsFormat, "alerts-format", "jsonl", "alerts file format: jsonl, cef or syslog (RFC 5424 with CEF)")
	f.StringVar(&fl.snippets, "snippets", "", "write each alert's pcap snippet to this directory (<alert id>.pcap)")
	f.StringSliceVar(&fl.indicators, "indicators", nil, "indicator files: STIX 2.1 bundles or plain lists (repeatable)")
	f.StringVar(&fl.detectConfig, "detect-config", "", "detection configuration (JSON: thresholds, rules, exclusions, custom rules)")
	f.BoolVar(&fl.noDetect, "no-detect", false, "do not run the detection engines")
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runAnalyze(ctx context.Context, fl analyzeFlags, files []string, stdout, stderr io.Writer) error {
	if fl.cpuProfile != "" {
		pf, err := os.Create(fl.cpuProfile)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("analyze: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	opt := analyze.Options{Registry: all.Registry(), NoFields: !fl.json}
	wantInv := fl.inventory || fl.inventoryJSON != "" || fl.inventoryCSV != ""
	if wantInv {
		opt.Inventory = inventory.New(inventory.Config{}, oui.New())
	}
	opt.Pipeline = pipeline.Config{Workers: fl.workers}
	opt.Pipeline.Flow.MaxFlows = fl.maxFlows
	var outFile *os.File
	switch fl.out {
	case "":
	case "-":
		opt.Out = stdout
	default:
		f, err := os.Create(fl.out)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		outFile = f
		opt.Out = f
	}
	showProgress := fl.progress == "always" || (fl.progress == "auto" && isTerminal(stderr))
	if showProgress {
		start := time.Now()
		opt.Progress = func(done, total int64) { drawProgress(stderr, done, total, start) }
	}
	var sum *analyze.Summary
	var det *analyze.Detection
	var err error
	if fl.noDetect {
		if len(fl.learn) > 0 {
			return fmt.Errorf("analyze: --learn needs the detection engines (drop --no-detect)")
		}
		sum, err = analyze.Run(ctx, files, opt)
	} else {
		dopt, derr := detectOptions(fl)
		if derr != nil {
			return derr
		}
		sum, det, err = analyze.RunDetect(ctx, files, opt, dopt)
	}
	if showProgress {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if outFile != nil {
		if cerr := outFile.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("analyze: %w", cerr)
		}
	}
	if sum == nil {
		return err
	}
	if fl.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", " ")
		if jerr := enc.Encode(sum); jerr != nil {
			return jerr
		}
	} else if fl.out != "-" {
		printSummary(stdout, sum)
	}
	if wantInv {
		if ierr := writeInventory(fl, opt.Inventory, stdout); ierr != nil {
			return ierr
		}
	}
	if det != nil {
		if aerr := writeAlerts(fl, det, stdout); aerr != nil {
			return aerr
		}
	}
	if err != nil {
		var fe *capture.FileError
		if errors.As(err, &fe) {
			fmt.Fprintf(stderr, "otsensor: error: %v\n", err)
			return &exitError{code: 2}
		}
		return err
	}
	return nil
}

func writeInventory(fl analyzeFlags, inv *inventory.Inventory, stdout io.Writer) error {
	devs := inv.Devices()
	if fl.inventory {
		fmt.Fprintf(stdout, "\nAsset inventory (%d devices):\n", len(devs))
		if err := inventory.WriteTable(stdout, devs); err != nil {
			return err
		}
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer, []*inventory.Device) error
	}{{fl.inventoryJSON, inventory.WriteJSON}, {fl.inventoryCSV, inventory.WriteCSV}} {
		if out.path == "" {
			continue
		}
		f, err := os.Create(out.path)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		if err := out.write(f, devs); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	return nil
}

func drawProgress(w io.Writer, done, total int64, start time.Time) {
	if total <= 0 {
		return
	}
	frac := float64(done) / float64(total)
	if frac > 1 {
		frac = 1
	}
	const width = 40
	n := int(frac * width)
	rate := float64(done) / time.Since(start).Seconds() / (1 << 20)
	fmt.Fprintf(w, "\r[%s%s] %5.1f%% %6.1f MiB/s", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, rate)
}

func printSummary(w io.Writer, s *analyze.Summary) {
	if len(s.Files) > 4 {
		fmt.Fprintf(w, "Files:       %d (%s, …)\n", len(s.Files), strings.Join(s.Files[:3], ", "))
	} else {
		fmt.Fprintf(w, "Files:       %s\n", strings.Join(s.Files, ", "))
	}
	fmt.Fprintf(w, "Packets:     %d\n", s.Packets)
	fmt.Fprintf(w, "Bytes:       %d\n", s.Bytes)
	if !s.First.IsZero() {
		fmt.Fprintf(w, "Time span:   %s .. %s (%.3f s)\n", s.First.UTC().Format(time.RFC3339Nano),
			s.Last.UTC().Format(time.RFC3339Nano), s.DurationSeconds)
	}
	fmt.Fprintf(w, "Flows:       %d\n", s.Flows)
	fmt.Fprintf(w, "Devices:     %d MAC, %d IP addresses\n", len(s.MACAddresses), len(s.IPAddresses))
	if len(s.FramesWithProtocol) > 0 {
		fmt.Fprintln(w, "\nLink/network/transport (frames):")
		keys := sortedKeys(s.FramesWithProtocol)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-12s %d\n", k, s.FramesWithProtocol[k])
		}
	}
	if len(s.Protocols) > 0 {
		fmt.Fprintln(w, "\nApplication protocols:")
		fmt.Fprintf(w, "  %-12s %8s %10s %12s %12s %10s\n", "protocol", "flows", "packets", "bytes", "transactions", "violations")
		names := make([]string, 0, len(s.Protocols))
		for n := range s.Protocols {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return s.Protocols[names[i]].Packets > s.Protocols[names[j]].Packets })
		for _, n := range names {
			p := s.Protocols[n]
			fmt.Fprintf(w, "  %-12s %8d %10d %12d %12d %10d\n", n, p.Flows, p.Packets, p.Bytes, p.Transactions, p.Violations)
		}
	}
	if len(s.TopTalkers) > 0 {
		fmt.Fprintln(w, "\nTop talkers (sent):")
		for _, t := range s.TopTalkers {
			fmt.Fprintf(w, "  %-40s %10d packets %12d bytes\n", t.Address, t.Packets, t.Bytes)
		}
	}
	if len(s.DecodeErrors) > 0 || len(s.Violations) > 0 || s.Error != "" {
		fmt.Fprintln(w, "\nErrors:")
		for _, k := range sortedKeys(s.DecodeErrors) {
			fmt.Fprintf(w, "  decode %-20s %d\n", k, s.DecodeErrors[k])
		}
		for _, k := range sortedKeys(s.Violations) {
			fmt.Fprintf(w, "  violation %-17s %d\n", k, s.Violations[k])
		}
		if s.Error != "" {
			fmt.Fprintf(w, "  read: %s\n", s.Error)
		}
	}
	if b := s.Baseline; b != nil {
		if len(b.LearnedOn) > 0 {
			fmt.Fprintf(w, "\nBaseline learned on %s: %d items (%d devices, %d pairs, %d operations, %d register ranges); %d alerts\n",
				strings.Join(b.LearnedOn, ", "), b.Items, b.Devices, b.Pairs, b.Operations, b.Ranges, len(s.Alerts))
		} else {
			fmt.Fprintf(w, "\nNo baseline (--learn): policy engine off. A baseline of this traffic would hold %d items "+
				"(%d devices, %d pairs, %d operations, %d register ranges); %d alerts from the other engines\n",
				b.Items, b.Devices, b.Pairs, b.Operations, b.Ranges, len(s.Alerts))
		}
	}
	fs := s.FlowStats
	if fs.Gaps > 0 || fs.Evicted > 0 || fs.FlowLimitHits > 0 || fs.StreamBufHits > 0 || fs.TotalBufHits > 0 {
		fmt.Fprintf(w, "\nLimits: %d TCP gaps (%d bytes), %d flows evicted, %d stream-buffer and %d total-buffer cap hits\n",
			fs.Gaps, fs.GapBytes, fs.Evicted, fs.StreamBufHits, fs.TotalBufHits)
	}
}

func sortedKeys(m map[string]uint64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
