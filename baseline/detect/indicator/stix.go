package indicator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// stixObject holds the properties of a STIX object that matter here.
type stixObject struct {
	Type           string   `json:"type"`
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	Pattern        string   `json:"pattern"`
	PatternType    string   `json:"pattern_type"`
	ValidFrom      string   `json:"valid_from"`
	ValidUntil     string   `json:"valid_until"`
	Modified       string   `json:"modified"`
	Labels         []string `json:"labels"`
	IndicatorTypes []string `json:"indicator_types"`
	Confidence     *int     `json:"confidence"`
	Revoked        bool     `json:"revoked"`
}

// stixParser streams the objects of a bundle and keeps, for each indicator
// id, the latest version (by modified, the later one in the file on ties).
type stixParser struct {
	res     *Result
	now     time.Time
	latest  map[string]int // id → index in objs
	objs    []stixObject
	mods    []time.Time
	bundle  string
	hasObjs bool
}

// ParseSTIX reads STIX 2.1 content: a bundle ({"type":"bundle",
// "objects":[...]}), a bare indicator object, or a JSON array of objects.
// It imports indicators with pattern_type "stix" (or none) whose pattern is
// a supported equality comparison on ipv4-addr, ipv6-addr, domain-name or
// url values, or an OR of them (see the package README). Other objects are
// ignored; revoked and expired (valid_until at or before now; a zero now
// checks nothing) indicators and unsupported patterns are skipped and
// counted in the Result. When an indicator id appears in several versions,
// the latest modified one counts.
//
// The error is for input that cannot be read as a whole: invalid or
// truncated JSON, content that is not STIX, or more than lim.MaxBytes
// (ErrTooLarge).
func ParseSTIX(r io.Reader, source string, now time.Time, lim Limits) (*Result, error) {
	lim = lim.withDefaults()
	p := &stixParser{res: newResult(source, "stix", lim), now: now, latest: map[string]int{}}
	dec := json.NewDecoder(newLimitReader(r, lim.MaxBytes))
	fail := func(what string, err error) (*Result, error) {
		switch {
		case errors.Is(err, ErrTooLarge):
			return nil, fmt.Errorf("stix %s: %w", source, err)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("stix %s: %s: truncated at byte %d: %w", source, what, dec.InputOffset(), io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("stix %s: %s (near byte %d): %w", source, what, dec.InputOffset(), err)
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("stix %s: empty input: %w", source, io.ErrUnexpectedEOF)
		}
		return fail("reading JSON", err)
	}
	switch tok {
	case json.Delim('{'):
		if err := p.top(dec); err != nil {
			return fail("reading the top-level object", err)
		}
	case json.Delim('['):
		if err := p.array(dec); err != nil {
			return fail("reading the array of objects", err)
		}
	default:
		return nil, fmt.Errorf("stix %s: not a JSON object or array (starts with %v)", source, tok)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, fmt.Errorf("stix %s: data after the JSON value at byte %d", source, dec.InputOffset())
		}
		return fail("after the JSON value", err)
	}
	p.finish()
	return p.res, nil
}

// top reads the members of the top-level object after its '{': a bundle's
// objects are streamed, the other members kept for a bare object.
func (p *stixParser) top(dec *json.Decoder) error {
	members := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if key == "objects" {
			p.hasObjs = true
			t, err := dec.Token()
			if err != nil {
				return err
			}
			if t != json.Delim('[') {
				return errors.New(`"objects" is not an array`)
			}
			if err := p.array(dec); err != nil {
				return err
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		members[key] = raw
	}
	if _, err := dec.Token(); err != nil { // '}'
		return err
	}
	var typ, id string
	_ = json.Unmarshal(members["type"], &typ)
	_ = json.Unmarshal(members["id"], &id)
	switch {
	case typ == "bundle":
		p.bundle = id
		return nil
	case p.hasObjs:
		return fmt.Errorf(`an object with "objects" but of type %q, not "bundle"`, typ)
	case typ == "":
		return errors.New(`not a STIX object (no "type")`)
	}
	// A bare object: put it back together and treat it as the only one.
	raw, err := json.Marshal(members)
	if err != nil {
		return fmt.Errorf("re-encoding the object: %w", err)
	}
	if typ != "indicator" {
		return fmt.Errorf("a STIX object of type %q, not a bundle or an indicator", typ)
	}
	p.object(raw)
	return nil
}

// array reads objects up to and including the closing ']'.
func (p *stixParser) array(dec *json.Decoder) error {
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		p.object(raw)
	}
	_, err := dec.Token() // ']'
	return err
}

// object records one STIX object: indicators are kept for finish (latest
// version per id), others ignored.
func (p *stixParser) object(raw json.RawMessage) {
	p.res.Read++
	var o stixObject
	err := json.Unmarshal(raw, &o)
	if err == nil && o.Type == "" {
		err = errors.New(`not a STIX object (no "type")`)
	}
	if err == nil && o.Type != "indicator" {
		p.res.Ignored++
		return
	}
	if err != nil {
		if o.Type != "" && o.Type != "indicator" {
			p.res.Ignored++ // a foreign object we do not read anyway
			return
		}
		p.res.note(&SkipError{ID: o.ID, Reason: ReasonMalformed, Err: err})
		return
	}
	mod, _ := time.Parse(time.RFC3339Nano, o.Modified)
	if o.ID != "" {
		if i, ok := p.latest[o.ID]; ok {
			p.res.Ignored++ // one of the two versions is superseded
			if !mod.Before(p.mods[i]) {
				p.objs[i], p.mods[i] = o, mod
			}
			return
		}
		p.latest[o.ID] = len(p.objs)
	}
	p.objs = append(p.objs, o)
	p.mods = append(p.mods, mod)
}

