package opcua

import (
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// TestHistorianHint replays a client that subscribes to monitored items and
// writes nothing: at the end of the session it is reported as a historian
// (data collector), with the reason.
func TestHistorianHint(t *testing.T) {
	res := dissectortest.Replay(t, "pcaps/opcua/open62541_create_monitored_items.pcap", Spec())
	var found bool
	for _, h := range res.Hints {
		if h.Role == dissect.RoleHistorian {
			found = true
			if !strings.Contains(h.Evidence, "subscriptions") {
				t.Errorf("historian hint without its reason: %q", h.Evidence)
			}
		}
	}
	if !found {
		t.Fatal("no historian hint for a subscribing, never-writing client")
	}
	// A client that writes is not a historian.
	res = dissectortest.Replay(t, "pcaps/opcua/open62541_read_service_test_data.pcap", Spec())
	for _, h := range res.Hints {
		if h.Role == dissect.RoleHistorian {
			t.Fatalf("historian hint for a client that only reads once: %+v", h)
		}
	}
}
