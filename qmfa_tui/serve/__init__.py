"""`qmfa serve`: the app itself over SSH (asyncssh). Imported only when serving: `qmfa`
starts without asyncssh."""

import warnings

# asyncssh names DSA keys, which cryptography deprecates, as it is imported: ten lines on
# the operator's stderr at every start, for keys `qmfa serve` never offers nor accepts.
warnings.filterwarnings("ignore", message="DSA is deprecated", module="asyncssh")
