package app

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/web"
)

// received collects what the test receivers got.
type received struct {
	mu    sync.Mutex
	items []string
}

func (r *received) add(s string) {
	r.mu.Lock()
	r.items = append(r.items, s)
	r.mu.Unlock()
}

func (r *received) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.items)
}

func TestForwarding(t *testing.T) {
	ctx := context.Background()
	// Syslog over UDP (CEF).
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	var gotUDP received
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			gotUDP.add(string(buf[:n]))
		}
	}()
	// Syslog over TCP (RFC 5424, octet counting).
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	var gotTCP received
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					lenStr, err := br.ReadString(' ')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSpace(lenStr))
					if err != nil {
						gotTCP.add("bad frame " + lenStr)
						return
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(br, msg); err != nil {
						return
					}
					gotTCP.add(string(msg))
				}
			}()
		}
	}()
	// Webhooks: one for every alert, one for critical ones only.
	const secret = "hook-secret"
	var gotHook, gotCritical received
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get(EventHeader) != "alert" {
			t.Errorf("webhook request: %s %v", r.Method, r.Header)
		}
		switch r.URL.Path {
		case "/all":
			if r.Header.Get(SignatureHeader) != Sign(secret, body) {
				t.Errorf("bad signature %q", r.Header.Get(SignatureHeader))
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			gotHook.add(string(body))
		case "/critical":
			if r.Header.Get(SignatureHeader) != "" {
				t.Error("signature without a secret")
			}
			gotCritical.add(string(body))
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hooks.Close()

	dir := filepath.Join(t.TempDir(), "data")
	a := openApp(t, Config{DataDir: dir, Pcaps: []string{pcap(t, "modbus/modicon_test.pcap")}, ReplaySpeed: -1})
	defer a.Close()
	s, _ := a.Settings(ctx)
	s.Forwarding = web.Forwarding{
		Syslog: []web.SyslogTarget{{Name: "udp", Address: udp.LocalAddr().String(), Network: "udp", Format: "cef"},
			{Name: "tcp", Address: tcp.Addr().String(), Network: "tcp", Format: "rfc5424"}},
		Webhooks: []web.Webhook{{Name: "all", URL: hooks.URL + "/all", Secret: secret},
			{Name: "critical", URL: hooks.URL + "/critical", MinSeverity: "critical"}},
	}
	if _, err := a.UpdateSettings(ctx, s, "admin"); err != nil {
		t.Fatal(err)
	}
	running(t, a)
	waitDone(t, a)
	as, n, err := a.Alerts(ctx, web.Live, web.AlertFilter{})
	if err != nil || n == 0 {
		t.Fatalf("alerts: %d %v", n, err)
	}
	critical := 0
	for _, al := range as {
		if al.Severity == alert.Critical {
			critical++
		}
	}
	eventually(t, 10*time.Second, "every alert forwarded", func() bool {
		return len(gotUDP.get()) == n && len(gotTCP.get()) == n && len(gotHook.get()) == n &&
			len(gotCritical.get()) == critical
	})
	rfc5424 := regexp.MustCompile(`^<\d+>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ otsensor - \S+ \[otwatch@32473 id="([0-9a-f]+)"`)
	for _, al := range as {
		if !slices.ContainsFunc(gotUDP.get(), func(m string) bool {
			return strings.Contains(m, "CEF:0|OTWatch|otsensor|") && strings.Contains(m, "externalId="+al.ID)
		}) {
			t.Errorf("alert %s not received over UDP as CEF", al.ID)
		}
		if !slices.ContainsFunc(gotTCP.get(), func(m string) bool {
			sm := rfc5424.FindStringSubmatch(m)
			return sm != nil && sm[1] == al.ID
		}) {
			t.Errorf("alert %s not received over TCP as RFC 5424: %q", al.ID, gotTCP.get())
		}
		if !slices.ContainsFunc(gotHook.get(), func(b string) bool {
			var doc struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			}
			return json.Unmarshal([]byte(b), &doc) == nil && doc.Type == "alert" && doc.ID == al.ID
		}) {
			t.Errorf("alert %s not received by the webhook", al.ID)
		}
	}
	st, dropped := a.Forwarding()
	if dropped != 0 || len(st) != 4 {
		t.Fatalf("forwarding stats: %+v, %d dropped", st, dropped)
	}
	for _, x := range st {
		want := uint64(n)
		if x.Target == "webhook:critical" {
			want = uint64(critical)
		}
		if x.Sent != want || x.Failed != 0 || x.Dropped != 0 {
			t.Errorf("target %s: %+v, want %d sent", x.Target, x, want)
		}
	}
}

// TestForwardingQueueBounded fills the queue of a webhook that does not
// answer: alerts beyond the queue are dropped and counted, none blocks
// the sensor.
func TestForwardingQueueBounded(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	var got received
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		got.add(r.URL.Path)
	}))
	defer hook.Close()
	defer close(release)
	a := openApp(t, Config{DataDir: filepath.Join(t.TempDir(), "data"), ForwardQueue: 1, ReplaySpeed: -1,
		Pcaps: []string{pcap(t, "enip-cip/EIP-RebootorRestart.pcap")}})
	defer a.Close()
	s, _ := a.Settings(ctx)
	s.Forwarding.Webhooks = []web.Webhook{{URL: hook.URL + "/slow"}}
	if _, err := a.UpdateSettings(ctx, s, "admin"); err != nil {
		t.Fatal(err)
	}
	running(t, a)
	waitDone(t, a)
	_, n, _ := a.Alerts(ctx, web.Live, web.AlertFilter{})
	if n < 4 {
		t.Fatalf("%d alerts, want at least 4", n)
	}
	// One delivery hangs, one alert waits in the queue: the others are
	// dropped, before or after dispatch.
	eventually(t, 5*time.Second, "drops counted", func() bool {
		st, disp := a.Forwarding()
		return len(st) == 1 && st[0].Dropped+disp == uint64(n-2)
	})
}
