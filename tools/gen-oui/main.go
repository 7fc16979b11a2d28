// Command gen-oui builds the MAC vendor table embedded in
// baseline/inventory/oui from Debian's ieee-data package (the IEEE
// registration authority's public listings: MA-L, MA-M, MA-S/IAB).
//
//	go run ./tools/gen-oui -dir /usr/share/ieee-data -o baseline/inventory/oui/oui.tsv.gz
//
// The output is gzip-compressed text, one assignment per line:
// "PREFIXHEX<TAB>BITS<TAB>Organization", sorted by prefix and length, so
// that regenerating from the same input gives the same bytes.
package main

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type entry struct {
	prefix string // upper-case hex, 6, 7 or 9 digits
	org    string
}

func readCSV(path string) ([]entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gen-oui: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var out []entry
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("gen-oui: %s line %d: %w", path, line, err)
		}
		if line == 1 || len(rec) < 3 {
			continue // header
		}
		p := strings.ToUpper(strings.TrimSpace(rec[1]))
		org := strings.Join(strings.Fields(rec[2]), " ")
		if org == "" || (len(p) != 6 && len(p) != 7 && len(p) != 9) {
			continue
		}
		if strings.Trim(p, "0123456789ABCDEF") != "" {
			continue
		}
		out = append(out, entry{p, org})
	}
}

func run(dir, out string) error {
	var all []entry
	for _, name := range []string{"oui.csv", "mam.csv", "oui36.csv", "iab.csv"} {
		es, err := readCSV(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		all = append(all, es...)
	}
	if len(all) < 1000 {
		return fmt.Errorf("gen-oui: only %d assignments read from %s", len(all), dir)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].prefix != all[j].prefix {
			return all[i].prefix < all[j].prefix
		}
		return all[i].org < all[j].org
	})
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("gen-oui: %w", err)
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	prev := ""
	for _, e := range all {
		if e.prefix == prev {
			continue // the same block listed twice: keep the first
		}
		prev = e.prefix
		if _, err := fmt.Fprintf(zw, "%s\t%d\t%s\n", e.prefix, len(e.prefix)*4, e.org); err != nil {
			return fmt.Errorf("gen-oui: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gen-oui: %w", err)
	}
	return f.Close()
}

func main() {
	dir := flag.String("dir", "/usr/share/ieee-data", "directory of Debian's ieee-data CSV files")
	out := flag.String("o", "baseline/inventory/oui/oui.tsv.gz", "output file")
	flag.Parse()
	if err := run(*dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
