package mms_test

import (
	"testing"

	"github.com/otwatch/otwatch/dissectors/cotp"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// mmsFields are the tshark facts the MMS decoder must reproduce.
var mmsFields = []string{"cotp_type", "mms_confirmed_service_request", "mms_vendor", "mms_model", "mms_revision"}

// TestExpectedMMS compares the MMS field counts with tshark on every
// capture whose facts hold MMS or COTP (all of pcaps/iec61850 but the GOOSE
// ones).
func TestExpectedMMS(t *testing.T) {
	for _, c := range dissectortest.Captures(t, "iec61850") {
		exp := dissectortest.LoadExpected(t, c)
		if _, ok := exp.Fields["cotp_type"]; !ok {
			continue
		}
		t.Run(c, func(t *testing.T) {
			res := dissectortest.Replay(t, c, cotp.Spec())
			dissectortest.CompareExpected(t, res, c, mmsFields, nil)
		})
	}
}
