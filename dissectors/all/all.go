// Package all lists every dissector the sensor ships, in one place. A test
// checks the list against the packages under dissectors/.
package all

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dnp3"
	"github.com/otwatch/otwatch/dissectors/enip"
	"github.com/otwatch/otwatch/dissectors/modbus"
	"github.com/otwatch/otwatch/dissectors/opcua"
	"github.com/otwatch/otwatch/dissectors/profinet"
)

// Specs returns the spec of every dissector.
func Specs() []dissect.Spec {
	return []dissect.Spec{
		modbus.Spec(),
		dnp3.Spec(),
		enip.Spec(),
		enip.IOSpec(),
		opcua.Spec(),
		profinet.Spec(),
		profinet.CMSpec(),
	}
}

// Registry returns a new registry holding every dissector.
func Registry() *dissect.Registry {
	r := dissect.NewRegistry()
	for _, s := range Specs() {
		r.Register(s)
	}
	return r
}
