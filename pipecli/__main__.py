"""`python -m pipecli` runs the pipe command."""

from .cli import main

main()
