package opcua

import "github.com/otwatch/otwatch/dissectors/dissect"

// service describes one OPC UA service: the numeric ids (namespace 0) of the
// *_Encoding_DefaultBinary nodes of its request and response, its name, its
// operation class and where the request's item array starts (see countAt).
type service struct {
	req, resp uint32
	name      string
	op        dissect.Op
	count     int8 // bytes between the RequestHeader and the item array count; see countAt
}

// Values of service.count other than a plain byte offset.
const (
	countNone        = -1 // no item array worth counting
	countBrowse      = -2 // ViewDescription (NodeId, DateTime, UInt32) then UInt32, then the array
	countHistoryRead = -3 // ExtensionObject, UInt32, Boolean, then the array
)

// idServiceFault is ServiceFault_Encoding_DefaultBinary: the response a server
// sends instead of the service's own response when the whole request fails.
const idServiceFault = 397

// Request ids with a special treatment.
const (
	idGetEndpointsResp   = 431
	idFindServersResp    = 425
	idOpenChannelReq     = 446
	idOpenChannelResp    = 449
	idCloseChannelReq    = 452
	idCreateSessionReq   = 461
	idCreateSessionResp  = 464
	idActivateSessionReq = 467
	idCallReq            = 712
	idAnonymousToken     = 321
	idUserNameToken      = 324
	idX509Token          = 327
	idIssuedToken        = 940
)

// services is the service table, from the OPC UA NodeSet (Part 6, NodeIds.csv).
var services = [...]service{
	{397, 397, "ServiceFault", dissect.OpOther, countNone},
	{410, 413, "TestStack", dissect.OpDiagnostic, countNone},
	{416, 419, "TestStackEx", dissect.OpDiagnostic, countNone},
	{422, 425, "FindServers", dissect.OpIdentify, countNone},
	{428, 431, "GetEndpoints", dissect.OpIdentify, countNone},
	{437, 440, "RegisterServer", dissect.OpConfig, countNone},
	{446, 449, "OpenSecureChannel", dissect.OpSession, countNone},
	{452, 455, "CloseSecureChannel", dissect.OpSession, countNone},
	{461, 464, "CreateSession", dissect.OpSession, countNone},
	{467, 470, "ActivateSession", dissect.OpLogin, countNone},
	{473, 476, "CloseSession", dissect.OpSession, countNone},
	{479, 482, "Cancel", dissect.OpSession, countNone},
	{488, 491, "AddNodes", dissect.OpWrite, 0},
	{494, 497, "AddReferences", dissect.OpWrite, 0},
	{500, 503, "DeleteNodes", dissect.OpWrite, 0},
	{506, 509, "DeleteReferences", dissect.OpWrite, 0},
	{527, 530, "Browse", dissect.OpRead, countBrowse},
	{533, 536, "BrowseNext", dissect.OpRead, 1},
	{554, 557, "TranslateBrowsePathsToNodeIds", dissect.OpRead, 0},
	{560, 563, "RegisterNodes", dissect.OpRead, 0},
	{566, 569, "UnregisterNodes", dissect.OpRead, 0},
	{615, 618, "QueryFirst", dissect.OpRead, countNone},
	{621, 624, "QueryNext", dissect.OpRead, countNone},
	{631, 634, "Read", dissect.OpRead, 12},
	{664, 667, "HistoryRead", dissect.OpRead, countHistoryRead},
	{673, 676, "Write", dissect.OpWrite, 0},
	{700, 703, "HistoryUpdate", dissect.OpWrite, 0},
	{712, 715, "Call", dissect.OpWrite, 0},
	{751, 754, "CreateMonitoredItems", dissect.OpNotify, 8},
	{763, 766, "ModifyMonitoredItems", dissect.OpNotify, 8},
	{769, 772, "SetMonitoringMode", dissect.OpNotify, 8},
	{775, 778, "SetTriggering", dissect.OpNotify, countNone},
	{781, 784, "DeleteMonitoredItems", dissect.OpNotify, 4},
	{787, 790, "CreateSubscription", dissect.OpNotify, countNone},
	{793, 796, "ModifySubscription", dissect.OpNotify, countNone},
	{799, 802, "SetPublishingMode", dissect.OpNotify, countNone},
	{826, 829, "Publish", dissect.OpNotify, countNone},
	{832, 835, "Republish", dissect.OpNotify, countNone},
	{841, 844, "TransferSubscriptions", dissect.OpNotify, countNone},
	{847, 850, "DeleteSubscriptions", dissect.OpNotify, countNone},
	{12208, 12209, "FindServersOnNetwork", dissect.OpIdentify, countNone},
	{12211, 12212, "RegisterServer2", dissect.OpConfig, countNone},
	{15901, 15904, "SessionlessInvoke", dissect.OpOther, countNone},
}

