"""The PAM helper: ``python -I -m qmfa_tui.pam {exempt|verify} ...``, run by ``pam_exec``.

Nothing here imports Textual or rich (it starts for every ssh and sudo login); the
lines that run it are ``stack.py``'s. See ``helper.py``.
"""
