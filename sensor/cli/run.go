package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otwatch/otwatch/sensor/app"
	"github.com/otwatch/otwatch/sensor/web"
	"github.com/otwatch/otwatch/sensor/web/auth"
	"github.com/otwatch/otwatch/sensor/web/ui"
)

// version returns the binary's module version ("devel" when unknown).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// addConfigFlags declares the flags every command reading the
// configuration takes.
func addConfigFlags(f *pflag.FlagSet) {
	f.String("config", "", "YAML configuration file (see otsensor.example.yaml; env "+EnvPrefix+"CONFIG)")
	f.String("data-dir", DefaultDataDir, "data directory: database, uploaded captures, TLS certificate")
}

func newRun(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the sensor: capture, detect, and serve the web UI and API over HTTPS",
		Long: `Run the sensor: capture on the interfaces (AF_PACKET, several at once) or replay
capture files at capture speed (--loop to start over), run the detection
engines, keep the state in the data directory and serve the web UI, the REST
API and /metrics over HTTPS.

Configuration comes from the YAML file (--config; every key is documented in
otsensor.example.yaml), then the environment (` + EnvPrefix + `DATA_DIR,
` + EnvPrefix + `RETENTION__MAX_DEVICES, ` + EnvPrefix + `INTERFACES=eth1,eth2 …), then
the flags. At the first start the admin user is created with a generated
password, printed once on standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd.Flags(), osGetenv)
			if err != nil {
				return err
			}
			return runSensor(cmd.Context(), cfg, stdout, stderr, osGetenv)
		},
	}
	f := cmd.Flags()
	addConfigFlags(f)
	f.String("listen", ":8443", "HTTPS listen address")
	f.StringArray("iface", nil, "capture on this interface (repeatable)")
	f.StringArray("pcap", nil, "replay this capture file at capture speed (repeatable; played one after the other)")
	f.Bool("loop", false, "replay the capture files in a loop")
	f.Float64("replay-speed", 1, "replay speed (1: capture speed; negative: as fast as possible)")
	f.Int("workers", 1, "pipeline workers (AF_PACKET fanout sockets) per interface")
	f.String("log-format", "text", "log format: text or json")
	f.String("log-level", "info", "log level: debug, info, warn or error")
	f.String("tls-cert", "", "TLS certificate chain (PEM); default: self-signed, generated in the data directory")
	f.String("tls-key", "", "TLS private key (PEM)")
	return cmd
}

// runSensor runs the sensor and its HTTPS server until ctx ends.
func runSensor(ctx context.Context, cfg RunConfig, stdout, stderr io.Writer, getenv func(string) string) error {
	log, err := newLogger(stderr, cfg.LogFormat, cfg.LogLevel, getenv)
	if err != nil {
		return err
	}
	ver := version()
	a, err := app.Open(ctx, cfg.appConfig(ver), log, time.Now)
	if err != nil {
		return err
	}
	defer a.Close()
	as, err := auth.Open(a.Store(), auth.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	pw, err := as.EnsureAdmin(ctx)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	page, err := ui.New(ui.Deps{Backend: a, Logger: log, Version: ver})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	srv, err := web.New(web.Config{DataDir: cfg.DataDir, CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey,
		Hosts: cfg.TLSHosts, TrustedProxies: cfg.TrustedProxies, MaxUpload: cfg.MaxUpload,
		Metrics: a.MetricsHandler(), UI: page}, a, as, log)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	fmt.Fprintf(stdout, "otsensor %s: web UI at %s (certificate SHA-256 %s)\n", ver, serverURL(ln.Addr()),
		srv.Certificate().SHA256)
	if pw != "" {
		fmt.Fprintf(stdout, "First start: user %q, password %s\n(shown only this once; change it with `otsensor user passwd %s`)\n",
			auth.AdminUser, pw, auth.AdminUser)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srvErr := make(chan error, 1)
	go func() {
		err := srv.Serve(ctx, ln)
		cancel() // the server failing stops the sensor
		srvErr <- err
	}()
	runErr := a.Run(ctx)
	cancel()
	return errors.Join(runErr, <-srvErr, a.Close())
}

// serverURL is the URL people open for a listen address.
func serverURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "https://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "https://" + net.JoinHostPort(host, port) + "/"
}
