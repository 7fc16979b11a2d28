package smb

import "github.com/otwatch/otwatch/dissectors/dissect"

// smb2Names are the SMB2 command names and operation classes.
var smb2Names = [...]struct {
	name string
	op   dissect.Op
}{
	{"NEGOTIATE", dissect.OpSession},
	{"SESSION_SETUP", dissect.OpLogin},
	{"LOGOFF", dissect.OpSession},
	{"TREE_CONNECT", dissect.OpSession},
	{"TREE_DISCONNECT", dissect.OpSession},
	{"CREATE", dissect.OpFile},
	{"CLOSE", dissect.OpFile},
	{"FLUSH", dissect.OpFile},
	{"READ", dissect.OpRead},
	{"WRITE", dissect.OpWrite},
	{"LOCK", dissect.OpFile},
	{"IOCTL", dissect.OpOther},
	{"CANCEL", dissect.OpSession},
	{"ECHO", dissect.OpDiagnostic},
	{"QUERY_DIRECTORY", dissect.OpRead},
	{"CHANGE_NOTIFY", dissect.OpNotify},
	{"QUERY_INFO", dissect.OpRead},
	{"SET_INFO", dissect.OpWrite},
	{"OPLOCK_BREAK", dissect.OpNotify},
}

func smb2Cmd(c uint16) (string, dissect.Op) {
	if int(c) < len(smb2Names) {
		return smb2Names[c].name, smb2Names[c].op
	}
	return "unknown", dissect.OpOther
}

// smb1Cmd returns the SMB1 command name and operation class (MS-CIFS §2.2.2.1).
func smb1Cmd(c uint8) (string, dissect.Op) {
	switch c {
	case 0x00:
		return "Create Directory", dissect.OpFile
	case 0x01:
		return "Delete Directory", dissect.OpFile
	case 0x02:
		return "Open", dissect.OpFile
	case 0x03:
		return "Create", dissect.OpFile
	case 0x04:
		return "Close", dissect.OpFile
	case 0x05:
		return "Flush", dissect.OpFile
	case 0x06:
		return "Delete", dissect.OpFile
	case 0x07:
		return "Rename", dissect.OpFile
	case 0x08:
		return "Query Information", dissect.OpRead
	case 0x09:
		return "Set Information", dissect.OpWrite
	case 0x0A:
		return "Read", dissect.OpRead
	case 0x0B:
		return "Write", dissect.OpWrite
	case 0x10:
		return "Check Directory", dissect.OpFile
	case 0x24:
		return "Locking AndX", dissect.OpFile
	case 0x25:
		return "Trans", dissect.OpOther
	case 0x26:
		return "Trans Secondary", dissect.OpOther
	case 0x2B:
		return "Echo", dissect.OpDiagnostic
	case 0x2D:
		return "Open AndX", dissect.OpFile
	case 0x2E:
		return "Read AndX", dissect.OpRead
	case 0x2F:
		return "Write AndX", dissect.OpWrite
	case 0x32:
		return "Trans2", dissect.OpOther
	case 0x33:
		return "Trans2 Secondary", dissect.OpOther
	case 0x34:
		return "Find Close2", dissect.OpFile
	case 0x70:
		return "Tree Connect", dissect.OpSession
	case 0x71:
		return "Tree Disconnect", dissect.OpSession
	case 0x72:
		return "Negotiate Protocol", dissect.OpSession
	case 0x73:
		return "Session Setup AndX", dissect.OpLogin
	case 0x74:
		return "Logoff AndX", dissect.OpSession
	case 0x75:
		return "Tree Connect AndX", dissect.OpSession
	case 0x80:
		return "Query Information Disk", dissect.OpRead
	case 0xA0:
		return "NT Trans", dissect.OpOther
	case 0xA1:
		return "NT Trans Secondary", dissect.OpOther
	case 0xA2:
		return "NT Create AndX", dissect.OpFile
	case 0xA4:
		return "NT Cancel", dissect.OpSession
	}
	return "unknown", dissect.OpOther
}

