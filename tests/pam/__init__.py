"""PAM: the helper as pam_exec runs it, and real sshd, sudo and libpam stacks guarded by it."""
