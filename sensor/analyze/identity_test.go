package analyze_test

import (
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// identityDiffs excuses deliberate differences, per capture and field.
var identityDiffs = map[string]map[string]string{
	"pcaps/http/methods.pcap": {
		"http_host": "a request-line fuzzing capture (OPTIONSHTTP/1.1, non-ASCII methods): the strict HTTP probe " +
			"refuses those flows, tshark decodes anything on port 80 (see dissectors/http)",
		"http_user_agent": "same flows as http_host",
		"http_server":     "same flows as http_host",
	},
}

// multicastHost tells a Host header that names a multicast group (SSDP's
// 239.255.255.250:1900), not a device.
func multicastHost(v string) bool {
	h := v
	if i := strings.LastIndexByte(v, ':'); i > 0 {
		h = v[:i]
	}
	a, err := netip.ParseAddr(h)
	return err == nil && !inventory.UnicastIP(a)
}

type valueSet map[string]bool

func (s valueSet) add(vs ...string) {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			s[v] = true
		}
	}
}

func (s valueSet) sorted() []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// TestInventoryIdentityMatchesTshark checks, capture by capture, that the
// names and identity values tshark decodes end up in the inventory: as
// device names, models, or facts under their own key. A value set equal
// to tshark's is required where the inventory keeps that kind of value on
// its own (vendor classes, user agents, host names, SNI, JA3); names that
// also come from elsewhere must at least include tshark's.
func TestInventoryIdentityMatchesTshark(t *testing.T) {
	for _, c := range sample(t, dissectortest.Captures(t, "")) {
		exp := dissectortest.LoadExpected(t, c)
		relevant := false
		for _, f := range []string{"dhcp_hostname", "dhcp_vendor_class", "lldp_system_name", "cdp_device_id",
			"cdp_platform", "http_host", "http_user_agent", "http_server", "tls_sni", "tls_ja3", "snmp_community"} {
			relevant = relevant || len(exp.Fields[f]) > 0
		}
		if !relevant {
			continue
		}
		t.Run(strings.TrimPrefix(c, "pcaps/"), func(t *testing.T) {
			t.Parallel()
			devs := inventoryOf(t, c)
			names, models, facts := valueSet{}, valueSet{}, map[string]valueSet{}
			for _, r := range inventory.Export(devs) {
				for _, n := range r.Names {
					names.add(n.Name)
				}
				models.add(r.Model, r.OS)
				for _, h := range r.History { // a server that changed its banner
					if h.Field == "model" {
						models.add(h.Old, h.New)
					}
				}
				for k, vs := range r.Facts {
					if facts[k] == nil {
						facts[k] = valueSet{}
					}
					facts[k].add(vs...)
				}
			}
			fact := func(k string) valueSet {
				if facts[k] == nil {
					return valueSet{}
				}
				return facts[k]
			}
			want := func(field string) valueSet {
				s := valueSet{}
				for v := range exp.Fields[field] {
					if field == "http_host" && multicastHost(v) {
						continue // SSDP to the multicast group: no device has that name
					}
					s.add(v)
				}
				return s
			}
			excused := func(field string) bool {
				why, ok := identityDiffs[c][field]
				if ok {
					t.Logf("%s differs deliberately: %s", field, why)
				}
				return ok
			}
			equal := func(field string, got valueSet) {
				w := want(field)
				if g, ws := strings.Join(got.sorted(), "|"), strings.Join(w.sorted(), "|"); g != ws && !excused(field) {
					t.Errorf("%s: inventory %q, tshark %q", field, got.sorted(), w.sorted())
				}
			}
			within := func(field string, got valueSet) {
				for v := range want(field) {
					if !got[v] && !excused(field) {
						t.Errorf("%s %q not in the inventory (have %q)", field, v, got.sorted())
					}
				}
			}
			within("dhcp_hostname", names)
			equal("dhcp_vendor_class", fact("dhcp_vendor_class"))
			within("lldp_system_name", names)
			within("cdp_device_id", names)
			within("cdp_platform", models)
			within("http_server", models)
			equal("http_host", fact("http_host"))
			equal("http_user_agent", fact("user_agent"))
			equal("tls_sni", fact("tls_sni"))
			equal("tls_ja3", fact("ja3"))
			// dns_query_name is not compared: a query names what somebody
			// looked up; the inventory binds names to addresses from answers
			// (CNAME targets included), which tshark's field does not list.
			if len(exp.Fields["snmp_community"]) > 0 && !fact("snmp_community_seen")["1"] {
				t.Errorf("SNMP community sent in clear, but no device says so")
			}
		})
	}
}
