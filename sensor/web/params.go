package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/otwatch/otwatch/sensor/web/auth"
)

// List is a page of a list and the number of items that match.
type List[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func page[T any](items []T, total, limit, offset int) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Total: total, Limit: limit, Offset: offset}
}

// actor is the name the backend records for a change.
func actor(c *gin.Context) string {
	id, _ := identity(c)
	return id.User
}

// ready reports whether the backend is wired, answering 503 if not.
func (s *Server) ready(c *gin.Context) bool {
	if s.b == nil {
		c.Header("Retry-After", "5")
		s.fail(c, http.StatusServiceUnavailable, "the sensor is not ready")
		return false
	}
	return true
}

// bindJSON decodes a JSON body into v: Content-Type application/json (415
// otherwise), within MaxJSON (413), one well-formed object with known
// fields only (400 with the reason).
func (s *Server) bindJSON(c *gin.Context, v any) bool {
	if ct := c.ContentType(); ct != "application/json" {
		s.fail(c, http.StatusUnsupportedMediaType, fmt.Sprintf("expected Content-Type application/json, got %q", ct))
		return false
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON value")
		}
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		s.fail(c, http.StatusRequestEntityTooLarge, "request body too large: the limit is "+sizeString(mbe.Limit))
	case errors.Is(err, io.EOF):
		s.fail(c, http.StatusBadRequest, "malformed JSON: empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.fail(c, http.StatusBadRequest, "malformed JSON: unexpected end of input")
	case errors.As(err, &se):
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
	case errors.As(err, &te):
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("malformed JSON: field %q: expected %s, got %s", te.Field, te.Type, te.Value))
	default:
		s.fail(c, http.StatusBadRequest, "malformed JSON: "+err.Error())
	}
	return false
}

// queryInt reads an optional integer query parameter within [lo, hi].
func (s *Server) queryInt(c *gin.Context, name string, def, lo, hi int) (int, bool) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("query parameter %s=%q: want an integer from %d to %d", name, v, lo, hi))
		return 0, false
	}
	return n, true
}

// queryBool reads an optional boolean query parameter (nil when absent).
func (s *Server) queryBool(c *gin.Context, name string) (*bool, bool) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		return nil, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("query parameter %s=%q: want true or false", name, v))
		return nil, false
	}
	return &b, true
}

// queryText reads an optional free-text query parameter of at most 256
// bytes.
func (s *Server) queryText(c *gin.Context, name string) (string, bool) {
	v := c.Query(name)
	if len(v) > 256 {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("query parameter %s: longer than 256 bytes", name))
		return "", false
	}
	return v, true
}

// queryEnum reads an optional query parameter that must be one of values.
func (s *Server) queryEnum(c *gin.Context, name string, values ...string) (string, bool) {
	v := c.Query(name)
	if v == "" {
		return "", true
	}
	for _, ok := range values {
		if v == ok {
			return v, true
		}
	}
	s.fail(c, http.StatusBadRequest, fmt.Sprintf("query parameter %s=%q: want one of %s", name, v, strings.Join(values, ", ")))
	return "", false
}

// queryTime reads an optional RFC 3339 time.
func (s *Server) queryTime(c *gin.Context, name string) (time.Time, bool) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("query parameter %s=%q: want an RFC 3339 time like 2026-03-01T08:00:00Z", name, v))
		return time.Time{}, false
	}
	return t, true
}

// validID reports whether v can be an alert, capture or token ID: 1–64
// characters among letters, digits, '-', '_' and '.' (not only dots).
func validID(v string) bool {
	if v == "" || len(v) > 64 || strings.Trim(v, ".") == "" {
		return false
	}
	for _, c := range []byte(v) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// queryScope reads the scope parameter: absent or "live" is the live
// sensor, anything else a capture's ID.
func (s *Server) queryScope(c *gin.Context) (Scope, bool) {
	v := c.Query("scope")
	if v == "" || v == "live" {
		return Live, true
	}
	if !validID(v) {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("query parameter scope=%q: want live or a capture ID", v))
		return "", false
	}
	return Scope(v), true
}

// pathID reads a string ID path parameter.
func (s *Server) pathID(c *gin.Context) (string, bool) {
	v := c.Param("id")
	if !validID(v) {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("bad ID %q: 1–64 letters, digits, '-', '_' or '.'", v))
		return "", false
	}
	return v, true
}

// deviceID reads a numeric device ID path parameter.
func (s *Server) deviceID(c *gin.Context, v string) (uint64, bool) {
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("bad device ID %q: want a positive integer", v))
		return 0, false
	}
	return id, true
}

// pathName reads a user name path parameter.
func (s *Server) pathName(c *gin.Context) (string, bool) {
	n, err := auth.NormalizeName(c.Param("name"))
	if err != nil {
		s.fail(c, http.StatusBadRequest, err.Error())
		return "", false
	}
	return n, true
}

// queryPrefix reads an optional CIDR.
func (s *Server) queryPrefix(c *gin.Context, name string) (string, bool) {
	v := c.Query(name)
	if v == "" {
		return "", true
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("query parameter %s=%q: want a CIDR like 10.0.0.0/24", name, v))
		return "", false
	}
	return p.Masked().String(), true
}
