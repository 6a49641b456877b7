# Security controls (docs/SECURITY.md).

security-code-attempts = Too many wrong codes in the last hour. Please try again later, or scan the QR code instead.
