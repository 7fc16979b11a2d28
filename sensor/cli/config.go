package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/sensor/app"
	"github.com/otwatch/otwatch/sensor/store"
)

// EnvPrefix prefixes the environment variables that set configuration
// keys: OTSENSOR_DATA_DIR sets data_dir, OTSENSOR_RETENTION__MAX_DEVICES
// sets retention.max_devices (a double underscore nests), and list keys
// take comma-separated values (OTSENSOR_INTERFACES=eth1,eth2).
const EnvPrefix = "OTSENSOR_"

// DefaultDataDir is where the sensor keeps its state unless told.
const DefaultDataDir = "/var/lib/otwatch"

// LearningConfig sets when learning ends by itself.
type LearningConfig struct {
	MinDuration time.Duration `koanf:"min_duration"`
	QuietDays   int           `koanf:"quiet_days"`
	NewRate     float64       `koanf:"new_rate"`
	MaxItems    int           `koanf:"max_items"`
}

// RunConfig is the configuration of `otsensor run`: the YAML file
// (otsensor.example.yaml documents every key), then the environment, then
// the flags, each overriding the one before.
type RunConfig struct {
	DataDir        string         `koanf:"data_dir"`
	Listen         string         `koanf:"listen"`
	TLSCert        string         `koanf:"tls_cert"`
	TLSKey         string         `koanf:"tls_key"`
	TLSHosts       []string       `koanf:"tls_hosts"`
	TrustedProxies []string       `koanf:"trusted_proxies"`
	Interfaces     []string       `koanf:"interfaces"`
	CaptureMethod  string         `koanf:"capture_method"`
	BPF            string         `koanf:"bpf"`
	Snaplen        int            `koanf:"snaplen"`
	NoPromisc      bool           `koanf:"no_promisc"`
	Workers        int            `koanf:"workers"`
	Pcaps          []string       `koanf:"pcaps"`
	Loop           bool           `koanf:"loop"`
	ReplaySpeed    float64        `koanf:"replay_speed"`
	FlushInterval  time.Duration  `koanf:"flush_interval"`
	Sync           string         `koanf:"sync"`
	MaxUpload      int64          `koanf:"max_upload"`
	Retention      app.Retention  `koanf:"retention"`
	Learning       LearningConfig `koanf:"learning"`
	LogFormat      string         `koanf:"log_format"`
	LogLevel       string         `koanf:"log_level"`
}

// listKeys take comma-separated values from the environment.
var listKeys = map[string]bool{"interfaces": true, "pcaps": true, "tls_hosts": true, "trusted_proxies": true}

// flagKeys maps flag names to configuration keys.
var flagKeys = map[string]string{"data-dir": "data_dir", "listen": "listen", "iface": "interfaces", "pcap": "pcaps",
	"loop": "loop", "workers": "workers", "log-format": "log_format", "log-level": "log_level",
	"replay-speed": "replay_speed", "tls-cert": "tls_cert", "tls-key": "tls_key"}

// loadConfig reads the configuration: defaults, the file named by
// --config (or OTSENSOR_CONFIG), the environment, then the flags that were
// set.
func loadConfig(fs *pflag.FlagSet, getenv func(string) string) (RunConfig, error) {
	k := koanf.New(".")
	defaults := map[string]any{"data_dir": DefaultDataDir, "listen": ":8443", "capture_method": app.MethodAFPacket,
		"workers": 1, "replay_speed": 1.0, "log_format": "text", "log_level": "info", "sync": "full"}
	for key, v := range defaults {
		if err := k.Set(key, v); err != nil {
			return RunConfig{}, fmt.Errorf("config: %w", err)
		}
	}
	path, _ := fs.GetString("config")
	if path == "" {
		path = getenv(EnvPrefix + "CONFIG")
	}
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return RunConfig{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	err := k.Load(env.ProviderWithValue(EnvPrefix, ".", func(key, value string) (string, any) {
		key = strings.ToLower(strings.TrimPrefix(key, EnvPrefix))
		if key == "config" {
			return "", nil
		}
		key = strings.ReplaceAll(key, "__", ".")
		if listKeys[key] {
			var vs []string
			for _, v := range strings.Split(value, ",") {
				if v = strings.TrimSpace(v); v != "" {
					vs = append(vs, v)
				}
			}
			return key, vs
		}
		return key, value
	}), nil)
	if err != nil {
		return RunConfig{}, fmt.Errorf("config: environment: %w", err)
	}
	err = k.Load(posflag.ProviderWithFlag(fs, ".", k, func(f *pflag.Flag) (string, any) {
		key, ok := flagKeys[f.Name]
		if !ok || !f.Changed {
			return "", nil // only the flags given override
		}
		return key, posflag.FlagVal(fs, f)
	}), nil)
	if err != nil {
		return RunConfig{}, fmt.Errorf("config: flags: %w", err)
	}
	var c RunConfig
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return RunConfig{}, fmt.Errorf("config: %w", err)
	}
	return c, c.check()
}

func (c *RunConfig) check() error {
	if c.DataDir == "" {
		return fmt.Errorf("config: data_dir is empty")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("config: log_format %q: want text or json", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	switch c.Sync {
	case "full", "normal":
	default:
		return fmt.Errorf("config: sync %q: want full or normal", c.Sync)
	}
	switch c.CaptureMethod {
	case app.MethodAFPacket, app.MethodPcap:
	default:
		return fmt.Errorf("config: capture_method %q: want %s or %s", c.CaptureMethod, app.MethodAFPacket, app.MethodPcap)
	}
	if c.Workers < 1 || c.Workers > 64 {
		return fmt.Errorf("config: workers %d: want 1–64", c.Workers)
	}
	if c.Loop && len(c.Pcaps) == 0 {
		return fmt.Errorf("config: loop needs pcaps to replay")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("config: tls_cert and tls_key go together")
	}
	return nil
}

// appConfig maps the configuration to the sensor's.
func (c *RunConfig) appConfig(version string) app.Config {
	sync := store.SyncFull
	if c.Sync == "normal" {
		sync = store.SyncNormal
	}
	return app.Config{DataDir: c.DataDir, Interfaces: c.Interfaces, Pcaps: c.Pcaps, Loop: c.Loop,
		ReplaySpeed: c.ReplaySpeed, Workers: c.Workers, Method: c.CaptureMethod, BPF: c.BPF, Snaplen: c.Snaplen,
		NoPromisc: c.NoPromisc, FlushInterval: c.FlushInterval, Retention: c.Retention, MaxUpload: c.MaxUpload,
		Learning: learn.Config{MinDuration: c.Learning.MinDuration, QuietDays: c.Learning.QuietDays,
			NewRate: c.Learning.NewRate, MaxItems: c.Learning.MaxItems},
		Sync: sync, Version: version}
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("config: log_level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// newLogger returns the sensor's logger: JSON lines with format "json";
// otherwise text, without timestamps under systemd (JOURNAL_STREAM set:
// the journal stamps each line itself).
func newLogger(w io.Writer, format, level string, getenv func(string) string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	if getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// osGetenv is the process environment, passed down so that tests can give
// their own.
func osGetenv(k string) string { return os.Getenv(k) }
