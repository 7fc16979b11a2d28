package opcua

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// chunk builds a MSG chunk of type ct with the given sequence header and body.
func chunk(ct byte, seq, reqID uint32, body []byte) string {
	b := []byte{'M', 'S', 'G', ct, 0, 0, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, 6) // secureChannelId
	b = binary.LittleEndian.AppendUint32(b, 4) // tokenId
	b = binary.LittleEndian.AppendUint32(b, seq)
	b = binary.LittleEndian.AppendUint32(b, reqID)
	b = append(b, body...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	return hex.EncodeToString(b)
}

func TestMultiChunkResponse(t *testing.T) {
	full := unhex(t, getEndpointsResp)
	reqID := binary.LittleEndian.Uint32(full[20:])
	body := full[24:]
	steps := []step{
		{dissect.ToServer, openReqNone}, {dissect.ToClient, openRespNone},
		{dissect.ToServer, getEndpointsReq},
		{dissect.ToClient, chunk('C', 100, reqID, body[:250])},
		{dissect.ToClient, chunk('C', 101, reqID, body[250:300])},
		{dissect.ToClient, chunk('F', 102, reqID, body[300:])},
		{dissect.ToServer, readReq}, {dissect.ToClient, readResp},
	}
	rec := run(t, New(), steps, 0)
	if len(rec.viols) != 0 || len(rec.tx) != 3 {
		t.Fatalf("records:\n%s", strings.Join(rec.lines, "\n"))
	}
	ge := rec.tx[1]
	if ge.Function != 428 || ge.Status != dissect.StatusOK || ge.RespTime.IsZero() {
		t.Errorf("GetEndpoints = %+v", ge)
	}
	if got := rec.fields["opcua_service_node_id"]["431"]; got != 1 {
		t.Errorf("431 counted %d times, want once per message", got)
	}
	if got := rec.fields["opcua_message_type"]["MSG"]; got != 6 {
		t.Errorf("MSG counted %d times, want once per chunk (6)", got)
	}
	// The first chunk holds the server description: identity hint.
	found := false
	for _, h := range rec.hints {
		found = found || h.Name == "open62541-based OPC UA Application"
	}
	if !found {
		t.Errorf("no identity from the first chunk:\n%s", strings.Join(rec.lines, "\n"))
	}
}

func TestAbortChunk(t *testing.T) {
	full := unhex(t, getEndpointsResp)
	reqID := binary.LittleEndian.Uint32(full[20:])
	abort := binary.LittleEndian.AppendUint32(nil, 0x80B90000)  // BadResponseTooLarge
	abort = binary.LittleEndian.AppendUint32(abort, 0xFFFFFFFF) // null reason
	rec := run(t, New(), []step{
		{dissect.ToServer, openReqNone}, {dissect.ToClient, openRespNone},
		{dissect.ToServer, getEndpointsReq},
		{dissect.ToClient, chunk('C', 100, reqID, full[24:200])},
		{dissect.ToClient, chunk('A', 101, reqID, abort)},
	}, 0)
	if len(rec.tx) != 2 {
		t.Fatalf("records:\n%s", strings.Join(rec.lines, "\n"))
	}
	tx := rec.tx[1]
	if a, _ := attr(&tx, "aborted"); tx.Status != dissect.StatusException || tx.Code != 0x80B90000 ||
		tx.CodeName != "BadResponseTooLarge" || a.Num != 1 {
		t.Errorf("aborted = %s", rec.lines[len(rec.lines)-1])
	}
}

func TestGapResync(t *testing.T) {
	req := unhex(t, readReq)
	rec := newRecorder()
	flow := testFlow
	ctx := &dissect.Context{Flow: &flow, Emit: rec}
	d := New()
	d.Feed(ctx, dissect.ToServer, unhex(t, openReqNone))
	d.Feed(ctx, dissect.ToServer, req[:30]) // partial PDU, then bytes are lost
	d.Gap(ctx, dissect.ToServer, 50)
	d.Feed(ctx, dissect.ToServer, req[80:])                  // tail of the lost PDU: skipped
	d.Feed(ctx, dissect.ToServer, append(req[100:], req...)) // the next PDU follows a tail
	d.Feed(ctx, dissect.ToClient, unhex(t, openRespNone))
	d.Feed(ctx, dissect.ToClient, unhex(t, readResp))
	d.Feed(ctx, dissect.ToServer, unhex(t, notOPCUA)) // garbage: reported once
	d.Feed(ctx, dissect.ToServer, unhex(t, notOPCUA))
	d.Feed(ctx, dissect.ToServer, append(unhex(t, notOPCUA), req...)) // resync behind garbage
	d.Feed(ctx, dissect.ToClient, unhex(t, readResp))
	d.End(ctx)
	if len(rec.viols) != 1 || rec.viols[0].Reason != "not an OPC UA message header" {
		t.Errorf("violations:\n%s", strings.Join(rec.lines, "\n"))
	}
	reads := 0
	for _, tx := range rec.tx {
		if tx.Function == 631 && tx.Status == dissect.StatusOK {
			reads++
		}
	}
	if reads != 2 {
		t.Errorf("%d Reads decoded after resync, want 2:\n%s", reads, strings.Join(rec.lines, "\n"))
	}
}
func TestReverseHelloAndLimits(t *testing.T) {
	// ReverseHello from the server (server URI, endpoint URL).
	rhe := []byte("RHEF\x00\x00\x00\x00")
	rhe = binary.LittleEndian.AppendUint32(rhe, 10)
	rhe = append(rhe, "urn:server"...)
	rhe = binary.LittleEndian.AppendUint32(rhe, 4)
	rhe = append(rhe, "opc:"...)
	binary.LittleEndian.PutUint32(rhe[4:], uint32(len(rhe)))
	// ACK limiting the client's chunks to 8192 bytes, then a larger chunk.
	ack := unhex(t, ackResp)
	binary.LittleEndian.PutUint32(ack[12:], 8192)
	big := chunk('F', 10, 10, append(unhex(t, readReq)[24:], make([]byte, 9000)...))
	rec := run(t, New(), []step{{dissect.ToClient, hex.EncodeToString(rhe)}, {dissect.ToServer, helloReq},
		{dissect.ToClient, hex.EncodeToString(ack)}, {dissect.ToServer, openReqNone}, {dissect.ToServer, big}}, 0)
	if len(rec.tx) < 2 || rec.tx[0].FuncName != "ReverseHello" || rec.tx[0].Requester != dissect.ToClient {
		t.Fatalf("records:\n%s", strings.Join(rec.lines, "\n"))
	}
	if a, _ := attr(&rec.tx[0], "server_uri"); string(a.Str) != "urn:server" {
		t.Errorf("server_uri = %q", a.Str)
	}
	if len(rec.viols) != 1 || rec.viols[0].Reason != "chunk larger than the negotiated buffer size" {
		t.Errorf("violations:\n%s", strings.Join(rec.lines, "\n"))
	}
}
