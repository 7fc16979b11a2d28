package analyze_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/baseline/inventory/oui"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/analyze"
)

func inventoryOf(t *testing.T, capture string) []*inventory.Device {
	t.Helper()
	inv := inventory.New(inventory.Config{}, oui.New())
	if _, err := analyze.Run(context.Background(), []string{filepath.Join(dissectortest.RepoRoot(t), capture)},
		analyze.Options{Registry: all.Registry(), Inventory: inv, NoFields: true}); err != nil {
		t.Fatalf("analyze %s: %v", capture, err)
	}
	return inv.Devices()
}

func deviceWithIP(t *testing.T, devs []*inventory.Device, ip string) *inventory.Device {
	t.Helper()
	for _, d := range devs {
		for _, a := range d.IPs {
			if a.String() == ip {
				return d
			}
		}
	}
	t.Fatalf("no device with %s among %v", ip, devs)
	return nil
}

func hasEvidence(d *inventory.Device, role inventory.Role, words ...string) bool {
	for _, e := range d.Evidence {
		if e.Role != role {
			continue
		}
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(strings.ToLower(e.Why), w)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestRolesOnRealCaptures checks the role classification, and the evidence
// behind it, on captures of known situations.
func TestRolesOnRealCaptures(t *testing.T) {
	t.Run("HMI polling Modbus PLCs", func(t *testing.T) {
		devs := inventoryOf(t, "pcaps/modbus/ModbusTCP.pcap")
		hmi := deviceWithIP(t, devs, "141.81.0.10")
		if hmi.Role != inventory.RoleHMI || !hasEvidence(hmi, inventory.RoleHMI, "modbus") {
			t.Fatalf("poller: %v evidence %v", hmi, hmi.Evidence)
		}
		plcs := 0
		for _, d := range devs {
			if d.Role == inventory.RolePLC && hasEvidence(d, inventory.RolePLC, "modbus") {
				plcs++
			}
		}
		if plcs != 13 {
			t.Fatalf("%d Modbus servers classified as PLC, want 13", plcs)
		}
	})
	t.Run("engineering workstation downloading an S7 block", func(t *testing.T) {
		devs := inventoryOf(t, "pcaps/s7comm/tia_s300_downloadOb1.pcapng")
		ews := deviceWithIP(t, devs, "134.217.61.131")
		plc := deviceWithIP(t, devs, "134.217.61.211")
		if ews.Role != inventory.RoleEngineering || !hasEvidence(ews, inventory.RoleEngineering, "s7comm") {
			t.Fatalf("downloader: %v evidence %v", ews, ews.Evidence)
		}
		if plc.Role != inventory.RolePLC || plc.Purdue != 1 {
			t.Fatalf("plc: %v", plc)
		}
	})
	t.Run("historian collecting OPC UA data, beside an HMI", func(t *testing.T) {
		// Real node-opcua traffic between three hosts (tools/gen-historian).
		devs := inventoryOf(t, "pcaps/generated/opcua-historian-hmi.pcap")
		hist := deviceWithIP(t, devs, "10.77.0.20")
		hmi := deviceWithIP(t, devs, "10.77.0.30")
		srv := deviceWithIP(t, devs, "10.77.0.10")
		if hist.Role != inventory.RoleHistorian || hist.Purdue != 3 ||
			!hasEvidence(hist, inventory.RoleHistorian, "subscriptions", "never writes") {
			t.Fatalf("historian: %v evidence %v", hist, hist.Evidence)
		}
		if hmi.Role != inventory.RoleHMI {
			t.Fatalf("hmi (reads and writes a setpoint): %v evidence %v", hmi, hmi.Evidence)
		}
		if srv.Role != inventory.RoleOPCServer {
			t.Fatalf("server: %v", srv)
		}
	})
	t.Run("switch and router speaking LLDP and CDP", func(t *testing.T) {
		for _, c := range []struct{ capture, name, proto string }{
			{"pcaps/lldp-cdp/lldp.pcap", "SMCGS8P-Smart", "lldp"},
			{"pcaps/lldp-cdp/cdp-v1.pcap", "R1", "cdp"},
		} {
			devs := inventoryOf(t, c.capture)
			if len(devs) != 1 {
				t.Fatalf("%s: %d devices", c.capture, len(devs))
			}
			d := devs[0]
			if d.Role != inventory.RoleNetwork || d.Name() != c.name || !hasEvidence(d, inventory.RoleNetwork, c.proto) {
				t.Fatalf("%s: %v evidence %v", c.capture, d, d.Evidence)
			}
			if d.Confidence < 0.9 || d.Purdue != 0 {
				t.Fatalf("%s: confidence %.2f purdue %d", c.capture, d.Confidence, d.Purdue)
			}
		}
	})
	t.Run("S7 PLC identity from SZL", func(t *testing.T) {
		devs := inventoryOf(t, "pcaps/s7comm/s7comm_reading_plc_status.pcap")
		var found bool
		for _, d := range devs {
			if strings.HasPrefix(d.Product, "6ES7") {
				found = true
				if d.Role != inventory.RolePLC {
					t.Errorf("device with order number %s has role %s", d.Product, d.Role)
				}
			}
		}
		if !found {
			t.Fatalf("no device got its S7 order number: %v", devs)
		}
	})
	t.Run("EtherNet/IP identity", func(t *testing.T) {
		devs := inventoryOf(t, "pcaps/enip-cip/EIP-IPAddressChangeAttempt.pcap")
		var found bool
		for _, d := range devs {
			if d.Model == "1756-ENBT/A" {
				found = true
				if d.Role != inventory.RolePLC || d.Serial == "" || d.Firmware == "" {
					t.Errorf("ENBT: %v serial %q", d, d.Serial)
				}
			}
		}
		if !found {
			t.Fatalf("no device identified as 1756-ENBT/A: %v", devs)
		}
	})
}
