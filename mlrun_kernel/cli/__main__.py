import sys

from mlrun_kernel.cli import main

sys.exit(main())
