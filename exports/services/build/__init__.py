"""Releases (DESIGN 7.1), one module per step of their life:

- ``request``: validate and record a pending release, queue its build;
- ``files``: write every file of a release into a directory;
- ``rows``: the rows of its data files (responses, preference pairs, judgments);
- ``manifest``: pseudonyms, ``manifest.json`` and the dataset card;
- ``publish``: claim the build, write into a private temporary directory, publish as the
  project's next version.
"""

from .files import ALL_FILES, DATA_FILES, FilesResult, release_files_write
from .manifest import FORMAT, pseudonymizer
from .publish import export_root, release_build, release_path, release_verify
from .request import release_catch_up_enqueue, release_enqueue, release_request
from .scores import SCORES_FILES

__all__ = [
    "ALL_FILES",
    "DATA_FILES",
    "FORMAT",
    "FilesResult",
    "SCORES_FILES",
    "export_root",
    "pseudonymizer",
    "release_build",
    "release_catch_up_enqueue",
    "release_enqueue",
    "release_files_write",
    "release_path",
    "release_request",
    "release_verify",
]