// statusName names the NT status codes seen in practice.
func statusName(s uint32) string {
	switch s {
	case 0x00000000:
		return "STATUS_SUCCESS"
	case 0x00000103:
		return "STATUS_PENDING"
	case 0x80000005:
		return "STATUS_BUFFER_OVERFLOW"
	case 0x80000006:
		return "STATUS_NO_MORE_FILES"
	case 0xC0000001:
		return "STATUS_UNSUCCESSFUL"
	case 0xC0000002:
		return "STATUS_NOT_IMPLEMENTED"
	case 0xC0000003:
		return "STATUS_INVALID_INFO_CLASS"
	case 0xC0000008:
		return "STATUS_INVALID_HANDLE"
	case 0xC000000D:
		return "STATUS_INVALID_PARAMETER"
	case 0xC000000F:
		return "STATUS_NO_SUCH_FILE"
	case 0xC0000010:
		return "STATUS_INVALID_DEVICE_REQUEST"
	case 0xC0000011:
		return "STATUS_END_OF_FILE"
	case 0xC0000016:
		return "STATUS_MORE_PROCESSING_REQUIRED"
	case 0xC0000022:
		return "STATUS_ACCESS_DENIED"
	case 0xC0000023:
		return "STATUS_BUFFER_TOO_SMALL"
	case 0xC0000033:
		return "STATUS_OBJECT_NAME_INVALID"
	case 0xC0000034:
		return "STATUS_OBJECT_NAME_NOT_FOUND"
	case 0xC0000035:
		return "STATUS_OBJECT_NAME_COLLISION"
	case 0xC000003A:
		return "STATUS_OBJECT_PATH_NOT_FOUND"
	case 0xC0000043:
		return "STATUS_SHARING_VIOLATION"
	case 0xC0000056:
		return "STATUS_DELETE_PENDING"
	case 0xC0000061:
		return "STATUS_PRIVILEGE_NOT_HELD"
	case 0xC0000064:
		return "STATUS_NO_SUCH_USER"
	case 0xC000006A:
		return "STATUS_WRONG_PASSWORD"
	case 0xC000006D:
		return "STATUS_LOGON_FAILURE"
	case 0xC000006E:
		return "STATUS_ACCOUNT_RESTRICTION"
	case 0xC000006F:
		return "STATUS_INVALID_LOGON_HOURS"
	case 0xC0000070:
		return "STATUS_INVALID_WORKSTATION"
	case 0xC0000071:
		return "STATUS_PASSWORD_EXPIRED"
	case 0xC0000072:
		return "STATUS_ACCOUNT_DISABLED"
	case 0xC00000BA:
		return "STATUS_FILE_IS_A_DIRECTORY"
	case 0xC00000BB:
		return "STATUS_NOT_SUPPORTED"
	case 0xC00000C9:
		return "STATUS_NETWORK_NAME_DELETED"
	case 0xC00000CC:
		return "STATUS_BAD_NETWORK_NAME"
	case 0xC0000101:
		return "STATUS_DIRECTORY_NOT_EMPTY"
	case 0xC0000120:
		return "STATUS_CANCELLED"
	case 0xC000015B:
		return "STATUS_LOGON_TYPE_NOT_GRANTED"
	case 0xC0000193:
		return "STATUS_ACCOUNT_EXPIRED"
	case 0xC0000203:
		return "STATUS_USER_SESSION_DELETED"
	case 0xC0000224:
		return "STATUS_PASSWORD_MUST_CHANGE"
	case 0xC0000234:
		return "STATUS_ACCOUNT_LOCKED_OUT"
	case 0xC0000225:
		return "STATUS_NOT_FOUND"
	case 0xC0000257:
		return "STATUS_PATH_NOT_COVERED"
	case 0xC000035C:
		return "STATUS_NETWORK_SESSION_EXPIRED"
	}
	return ""
}

// Dialect names, as attribute values (package-level so that attributes
// point at them without allocating).
var (
	dialPCNet   = []byte("PC NETWORK PROGRAM 1.0")
	dialLanman1 = []byte("LANMAN1.0")
	dialWfW     = []byte("Windows for Workgroups 3.1a")
	dialLM12    = []byte("LM1.2X002")
	dialLanman2 = []byte("LANMAN2.1")
	dialNTLM    = []byte("NT LM 0.12")
	dialSMB2002 = []byte("SMB 2.002")
	dialSMB2Any = []byte("SMB 2.???")
	dial210     = []byte("SMB 2.1")
	dial300     = []byte("SMB 3.0")
	dial302     = []byte("SMB 3.0.2")
	dial311     = []byte("SMB 3.1.1")
)

// smb1Dialects indexes the SMB1 dialect strings (0: unknown).
var smb1Dialects = [...][]byte{nil, dialPCNet, dialLanman1, dialWfW, dialLM12, dialLanman2, dialNTLM, dialSMB2002,
	dialSMB2Any}

func smb1DialectIndex(s []byte) uint8 {
	for i := 1; i < len(smb1Dialects); i++ {
		if string(s) == string(smb1Dialects[i]) {
			return uint8(i)
		}
	}
	return 0
}

func smb2DialectName(v uint16) []byte {
	switch v {
	case 0x0202:
		return dialSMB2002
	case 0x0210:
		return dial210
	case 0x0300:
		return dial300
	case 0x0302:
		return dial302
	case 0x0311:
		return dial311
	case 0x02FF:
		return dialSMB2Any
	}
	return nil
}
