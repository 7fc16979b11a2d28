package oui

import "testing"

func TestLookup(t *testing.T) {
	tab := New()
	if err := tab.Err(); err != nil {
		t.Fatal(err)
	}
	if tab.Len() < 40000 {
		t.Fatalf("table holds %d assignments", tab.Len())
	}
	cases := []struct {
		mac  [6]byte
		want string
	}{
		{[6]byte{0x00, 0x00, 0xbc, 1, 2, 3}, "Rockwell Automation"},
		{[6]byte{0x00, 0x01, 0xe3, 1, 2, 3}, "Siemens AG"},
		{[6]byte{0x00, 0x80, 0xf4, 1, 2, 3}, "TELEMECANIQUE ELECTRIQUE"},
	}
	for _, c := range cases {
		got, ok := tab.Lookup(c.mac)
		if !ok || got != c.want {
			t.Errorf("Lookup(%x) = %q, %v; want %q", c.mac, got, ok, c.want)
		}
	}
	if v, ok := tab.Lookup([6]byte{0x01, 0x00, 0x5e, 0, 0, 1}); ok {
		t.Errorf("multicast address got vendor %q", v)
	}
	if v, ok := tab.Lookup([6]byte{0x02, 0x42, 0xac, 0x11, 0, 2}); ok {
		t.Errorf("locally administered address got vendor %q", v)
	}
}

// TestMostSpecificBlockWins finds a 28-bit (MA-M) block and checks that it
// beats the 24-bit block it sits in.
func TestMostSpecificBlockWins(t *testing.T) {
	tab := New()
	tab.Len()
	var found bool
	for p28, org := range tab.m {
		mac := [6]byte{byte(p28 >> 20), byte(p28 >> 12), byte(p28 >> 4), byte(p28<<4) | 0x0a, 0, 1}
		got, ok := tab.Lookup(mac)
		if !ok || got != org {
			t.Fatalf("MA-M %07X: got %q want %q", p28, got, org)
		}
		found = true
		break
	}
	if !found {
		t.Fatal("no MA-M block in the table")
	}
}

func BenchmarkLookup(b *testing.B) {
	tab := New()
	tab.Len()
	mac := [6]byte{0x00, 0x0e, 0x8c, 1, 2, 3}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tab.Lookup(mac)
	}
}

func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		New().Len()
	}
}
