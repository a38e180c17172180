"""`python -m caviar._server ARGS` is the `caviar` command (how `caviar up` starts its children)."""

from caviar._server import main

main()
