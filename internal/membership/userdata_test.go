package membership

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestUserDataRoundTrip(t *testing.T) {
	for _, m := range []Member{
		{InstanceID: "inst-1", HTTP: "10.0.0.1:8080"},
		{InstanceID: "i", HTTP: ""},
		{InstanceID: "héllo-ü", HTTP: "https://cartstream-0.cartstream.svc:8443"},
		{InstanceID: strings.Repeat("a", MaxFieldLen), HTTP: strings.Repeat("b", MaxFieldLen)},
	} {
		b := EncodeUserData(m)
		got, err := DecodeUserData(b)
		if err != nil {
			t.Fatalf("DecodeUserData(EncodeUserData(%+v)): %v", m, err)
		}
		if got != m {
			t.Fatalf("round trip of %+v gave %+v", m, got)
		}
	}
}

// TestUserDataLayout pins the wire format: it is read by other instances,
// possibly of other versions, so it must not change by accident.
func TestUserDataLayout(t *testing.T) {
	got := EncodeUserData(Member{InstanceID: "a", HTTP: "h:1"})
	want := []byte{'c', 's', 1, 1, 'a', 3, 'h', ':', '1'}
	if !bytes.Equal(got, want) {
		t.Fatalf("EncodeUserData = %v, want %v", got, want)
	}
}

// TestUserDataLaterVersionReadable: a later version that appends fields is
// read as its version-1 prefix, so mixed versions share a group.
func TestUserDataLaterVersionReadable(t *testing.T) {
	b := EncodeUserData(Member{InstanceID: "a", HTTP: "h:1"})
	b[2] = 2
	b = append(b, 4, 'z', 'o', 'n', 'e')
	got, err := DecodeUserData(b)
	if err != nil {
		t.Fatalf("version 2 with an extra field: %v", err)
	}
	if want := (Member{InstanceID: "a", HTTP: "h:1"}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestUserDataRejects(t *testing.T) {
	valid := EncodeUserData(Member{InstanceID: "a", HTTP: "h:1"})
	long := binary.AppendUvarint([]byte{'c', 's', 1}, MaxFieldLen+1)
	long = append(long, strings.Repeat("x", MaxFieldLen+1)...)
	long = append(long, 0)
	for name, b := range map[string][]byte{
		"nil":                  nil,
		"empty":                {},
		"magic only":           {'c', 's'},
		"other magic":          {'x', 's', 1, 1, 'a', 0},
		"version 0":            {'c', 's', 0, 1, 'a', 0},
		"no fields":            {'c', 's', 1},
		"truncated id":         {'c', 's', 1, 5, 'a'},
		"missing http":         {'c', 's', 1, 1, 'a'},
		"truncated http":       {'c', 's', 1, 1, 'a', 3, 'h'},
		"bad varint":           {'c', 's', 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"trailing in v1":       append(bytes.Clone(valid), 0),
		"empty instance id":    {'c', 's', 1, 0, 0},
		"invalid utf-8":        {'c', 's', 1, 1, 0xff, 0},
		"field too long":       long,
		"sticky assignor data": {0, 0, 0, 1, 0, 5, 't', 'o', 'p', 'i', 'c', 0, 0, 0, 0, 0, 0, 0, 1},
	} {
		if m, err := DecodeUserData(b); !errors.Is(err, ErrBadUserData) {
			t.Errorf("%s: DecodeUserData(%v) = %+v, %v; want ErrBadUserData", name, b, m, err)
		}
	}
}

func TestMemberValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		m  Member
		ok bool
	}{
		"plain":           {Member{InstanceID: "a", HTTP: "h:1"}, true},
		"no http":         {Member{InstanceID: "a"}, true},
		"no instance id":  {Member{HTTP: "h:1"}, false},
		"long id":         {Member{InstanceID: strings.Repeat("a", MaxFieldLen+1)}, false},
		"long http":       {Member{InstanceID: "a", HTTP: strings.Repeat("h", MaxFieldLen+1)}, false},
		"bad utf-8 id":    {Member{InstanceID: "\xff"}, false},
		"bad utf-8 http":  {Member{InstanceID: "a", HTTP: "\xc3"}, false},
		"max length both": {Member{InstanceID: strings.Repeat("a", MaxFieldLen), HTTP: strings.Repeat("h", MaxFieldLen)}, true},
	} {
		if err := tc.m.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", name, err, tc.ok)
		}
	}
}

// FuzzDecodeUserData: decoding never panics, and whatever it accepts is a
// valid Member that survives a round trip.
func FuzzDecodeUserData(f *testing.F) {
	f.Add(EncodeUserData(Member{InstanceID: "inst-1", HTTP: "10.0.0.1:8080"}))
	f.Add([]byte{'c', 's', 2, 1, 'a', 0, 9, 9})
	f.Add([]byte{'c', 's', 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeUserData(b)
		if err != nil {
			if !errors.Is(err, ErrBadUserData) {
				t.Fatalf("error %v does not wrap ErrBadUserData", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded an invalid member %+v: %v", m, err)
		}
		again, err := DecodeUserData(EncodeUserData(m))
		if err != nil || again != m {
			t.Fatalf("re-encoding %+v gave %+v, %v", m, again, err)
		}
	})
}

// FuzzUserDataRoundTrip: a member round-trips exactly when it is valid.
func FuzzUserDataRoundTrip(f *testing.F) {
	f.Add("inst-1", "10.0.0.1:8080")
	f.Add("", "x")
	f.Add("\xff", "")
	f.Fuzz(func(t *testing.T, id, addr string) {
		m := Member{InstanceID: id, HTTP: addr}
		got, err := DecodeUserData(EncodeUserData(m))
		if verr := m.Validate(); verr != nil {
			if err == nil {
				t.Fatalf("invalid member %+v (%v) decoded as %+v", m, verr, got)
			}
			return
		}
		if err != nil || got != m {
			t.Fatalf("valid member %+v gave %+v, %v", m, got, err)
		}
	})
}
