package detect

import (
	"strings"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// action is what an operational transaction does to a device.
type action uint8

const (
	actNone action = iota
	actStop
	actStart
	actModeChange
	actRestart
	actLock
	actUnlock
	actFirmware
)

var actionNames = [...]string{"", "stop", "start", "mode change", "restart", "lock", "unlock", "firmware transfer"}

// attrNum returns a numeric attribute.
func attrNum(t *dissect.Transaction, key string) (uint64, bool) {
	for i := range t.Attrs {
		if t.Attrs[i].Key == key && !t.Attrs[i].IsStr {
			return t.Attrs[i].Num, true
		}
	}
	return 0, false
}

// attrStr returns a string attribute (valid during the call).
func attrStr(t *dissect.Transaction, key string) ([]byte, bool) {
	for i := range t.Attrs {
		if t.Attrs[i].Key == key && t.Attrs[i].IsStr {
			return t.Attrs[i].Str, true
		}
	}
	return nil, false
}

func hasAttr(t *dissect.Transaction, key string) bool {
	for i := range t.Attrs {
		if t.Attrs[i].Key == key {
			return true
		}
	}
	return false
}

// classify maps a transaction to an operational action. The dissectors
// already sort operations into classes (dissect.Op); this adds what the
// operational engine needs per protocol: which control operation stops,
// starts, restarts, locks or loads firmware.
func classify(t *dissect.Transaction) action {
	if hasAttr(t, "firmware") {
		if v, _ := attrNum(t, "firmware"); v != 0 {
			return actFirmware
		}
	}
	if t.Op != dissect.OpControl && t.Op != dissect.OpFile && t.Op != dissect.OpProgram && t.Op != dissect.OpDiagnostic {
		return actNone
	}
	switch t.Protocol {
	case "s7comm", "s7comm-plus":
		if a, ok := attrStr(t, "action"); ok {
			switch strings.ToLower(string(a)) {
			case "stop":
				return actStop
			case "start", "hot_restart", "cold_restart", "warm_restart", "run":
				return actStart
			}
		}
		if t.Op == dissect.OpControl && strings.Contains(strings.ToLower(t.FuncName), "memory reset") {
			return actRestart
		}
	case "cip":
		switch t.FuncName {
		case "Stop":
			return actStop
		case "Start":
			return actStart
		case "Reset":
			return actRestart
		case "Logix Acquire Lock":
			return actLock
		case "Logix Release Lock":
			return actUnlock
		}
		if t.Op == dissect.OpControl && t.FuncName == "Execute PCCC" {
			return actModeChange
		}
	case "dnp3":
		switch t.Function {
		case 0x0D, 0x0E: // cold, warm restart
			return actRestart
		case 0x11:
			return actStart
		case 0x12:
			return actStop
		}
	case "iec104":
		if t.Function == 105 { // C_RP_NA_1 reset process
			return actRestart
		}
	case "mms":
		switch t.Function {
		case 40, 42: // start, resume
			return actStart
		case 41, 44: // stop, kill
			return actStop
		case 43: // reset
			return actRestart
		}
	case "bacnet":
		switch t.Function {
		case 20: // ReinitializeDevice
			return actRestart
		case 17: // DeviceCommunicationControl
			return actModeChange
		}
	case "modbus":
		if fn, ok := attrNum(t, "umas_function"); ok {
			switch fn {
			case 0x40:
				return actStart
			case 0x41:
				return actStop
			}
		}
		if t.Function == 8 {
			if sub, ok := attrNum(t, "sub_function"); ok && (sub == 1 || sub == 4) {
				return actRestart // restart communications, force listen only
			}
		}
	case "profinet":
		if v, ok := attrNum(t, "factory_reset"); ok && v != 0 {
			return actRestart
		}
	}
	if t.Op == dissect.OpControl {
		n := strings.ToLower(t.FuncName)
		switch {
		case strings.Contains(n, "stop"):
			return actStop
		case strings.Contains(n, "restart") || strings.Contains(n, "reset") || strings.Contains(n, "reboot"):
			return actRestart
		}
	}
	return actNone
}

// subOf returns the object class, group or block type that refines a
// function code in the pair baseline, per protocol.
func subOf(t *dissect.Transaction) (uint32, bool) {
	key := ""
	switch t.Protocol {
	case "cip":
		key = "class"
	case "dnp3":
		key = "group"
	case "s7comm":
		key = "block_type"
	case "modbus":
		if v, ok := attrNum(t, "umas_function"); ok {
			return uint32(v), true
		}
		key = "sub_function"
	case "bacnet":
		key = "object_type"
	default:
		return 0, false
	}
	for i := range t.Attrs {
		a := &t.Attrs[i]
		if a.Key != key {
			continue
		}
		if !a.IsStr {
			return uint32(a.Num), true
		}
		h := uint32(2166136261)
		for _, c := range a.Str {
			h ^= uint32(c)
			h *= 16777619
		}
		return h, true
	}
	return 0, false
}

// identifyRequest reports whether a transaction asks an OT device who it
// is (Modbus FC 43/14, S7 SZL read, CIP List Identity, BACnet Who-Is,
// PROFINET DCP Identify…): the dissectors class these as OpIdentify.
func identifyRequest(t *dissect.Transaction) bool {
	return t.Op == dissect.OpIdentify && t.Status != dissect.StatusOrphan
}

// loginFailed reports a failed authentication.
func loginFailed(t *dissect.Transaction) bool {
	if v, ok := attrNum(t, "login_failed"); ok && v != 0 {
		return true
	}
	return t.Op == dissect.OpLogin && t.Status == dissect.StatusException
}

// cleartextKind returns the kind of cleartext credential a transaction
// carries, and whether it is a vendor default.
func cleartextKind(t *dissect.Transaction) (kind string, deflt bool) {
	if v, ok := attrNum(t, "cleartext_password"); ok && v != 0 {
		return t.Protocol, false
	}
	if v, ok := attrNum(t, "basic_auth"); ok && v != 0 {
		return "http_basic", false
	}
	if v, ok := attrNum(t, "community_seen"); ok && v != 0 {
		d, _ := attrNum(t, "default_community")
		return "snmp_community", d != 0
	}
	return "", false
}

// remotePorts are the TCP ports of remote-access protocols.
func remoteAccess(proto string, port uint16) (string, bool) {
	switch proto {
	case "ssh", "telnet", "rdp", "vnc":
		return proto, true
	}
	switch {
	case port == 22:
		return "ssh", true
	case port == 23:
		return "telnet", true
	case port == 3389:
		return "rdp", true
	case port >= 5900 && port <= 5903:
		return "vnc", true
	case port == 5938:
		return "teamviewer", true
	}
	return "", false
}
