package lldp

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Fixtures: LLDPDUs as the flow engine feeds them (after the EtherType).
const (
	// smcSwitch is the SMC GS8P switch of pcaps/lldp-cdp/lldp.pcap (with
	// the Ethernet FCS left behind the End TLV).
	smcSwitch = "02070400222d81db1004020731060200780807506f72742023310a0d534d43475338502d536d6172740c23534d43475338502d536d617274202d20534d43475338502d536d6172742076332e32300e0400040004100c0501c0a8020a0200000001000000bb14272c"
	// scalanceX212 is the Siemens SCALANCE X212-2 of mb2.pcap with its
	// PROFINET port status and chassis MAC TLVs and 802.3 MAC/PHY.
	scalanceX212 = "02080773776974636831040907706f72742d30303106020014082d5369656d656e732c2053494d41544943204e45542c2045746865726e65742053776974636820506f72742030310a07537769746368310c4c5369656d656e732c2053494d41544943204e45542c205343414c414e434520583231322d322c2036474b35203231322d32424230302d324141332c2048573a20372c2046573a2056342e30320e0400800080101405018d5100be0200000001082b0601040181c06efe08000ecf0200000000fe0a000ecf05001b1b02e61efe0900120f01036c0000100000"
	// hirschmannMAR is the Hirschmann MAR switch of c37_pmu_unclean.pcap
	// (802.1 port VLAN ID, 802.3 and vendor TLVs).
	hirschmannMAR = "020704ece555ea392e040907706f72742d3030390602007808224d6f64756c653a203120506f72743a2039202d2031302f313030204d6269742054580a0a4d41522d4541333932450c204869727363686d616e6e204d4152202d2053573a204c32502d30392e302e30300e040004000410160501c0a8000e02000000390a2b0601040181780e0a5afe0f0080c2040a00274242030000020003fe0900120f01036c000010fe0900120f030100000000fe060080c2010001fe070080c202030001fe0e0080c20300010744656661756c74fe05008063010dfe050080630201fe050080630305fe0a00806304018080440000fe0600120f0405f2fe070012bb010003040000"
	// medRouter is built to the standard: network-address chassis ID,
	// MAC port ID, router capability, IPv6 management address, port VLAN
	// 100 and the whole LLDP-MED inventory set.
	medRouter = "020605010a000001040703001122334455060200780a09636f72652d727472310c34436973636f20494f5320536f6674776172652c20433239363020536f6674776172650a546563686e6963616c20537570706f72740e04001400141018110220010db8000000000000000000000001020000000500fe060080c2010064fe0a0012bb05485720312e32fe0a0012bb06465720332e34fe0a0012bb07535720352e36fe090012bb08534e313233fe080012bb0941636d65fe0a0012bb0a50686f6e65390000"
	// shutdownPDU has TTL 0 (the sender is leaving).
	shutdownPDU = "020704001122334455040307703106020000 0000"
	// lengthBeyondFrame: the system name TLV claims 32 bytes, 3 remain.
	lengthBeyondFrame = "020704001122334455040307703106020078 0a20 4142 43"
	// outOfOrder starts with a TTL TLV.
	outOfOrder = "06020078 020704001122334455 0403077031 0000"
	// shortTTL has a one-byte TTL value.
	shortTTL = "020704001122334455 0403077031 060100 0000"
	// cutHeader ends in the middle of a TLV header.
	cutHeader = "020704001122334455 0403077031 06020078 0a"
)

func l2Flow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportL2, EtherType: EtherType,
		Client: dissect.Endpoint{MAC: [6]byte{0, 0x22, 0x2d, 0x81, 0xdb, 0x10}},
		Server: dissect.Endpoint{MAC: [6]byte{1, 0x80, 0xc2, 0, 0, 0x0e}}, Start: t0}
}

