"""Entry script for ``spark-submit``: ``spark-submit [options] streaming/submit.py run [flags]``.

spark-submit runs a file, not a module; this one runs the same CLI as ``python -m streaming``.
Master, jars and driver memory come from spark-submit's own options; the project's packages from
``--py-files`` (the archive ``python -m streaming package`` builds) or the working directory.
"""

from core.cli import run_cli
from streaming.cli import main

if __name__ == "__main__":
    run_cli(main)
