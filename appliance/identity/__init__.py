"""Device identity: the device key (software or PKCS#11), its certificate chain, CSRs."""
