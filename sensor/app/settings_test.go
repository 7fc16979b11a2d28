package app

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/sensor/web"
)

func TestSettingsRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	a := openApp(t, Config{DataDir: dir})
	s, err := a.Settings(ctx)
	if err != nil || !reflect.DeepEqual(s.Thresholds, detect.DefaultThresholds()) {
		t.Fatalf("default settings: %+v %v", s, err)
	}
	off := false
	want := web.Settings{
		Thresholds: detect.DefaultThresholds(),
		Rules: map[string]detect.RuleConfig{alert.RulePortScan: {Enabled: &off},
			alert.RuleNoTraffic: {Severity: "minor"}},
		Exclusions: []alert.Exclusion{{Name: "backup window", Rules: []string{alert.RuleNewCommunication},
			Subnets: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}, DailyFrom: 60, DailyTo: 120}},
		Custom: []detect.CustomRule{{Name: "coil writes", Severity: "major", Conditions: []detect.Condition{
			{Field: "protocol", Op: "==", Value: "modbus"}, {Field: "function", Op: "in_set", Values: []string{"5", "15"}}}}},
		Forwarding: web.Forwarding{
			Syslog:   []web.SyslogTarget{{Name: "siem", Address: "192.0.2.10:514"}},
			Webhooks: []web.Webhook{{Name: "chat", URL: "https://hooks.example/x", Secret: "s3cret", MinSeverity: "major"}},
		},
	}
	want.Thresholds.PortScanPorts = 40
	want.Thresholds.NoTraffic = detect.Duration(10 * time.Minute)
	got, err := a.UpdateSettings(ctx, want, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// Defaults filled: UDP and CEF for the syslog target.
	want.Forwarding.Syslog[0].Network, want.Forwarding.Syslog[0].Format = "udp", FormatCEF
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("updated settings:\n got %+v\nwant %+v", got, want)
	}
	if a.eng.Rules()[alert.RulePortScan] {
		t.Fatal("the running engine still has the port scan rule on")
	}

	bad := []func(s *web.Settings){
		func(s *web.Settings) { s.Thresholds.PortScanPorts = -1 },
		func(s *web.Settings) { s.Thresholds.LoginWindow = detect.Duration(-time.Second) },
		func(s *web.Settings) { s.Rules = map[string]detect.RuleConfig{"no.such.rule": {}} },
		func(s *web.Settings) {
			s.Rules = map[string]detect.RuleConfig{alert.RulePortScan: {Severity: "apocalyptic"}}
		},
		func(s *web.Settings) { s.Custom = []detect.CustomRule{{Name: "x"}} },
		func(s *web.Settings) {
			s.Custom = []detect.CustomRule{{Name: "x", Conditions: []detect.Condition{{Field: "nope", Op: "=="}}}}
		},
		func(s *web.Settings) { s.Exclusions = []alert.Exclusion{{Rules: []string{"no.such.rule"}}} },
		func(s *web.Settings) { s.Exclusions = []alert.Exclusion{{DailyFrom: 2000}} },
		func(s *web.Settings) { s.Forwarding.Syslog = []web.SyslogTarget{{Address: "no-port"}} },
		func(s *web.Settings) { s.Forwarding.Syslog = []web.SyslogTarget{{Address: "h:514", Network: "sctp"}} },
		func(s *web.Settings) { s.Forwarding.Syslog = []web.SyslogTarget{{Address: "h:514", Format: "xml"}} },
		func(s *web.Settings) { s.Forwarding.Syslog = []web.SyslogTarget{{Address: "h:99999"}} },
		func(s *web.Settings) { s.Forwarding.Webhooks = []web.Webhook{{URL: "ftp://x/y"}} },
		func(s *web.Settings) { s.Forwarding.Webhooks = []web.Webhook{{URL: "https://x/", MinSeverity: "loud"}} },
	}
	for i, mutate := range bad {
		s := cloneSettings(&want)
		mutate(&s)
		if _, err := a.UpdateSettings(ctx, s, "admin"); !errors.Is(err, web.ErrInvalid) {
			t.Errorf("bad settings %d accepted or wrong error: %v", i, err)
		}
	}
	if cur, _ := a.Settings(ctx); !reflect.DeepEqual(cur, want) {
		t.Fatal("refused settings changed the current ones")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := openApp(t, Config{DataDir: dir})
	defer b.Close()
	if cur, _ := b.Settings(ctx); !reflect.DeepEqual(cur, want) {
		t.Fatalf("settings after restart:\n got %+v\nwant %+v", cur, want)
	}
	if b.eng.Rules()[alert.RulePortScan] {
		t.Fatal("after restart the engine has the port scan rule on")
	}
}
