package arp

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

func TestGolden(t *testing.T) {
	for _, c := range dissectortest.Captures(t, "arp") {
		name := strings.TrimSuffix(filepath.Base(c), filepath.Ext(c))
		t.Run(name, func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			dissectortest.Golden(t, res, name)
			exp := dissectortest.LoadExpected(t, c)
			n := 0
			for _, v := range exp.Fields["arp_opcode"] {
				n += v
			}
			// Every ARP frame tshark decodes gives one transaction, a
			// paired one two.
			tx := 0
			for _, x := range res.Transactions {
				tx++
				if !x.RespTime.IsZero() {
					tx++
				}
			}
			if tx != n {
				t.Errorf("%s: %d ARP messages in transactions, tshark saw %d", c, tx, n)
			}
			if len(res.Fields) != 0 {
				t.Errorf("%s: fields emitted (arp_opcode is the decoder's): %v", c, res.Fields)
			}
		})
	}
}
