import gc
import sys

# A helper lives a tenth of a second on bounded input: the cyclic collector's passes over
# the modules it imports cost more time than the memory they would give back.
gc.disable()

from qmfa_tui.pam.helper import main  # noqa: E402

sys.exit(main())
