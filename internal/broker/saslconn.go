package broker

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// authFailedMessage is the error message of a failed SaslAuthenticate,
// worded like Kafka's.
const authFailedMessage = "Authentication failed: invalid credentials for the SASL mechanism (unknown user, wrong password, or a user not enabled for this mechanism)"

// secureListener does the broker's TLS itself instead of kfake.TLS, so that
// authConn sits above TLS and sees the requests in the clear.
type secureListener struct {
	net.Listener
	tls  *tls.Config // nil: plaintext
	sasl bool
}

func (l secureListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.tls != nil {
		c = tls.Server(c, l.tls)
	}
	if l.sasl {
		c = &authConn{Conn: c, watching: true}
	}
	return c, nil
}

// authConn answers a failed SASL authentication the way Kafka does.
//
// kfake closes the connection when a SaslAuthenticate request fails (wrong
// password, unknown user), without a response: clients see EOF, which they
// take for a network failure and retry until their own deadline. Kafka
// answers SASL_AUTHENTICATION_FAILED first, which clients report as such and
// do not retry. authConn follows the requests a connection sends until
// authentication is over (the first request that is not ApiVersions,
// SaslHandshake or SaslAuthenticate); when kfake closes the connection with
// a SaslAuthenticate request unanswered, it writes that answer before
// closing.
//
// It also makes librdkafka (kcat) able to authenticate: kfake advertises
// SaslHandshake v1 only, and librdkafka enables SASL handshakes only when a
// broker's range includes v0 (as Kafka's 0-1 does), even though it then
// sends v1. authConn widens the advertised range to 0-1 in the ApiVersions
// response; v0 itself (pre-1.0 clients) still fails, as before.
//
// After authentication it only passes bytes through.
type authConn struct {
	net.Conn

	mu       sync.Mutex
	watching bool     // still before or inside authentication
	hdr      [12]byte // size, key, version, correlation id of the request being read
	hdrN     int
	skip     int // bytes of the current request's body left to pass
	pending  bool
	version  int16 // of the unanswered SaslAuthenticate
	corr     int32
	// apiVersions: an ApiVersions request (this version and
	// correlation id) awaits its response.
	apiVersions        bool
	apiVersionsVersion int16
	apiVersionsCorr    int32

	closeOnce sync.Once
	closeErr  error
}

func (c *authConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.watching {
			c.observe(p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

// observe follows request framing: a 4-byte size, then a body starting
// with the api key, version and correlation id.
func (c *authConn) observe(b []byte) {
	for len(b) > 0 && c.watching {
		if c.skip > 0 {
			k := min(c.skip, len(b))
			c.skip -= k
			b = b[k:]
			continue
		}
		k := copy(c.hdr[c.hdrN:], b)
		c.hdrN += k
		b = b[k:]
		if c.hdrN < len(c.hdr) {
			return
		}
		c.hdrN = 0
		size := int(binary.BigEndian.Uint32(c.hdr[0:4]))
		key := int16(binary.BigEndian.Uint16(c.hdr[4:6]))
		if size < 8 {
			c.watching = false // malformed; kfake drops the connection
			return
		}
		c.skip = size - 8
		switch kmsg.Key(key) {
		case kmsg.SASLAuthenticate:
			c.pending = true
			c.version = int16(binary.BigEndian.Uint16(c.hdr[6:8]))
			c.corr = int32(binary.BigEndian.Uint32(c.hdr[8:12]))
		case kmsg.ApiVersions:
			c.pending = false
			c.apiVersions = true
			c.apiVersionsVersion = int16(binary.BigEndian.Uint16(c.hdr[6:8]))
			c.apiVersionsCorr = int32(binary.BigEndian.Uint32(c.hdr[8:12]))
		case kmsg.SASLHandshake:
			c.pending = false
		default:
			c.watching, c.pending = false, false
		}
	}
}

func (c *authConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.pending = false // requests are answered in order, one at a time during authentication
	rewrite, version, corr := c.apiVersions, c.apiVersionsVersion, c.apiVersionsCorr
	c.apiVersions = false
	c.mu.Unlock()
	if rewrite {
		// kfake writes each response whole, in one Write.
		if q, ok := advertiseHandshakeV0(p, version, corr); ok {
			if _, err := c.Conn.Write(q); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// advertiseHandshakeV0 returns the ApiVersions response frame p with
// SaslHandshake's minimum version lowered to 0, or false when p is not
// that response (another correlation id, a partial frame, a version the
// request did not ask for) or already says so.
func advertiseHandshakeV0(p []byte, version int16, corr int32) ([]byte, bool) {
	if len(p) < 8 || int(binary.BigEndian.Uint32(p[0:4])) != len(p)-4 || int32(binary.BigEndian.Uint32(p[4:8])) != corr {
		return nil, false
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = version
	if err := resp.ReadFrom(p[8:]); err != nil { // ApiVersions responses have no header tags
		return nil, false
	}
	changed := false
	for i := range resp.ApiKeys {
		if k := &resp.ApiKeys[i]; k.ApiKey == int16(kmsg.SASLHandshake) && k.MinVersion > 0 {
			k.MinVersion, changed = 0, true
		}
	}
	if !changed {
		return nil, false
	}
	q := resp.AppendTo(p[:8:8])
	binary.BigEndian.PutUint32(q[0:4], uint32(len(q)-4))
	return q, true
}

func (c *authConn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		pending, version, corr := c.pending, c.version, c.corr
		c.pending = false
		c.mu.Unlock()
		if pending {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Conn.Write(authFailedResponse(version, corr))
		}
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// authFailedResponse is a whole SaslAuthenticate response frame carrying
// SASL_AUTHENTICATION_FAILED.
func authFailedResponse(version int16, corr int32) []byte {
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	resp.Version = version
	resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
	msg := authFailedMessage
	resp.ErrorMessage = &msg
	buf := []byte{0, 0, 0, 0, 0, 0, 0, 0} // size, correlation id
	if resp.IsFlexible() {
		buf = append(buf, 0) // empty header tags
	}
	buf = resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf[0:4], uint32(len(buf)-4))
	binary.BigEndian.PutUint32(buf[4:8], uint32(corr))
	return buf
}