// lookupService returns the service whose request or response has the
// numeric id, and whether id is the request.
func lookupService(id uint32) (s *service, isReq bool) {
	for i := range services {
		sv := &services[i]
		if sv.req == id {
			return sv, sv.req != sv.resp
		}
		if sv.resp == id {
			return sv, false
		}
	}
	return nil, false
}

// Security policies. The index is stored in per-flow state and pending
// requests; policyNames gives the short name used in attributes.
const (
	policyUnknown uint8 = iota // no OPN seen yet
	policyNone
	policyBasic128Rsa15
	policyBasic256
	policyBasic256Sha256
	policyAes128Sha256RsaOaep
	policyAes256Sha256RsaPss
	policyOther
)

const policyPrefix = "http://opcfoundation.org/UA/SecurityPolicy#"

// policyNames holds the fragment of each known policy URI (index = policy
// constant); it doubles as the attribute value, so it must not be modified.
var policyNames = [...][]byte{
	policyUnknown:             []byte("unknown"),
	policyNone:                []byte("None"),
	policyBasic128Rsa15:       []byte("Basic128Rsa15"),
	policyBasic256:            []byte("Basic256"),
	policyBasic256Sha256:      []byte("Basic256Sha256"),
	policyAes128Sha256RsaOaep: []byte("Aes128_Sha256_RsaOaep"),
	policyAes256Sha256RsaPss:  []byte("Aes256_Sha256_RsaPss"),
	policyOther:               []byte("other"),
}

// policyAttrKeys names the hint attribute for each offered policy.
var policyAttrKeys = [...]string{
	policyNone:                "offers_none",
	policyBasic128Rsa15:       "offers_basic128rsa15",
	policyBasic256:            "offers_basic256",
	policyBasic256Sha256:      "offers_basic256sha256",
	policyAes128Sha256RsaOaep: "offers_aes128_sha256_rsaoaep",
	policyAes256Sha256RsaPss:  "offers_aes256_sha256_rsapss",
	policyOther:               "offers_other_policy",
}

// parsePolicy maps a security policy URI to its constant.
func parsePolicy(uri []byte) uint8 {
	if len(uri) <= len(policyPrefix) || string(uri[:len(policyPrefix)]) != policyPrefix {
		return policyOther
	}
	frag := uri[len(policyPrefix):]
	for p := policyNone; p < policyOther; p++ {
		if string(frag) == string(policyNames[p]) {
			return p
		}
	}
	return policyOther
}

// Identity token kinds (ActivateSession).
const (
	tokenNone uint8 = iota
	tokenAnonymous
	tokenUserName
	tokenX509
	tokenIssued
	tokenOther
)

var tokenNames = [...][]byte{
	tokenNone:      []byte("none"),
	tokenAnonymous: []byte("anonymous"),
	tokenUserName:  []byte("username"),
	tokenX509:      []byte("x509"),
	tokenIssued:    []byte("issued"),
	tokenOther:     []byte("other"),
}

