"""qmfa: two-step verification (TOTP) for a team's user accounts, in the terminal."""

__version__ = "0.1.0"
