package http

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// SSDP fixtures: the NOTIFY and M-SEARCH of the c37 captures, and messages
// written to UPnP Device Architecture 2.0 §1.
const (
	ssdpNotifyAlive = "NOTIFY * HTTP/1.1 \r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=3000\r\n" +
		"LOCATION: http://192.168.0.1:5431/igdevicedesc.xml\r\nSERVER: UPnP/1.0 BLR-TX4S/1.0\r\nNT: upnp:rootdevice\r\n" +
		"USN: uuid:f5c1d177-62e5-45d1-a6e7-c412f504c74a::upnp:rootdevice\r\nNTS: ssdp:alive\r\n\r\n"
	ssdpByebye = "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:byebye\r\n" +
		"USN: uuid:1::upnp:rootdevice\r\n\r\n"
	ssdpSearchUA = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n" +
		"ST: urn:dial-multiscreen-org:service:dial:1\r\nUSER-AGENT: Google Chrome/61.0.3163.79 Windows\r\n\r\n"
	ssdpResp = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: http://10.1.1.5:49152/desc.xml\r\n" +
		"SERVER: Linux/3.14 UPnP/1.0 IpBridge/1.26.0\r\nST: upnp:rootdevice\r\nUSN: uuid:2::upnp:rootdevice\r\n\r\n"
	ssdpBad = "\x00\x01garbage\r\n\r\n"
)

func udpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 2, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{Port: 1900}, Server: dissect.Endpoint{Port: 1900}, Start: t0}
}

func runSSDP(msgs ...string) *recorder {
	rec := newRecorder()
	d := SSDPSpec().New()
	ctx := dissect.Context{Flow: udpFlow(), Time: t0, Emit: rec}
	for _, m := range msgs {
		ctx.Frame++
		ctx.Time = ctx.Time.Add(time.Second)
		d.Feed(&ctx, dissect.ToServer, []byte(m))
	}
	d.End(&ctx)
	return rec
}

func TestSSDP(t *testing.T) {
	for _, c := range []struct {
		name, msg, fn string
		op            dissect.Op
		attrs         []string
		model, ua     string
		viols         string
	}{
		{"notify", ssdpNotifyAlive, "NOTIFY", dissect.OpNotify,
			[]string{"target", "upnp:rootdevice", "location", "http://192.168.0.1:5431/igdevicedesc.xml", "byebye", ""},
			"UPnP/1.0 BLR-TX4S/1.0", "", ""},
		{"byebye", ssdpByebye, "NOTIFY", dissect.OpNotify, []string{"byebye", "1"}, "", "", ""},
		{"search", ssdpSearchUA, "M-SEARCH", dissect.OpIdentify,
			[]string{"target", "urn:dial-multiscreen-org:service:dial:1"}, "", "Google Chrome/61.0.3163.79 Windows", ""},
		{"response", ssdpResp, "search response", dissect.OpIdentify, []string{"status", "200"},
			"Linux/3.14 UPnP/1.0 IpBridge/1.26.0", "", ""},
		{"bad", ssdpBad, "", 0, nil, "", "", "malformed: not an SSDP start line"},
	} {
		rec := runSSDP(c.msg)
		if got := strings.Join(violReasons(rec.R.Violations), "; "); got != c.viols {
			t.Errorf("%s: violations %q, want %q", c.name, got, c.viols)
		}
		if c.fn == "" {
			if len(rec.R.Transactions) != 0 {
				t.Errorf("%s: %d transactions", c.name, len(rec.R.Transactions))
			}
			continue
		}
		if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].FuncName != c.fn || rec.R.Transactions[0].Op != c.op || rec.R.Transactions[0].Protocol != "ssdp" {
			t.Fatalf("%s: %+v", c.name, rec.R.Transactions)
		}
		wantAttrs(t, c.name, rec.R.Transactions[0].Attrs, c.attrs...)
		switch {
		case c.model != "":
			if len(rec.R.Hints) != 1 || rec.R.Hints[0].Model != c.model {
				t.Errorf("%s: hints %+v", c.name, rec.R.Hints)
			}
		case c.ua != "":
			if len(rec.R.Hints) != 1 || rec.R.Hints[0].Role != dissect.RoleClient || attr(rec.R.Hints[0].Extra, "user_agent") != c.ua {
				t.Errorf("%s: hints %+v", c.name, rec.R.Hints)
			}
		default:
			if len(rec.R.Hints) != 0 {
				t.Errorf("%s: hints %+v", c.name, rec.R.Hints)
			}
		}
	}
}

func TestSSDPFieldsAndRepeats(t *testing.T) {
	rec := runSSDP(ssdpNotifyAlive, ssdpNotifyAlive, ssdpSearchUA, ssdpNotifyAlive)
	if rec.R.Fields["http_host"]["239.255.255.250:1900"] != 4 || rec.R.Fields["http_server"]["UPnP/1.0 BLR-TX4S/1.0"] != 3 ||
		rec.R.Fields["http_user_agent"]["Google Chrome/61.0.3163.79 Windows"] != 1 {
		t.Errorf("fields %v", rec.R.Fields)
	}
	// The server hint is repeated only when the sender's string changes.
	if len(rec.R.Transactions) != 4 || len(rec.R.Hints) != 3 {
		t.Errorf("%d transactions, %d hints", len(rec.R.Transactions), len(rec.R.Hints))
	}
}
