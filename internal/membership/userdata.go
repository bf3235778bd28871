package membership

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Member is what an instance says about itself in the member metadata of
// every consumer group it joins.
type Member struct {
	// InstanceID names the instance (--instance-id). Required.
	InstanceID string `json:"instance_id"`
	// HTTP is the address other instances use to reach this one
	// (--advertised-http). Empty when the instance does not advertise one;
	// a router must treat such an owner as unreachable.
	HTTP string `json:"http"`
}

// MaxFieldLen is the longest InstanceID or HTTP, in bytes, a Member may
// have. It keeps the metadata every JoinGroup carries (and every
// DescribeGroups returns, once per member) small.
const MaxFieldLen = 512

// userDataMagic opens every encoding, so metadata of other clients (a sticky
// assignor's generation, say) is never mistaken for ours.
var userDataMagic = [2]byte{'c', 's'}

// userDataVersion is the version EncodeUserData writes.
const userDataVersion = 1

// ErrBadUserData is returned by DecodeUserData for bytes that are not a
// cartstream member encoding: another client's user data, or a corrupt one.
var ErrBadUserData = errors.New("membership: not cartstream member metadata")

// Validate reports whether m can be carried in member metadata: InstanceID
// non-empty, both fields valid UTF-8 of at most MaxFieldLen bytes.
func (m Member) Validate() error {
	if m.InstanceID == "" {
		return errors.New("membership: member has no instance id")
	}
	for _, f := range []struct{ name, v string }{{"instance id", m.InstanceID}, {"http address", m.HTTP}} {
		if len(f.v) > MaxFieldLen {
			return fmt.Errorf("membership: %s is %d bytes, more than %d", f.name, len(f.v), MaxFieldLen)
		}
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("membership: %s %q is not valid UTF-8", f.name, f.v)
		}
	}
	return nil
}

// EncodeUserData encodes m for sarama's Consumer.Group.Member.UserData.
//
// The layout is the magic "cs", a version byte (1), then InstanceID and HTTP,
// each as a uvarint length and its bytes. A later version may only append
// fields after these: DecodeUserData of this version reads the version-1
// fields of any later version and ignores the rest, so instances of
// different versions can share a group during a rolling upgrade.
//
// EncodeUserData does not validate m; a Member that fails Validate encodes to
// bytes DecodeUserData rejects.
func EncodeUserData(m Member) []byte {
	b := make([]byte, 0, 3+2*binary.MaxVarintLen16+len(m.InstanceID)+len(m.HTTP))
	b = append(b, userDataMagic[:]...)
	b = append(b, userDataVersion)
	b = binary.AppendUvarint(b, uint64(len(m.InstanceID)))
	b = append(b, m.InstanceID...)
	b = binary.AppendUvarint(b, uint64(len(m.HTTP)))
	b = append(b, m.HTTP...)
	return b
}

// DecodeUserData decodes what EncodeUserData wrote. It never panics: any
// input that is not a valid encoding, or whose Member fails Validate, gives
// an error wrapping ErrBadUserData. Version 1 must end after its fields;
// later versions may carry more, which is ignored.
func DecodeUserData(b []byte) (Member, error) {
	if len(b) < 3 || b[0] != userDataMagic[0] || b[1] != userDataMagic[1] {
		return Member{}, fmt.Errorf("%w: no magic", ErrBadUserData)
	}
	version := b[2]
	if version < 1 {
		return Member{}, fmt.Errorf("%w: version %d", ErrBadUserData, version)
	}
	rest := b[3:]
	id, rest, err := readField(rest)
	if err != nil {
		return Member{}, fmt.Errorf("%w: instance id: %v", ErrBadUserData, err)
	}
	addr, rest, err := readField(rest)
	if err != nil {
		return Member{}, fmt.Errorf("%w: http address: %v", ErrBadUserData, err)
	}
	if version == userDataVersion && len(rest) > 0 {
		return Member{}, fmt.Errorf("%w: %d trailing bytes in version %d", ErrBadUserData, len(rest), version)
	}
	m := Member{InstanceID: id, HTTP: addr}
	if err := m.Validate(); err != nil {
		return Member{}, fmt.Errorf("%w: %v", ErrBadUserData, err)
	}
	return m, nil
}

// readField reads a uvarint length and that many bytes.
func readField(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return "", nil, errors.New("bad length")
	}
	b = b[k:]
	if n > MaxFieldLen || n > uint64(len(b)) {
		return "", nil, fmt.Errorf("length %d out of range", n)
	}
	return string(b[:n]), b[n:], nil
}
