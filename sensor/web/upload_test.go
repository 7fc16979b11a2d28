package web_test

import (
	"bytes"
	"compress/gzip"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/sensor/web"
)

// sharedPcap reads a capture of the shared corpus, skipping without it.
func sharedPcap(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../shared/pcaps/" + rel)
	if err != nil {
		t.Skipf("shared capture %s not available: skipped (%v)", rel, err)
	}
	return b
}

// part is one multipart field.
type part struct {
	field, filename string
	data            []byte
}

func multipartBody(t *testing.T, parts ...part) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var err error
		var w interface{ Write([]byte) (int, error) }
		if p.filename != "" {
			w, err = mw.CreateFormFile(p.field, p.filename)
		} else {
			w, err = mw.CreateFormField(p.field)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestSniffCapture(t *testing.T) {
	pcap := sharedPcap(t, "modbus/modicon_test.pcap")
	ng := sharedPcap(t, "arp/snap-arp.pcapng")
	for _, tc := range []struct {
		name string
		b    []byte
		want web.CaptureKind
		err  string
	}{
		{"pcap", pcap, web.KindPcap, ""},
		{"pcapng", ng, web.KindPcapNG, ""},
		{"pcap.gz", gz(t, pcap), web.KindGzipPcap, ""},
		{"pcapng.gz", gz(t, ng), web.KindGzipPcapNG, ""},
		{"nanosecond pcap", []byte{0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4}, web.KindPcap, ""},
		{"big-endian pcap", []byte{0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4}, web.KindPcap, ""},
		{"empty", nil, "", "empty"},
		{"text", []byte("hello, this is not a capture"), "", "not a pcap"},
		{"html named pcap", []byte("<html><script>alert(1)</script></html>"), "", "not a pcap"},
		{"zip", []byte("PK\x03\x04rest"), "", "not a pcap"},
		{"gzip of text", gz(t, []byte("just some text, long enough")), "", "does not hold a pcap"},
		{"truncated gzip", gz(t, pcap)[:6], "", "gzip"},
		{"three bytes", []byte{0xd4, 0xc3, 0xb2}, "", "not a pcap"},
	} {
		got, err := web.SniffCapture(tc.b)
		if got != tc.want || (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %q, %v; want %q, %q", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// TestUploadRejects: uploads that are too large, not captures, not
// multipart, or without a file are refused with a clear JSON error before
// the sensor sees a byte; the CSRF token may come as a form field before
// the file, not after it.
func TestUploadRejects(t *testing.T) {
	h := newHarness(t, nil) // MaxUpload 64 KiB; no backend: what passes the checks gets 503
	ana := h.login("ana")
	pcap := sharedPcap(t, "modbus/modicon_test.pcap") // 32 KiB
	upload := func(c *client, noCSRF bool, parts ...part) *httptest.ResponseRecorder {
		body, ct := multipartBody(t, parts...)
		return h.do(c, req{method: "POST", path: "/api/v1/captures", ctype: ct, body: body, noCSRF: noCSRF})
	}
	for _, tc := range []struct {
		name  string
		parts []part
		code  int
		msg   []string
	}{
		{"oversized", []part{{"file", "big.pcap", append(pcap, make([]byte, 200<<10)...)}}, 413, []string{"too large", "64 KiB"}},
		{"text", []part{{"file", "notes.pcap", []byte("this is not a capture at all")}}, 415, []string{"not a capture", ".pcap"}},
		{"html", []part{{"file", "x.pcapng", []byte("<!doctype html><script>alert(1)</script>")}}, 415, []string{"not a capture"}},
		{"gzip of text", []part{{"file", "x.pcap.gz", gz(t, []byte("plain text inside a gzip file"))}}, 415, []string{"not a capture", "gzip"}},
		{"empty", []part{{"file", "empty.pcap", nil}}, 400, []string{"empty"}},
		{"no file field", []part{{"other", "", []byte("x")}}, 400, []string{`"file"`}},
		{"pcap", []part{{"file", "modicon.pcap", pcap}}, 503, []string{"not ready"}},
		{"pcap.gz", []part{{"file", "modicon.pcap.gz", gz(t, pcap)}}, 503, []string{"not ready"}},
	} {
		w := upload(ana, false, tc.parts...)
		if w.Code != tc.code || !contains(errorOf(w), tc.msg...) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, w.Code, w.Body, tc.code, tc.msg)
		}
	}
	// Not multipart at all.
	w := h.do(ana, req{method: "POST", path: "/api/v1/captures", ctype: "application/octet-stream", body: pcap})
	if w.Code != 415 || !contains(errorOf(w), "multipart/form-data") {
		t.Errorf("raw body: %d %s", w.Code, w.Body)
	}
	w = h.do(ana, req{method: "POST", path: "/api/v1/captures", ctype: "multipart/form-data; boundary=x", body: []byte("garbage")})
	if w.Code != 400 || !contains(errorOf(w), "multipart") {
		t.Errorf("broken multipart: %d %s", w.Code, w.Body)
	}
	// CSRF as a form field: before the file it passes, after it or wrong
	// it does not.
	for _, tc := range []struct {
		name  string
		parts []part
		code  int
	}{
		{"token field first", []part{{"csrf_token", "", []byte(ana.csrf)}, {"file", "m.pcap", pcap}}, 503},
		{"token field after the file", []part{{"file", "m.pcap", pcap}, {"csrf_token", "", []byte(ana.csrf)}}, 403},
		{"wrong token field", []part{{"csrf_token", "", []byte("nope")}, {"file", "m.pcap", pcap}}, 403},
		{"no token", []part{{"file", "m.pcap", pcap}}, 403},
	} {
		if w := upload(ana, true, tc.parts...); w.Code != tc.code {
			t.Errorf("CSRF %s: %d %s, want %d", tc.name, w.Code, w.Body, tc.code)
		}
	}
	// Read-only users upload nothing.
	if w := upload(h.login("rob"), false, part{"file", "m.pcap", pcap}); w.Code != 403 {
		t.Errorf("Read-only upload: %d", w.Code)
	}
	st := h.srv.Stats()
	if st.TooLarge == 0 || st.BadMedia < 4 || st.CSRFRejected < 3 {
		t.Errorf("stats %+v", st)
	}
	// The refused uploads are audited with the reason.
	w = h.do(h.login("admin"), req{method: "GET", path: "/api/v1/audit?actor=ana&result=failed"})
	if !strings.Contains(w.Body.String(), "not a capture") || !strings.Contains(w.Body.String(), "too large") {
		t.Errorf("refused uploads not in the audit log: %s", w.Body)
	}
}