// statusNames names the common Bad status codes (upper 16 bits).
var statusNames = [...]struct {
	code uint32
	name string
}{
	{0x80010000, "BadUnexpectedError"},
	{0x80020000, "BadInternalError"},
	{0x80030000, "BadOutOfMemory"},
	{0x80040000, "BadResourceUnavailable"},
	{0x80050000, "BadCommunicationError"},
	{0x80060000, "BadEncodingError"},
	{0x80070000, "BadDecodingError"},
	{0x80080000, "BadEncodingLimitsExceeded"},
	{0x800A0000, "BadTimeout"},
	{0x800B0000, "BadServiceUnsupported"},
	{0x800C0000, "BadShutdown"},
	{0x800D0000, "BadServerNotConnected"},
	{0x800E0000, "BadServerHalted"},
	{0x800F0000, "BadNothingToDo"},
	{0x80100000, "BadTooManyOperations"},
	{0x80120000, "BadCertificateInvalid"},
	{0x80130000, "BadSecurityChecksFailed"},
	{0x80140000, "BadCertificateTimeInvalid"},
	{0x80170000, "BadCertificateUriInvalid"},
	{0x801A0000, "BadCertificateUntrusted"},
	{0x801D0000, "BadCertificateRevoked"},
	{0x801F0000, "BadUserAccessDenied"},
	{0x80200000, "BadIdentityTokenInvalid"},
	{0x80210000, "BadIdentityTokenRejected"},
	{0x80220000, "BadSecureChannelIdInvalid"},
	{0x80230000, "BadInvalidTimestamp"},
	{0x80240000, "BadNonceInvalid"},
	{0x80250000, "BadSessionIdInvalid"},
	{0x80260000, "BadSessionClosed"},
	{0x80270000, "BadSessionNotActivated"},
	{0x80280000, "BadSubscriptionIdInvalid"},
	{0x802A0000, "BadRequestHeaderInvalid"},
	{0x802B0000, "BadTimestampsToReturnInvalid"},
	{0x802C0000, "BadRequestCancelledByClient"},
	{0x80330000, "BadNodeIdInvalid"},
	{0x80340000, "BadNodeIdUnknown"},
	{0x80350000, "BadAttributeIdInvalid"},
	{0x803A0000, "BadNotReadable"},
	{0x803B0000, "BadNotWritable"},
	{0x803D0000, "BadNotSupported"},
	{0x803E0000, "BadNotFound"},
	{0x80540000, "BadSecurityModeRejected"},
	{0x80550000, "BadSecurityPolicyRejected"},
	{0x80560000, "BadTooManySessions"},
	{0x80570000, "BadUserSignatureInvalid"},
	{0x80580000, "BadApplicationSignatureInvalid"},
	{0x80740000, "BadTypeMismatch"},
	{0x80750000, "BadMethodInvalid"},
	{0x80760000, "BadArgumentsMissing"},
	{0x80780000, "BadTooManyPublishRequests"},
	{0x80790000, "BadNoSubscription"},
	{0x807E0000, "BadTcpMessageTypeInvalid"},
	{0x807F0000, "BadTcpSecureChannelUnknown"},
	{0x80800000, "BadTcpMessageTooLarge"},
	{0x80810000, "BadTcpNotEnoughResources"},
	{0x80820000, "BadTcpInternalError"},
	{0x80830000, "BadTcpEndpointUrlInvalid"},
	{0x80840000, "BadRequestInterrupted"},
	{0x80850000, "BadRequestTimeout"},
	{0x80860000, "BadSecureChannelClosed"},
	{0x80870000, "BadSecureChannelTokenUnknown"},
	{0x80880000, "BadSequenceNumberInvalid"},
	{0x80AB0000, "BadInvalidArgument"},
	{0x80AE0000, "BadConnectionClosed"},
	{0x80AF0000, "BadInvalidState"},
	{0x80B80000, "BadRequestTooLarge"},
	{0x80B90000, "BadResponseTooLarge"},
	{0x80BE0000, "BadProtocolVersionUnsupported"},
}

// statusName returns the name of a status code ("Bad" for unknown Bad codes,
// "Uncertain"/"Good" otherwise).
func statusName(code uint32) string {
	hi := code & 0xFFFF0000
	for _, s := range statusNames {
		if s.code == hi {
			return s.name
		}
	}
	switch {
	case code&0x80000000 != 0:
		return "Bad"
	case code&0x40000000 != 0:
		return "Uncertain"
	}
	return "Good"
}
