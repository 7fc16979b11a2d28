package bacnet

// confirmedNames are the BACnet-Confirmed-Service-Request choices (ASHRAE 135 clause 21).
var confirmedNames = [...]string{
	"acknowledgeAlarm", "confirmedCOVNotification", "confirmedEventNotification", "getAlarmSummary",
	"getEnrollmentSummary", "subscribeCOV", "atomicReadFile", "atomicWriteFile", "addListElement",
	"removeListElement", "createObject", "deleteObject", "readProperty", "readPropertyConditional",
	"readPropertyMultiple", "writeProperty", "writePropertyMultiple", "deviceCommunicationControl",
	"confirmedPrivateTransfer", "confirmedTextMessage", "reinitializeDevice", "vtOpen", "vtClose", "vtData",
	"authenticate", "requestKey", "readRange", "lifeSafetyOperation", "subscribeCOVProperty",
	"getEventInformation", "subscribeCOVPropertyMultiple", "confirmedCOVNotificationMultiple",
	"confirmedAuditNotification", "auditLogQuery",
}

// unconfirmedNames are the BACnet-Unconfirmed-Service-Request choices.
var unconfirmedNames = [...]string{
	"i-Am", "i-Have", "unconfirmedCOVNotification", "unconfirmedEventNotification",
	"unconfirmedPrivateTransfer", "unconfirmedTextMessage", "timeSynchronization", "who-Has", "who-Is",
	"utcTimeSynchronization", "writeGroup", "unconfirmedCOVNotificationMultiple",
	"unconfirmedAuditNotification", "who-Am-I", "you-Are",
}

// objectTypeNames are the standard BACnetObjectType values.
var objectTypeNames = [...]string{
	"analog-input", "analog-output", "analog-value", "binary-input", "binary-output", "binary-value",
	"calendar", "command", "device", "event-enrollment", "file", "group", "loop", "multi-state-input",
	"multi-state-output", "notification-class", "program", "schedule", "averaging", "multi-state-value",
	"trend-log", "life-safety-point", "life-safety-zone", "accumulator", "pulse-converter", "event-log",
	"global-group", "trend-log-multiple", "load-control", "structured-view", "access-door", "timer",
	"access-credential", "access-point", "access-rights", "access-user", "access-zone", "credential-data-input",
	"network-security", "bitstring-value", "characterstring-value", "date-pattern-value", "date-value",
	"datetime-pattern-value", "datetime-value", "integer-value", "large-analog-value", "octetstring-value",
	"positive-integer-value", "time-pattern-value", "time-value", "notification-forwarder", "alert-enrollment",
	"channel", "lighting-output", "binary-lighting-output", "network-port", "elevator-group", "escalator",
	"lift",
}

// errorCodeNames are the BACnetErrorCode values.
var errorCodeNames = [...]string{
	"other", "authentication-failed", "configuration-in-progress", "device-busy",
	"dynamic-creation-not-supported", "file-access-denied", "incompatible-security-levels",
	"inconsistent-parameters", "inconsistent-selection-criterion", "invalid-data-type",
	"invalid-file-access-method", "invalid-file-start-position", "invalid-operator-name",
	"invalid-parameter-data-type", "invalid-time-stamp", "key-generation-error", "missing-required-parameter",
	"no-objects-of-specified-type", "no-space-for-object", "no-space-to-add-list-element",
	"no-space-to-write-property", "no-vt-sessions-available", "property-is-not-a-list",
	"object-deletion-not-permitted", "object-identifier-already-exists", "operational-problem",
	"password-failure", "read-access-denied", "security-not-supported", "service-request-denied", "timeout",
	"unknown-object", "unknown-property", "removed", "unknown-vt-class", "unknown-vt-session",
	"unsupported-object-type", "value-out-of-range", "vt-session-already-closed",
	"vt-session-termination-failure", "write-access-denied", "character-set-not-supported",
	"invalid-array-index", "cov-subscription-failed", "not-cov-property",
	"optional-functionality-not-supported", "invalid-configuration-data", "datatype-not-supported",
	"duplicate-name", "duplicate-object-id", "property-is-not-an-array",
}

// abortReasonNames are the BACnetAbortReason values.
var abortReasonNames = [...]string{
	"other", "buffer-overflow", "invalid-apdu-in-this-state", "preempted-by-higher-priority-task",
	"segmentation-not-supported", "security-error", "insufficient-security", "window-size-out-of-range",
	"application-exceeded-reply-time", "out-of-resources", "tsm-timeout", "apdu-too-long",
}

// rejectReasonNames are the BACnetRejectReason values.
var rejectReasonNames = [...]string{
	"other", "buffer-overflow", "inconsistent-parameters", "invalid-parameter-data-type", "invalid-tag",
	"missing-required-parameter", "parameter-out-of-range", "too-many-arguments", "undefined-enumeration",
	"unrecognized-service",
}

// ConfirmedServiceName returns the name of a confirmed service choice, "" when unknown.
func ConfirmedServiceName(s uint8) string {
	if int(s) < len(confirmedNames) {
		return confirmedNames[s]
	}
	return ""
}

// UnconfirmedServiceName returns the name of an unconfirmed service choice, "" when unknown.
func UnconfirmedServiceName(s uint8) string {
	if int(s) < len(unconfirmedNames) {
		return unconfirmedNames[s]
	}
	return ""
}

