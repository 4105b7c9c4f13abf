"""`qmfa serve`: the app itself over SSH (asyncssh). Imported only when serving: `qmfa`
starts without asyncssh."""
