package cdp

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Fixtures: CDP packets as the flow engine feeds them (after LLC/SNAP).
const (
	// router1601 is the CDPv1 packet of pcaps/lldp-cdp/cdp-v1.pcap (even length).
	router1601 = "01b4dff000010006523100020011000000010101cc0004c0a80a010003000d45746865726e6574300004000800000001000500d8436973636f20496e7465726e6574776f726b204f7065726174696e672053797374656d20536f667477617265200a494f532028746d29203136303020536f667477617265202843313630302d4e592d4c292c2056657273696f6e2031312e3228313229502c2052454c4541534520534f4654574152452028666331290a436f707972696768742028632920313938362d3139393820627920636973636f2053797374656d732c20496e632e0a436f6d70696c6564205475652030332d4d61722d39382030363a33332062792064736368776172740006000e636973636f2031363031"
	// ce500 is the CDPv2 packet of the Catalyst Express 500 in the EIP
	// captures (odd length: exercises Cisco's checksum quirk).
	ce500 = "02b40ab0000100094e73356774000500bc436973636f20494f5320536f6674776172652c20434535303020536f667477617265202843453530302d4c414e424153452d4d292c2056657273696f6e2031322e3228323529534547342c2052454c4541534520534f4654574152452028666331290a436f707972696768742028632920313938362d3230303720627920436973636f2053797374656d732c20496e632e0a436f6d70696c6564204d6f6e2031332d4175672d30372031373a33342062792079656e616e6800060017636973636f2057532d43453530302d3234545400020011000000010101cc0004c0a80afd000300144769676162697445746865726e657431000400080000002800090004000a00060003000b0005010012000500001300050000160011000000010101cc0004c0a80afd001a00100000000100000000ffffffff"
	// switchV2 is built to the format: a switch with VTP domain, native
	// VLAN, duplex and an IPv4+IPv6 management address list.
	switchV2    = "02b4b3950001000e73772d636f72652d303100020011000000010101cc00040a010203000300194769676162697445746865726e6574312f302f3234000400080000002800050098436973636f20494f5320536f6674776172652c20433337353020536f667477617265202843333735302d495053455256494345534b392d4d292c2056657273696f6e2031322e322835352953452c2052454c4541534520534f4654574152452028666332290a436f707972696768742028632920313938362d3230313020627920436973636f2053797374656d732c20496e632e00060017636973636f2057532d43333735302d3234505300090009504c414e54000a0006000a000b0005010016002d000000020101cc00040a0102030208aaaa0300000086dd0010fe800000000000000000000000000001"
	badChecksum = "02b43e960001000652390006000d636973636f20383831"
	version3    = "03b4aa0b000100065239"
	tlvTooLong  = "02b4aa840001000652390006004041"
	tlvCut      = "02b4ab0b00010006523900"
	shortCaps   = "02b4ab00000100065239000400060001"
	addrListBad = "02b4aa2e0001000652390002000b000000030101cc"
	headerCut   = "02b4ab"
)

func l2Flow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportL2,
		Client: dissect.Endpoint{MAC: [6]byte{0, 0xe0, 0x1e, 0xd5, 0xd5, 0x15}},
		Server: dissect.Endpoint{MAC: [6]byte{1, 0, 0x0c, 0xcc, 0xcc, 0xcc}}, Start: t0}
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

