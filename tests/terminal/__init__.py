"""Real terminals: keys and codes through a pty, and the parsing of terminal input."""
