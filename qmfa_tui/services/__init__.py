"""The rules of qmfa in plain Python: no Textual here (a test checks it).

Modules: login, accounts, identity, twofactor, recovery, policy, directory, audit,
throttle, session, clock, demo. Their errors are qmfa_tui.errors'.
"""
