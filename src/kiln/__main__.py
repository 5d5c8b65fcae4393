"""`python -m kiln <command> [overrides]` is the same as `kiln <command> [overrides]`."""

from kiln.cli import main

if __name__ == "__main__":
    main()