// ObjectTypeName returns the name of a standard object type, "" for
// proprietary (128..1023) or unknown types.
func ObjectTypeName(t uint16) string {
	if int(t) < len(objectTypeNames) {
		return objectTypeNames[t]
	}
	return ""
}

func tableName(tab []string, v uint32, def string) string {
	if int64(v) < int64(len(tab)) {
		return tab[v]
	}
	return def
}

// VendorName returns the name of a BACnet vendor identifier (ASHRAE vendor
// list) for the common vendors, "" when not in the table.
func VendorName(id uint32) string {
	switch id {
	case 0:
		return "ASHRAE"
	case 1:
		return "NIST"
	case 2:
		return "The Trane Company"
	case 3:
		return "Daikin Applied Americas"
	case 4:
		return "PolarSoft"
	case 5:
		return "Johnson Controls, Inc."
	case 6:
		return "ABB (Formerly American Auto-Matrix)"
	case 7:
		return "Siemens Schweiz AG (Formerly: Landis & Staefa Division Europe)"
	case 8:
		return "Delta Controls"
	case 9:
		return "Siemens Schweiz AG"
	case 10:
		return "Schneider Electric"
	case 11:
		return "TAC"
	case 14:
		return "Cimetrics Technology"
	case 15:
		return "Cornell University"
	case 16:
		return "United Technologies Carrier"
	case 17:
		return "Honeywell Inc."
	case 18:
		return "Alerton / Honeywell"
	case 19:
		return "TAC AB"
	case 22:
		return "Siemens Schweiz AG (Formerly: Cerberus AG)"
	case 23:
		return "York Controls Group"
	case 24:
		return "Automated Logic Corporation"
	case 26:
		return "Phoenix Controls Corporation"
	case 28:
		return "KMC Controls, Inc."
	case 35:
		return "Reliable Controls Corporation"
	case 36:
		return "Tridium Inc."
	case 37:
		return "MSA Safety"
	case 39:
		return "Kieback & Peter GmbH & Co KG"
	case 42:
		return "Acuity Brands Lighting, Inc."
	case 51:
		return "SAMSON AG"
	case 53:
		return "DAIKIN Industries Ltd."
	case 56:
		return "Liebert Corporation"
	case 74:
		return "KNX Association cvba"
	case 77:
		return "Carel Industries S.p.A."
	case 80:
		return "Fr. Sauter AG"
	case 86:
		return "The Watt Stopper, Inc."
	case 89:
		return "Saia-Burgess Controls, Ltd."
	case 91:
		return "Novar Corp./Trend Control Systems Ltd."
	case 95:
		return "Richards-Zeta Building Intelligence, Inc."
	case 245:
		return "Contemporary Control Systems, Inc."
	case 260:
		return "BACnet Stack at SourceForge"
	case 389:
		return "Chipkin Automation Systems"
	}
	return ""
}

// bvlcName names a BVLC function.
func bvlcName(f uint8) string {
	switch f {
	case 0x00:
		return "BVLC-Result"
	case 0x01:
		return "Write-Broadcast-Distribution-Table"
	case 0x02:
		return "Read-Broadcast-Distribution-Table"
	case 0x03:
		return "Read-Broadcast-Distribution-Table-Ack"
	case 0x04:
		return "Forwarded-NPDU"
	case 0x05:
		return "Register-Foreign-Device"
	case 0x06:
		return "Read-Foreign-Device-Table"
	case 0x07:
		return "Read-Foreign-Device-Table-Ack"
	case 0x08:
		return "Delete-Foreign-Device-Table-Entry"
	case 0x09:
		return "Distribute-Broadcast-To-Network"
	case 0x0A:
		return "Original-Unicast-NPDU"
	case 0x0B:
		return "Original-Broadcast-NPDU"
	case 0x0C:
		return "Secure-BVLL"
	}
	return ""
}

// networkMessageName names an NPDU network-layer message type.
func networkMessageName(t uint8) string {
	switch t {
	case 0x00:
		return "Who-Is-Router-To-Network"
	case 0x01:
		return "I-Am-Router-To-Network"
	case 0x02:
		return "I-Could-Be-Router-To-Network"
	case 0x03:
		return "Reject-Message-To-Network"
	case 0x04:
		return "Router-Busy-To-Network"
	case 0x05:
		return "Router-Available-To-Network"
	case 0x06:
		return "Initialize-Routing-Table"
	case 0x07:
		return "Initialize-Routing-Table-Ack"
	case 0x08:
		return "Establish-Connection-To-Network"
	case 0x09:
		return "Disconnect-Connection-To-Network"
	case 0x0A:
		return "Challenge-Request"
	case 0x0B:
		return "Security-Payload"
	case 0x0C:
		return "Security-Response"
	case 0x0D:
		return "Request-Key-Update"
	case 0x0E:
		return "Update-Key-Set"
	case 0x0F:
		return "Update-Distribution-Key"
	case 0x10:
		return "Request-Master-Key"
	case 0x11:
		return "Set-Master-Key"
	case 0x12:
		return "What-Is-Network-Number"
	case 0x13:
		return "Network-Number-Is"
	}
	if t >= 0x80 {
		return "Proprietary Network Message"
	}
	return "Reserved Network Message"
}
