"""Users' own loss code: loading it (:mod:`.loading`), the framework adapters (:mod:`.frameworks`:
NumPy, PyTorch, JAX), the check (:mod:`.check`), --against (:mod:`.against`) and running it in a
child process (:mod:`.isolation`)."""
