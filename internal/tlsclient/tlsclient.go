// Package tlsclient builds the *tls.Config of a client (of Temporal, Kafka or MySQL) from PEM
// files named in the environment: the CA that signs the server's certificate, and a client
// certificate and key for mutual TLS. Its errors name the file and what is wrong with it,
// never the file's contents.
package tlsclient

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// Files name the PEM files and the server name of a TLS client.
type Files struct {
	// CA holds the certificates that may sign the server's certificate; empty: the system's roots.
	CA string
	// Cert and Key are the client's certificate (chain) and private key: both or neither.
	Cert, Key string
	// ServerName is the name the server's certificate must be valid for; empty: the host
	// the client dials.
	ServerName string
}

// Config loads the files into a client configuration (TLS 1.2 at least).
func (f Files) Config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CA != "" {
		pool, err := LoadCA(f.CA)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	switch {
	case f.Cert != "" && f.Key != "":
		pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			// crypto/tls says what is wrong (no PEM data, key does not match) without the contents.
			return nil, fmt.Errorf("client certificate %s with key %s: %w", f.Cert, f.Key, err)
		}
		c.Certificates = []tls.Certificate{pair}
	case f.Cert != "":
		return nil, fmt.Errorf("client certificate %s has no key file", f.Cert)
	case f.Key != "":
		return nil, fmt.Errorf("client key %s has no certificate file", f.Key)
	}
	return c, nil
}

// LoadCA reads a PEM file of CA certificates.
func LoadCA(path string) (*x509.CertPool, error) {
	blocks, err := pemBlocks(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: a certificate does not parse: %w", path, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no PEM CERTIFICATE block", path)
	}
	return pool, nil
}

// CheckCA checks that path is a PEM file of CA certificates.
func CheckCA(path string) error {
	_, err := LoadCA(path)
	return err
}

// CheckCert checks that path is a readable PEM file with a certificate.
func CheckCert(path string) error {
	return checkPEM(path, func(t string) bool { return t == "CERTIFICATE" }, "CERTIFICATE")
}

// CheckKey checks that path is a readable PEM file with a private key.
func CheckKey(path string) error {
	return checkPEM(path, func(t string) bool { return t == "PRIVATE KEY" || t == "RSA PRIVATE KEY" || t == "EC PRIVATE KEY" }, "PRIVATE KEY")
}

func checkPEM(path string, ok func(string) bool, want string) error {
	blocks, err := pemBlocks(path)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		if ok(b.Type) {
			return nil
		}
	}
	return fmt.Errorf("%s holds no PEM %s block", path, want)
}

// pemBlocks reads the PEM blocks of a file. Its errors never quote the file.
func pemBlocks(path string) ([]*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("read %s: %w", path, pe.Err)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var blocks []*pem.Block
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%s is not a PEM file", path)
	}
	return blocks, nil
}
