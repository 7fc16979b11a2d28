package mms

import "github.com/otwatch/otwatch/dissectors/dissect"

// Confirmed service tags (ConfirmedServiceRequest CHOICE, ISO 9506-2).
const (
	SvcStatus                         = 0
	SvcGetNameList                    = 1
	SvcIdentify                       = 2
	SvcRead                           = 4
	SvcWrite                          = 5
	SvcGetVariableAccessAttributes    = 6
	SvcDefineNamedVariableList        = 11
	SvcGetNamedVariableListAttributes = 12
	SvcDeleteNamedVariableList        = 13
	SvcTakeControl                    = 19
	SvcRelinquishControl              = 20
	SvcInitiateDownloadSequence       = 26
	SvcInitiateUploadSequence         = 29
	SvcObtainFile                     = 46
	SvcFileOpen                       = 72
	SvcFileRead                       = 73
	SvcFileClose                      = 74
	SvcFileRename                     = 75
	SvcFileDelete                     = 76
	SvcFileDirectory                  = 77
	maxService                        = 77
)

type svcInfo struct {
	name string
	op   dissect.Op
}

// services maps every ConfirmedServiceRequest tag to its name and
// operation class.
var services = [maxService + 1]svcInfo{
	0:  {"status", dissect.OpDiagnostic},
	1:  {"getNameList", dissect.OpRead},
	2:  {"identify", dissect.OpIdentify},
	3:  {"rename", dissect.OpConfig},
	4:  {"read", dissect.OpRead},
	5:  {"write", dissect.OpWrite},
	6:  {"getVariableAccessAttributes", dissect.OpRead},
	7:  {"defineNamedVariable", dissect.OpConfig},
	8:  {"defineScatteredAccess", dissect.OpConfig},
	9:  {"getScatteredAccessAttributes", dissect.OpRead},
	10: {"deleteVariableAccess", dissect.OpConfig},
	11: {"defineNamedVariableList", dissect.OpConfig},
	12: {"getNamedVariableListAttributes", dissect.OpRead},
	13: {"deleteNamedVariableList", dissect.OpConfig},
	14: {"defineNamedType", dissect.OpConfig},
	15: {"getNamedTypeAttributes", dissect.OpRead},
	16: {"deleteNamedType", dissect.OpConfig},
	17: {"input", dissect.OpRead},
	18: {"output", dissect.OpWrite},
	19: {"takeControl", dissect.OpControl},
	20: {"relinquishControl", dissect.OpControl},
	21: {"defineSemaphore", dissect.OpConfig},
	22: {"deleteSemaphore", dissect.OpConfig},
	23: {"reportSemaphoreStatus", dissect.OpRead},
	24: {"reportPoolSemaphoreStatus", dissect.OpRead},
	25: {"reportSemaphoreEntryStatus", dissect.OpRead},
	26: {"initiateDownloadSequence", dissect.OpProgram},
	27: {"downloadSegment", dissect.OpProgram},
	28: {"terminateDownloadSequence", dissect.OpProgram},
	29: {"initiateUploadSequence", dissect.OpProgram},
	30: {"uploadSegment", dissect.OpProgram},
	31: {"terminateUploadSequence", dissect.OpProgram},
	32: {"requestDomainDownload", dissect.OpProgram},
	33: {"requestDomainUpload", dissect.OpProgram},
	34: {"loadDomainContent", dissect.OpProgram},
	35: {"storeDomainContent", dissect.OpProgram},
	36: {"deleteDomain", dissect.OpProgram},
	37: {"getDomainAttributes", dissect.OpRead},
	38: {"createProgramInvocation", dissect.OpProgram},
	39: {"deleteProgramInvocation", dissect.OpProgram},
	40: {"start", dissect.OpControl},
	41: {"stop", dissect.OpControl},
	42: {"resume", dissect.OpControl},
	43: {"reset", dissect.OpControl},
	44: {"kill", dissect.OpControl},
	45: {"getProgramInvocationAttributes", dissect.OpRead},
	46: {"obtainFile", dissect.OpFile},
	47: {"defineEventCondition", dissect.OpConfig},
	48: {"deleteEventCondition", dissect.OpConfig},
	49: {"getEventConditionAttributes", dissect.OpRead},
	50: {"reportEventConditionStatus", dissect.OpRead},
	51: {"alterEventConditionMonitoring", dissect.OpConfig},
	52: {"triggerEvent", dissect.OpControl},
	53: {"defineEventAction", dissect.OpConfig},
	54: {"deleteEventAction", dissect.OpConfig},
	55: {"getEventActionAttributes", dissect.OpRead},
	56: {"reportEventActionStatus", dissect.OpRead},
	57: {"defineEventEnrollment", dissect.OpConfig},
	58: {"deleteEventEnrollment", dissect.OpConfig},
	59: {"alterEventEnrollment", dissect.OpConfig},
	60: {"reportEventEnrollmentStatus", dissect.OpRead},
	61: {"getEventEnrollmentAttributes", dissect.OpRead},
	62: {"acknowledgeEventNotification", dissect.OpWrite},
	63: {"getAlarmSummary", dissect.OpRead},
	64: {"getAlarmEnrollmentSummary", dissect.OpRead},
	65: {"readJournal", dissect.OpRead},
	66: {"writeJournal", dissect.OpWrite},
	67: {"initializeJournal", dissect.OpWrite},
	68: {"reportJournalStatus", dissect.OpRead},
	69: {"createJournal", dissect.OpConfig},
	70: {"deleteJournal", dissect.OpConfig},
	71: {"getCapabilityList", dissect.OpRead},
	72: {"fileOpen", dissect.OpFile},
	73: {"fileRead", dissect.OpFile},
	74: {"fileClose", dissect.OpFile},
	75: {"fileRename", dissect.OpFile},
	76: {"fileDelete", dissect.OpFile},
	77: {"fileDirectory", dissect.OpFile},
}

// ServiceName returns the name of a confirmed service tag, "" when undefined.
func ServiceName(tag uint32) string {
	if tag <= maxService {
		return services[tag].name
	}
	return ""
}

// errorClassName names the error class of a ServiceError.
func errorClassName(c uint32) string {
	switch c {
	case 0:
		return "vmd-state"
	case 1:
		return "application-reference"
	case 2:
		return "definition"
	case 3:
		return "resource"
	case 4:
		return "service"
	case 5:
		return "service-preempt"
	case 6:
		return "time-resolution"
	case 7:
		return "access"
	case 8:
		return "initiate"
	case 9:
		return "conclude"
	case 10:
		return "cancel"
	case 11:
		return "file"
	case 12:
		return "others"
	}
	return "unknown"
}

// dataAccessErrorName names a DataAccessError of read/write results.
func dataAccessErrorName(c uint64) string {
	switch c {
	case 0:
		return "object-invalidated"
	case 1:
		return "hardware-fault"
	case 2:
		return "temporarily-unavailable"
	case 3:
		return "object-access-denied"
	case 4:
		return "object-undefined"
	case 5:
		return "invalid-address"
	case 6:
		return "type-unsupported"
	case 7:
		return "type-inconsistent"
	case 8:
		return "object-attribute-inconsistent"
	case 9:
		return "object-access-unsupported"
	case 10:
		return "object-non-existent"
	case 11:
		return "object-value-invalid"
	}
	return "unknown"
}

// Constant attribute values.
var (
	valUpload   = []byte("upload")
	valDownload = []byte("download")
)
