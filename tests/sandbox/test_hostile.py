"""Hostile strategies: each is contained, reported with a clear error kind, leaks nothing, changes
nothing outside its scratch folder, and the queue keeps serving a bystander's job meanwhile.

Every program is a strategy module whose ``init`` attacks. ``$SECRET`` is a file holding the canary,
``$DB`` the app database, ``$MARK`` a path outside the scratch folder that must stay absent, ``$PORT`` a
local listener that must see no connection. The canary is also the secret key in the test process's
environment.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from string import Template

import pytest

from quanta.sandbox import ErrorKind, Job
from tests.sandbox.conftest import CANARY, SMA_CROSS, Listener, Sandbox, submit, wait

F, T, M, R, S, L = (
    ErrorKind.FORBIDDEN,
    ErrorKind.TIME_LIMIT,
    ErrorKind.MEMORY_LIMIT,
    ErrorKind.RECURSION_LIMIT,
    ErrorKind.STRATEGY,
    ErrorKind.RESULT_LIMIT,
)


def attack(body: str, *, next_body: str = "pass", head: str = "") -> str:
    """A strategy module whose ``init`` runs ``body``."""
    return f"""from quanta import Strategy
{head}

class Attack(Strategy):
    def init(self):
{textwrap.indent(textwrap.dedent(body).strip(), " " * 8)}

    def next(self):
{textwrap.indent(textwrap.dedent(next_body).strip(), " " * 8)}
"""


HOSTILE = {
    "read /etc/passwd": (attack("print(open('/etc/passwd').read())"), F, "forbidden name open"),
    "read the app database": (attack("print(open('$DB', 'rb').read())"), F, "forbidden name open"),
    "read a secret file with pathlib": (
        attack("from pathlib import Path\nprint(Path('$SECRET').read_text())"),
        F,
        "forbidden import pathlib",
    ),
    "read the secret key from the environment": (
        attack("import os\nprint(os.environ['QUANTA_SECRET_KEY'])"),
        F,
        "forbidden import os",
    ),
    "write a file outside the scratch folder": (
        attack("open('$MARK', 'w').write('pwned')"),
        F,
        "forbidden name open",
    ),
    "open a socket": (
        attack("import socket\nsocket.create_connection(('127.0.0.1', $PORT))"),
        F,
        "forbidden import socket",
    ),
    "fetch a URL": (
        attack("import urllib.request\nurllib.request.urlopen('http://127.0.0.1:$PORT/')"),
        F,
        "forbidden import urllib.request",
    ),
    "run a subprocess": (
        attack("import subprocess\nsubprocess.run(['touch', '$MARK'])"),
        F,
        "forbidden import subprocess",
    ),
    "os.system": (attack("import os\nos.system('touch $MARK')"), F, "forbidden import os"),
    "os.fork": (attack("from os import fork\nfork()"), F, "forbidden import os"),
    "fork bomb": (attack("import os\nwhile True:\n    os.fork()"), F, "forbidden import os"),
    "ctypes": (
        attack("import ctypes\nctypes.CDLL(None).system(b'touch $MARK')"),
        F,
        "forbidden import ctypes",
    ),
    "numpy's ctypes door": (
        attack("import numpy as np\nprint(np.zeros(3).ctypes)"),
        F,
        "forbidden attribute ctypes",
    ),
    "__subclasses__ escape": (
        attack("print(().__class__.__bases__[0].__subclasses__())"),
        F,
        "forbidden attribute __class__",
    ),
    "__globals__ escape": (
        attack("print(self.init.__globals__['__builtins__'])"),
        F,
        "forbidden attribute __globals__",
    ),
    "sys._getframe": (attack("import sys\nprint(sys._getframe(1).f_globals)"), F, "forbidden import sys"),
    "generator frame": (
        attack("gen = (x for x in [1])\nprint(gen.gi_frame.f_back.f_globals)"),
        F,
        "forbidden attribute gi_frame",
    ),
    "traceback frame": (
        attack(
            """
            try:
                1 / 0
            except ZeroDivisionError as exc:
                print(exc.__traceback__.tb_frame.f_globals)
            """
        ),
        F,
        "forbidden attribute __traceback__",
    ),
    "importlib.import_module": (
        attack("import importlib\nimportlib.import_module('os').system('touch $MARK')"),
        F,
        "forbidden import importlib",
    ),
    "__import__": (attack("__import__('os').system('touch $MARK')"), F, "forbidden name __import__"),
    "builtins by computed getattr": (
        attack("getattr(__builtins__, 'ev' + 'al')('1')"),
        F,
        "forbidden name __builtins__",
    ),
    "computed dunder at run time, caught": (
        attack(
            """
            name = '__se' + 'lf__'
            try:
                print(getattr(len, name))
            except Exception:
                pass
            """
        ),
        F,
        "forbidden attribute __self__",
    ),
    "a module's own imports": (
        attack("import typing\nprint(typing.sys.modules['os'])"),
        F,
        "forbidden attribute modules",
    ),
    "typing evaluates strings": (
        attack("from typing import get_type_hints"),
        F,
        "forbidden import typing.get_type_hints",
    ),
    "format string reaching into objects": (
        attack("print('{0.__class__.__mro__}'.format(1))"),
        F,
        "forbidden format field",
    ),
    "match on a dunder": (
        attack("match 1:\n    case int(__class__=found):\n        print(found)"),
        F,
        "forbidden attribute __class__",
    ),
    "eval and exec": (attack("exec(\"import os; os.system('touch $MARK')\")"), F, "forbidden name exec"),
    "the engine's insides": (attack("print(self._broker)"), F, "forbidden attribute _broker"),
    "numpy reads files": (
        attack("import numpy as np\nprint(np.loadtxt('/etc/passwd', dtype=str))"),
        F,
        "forbidden attribute loadtxt",
    ),
    "pickle": (attack("import pickle\npickle.loads(b'')"), F, "forbidden import pickle"),
    "kill the parent": (
        attack("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
        F,
        "forbidden import os",
    ),
    "raise the limits again": (
        attack("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (-1, -1))"),
        F,
        "forbidden import resource",
    ),
    "infinite loop": (attack("while True:\n    pass"), T, "time limit"),
    "memory bomb": (attack("hoard = bytearray(10**11)"), M, "memory limit 256 MB exceeded"),
    "creeping memory": (
        attack("hoard = []\nwhile True:\n    hoard.append(bytearray(10**7))"),
        M,
        "memory limit 256 MB exceeded",
    ),
    "recursion bomb": (
        attack("def down(n):\n    return down(n + 1)\ndown(0)"),
        R,
        "recursion limit exceeded",
    ),
    "huge result": (
        attack(
            "self.big = 'x' * 200_000",
            next_body="""
            if not self.position and len(self.closed_trades) < 12:
                self.buy(tag=self.big)
            elif self.position:
                self.position.close()
            """,
        ),
        L,
        "result limit exceeded",
    ),
    "a raising strategy": (attack("raise RuntimeError('$CANARY_HINT')"), S, "RuntimeError"),
}


def program(template: str, sandbox: Sandbox, mark: Path, listener: Listener) -> str:
    return Template(template).substitute(
        DB=sandbox.settings.app_database_url.removeprefix("sqlite:///"),
        SECRET=str(sandbox.secret_file),
        MARK=str(mark),
        PORT=str(listener.port),
        CANARY_HINT="no secret here",
    )


def leaked(job: Job) -> list[str]:
    """Secrets found in anything the job hands back."""
    text = f"{job.result} {job.output} {job.error_message} {job.message}"
    secrets = {"the canary": CANARY, "/etc/passwd": "root:x:0:0", "the app database": "SQLite format 3"}
    return [name for name, secret in secrets.items() if secret in text]


@pytest.mark.parametrize(("template", "kind", "message"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_code_is_contained_and_the_queue_keeps_serving(
    *, sandbox: Sandbox, listener: Listener, tmp_path: Path, template: str, kind: ErrorKind, message: str
) -> None:
    mark = tmp_path / "pwned"
    hostile = submit(sandbox, sandbox.attacker, program(template, sandbox, mark, listener))
    benign = submit(sandbox, sandbox.bystander, SMA_CROSS)

    attacked, served = wait(sandbox, hostile), wait(sandbox, benign)

    assert attacked.error is not None, attacked.result
    assert (attacked.error.kind, message in attacked.error.message) == (kind, True), attacked.error
    assert leaked(attacked) == []
    assert not mark.exists()
    assert listener.accepted == []
    assert served.error is None, served.error
    assert served.result is not None
    assert served.result["stats"]["# Trades"] > 0
    assert sandbox.pool.alive() == 2


def test_gigantic_output_is_cut_and_the_job_still_succeeds(sandbox: Sandbox) -> None:
    job = wait(
        sandbox,
        submit(sandbox, sandbox.attacker, attack("for i in range(100_000):\n    print('spam ' * 20)")),
    )

    assert job.error is None, job.error
    assert job.output is not None
    assert len(job.output.encode()) < 16 * 1024 + 100
    assert job.output.startswith("spam spam")
    assert "more bytes of output dropped" in job.output


def test_a_pickle_in_the_results_comes_back_as_text_and_is_never_loaded(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    mark = tmp_path / "pwned"
    payload = f"cos\nsystem\n(S'touch {mark}'\ntR.".encode()
    source = attack(
        f"self.payload = {payload!r}",
        next_body="""
        if not self.position and len(self.closed_trades) < 2:
            self.buy(tag=self.payload)
        elif self.position:
            self.position.close()
        """,
    )

    job = wait(sandbox, submit(sandbox, sandbox.attacker, source))

    assert job.error is None, job.error
    assert job.result is not None
    tags = {trade["tag"] for trade in job.result["trades"]}
    assert tags == {repr(payload)}
    assert not mark.exists()
