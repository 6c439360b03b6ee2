"""Whole pseudonymized transfers into a folder by each retrieval path, against DCMTK.

    uv run python bench/transfer_folder.py [options of bench/transfer.py]

The same as bench/transfer.py with `--to folder`: DCMTK's analogue is getscu into a
staging folder, then a copy of its files into the destination and `sync` of them.
"""

from transfer import main

if __name__ == "__main__":
    main(to="folder")
