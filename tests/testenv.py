"""Test-run defaults: production-like settings (DEBUG off) with throwaway secrets."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghij")
os.environ.setdefault("TWILIO_AUTH_TOKEN", "test-twilio-auth-token")
os.environ.setdefault("SMS_HASH_KEY", "test-sms-hash-key")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
