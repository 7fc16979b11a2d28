package indicator

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// LoadFile reads an indicator file, choosing the format by content: JSON
// (the first non-blank character is '{', or '[' followed by '{' or ']') is
// read with ParseSTIX, anything else with ParseList. The source recorded
// in the indicators is the file's base name. now is the time against which
// STIX valid_until is checked.
func LoadFile(path string, now time.Time, lim Limits) (*Result, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("indicators: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("indicators: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("indicators: %s is a directory", path)
	}
	if st.Size() > lim.MaxBytes {
		return nil, fmt.Errorf("indicators: %s: %d bytes: %w (%d bytes)", path, st.Size(), ErrTooLarge, lim.MaxBytes)
	}
	source := filepath.Base(path)
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(4096) // a short file gives what there is
	bom := bytes.HasPrefix(head, []byte("\xef\xbb\xbf"))
	if bom {
		head = head[3:]
	}
	if isJSON(head) {
		if bom {
			_, _ = br.Discard(3)
		}
		res, err := ParseSTIX(br, source, now, lim)
		if err != nil {
			return nil, fmt.Errorf("indicators: %s: %w", path, err)
		}
		return res, nil
	}
	res, err := ParseList(br, source, lim)
	if err != nil {
		return nil, fmt.Errorf("indicators: %s: %w", path, err)
	}
	return res, nil
}

// isJSON reports whether head starts like a JSON object or array of objects
// (a list line cannot start with '{', and "[" then '{' or ']' is no
// bracketed IPv6 address).
func isJSON(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 {
		return false
	}
	switch head[0] {
	case '{':
		return true
	case '[':
		rest := bytes.TrimLeft(head[1:], " \t\r\n")
		return len(rest) == 0 || rest[0] == '{' || rest[0] == ']'
	}
	return false
}
