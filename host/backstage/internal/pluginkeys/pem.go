package pluginkeys

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// readPEM reads the first PEM block of path.
func readPEM(path string) (*pem.Block, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not a PEM file")
	}
	return blk, nil
}

// unwrapPath drops the path an *os.PathError repeats (the caller names the
// file already).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// readPublic reads the SPKI public key of PEM file path, an EC key on
// curve.
func readPublic(path string, curve elliptic.Curve) (*ecdsa.PublicKey, error) {
	blk, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	if blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block is %s, want PUBLIC KEY", strconv.Quote(blk.Type))
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a public key: %w", err)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, notEC(k)
	}
	if err := checkCurve(ec.Curve, curve); err != nil {
		return nil, err
	}
	return ec, nil
}

// notEC names the kind of a key that is not an EC key.
func notEC(k any) error {
	kind := fmt.Sprintf("a %T", k)
	switch k.(type) {
	case *rsa.PublicKey, *rsa.PrivateKey:
		kind = "an RSA key"
	case ed25519.PublicKey, ed25519.PrivateKey:
		kind = "an Ed25519 key"
	case *ecdh.PublicKey, *ecdh.PrivateKey:
		kind = "an X25519 key"
	}
	return errors.New(kind + ", not an EC key")
}

// readPrivate reads the PKCS#8 or SEC 1 private key of PEM file path, an
// EC key on curve.
func readPrivate(path string, curve elliptic.Curve) (*ecdsa.PrivateKey, error) {
	blk, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	var k any
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %s, want PRIVATE KEY or EC PRIVATE KEY", strconv.Quote(blk.Type))
	}
	if err != nil {
		return nil, fmt.Errorf("not a private key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, notEC(k)
	}
	if err := checkCurve(ec.Curve, curve); err != nil {
		return nil, err
	}
	return ec, nil
}

// checkCurve refuses a key on curve got where the algorithm needs want.
func checkCurve(got, want elliptic.Curve) error {
	if got != want {
		return fmt.Errorf("an EC key on %s, the algorithm needs %s", got.Params().Name, want.Params().Name)
	}
	return nil
}
