import sys

from bioopzo.cli import main

sys.exit(main())