func feed(t testing.TB, frames ...string) *recorder {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: l2Flow(), Time: t0, Emit: rec}
	for _, f := range frames {
		ctx.Frame++
		ctx.Time = ctx.Time.Add(time.Second)
		d.Feed(&ctx, dissect.ToServer, unhex(t, f))
	}
	d.End(&ctx)
	return rec
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name  string
		hex   string
		attrs []string
		hint  dissect.AssetHint
		extra []string
		viols []string
	}{
		{name: "smcSwitch", hex: smcSwitch,
			attrs: []string{"chassis_subtype", "4", "chassis_id", "00:22:2d:81:db:10", "port_subtype", "7",
				"port_id", "1", "ttl", "120", "capabilities_enabled", "4", "mgmt_addr", "192.168.2.10", "tlvs", "8"},
			hint: dissect.AssetHint{Name: "SMCGS8P-Smart", Model: "SMCGS8P-Smart - SMCGS8P-Smart v3.20",
				Role: dissect.RoleNetwork},
			extra: []string{"mgmt_ip", "192.168.2.10", "port_description", "Port #1", "capabilities_enabled", "4"}},
		{name: "scalanceX212", hex: scalanceX212,
			attrs: []string{"chassis_id", "switch1", "port_id", "port-001", "ttl", "20", "capabilities_enabled", "128",
				"mgmt_addr", "141.81.0.190", "mau_type", "16", "pn_rtc2_port_status", "0", "pn_rtc3_port_status", "0"},
			hint: dissect.AssetHint{Name: "Switch1",
				Model:    "Siemens, SIMATIC NET, SCALANCE X212-2, 6GK5 212-2BB00-2AA3, HW: 7, FW: V4.02",
				Firmware: "V4.02", Hardware: "7"},
			extra: []string{"pn_chassis_mac", "00:1b:1b:02:e6:1e", "mgmt_ip", "141.81.0.190"}},
		{name: "hirschmannMAR", hex: hirschmannMAR,
			attrs: []string{"chassis_id", "ec:e5:55:ea:39:2e", "port_vlan", "1", "mgmt_addr", "192.168.0.14"},
			hint: dissect.AssetHint{Name: "MAR-EA392E", Model: "Hirschmann MAR - SW: L2P-09.0.00",
				Role: dissect.RoleNetwork},
			extra: []string{"port_vlan", "1", "port_description", "Module: 1 Port: 9 - 10/100 Mbit TX"}},
		{name: "medRouter", hex: medRouter,
			attrs: []string{"chassis_subtype", "5", "chassis_id", "10.0.0.1", "port_id", "00:11:22:33:44:55",
				"mgmt_addr", "2001:db8:0:0:0:0:0:1", "port_vlan", "100", "capabilities_enabled", "20"},
			hint: dissect.AssetHint{Name: "core-rtr1", Model: "Phone9", Vendor: "Acme", OS: "Cisco IOS Software, C2960 Software",
				Firmware: "FW 3.4", Hardware: "HW 1.2", Serial: "SN123", Role: dissect.RoleNetwork},
			extra: []string{"software_revision", "SW 5.6"}},
		{name: "shutdownPDU", hex: shutdownPDU, attrs: []string{"ttl", "0", "port_id", "p1"}},
		{name: "lengthBeyondFrame", hex: lengthBeyondFrame, attrs: []string{"ttl", "120", "tlvs", "3"},
			viols: []string{"bad_length: TLV length beyond the frame"}},
		{name: "outOfOrder", hex: outOfOrder,
			viols: []string{"out_of_spec: mandatory chassis ID, port ID and TTL TLVs missing or out of order"}},
		{name: "shortTTL", hex: shortTTL, attrs: []string{"ttl", ""},
			viols: []string{"malformed: TLV too short for its type"}},
		{name: "cutHeader", hex: cutHeader, attrs: []string{"ttl", "120"},
			viols: []string{"truncated: TLV header cut short"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := feed(t, c.hex)
			if got, want := strings.Join(violReasons(rec.R.Violations), "; "), strings.Join(c.viols, "; "); got != want {
				t.Errorf("violations %q, want %q", got, want)
			}
			if len(rec.R.Transactions) != 1 {
				t.Fatalf("%d transactions, want 1", len(rec.R.Transactions))
			}
			tx := rec.R.Transactions[0]
			if tx.Op != dissect.OpNotify || tx.Status != dissect.StatusOK || tx.Protocol != "lldp" {
				t.Errorf("tx op %v status %v protocol %q", tx.Op, tx.Status, tx.Protocol)
			}
			wantAttrs(t, "tx", tx.Attrs, c.attrs...)
			if c.hint.Name == "" && c.hint.Model == "" {
				return
			}
			if len(rec.R.Hints) != 1 {
				t.Fatalf("%d hints, want 1", len(rec.R.Hints))
			}
			h := rec.R.Hints[0]
			if h.Name != c.hint.Name || h.Model != c.hint.Model || h.Vendor != c.hint.Vendor || h.OS != c.hint.OS ||
				h.Firmware != c.hint.Firmware || h.Hardware != c.hint.Hardware || h.Serial != c.hint.Serial ||
				h.Role != c.hint.Role {
				t.Errorf("hint %+v\nwant %+v", h, c.hint)
			}
			if h.MAC != l2Flow().Client.MAC || h.Side != dissect.ToServer {
				t.Errorf("hint about %x side %v, want the sender", h.MAC, h.Side)
			}
			wantAttrs(t, "hint extra", h.Extra, c.extra...)
		})
	}
}

func TestShutdownFuncName(t *testing.T) {
	rec := feed(t, shutdownPDU)
	if rec.R.Transactions[0].FuncName != "LLDPDU shutdown" {
		t.Errorf("FuncName %q", rec.R.Transactions[0].FuncName)
	}
}

// TestHintOnlyOnChange checks that a repeated LLDPDU gives one hint and a
// changed one a second.
func TestHintOnlyOnChange(t *testing.T) {
	rec := feed(t, smcSwitch, smcSwitch, smcSwitch, scalanceX212, scalanceX212)
	if len(rec.R.Transactions) != 5 {
		t.Errorf("%d transactions, want 5", len(rec.R.Transactions))
	}
	if len(rec.R.Hints) != 2 {
		t.Errorf("%d hints, want 2", len(rec.R.Hints))
	}
	if n := rec.R.Fields["lldp_system_name"]["SMCGS8P-Smart"]; n != 3 {
		t.Errorf("lldp_system_name counted %d times, want 3", n)
	}
}

func TestEmptyFrame(t *testing.T) {
	rec := feed(t, "", "0000")
	if len(rec.R.Transactions) != 0 || len(rec.R.Violations) != 2 {
		t.Errorf("%d tx, violations %v", len(rec.R.Transactions), violReasons(rec.R.Violations))
	}
}
