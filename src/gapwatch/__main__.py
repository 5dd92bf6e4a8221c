from __future__ import annotations

from gapwatch.cli import main

if __name__ == "__main__":
    main()