// finish turns the kept indicator objects into Indicators, in file order.
func (p *stixParser) finish() {
	for i := range p.objs {
		p.convert(&p.objs[i])
	}
	if p.bundle != "" {
		for i := range p.res.Indicators {
			p.res.Indicators[i].Bundle = p.bundle
		}
	}
}

func (p *stixParser) convert(o *stixObject) {
	skip := func(reason string, err error) { p.res.note(&SkipError{ID: o.ID, Reason: reason, Err: err}) }
	if o.Revoked {
		skip(ReasonRevoked, nil)
		return
	}
	if o.PatternType != "" && o.PatternType != "stix" {
		skip(ReasonPatternType, fmt.Errorf("pattern_type %q", o.PatternType))
		return
	}
	var from, until time.Time
	var err error
	if o.ValidFrom != "" {
		if from, err = time.Parse(time.RFC3339Nano, o.ValidFrom); err != nil {
			skip(ReasonMalformed, fmt.Errorf("valid_from: %w", err))
			return
		}
	}
	if o.ValidUntil != "" {
		if until, err = time.Parse(time.RFC3339Nano, o.ValidUntil); err != nil {
			skip(ReasonMalformed, fmt.Errorf("valid_until: %w", err))
			return
		}
		if !p.now.IsZero() && !until.After(p.now) {
			skip(ReasonExpired, fmt.Errorf("valid_until %s", o.ValidUntil))
			return
		}
	}
	if strings.TrimSpace(o.Pattern) == "" {
		skip(ReasonMalformed, errors.New("no pattern"))
		return
	}
	cmps, err := parsePattern(o.Pattern)
	if err != nil {
		skip(reasonOf(err), fmt.Errorf("pattern %s: %w", clip(o.Pattern, 200), err))
		return
	}
	base := Indicator{
		Source: p.res.Source, ID: o.ID, Name: o.Name, Description: o.Description,
		ValidFrom: from, ValidUntil: until,
	}
	for _, l := range slices.Concat(o.Labels, o.IndicatorTypes) {
		if l != "" && !slices.Contains(base.Labels, l) {
			base.Labels = append(base.Labels, l)
		}
	}
	if o.Confidence != nil {
		base.Confidence, base.HasConfidence = *o.Confidence, true
	}
	var bad []string
	var lastReason string
	var good []Indicator
	for _, c := range cmps {
		ind, reason, err := fromComparison(c)
		if err != nil {
			bad = append(bad, err.Error())
			lastReason = reason
			continue
		}
		if !slices.ContainsFunc(good, func(g Indicator) bool { return g.Value == ind.Value }) {
			good = append(good, ind)
		}
	}
	if len(good) == 0 {
		skip(lastReason, errors.New(strings.Join(bad, "; ")))
		return
	}
	if len(bad) > 0 {
		skip(ReasonPartial, fmt.Errorf("%d of %d comparisons left out: %s", len(bad), len(cmps), strings.Join(bad, "; ")))
	}
	for _, g := range good {
		ind := base
		ind.Labels = slices.Clone(base.Labels)
		ind.Kind, ind.Value, ind.Prefix, ind.Subdomains = g.Kind, g.Value, g.Prefix, g.Subdomains
		p.res.add(ind)
	}
}

// fromComparison makes an indicator of one comparison, or says why not.
func fromComparison(c comparison) (Indicator, string, error) {
	if c.prop != "value" {
		return Indicator{}, ReasonObjectType, fmt.Errorf("%s:%s is not supported", c.objType, c.prop)
	}
	var ind Indicator
	var err error
	switch c.objType {
	case "ipv4-addr", "ipv6-addr":
		ind, err = parseIP(strings.TrimSpace(c.value))
		if err == nil && ind.Prefix.Addr().Is4() != (c.objType == "ipv4-addr") {
			err = fmt.Errorf("%q is not an %s value", c.value, c.objType)
		}
	case "domain-name":
		var d string
		if d, err = canonDomain(strings.TrimSpace(c.value)); err == nil {
			ind = Indicator{Kind: KindDomain, Value: d}
		}
	case "url":
		var u string
		if u, err = NormalizeURL(c.value); err == nil {
			ind = Indicator{Kind: KindURL, Value: u}
		}
	default:
		return Indicator{}, ReasonObjectType, fmt.Errorf("object type %s is not supported", c.objType)
	}
	if err != nil {
		return Indicator{}, ReasonInvalid, fmt.Errorf("%s:%s: %w", c.objType, c.prop, err)
	}
	return ind, "", nil
}

// clip shortens s to n bytes for messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
