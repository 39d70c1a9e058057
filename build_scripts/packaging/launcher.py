"""PyInstaller entry script for Jockey Desktop.

PyInstaller runs its script as ``__main__`` outside any package, so the package's own
``jockey_desktop/__main__.py`` (which may use relative imports) cannot be the script itself.
This launcher imports it as a module and hands over; every CLI flag (``--self-test``,
``--frozen-checks``, ...) is parsed there, exactly as with ``python -m jockey_desktop``.
"""

from jockey_desktop.__main__ import main

if __name__ == "__main__":
    raise SystemExit(main())
