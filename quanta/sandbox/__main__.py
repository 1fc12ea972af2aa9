"""``python -m quanta.sandbox``: one sandbox worker (see ``quanta.sandbox.worker``)."""

from quanta.sandbox.worker import main

raise SystemExit(main())
