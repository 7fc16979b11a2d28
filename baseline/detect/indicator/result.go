package indicator

import (
	"errors"
	"fmt"
	"io"
)

// Default limits.
const (
	DefaultMaxBytes      = 64 << 20 // bytes read from one file
	DefaultMaxIndicators = 1 << 20  // indicators from one file, and in a Set
	DefaultMaxErrors     = 100      // detailed errors kept in a Result
	DefaultMaxLine       = 8 << 10  // bytes in one line of a plain list
)

// ErrTooLarge is returned (wrapped) when an input exceeds Limits.MaxBytes.
var ErrTooLarge = errors.New("input larger than the size limit")

// Limits bound a parse. Zero fields take the defaults.
type Limits struct {
	MaxBytes      int64 // input size; more is an error (ErrTooLarge)
	MaxIndicators int   // indicators returned; more are counted in Dropped
	MaxErrors     int   // detailed errors kept; all are counted
	MaxLine       int   // plain-list line length; longer lines are skipped
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxIndicators <= 0 {
		l.MaxIndicators = DefaultMaxIndicators
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = DefaultMaxErrors
	}
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	return l
}

// Reasons for skipping an indicator or a line, the keys of Result.Reasons.
const (
	ReasonRevoked     = "revoked"             // STIX revoked: true
	ReasonExpired     = "expired"             // valid_until at or before now
	ReasonPatternType = "pattern-type"        // pattern_type other than stix
	ReasonUnsupported = "unsupported-pattern" // AND, LIKE, MATCHES, !=, qualifiers, FOLLOWEDBY...
	ReasonObjectType  = "unsupported-object"  // no comparison on a supported object type
	ReasonSyntax      = "syntax"              // malformed STIX pattern
	ReasonInvalid     = "invalid-value"       // not an address, prefix, domain or URL
	ReasonMalformed   = "malformed-object"    // a STIX object of the wrong shape
	ReasonTooLong     = "line-too-long"       // a list line longer than MaxLine
	// ReasonPartial notes an indicator imported without some comparisons
	// of its OR (on unsupported object types or with invalid values); it
	// is counted in Reasons but not in Skipped.
	ReasonPartial = "partial"
)

// SkipError describes one skipped (or partially imported) indicator or line.
type SkipError struct {
	Source string
	Line   int    // plain-list line number, 0 for STIX
	ID     string // STIX object id, if any
	Reason string // one of the Reason constants
	Err    error  // the detail
}

// Error returns "source:line: reason: detail" or "source: id: reason: detail".
func (e *SkipError) Error() string {
	where := e.Source
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.Source, e.Line)
	}
	if e.ID != "" {
		where += ": " + e.ID
	}
	if e.Err == nil {
		return where + ": " + e.Reason
	}
	return where + ": " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the detail.
func (e *SkipError) Unwrap() error { return e.Err }

// Result is what a parse produced, with everything it left out counted.
type Result struct {
	Source     string
	Format     string // "stix" or "list"
	Indicators []Indicator
	// Read is the number of STIX objects or list lines read.
	Read int
	// Ignored counts STIX objects that are not indicators (identities,
	// malware, relationships...), superseded versions of an indicator, and
	// blank, comment and header lines of lists.
	Ignored int
	// Skipped counts indicators and lines that produced nothing.
	Skipped int
	// Reasons counts skipped (and partial) entries by Reason.
	Reasons map[string]int
	// Errors are the first Limits.MaxErrors *SkipError values.
	Errors []error
	// Dropped counts indicators beyond Limits.MaxIndicators.
	Dropped int

	maxErrors, maxIndicators int
}

func newResult(source, format string, lim Limits) *Result {
	return &Result{Source: source, Format: format, Reasons: map[string]int{},
		maxErrors: lim.MaxErrors, maxIndicators: lim.MaxIndicators}
}

// note counts e under its reason and keeps it if there is room.
func (r *Result) note(e *SkipError) {
	e.Source = r.Source
	r.Reasons[e.Reason]++
	if e.Reason != ReasonPartial {
		r.Skipped++
	}
	if len(r.Errors) < r.maxErrors {
		r.Errors = append(r.Errors, e)
	}
}

// add appends ind unless the cap is reached.
func (r *Result) add(ind Indicator) {
	if len(r.Indicators) >= r.maxIndicators {
		r.Dropped++
		return
	}
	r.Indicators = append(r.Indicators, ind)
}

// limitReader reads at most n bytes from r and fails with ErrTooLarge when
// there are more.
type limitReader struct {
	r    io.Reader
	n    int64 // bytes still allowed
	max  int64
	over bool
}

func newLimitReader(r io.Reader, max int64) *limitReader {
	return &limitReader{r: r, n: max, max: max}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.over {
		return 0, l.err()
	}
	if l.n <= 0 {
		// Probe one byte: end of input exactly at the limit is fine.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, l.err()
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func (l *limitReader) err() error {
	return fmt.Errorf("%w (%d bytes)", ErrTooLarge, l.max)
}
