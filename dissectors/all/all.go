// Package all lists every dissector the sensor ships, in one place. A test
// checks the list against the packages under dissectors/.
package all

import (
	"github.com/otwatch/otwatch/dissectors/arp"
	"github.com/otwatch/otwatch/dissectors/bacnet"
	"github.com/otwatch/otwatch/dissectors/cdp"
	"github.com/otwatch/otwatch/dissectors/cotp"
	"github.com/otwatch/otwatch/dissectors/dhcp"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dnp3"
	"github.com/otwatch/otwatch/dissectors/dns"
	"github.com/otwatch/otwatch/dissectors/enip"
	"github.com/otwatch/otwatch/dissectors/ftp"
	"github.com/otwatch/otwatch/dissectors/goose"
	"github.com/otwatch/otwatch/dissectors/http"
	"github.com/otwatch/otwatch/dissectors/iec104"
	"github.com/otwatch/otwatch/dissectors/lldp"
	"github.com/otwatch/otwatch/dissectors/modbus"
	"github.com/otwatch/otwatch/dissectors/mqtt"
	"github.com/otwatch/otwatch/dissectors/nbns"
	"github.com/otwatch/otwatch/dissectors/ntp"
	"github.com/otwatch/otwatch/dissectors/opcua"
	"github.com/otwatch/otwatch/dissectors/profinet"
	"github.com/otwatch/otwatch/dissectors/rdp"
	"github.com/otwatch/otwatch/dissectors/smb"
	"github.com/otwatch/otwatch/dissectors/snmp"
	"github.com/otwatch/otwatch/dissectors/ssh"
	"github.com/otwatch/otwatch/dissectors/syslog"
	"github.com/otwatch/otwatch/dissectors/telnet"
	"github.com/otwatch/otwatch/dissectors/tftp"
	"github.com/otwatch/otwatch/dissectors/tls"
	"github.com/otwatch/otwatch/dissectors/vnc"
)

// Specs returns the spec of every dissector.
func Specs() []dissect.Spec {
	return []dissect.Spec{
		modbus.Spec(),
		dnp3.Spec(),
		cotp.Spec(), // TPKT/COTP on TCP 102, handing off to S7comm, S7comm-plus and MMS
		enip.Spec(),
		enip.IOSpec(),
		bacnet.Spec(),
		bacnet.MSTPSpec(),
		iec104.Spec(),
		opcua.Spec(),
		profinet.Spec(),
		profinet.CMSpec(),
		goose.Spec(),
		goose.SVSpec(),
		mqtt.Spec(),
		// IT protocols, for the asset inventory.
		arp.Spec(),
		dhcp.Spec(),
		dhcp.Spec6(),
		dns.Spec(),
		dns.MDNSSpec(),
		dns.LLMNRSpec(),
		nbns.Spec(),
		nbns.DatagramSpec(),
		ntp.Spec(),
		lldp.Spec(),
		cdp.Spec(),
		snmp.Spec(),
		http.Spec(),
		http.SSDPSpec(),
		tls.Spec(),
		ssh.Spec(),
		smb.Spec(),
		rdp.Spec(),
		ftp.Spec(),
		telnet.Spec(),
		vnc.Spec(),
		syslog.Spec(),
		tftp.Spec(),
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
