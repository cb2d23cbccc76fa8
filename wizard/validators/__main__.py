"""python3 -m wizard.validators tree build|path|packages PLATFORM (see tree.py)."""

import sys

from .tree import main

if __name__ == "__main__":
    if sys.argv[1:2] != ["tree"]:
        print("usage: python3 -m wizard.validators tree {build,path,packages} PLATFORM", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[2:]))
