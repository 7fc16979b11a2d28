package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/baseline/detect/indicator"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// detectConfigFile is the JSON form of --detect-config.
type detectConfigFile struct {
	detect.Config
	Exclusions []alert.Exclusion `json:"exclusions,omitempty"`
}

func detectOptions(fl analyzeFlags) (analyze.DetectOptions, error) {
	var dopt analyze.DetectOptions
	dopt.Learn = fl.learn
	if fl.detectConfig != "" {
		b, err := os.ReadFile(fl.detectConfig)
		if err != nil {
			return dopt, fmt.Errorf("analyze: detection config: %w", err)
		}
		var dc detectConfigFile
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&dc); err != nil {
			return dopt, fmt.Errorf("analyze: detection config %s: %w", fl.detectConfig, err)
		}
		if err := dc.Config.Validate(); err != nil {
			return dopt, fmt.Errorf("analyze: detection config %s: %w", fl.detectConfig, err)
		}
		dopt.Config = dc.Config
		dopt.Exclusions = dc.Exclusions
	}
	if len(fl.indicators) > 0 {
		set := indicator.NewSet(0)
		for _, path := range fl.indicators {
			res, err := indicator.LoadFile(path, time.Now(), indicator.Limits{})
			if err != nil {
				return dopt, fmt.Errorf("analyze: indicators: %w", err)
			}
			if _, err := set.Add(res.Indicators...); err != nil {
				return dopt, fmt.Errorf("analyze: indicators %s: %w", path, err)
			}
		}
		dopt.Indicators = set
	}
	return dopt, nil
}

// writeAlerts prints the alerts (--alerts), writes them (--alerts-out) and
// their pcap snippets (--snippets).
func writeAlerts(fl analyzeFlags, det *analyze.Detection, stdout io.Writer) error {
	as := det.Book.Alerts(false)
	if fl.alerts {
		fmt.Fprintf(stdout, "\nAlerts (%d):\n", len(as))
		for _, a := range as {
			fmt.Fprintf(stdout, "  %-8s %-11s %-58s x%-5d %s\n", a.Severity, a.Engine, a.Title, a.Count,
				strings.Join(a.Techniques, ","))
		}
	}
	if fl.alertsOut != "" {
		var w io.Writer = stdout
		var f *os.File
		if fl.alertsOut != "-" {
			var err error
			if f, err = os.Create(fl.alertsOut); err != nil {
				return fmt.Errorf("analyze: %w", err)
			}
			w = f
		}
		var buf []byte
		for _, a := range as {
			switch fl.alertsFormat {
			case "jsonl", "json", "":
				b, err := a.MarshalJSONLine()
				if err != nil {
					return err
				}
				buf = append(append(buf, b...), '\n')
			case "cef":
				buf = append(a.AppendCEF(buf, alert.ProductInfo{Version: version()}), '\n')
			case "syslog":
				buf = append(alert.AppendSyslogCEF(buf, a, hostname(), "otsensor", 16,
					alert.ProductInfo{Version: version()}), '\n')
			default:
				return fmt.Errorf("analyze: --alerts-format %q: want jsonl, cef or syslog", fl.alertsFormat)
			}
		}
		_, err := w.Write(buf)
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("analyze: writing alerts: %w", err)
		}
	}
	if fl.snippets != "" {
		if err := os.MkdirAll(fl.snippets, 0o755); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		for _, a := range as {
			if len(a.Snippet) == 0 {
				continue
			}
			if err := os.WriteFile(filepath.Join(fl.snippets, a.ID+".pcap"), a.Snippet, 0o644); err != nil {
				return fmt.Errorf("analyze: %w", err)
			}
		}
	}
	return nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "-"
	}
	return h
}

func newRules(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "rules",
		Short: "List the detection catalogue: rule IDs, engines, severities, ATT&CK for ICS techniques",
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, r := range alert.Catalogue() {
				state := "on"
				if r.DefaultOff {
					state = "off"
				}
				fmt.Fprintf(stdout, "%-34s %-11s %-8s %-3s %-22s %s — %s\n", r.ID, r.Engine, r.Severity, state,
					strings.Join(r.Techniques, ","), r.Title, r.Trigger)
			}
			return nil
		},
	}
}
