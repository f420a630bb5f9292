"""Users' own loss code: loading it (:mod:`.loading`), the framework adapters (:mod:`.frameworks`:
NumPy, PyTorch, JAX), the check (:mod:`.check`), --against (:mod:`.against`) and running it in a
child process (:mod:`.isolation`)."""


def is_user_code(target: str) -> bool:
    """True for FILE.py:OBJECT (or a bare FILE.py); registered loss names never look like that."""
    return ":" in target or target.endswith(".py")
