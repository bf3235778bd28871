package kafkasec

import (
	"context"
	"errors"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sasl"
)

// ApplySarama sets c.Net.TLS and c.Net.SASL so a sarama (goka) client
// speaks this security. A nil Security leaves c as it is (plaintext).
//
// SASL uses the Kafka handshake v1 followed by SaslAuthenticate requests
// (sarama's default, and what Kafka 1.0+ and the embedded broker expect);
// SCRAM runs franz-go's implementation through scramClient, so both
// clients share one SCRAM implementation.
func (s *Security) ApplySarama(c *sarama.Config) {
	if s.TLS() {
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = s.tls.Clone()
	}
	if s.Mechanism() == None {
		return
	}
	c.Net.SASL.Enable = true
	c.Net.SASL.Handshake = true
	c.Net.SASL.Version = sarama.SASLHandshakeV1
	c.Net.SASL.User = s.user
	c.Net.SASL.Password = s.password
	switch s.mechanism {
	case Plain:
		c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case ScramSHA256:
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{mechanism: ScramSHA256} }
	case ScramSHA512:
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{mechanism: ScramSHA512} }
	}
}

// scramClient is sarama's SCRAMClient over franz-go's SCRAM session. sarama
// calls Begin, then Step("") for the client-first message, then Step with
// each server message until Done.
type scramClient struct {
	mechanism Mechanism
	auth      sasl.Mechanism
	session   sasl.Session
	first     []byte // client-first message, sent by the first Step
	started   bool
	done      bool
}

func (c *scramClient) Begin(user, password, authzID string) error {
	sec := &Security{mechanism: c.mechanism, user: user, password: password}
	c.auth = sec.saslMechanism()
	if c.auth == nil {
		return errors.New("kafkasec: not a SCRAM mechanism: " + string(c.mechanism))
	}
	var err error
	c.session, c.first, err = c.auth.Authenticate(context.Background(), "")
	return err
}

func (c *scramClient) Step(challenge string) (string, error) {
	if !c.started {
		c.started = true
		return string(c.first), nil
	}
	done, resp, err := c.session.Challenge([]byte(challenge))
	if err != nil {
		return "", err
	}
	c.done = done
	return string(resp), nil
}

func (c *scramClient) Done() bool { return c.done }
