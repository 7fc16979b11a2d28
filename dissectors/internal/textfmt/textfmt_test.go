package textfmt

import "testing"

func TestFormats(t *testing.T) {
	if got := string(AppendIPv4(nil, []byte{192, 168, 0, 7})); got != "192.168.0.7" {
		t.Errorf("ipv4 %q", got)
	}
	ip6 := []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}
	if got := string(AppendIPv6(nil, ip6)); got != "2001:db8:0:0:0:0:0:1" {
		t.Errorf("ipv6 %q", got)
	}
	if got := string(AppendHex(nil, []byte{0x0a, 0xff})); got != "0aff" {
		t.Errorf("hex %q", got)
	}
	if FNV(FNVOffset, []byte("a")) != 0xaf63dc4c8601ec8c {
		t.Errorf("fnv-1a of \"a\" wrong")
	}
	if n := testing.AllocsPerRun(100, func() { AppendIPv6(make([]byte, 0, 64)[:0], ip6) }); n > 1 {
		t.Errorf("%v allocations", n)
	}
}
