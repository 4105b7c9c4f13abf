"""`qmfa serve` with the real OpenSSH client: logins, strangers at the door, lockouts."""