func TestChecksum(t *testing.T) {
	for _, f := range []string{router1601, ce500, switchV2} {
		if c := Checksum(unhex(t, f)); c != 0 {
			t.Errorf("valid packet sums to %#x", c)
		}
	}
	if Checksum(unhex(t, badChecksum)) == 0 {
		t.Error("corrupted checksum accepted")
	}
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
		{name: "router1601", hex: router1601,
			attrs: []string{"version", "1", "ttl", "180", "port_id", "Ethernet0", "addr", "192.168.10.1",
				"capabilities", "1", "tlvs", "6"},
			hint: dissect.AssetHint{Name: "R1", Model: "cisco 1601", OS: "Cisco Internetwork Operating System Software",
				Firmware: "11.2(12)P", Role: dissect.RoleNetwork},
			extra: []string{"mgmt_ip", "192.168.10.1", "port_id", "Ethernet0"}},
		{name: "ce500", hex: ce500,
			attrs: []string{"version", "2", "port_id", "GigabitEthernet1", "mgmt_addr", "192.168.10.253",
				"capabilities", "40", "native_vlan", "3", "duplex", "1", "vtp_domain", ""},
			hint: dissect.AssetHint{Name: "Ns5gt", Model: "cisco WS-CE500-24TT",
				OS:       "Cisco IOS Software, CE500 Software (CE500-LANBASE-M), Version 12.2(25)SEG4, RELEASE SOFTWARE (fc1)",
				Firmware: "12.2(25)SEG4", Role: dissect.RoleNetwork},
			extra: []string{"native_vlan", "3", "mgmt_ip", "192.168.10.253"}},
		{name: "switchV2", hex: switchV2,
			attrs: []string{"addr", "10.1.2.3", "mgmt_addr", "10.1.2.3", "vtp_domain", "PLANT", "native_vlan", "10",
				"duplex", "1"},
			hint: dissect.AssetHint{Name: "sw-core-01", Model: "cisco WS-C3750-24PS",
				OS:       "Cisco IOS Software, C3750 Software (C3750-IPSERVICESK9-M), Version 12.2(55)SE, RELEASE SOFTWARE (fc2)",
				Firmware: "12.2(55)SE", Role: dissect.RoleNetwork},
			extra: []string{"vtp_domain", "PLANT", "port_id", "GigabitEthernet1/0/24"}},
		{name: "badChecksum", hex: badChecksum, attrs: []string{"tlvs", "2"},
			hint:  dissect.AssetHint{Name: "R9", Model: "cisco 881"},
			viols: []string{"bad_checksum: CDP checksum mismatch"}},
		{name: "version3", hex: version3, viols: []string{"out_of_spec: unknown CDP version"}},
		{name: "tlvTooLong", hex: tlvTooLong, attrs: []string{"tlvs", "1"},
			viols: []string{"bad_length: TLV length outside the packet"}},
		{name: "tlvCut", hex: tlvCut, viols: []string{"truncated: TLV header cut short"}},
		{name: "shortCaps", hex: shortCaps, attrs: []string{"capabilities", ""},
			viols: []string{"malformed: TLV too short for its type"}},
		{name: "addrListBad", hex: addrListBad, attrs: []string{"addr", ""},
			viols: []string{"malformed: TLV too short for its type"}},
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
			if tx.Op != dissect.OpNotify || tx.Status != dissect.StatusOK || tx.Protocol != "cdp" {
				t.Errorf("tx op %v status %v protocol %q", tx.Op, tx.Status, tx.Protocol)
			}
			wantAttrs(t, "tx", tx.Attrs, c.attrs...)
			if c.hint.Name == "" {
				return
			}
			if len(rec.R.Hints) != 1 {
				t.Fatalf("%d hints, want 1", len(rec.R.Hints))
			}
			h := rec.R.Hints[0]
			if h.Name != c.hint.Name || h.Model != c.hint.Model || h.OS != c.hint.OS ||
				h.Firmware != c.hint.Firmware || h.Role != c.hint.Role {
				t.Errorf("hint %+v\nwant %+v", h, c.hint)
			}
			if h.MAC != l2Flow().Client.MAC || h.Side != dissect.ToServer {
				t.Errorf("hint about %x side %v, want the sender", h.MAC, h.Side)
			}
			wantAttrs(t, "hint extra", h.Extra, c.extra...)
		})
	}
}

func TestHeaderCut(t *testing.T) {
	rec := feed(t, headerCut)
	if len(rec.R.Transactions) != 0 || len(rec.R.Violations) != 1 || rec.R.Violations[0].Kind != dissect.ViolMalformed {
		t.Errorf("%d tx, violations %v", len(rec.R.Transactions), violReasons(rec.R.Violations))
	}
}

// TestHintOnlyOnChange checks that repeats give one hint and fields count
// every packet.
func TestHintOnlyOnChange(t *testing.T) {
	rec := feed(t, ce500, ce500, router1601, ce500)
	if len(rec.R.Transactions) != 4 || len(rec.R.Hints) != 2 {
		t.Errorf("%d transactions, %d hints; want 4, 2", len(rec.R.Transactions), len(rec.R.Hints))
	}
	if rec.R.Fields["cdp_device_id"]["Ns5gt"] != 3 || rec.R.Fields["cdp_platform"]["cisco 1601"] != 1 {
		t.Errorf("fields %v", rec.R.Fields)
	}
}
