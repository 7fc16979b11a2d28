package rdp

// Protocol names, as attribute values (package-level so that attributes
// point at them without allocating).
var (
	nameRDP       = []byte("rdp")
	nameTLS       = []byte("tls")
	nameCredSSP   = []byte("credssp")
	nameRDSTLS    = []byte("rdstls")
	nameCredSSPEx = []byte("credssp_early_auth")
	nameRDSAAD    = []byte("rdsaad")
	nameUnknown   = []byte("unknown")
)

// protocolName names a selected protocol (a single value).
func protocolName(v uint32) []byte {
	switch v {
	case 0:
		return nameRDP
	case protoSSL:
		return nameTLS
	case protoHybrid:
		return nameCredSSP
	case protoRDSTLS:
		return nameRDSTLS
	case protoHybridEx:
		return nameCredSSPEx
	case protoRDSAAD:
		return nameRDSAAD
	}
	return nameUnknown
}

// requestedNames lists the names of every combination of the five
// requested-protocol flags, "rdp" always first (standard RDP security is
// always acceptable to a client that sends an RDP_NEG_REQ).
var requestedNames = func() (t [32][]byte) {
	for m := range t {
		b := append([]byte(nil), nameRDP...)
		for bit, n := range [][]byte{nameTLS, nameCredSSP, nameRDSTLS, nameCredSSPEx, nameRDSAAD} {
			if m&(1<<bit) != 0 {
				b = append(append(b, '|'), n...)
			}
		}
		t[m] = b
	}
	return t
}()

// protocolNames names a requested-protocols mask ("rdp|tls|credssp").
func protocolNames(v uint32) []byte {
	if v >= uint32(len(requestedNames)) {
		return nameUnknown
	}
	return requestedNames[v]
}

// failureName names an RDP_NEG_FAILURE code (MS-RDPBCGR §2.2.1.2.2).
func failureName(v uint32) string {
	switch v {
	case 1:
		return "SSL_REQUIRED_BY_SERVER"
	case 2:
		return "SSL_NOT_ALLOWED_BY_SERVER"
	case 3:
		return "SSL_CERT_NOT_ON_SERVER"
	case 4:
		return "INCONSISTENT_FLAGS"
	case 5:
		return "HYBRID_REQUIRED_BY_SERVER"
	case 6:
		return "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"
	}
	return "unknown"
}
