"""For a bench run on a checkout (load.py, and its --reference): the shared virtualenv's editable
install of the project fills in any module a checkout lacks from the folder it was installed
from (an older checkout then loads newer template tags, for one); with this folder on
PYTHONPATH, Python drops that finder at start-up so that the checkout runs its own code alone."""

import sys

sys.meta_path[:] = [
    finder
    for finder in sys.meta_path
    if not getattr(finder, "__module__", "").startswith("__editable__")
]
