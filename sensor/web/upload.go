package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"
)

// uploadOverhead is the room left for the multipart framing and small
// fields around the file of an upload.
const uploadOverhead = 64 << 10

// UploadField is the multipart field that carries the capture.
const UploadField = "file"

// CaptureKind names what SniffCapture recognised.
type CaptureKind string

// Capture kinds.
const (
	KindPcap       CaptureKind = "pcap"
	KindPcapNG     CaptureKind = "pcapng"
	KindGzipPcap   CaptureKind = "pcap.gz"
	KindGzipPcapNG CaptureKind = "pcapng.gz"
)

// sniffLen is how much of an upload SniffCapture looks at.
const sniffLen = 4096

// SniffCapture recognises a capture by its first bytes: pcap (either byte
// order, micro- or nanosecond), pcapng (section header block), or either
// compressed with gzip. It returns an error saying what the data is not.
func SniffCapture(head []byte) (CaptureKind, error) {
	if len(head) == 0 {
		return "", errors.New("the file is empty")
	}
	if k := rawKind(head); k != "" {
		return k, nil
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(head))
		if err != nil {
			return "", fmt.Errorf("gzip data that cannot be read: %w", err)
		}
		inner := make([]byte, 4)
		if _, err := io.ReadFull(zr, inner); err != nil {
			return "", fmt.Errorf("gzip data that does not start with a capture: %w", err)
		}
		switch rawKind(inner) {
		case KindPcap:
			return KindGzipPcap, nil
		case KindPcapNG:
			return KindGzipPcapNG, nil
		}
		return "", errors.New("gzip data that does not hold a pcap or pcapng capture")
	}
	return "", errors.New("not a pcap, pcapng or gzip-compressed capture")
}

func rawKind(b []byte) CaptureKind {
	if len(b) < 4 {
		return ""
	}
	switch binary.BigEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return KindPcap
	case 0x0a0d0d0a:
		return KindPcapNG
	}
	return ""
}

// cleanName keeps the base name of an uploaded file, without control
// characters, at most 200 bytes.
func cleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	if len(name) > 200 {
		name = name[:200]
	}
	if name == "" || name == "." || name == "/" {
		return "upload.pcap"
	}
	return name
}

// capReader fails once more than limit bytes went through it.
type capReader struct {
	r       io.Reader
	limit   int64
	n       int64
	tooMany bool
}

var errUploadTooLarge = errors.New("capture too large")

func (c *capReader) Read(p []byte) (int, error) {
	if c.tooMany {
		return 0, errUploadTooLarge
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		c.tooMany = true
		return n, errUploadTooLarge
	}
	return n, err
}

// upload streams a multipart capture to the backend without holding it in
// memory: an optional csrf_token field (for HTML forms without the
// header), then the file field. The content is sniffed before the
// backend sees a byte.
func (s *Server) upload(c *gin.Context) {
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(s.cfg.Now().Add(s.cfg.UploadTimeout)) // unsupported in tests: fine

	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		s.fail(c, http.StatusUnsupportedMediaType, "expected a multipart/form-data upload with the capture in the field \""+UploadField+"\"")
		return
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		s.fail(c, http.StatusBadRequest, "malformed multipart upload: "+err.Error())
		return
	}
	_, csrfPending := c.Get(keyCSRFPending)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			s.fail(c, http.StatusBadRequest, "the upload has no \""+UploadField+"\" field with a capture")
			return
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.fail(c, http.StatusRequestEntityTooLarge, "capture too large: the limit is "+sizeString(s.cfg.MaxUpload))
				return
			}
			s.fail(c, http.StatusBadRequest, "malformed multipart upload: "+err.Error())
			return
		}
		switch part.FormName() {
		case CSRFField:
			v, _ := io.ReadAll(io.LimitReader(part, 256))
			id, _ := identity(c)
			if csrfPending && id.CheckCSRF(string(v)) {
				csrfPending = false
			}
		case UploadField:
			if csrfPending {
				s.n.csrf.Add(1)
				s.fail(c, http.StatusForbidden, "CSRF check failed: missing or wrong "+CSRFHeader+" header (or "+CSRFField+" field before the file)")
				return
			}
			s.receive(c, part)
			return
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				s.fail(c, http.StatusBadRequest, "malformed multipart upload: "+err.Error())
				return
			}
		}
	}
}

func (s *Server) receive(c *gin.Context, part io.Reader) {
	name := "upload.pcap"
	if p, ok := part.(interface{ FileName() string }); ok {
		name = cleanName(p.FileName())
	}
	cr := &capReader{r: part, limit: s.cfg.MaxUpload}
	br := bufio.NewReaderSize(cr, 64<<10)
	head, err := br.Peek(sniffLen)
	if cr.tooMany {
		s.fail(c, http.StatusRequestEntityTooLarge, "capture too large: the limit is "+sizeString(s.cfg.MaxUpload))
		return
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(c, http.StatusRequestEntityTooLarge, "capture too large: the limit is "+sizeString(s.cfg.MaxUpload))
			return
		}
		s.fail(c, http.StatusBadRequest, "reading the upload: "+err.Error())
		return
	}
	if _, err := SniffCapture(head); err != nil {
		if len(head) == 0 {
			s.fail(c, http.StatusBadRequest, "not a capture: "+err.Error())
			return
		}
		s.fail(c, http.StatusUnsupportedMediaType, "not a capture: "+err.Error()+" (upload a .pcap, .pcapng or .gz of one)")
		return
	}
	if !s.ready(c) {
		return
	}
	cp, err := s.b.Upload(c.Request.Context(), name, br, actor(c))
	s.n.uploadBytes.Add(uint64(cr.n))
	var mbe *http.MaxBytesError
	switch {
	case cr.tooMany || errors.As(err, &mbe):
		s.fail(c, http.StatusRequestEntityTooLarge, "capture too large: the limit is "+sizeString(s.cfg.MaxUpload))
		return
	case err != nil:
		s.failErr(c, err)
		return
	}
	s.n.uploads.Add(1)
	c.Set(keyAuditTarget, cp.ID)
	c.Header("Location", APIPrefix+"/captures/"+cp.ID)
	c.JSON(http.StatusCreated, cp)
}
