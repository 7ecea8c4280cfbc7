#!/usr/bin/env python3
"""MIT's gitreload 0.2.5 (from PyPI) and `orcoursetrion gitreload`, side by side.

Both get the same kind of REPODIR (real git checkouts of bare origins), a
stand-in `bin/python` that records each import's argv, working directory and
LMS variables, and the same requests. The script prints each answer of both
and whether they agree, then compares the recorded import commands.

    cargo build --release
    python3 bench/gitreload-side-by-side.py            # installs gitreload into a venv
    GR_VENV=/path/to/venv python3 bench/gitreload-side-by-side.py

gitreload 0.2.5 pins Flask < 2; on a current Python it also needs
Jinja2 < 3.1, itsdangerous < 2.1, markupsafe < 2.1 and werkzeug < 2.1.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = tempfile.mkdtemp(prefix="gr-side-")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BIN", os.path.join(REPO, "target/release/orcoursetrion"))
GR_VENV = os.environ.get("GR_VENV", os.path.join(ROOT, "grvenv"))

STAND_IN = """#!/bin/sh
{ echo "argv: $*"; echo "cwd: $(pwd)"; echo "SERVICE_VARIANT=$SERVICE_VARIANT LMS_CFG=$LMS_CFG REVISION_CFG=$REVISION_CFG"; } >> %(calls)s
sleep 2
"""


def sh(*args, cwd=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="s", GIT_AUTHOR_EMAIL="s@example.edu",
               GIT_COMMITTER_NAME="s", GIT_COMMITTER_EMAIL="s@example.edu")
    subprocess.run(args, cwd=cwd, check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host(side):
    """A REPODIR with course-a on master and a detached checkout."""
    base = os.path.join(ROOT, side)
    for d in ("repos", "origins", "work", "edx-platform", "venv/bin"):
        os.makedirs(os.path.join(base, d))
    python = os.path.join(base, "venv/bin/python")
    with open(python, "w") as f:
        f.write(STAND_IN % {"calls": os.path.join(base, "calls")})
    os.chmod(python, 0o755)
    for name in ("course-a", "detached-course"):
        origin = os.path.join(base, "origins", name + ".git")
        work = os.path.join(base, "work", name)
        sh("git", "init", "-q", "--bare", "-b", "master", origin)
        sh("git", "clone", "-q", origin, work)
        with open(os.path.join(work, "course.xml"), "w") as f:
            f.write("<course/>")
        sh("git", "add", ".", cwd=work)
        sh("git", "commit", "-q", "-m", "first", cwd=work)
        sh("git", "push", "-q", "origin", "master", cwd=work)
        sh("git", "clone", "-q", origin, os.path.join(base, "repos", name))
    sh("git", "checkout", "-q", "--detach", cwd=os.path.join(base, "repos", "detached-course"))
    env = dict(os.environ)
    env.update({
        "REPODIR": os.path.join(base, "repos"),
        "VIRTUAL_ENV": os.path.join(base, "venv"),
        "EDX_PLATFORM": os.path.join(base, "edx-platform"),
        "DJANGO_SETTINGS": "aws",
        "LMS_CFG": "/edx/etc/lms.yml",
        "REVISION_CFG": "/edx/etc/revisions.yml",
        "NUM_THREADS": "1",
    })
    return base, env


def wait_up(port):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/queue" % port, timeout=1).read()
            return
        except Exception:
            time.sleep(0.1)
    sys.exit("server on port %d did not start" % port)


def call(port, method, path, event=None, ctype=None, body=b""):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=body if method != "GET" else None)
    if event:
        req.add_header("X-GitHub-Event", event)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        resp = urllib.request.urlopen(req, timeout=10)
        status, data, ct = resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, data, ct = e.code, e.read(), e.headers.get("Content-Type", "")
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = "<%d bytes of %s>" % (len(data), ct.split(";")[0] or "no type")
    return status, parsed, ct.split(";")[0]


def push(repo, ref="refs/heads/master"):
    return json.dumps({"ref": ref, "after": "0" * 39 + "1",
                       "repository": {"name": repo, "owner": {"name": "mitx", "login": "mitx"}}})


CASES = [
    ("GET /", "GET", "/", None, None, b""),
    ("empty /queue", "GET", "/queue", None, None, b""),
    ("ping", "POST", "/", "ping", "application/json", b'{"zen": "hi"}'),
    ("issues event", "POST", "/gitreload", "issues", "application/json", b"{}"),
    ("missing checkout", "POST", "/", "push", "application/json", push("nope").encode()),
    ("detached HEAD", "POST", "/", "push", "application/json", push("detached-course").encode()),
    ("other branch", "POST", "/", "push", "application/json",
     push("course-a", "refs/heads/devel").encode()),
    ("JSON push", "POST", "/", "push", "application/json", push("course-a").encode()),
    ("form push", "POST", "/gitreload", "push", "application/x-www-form-urlencoded",
     urllib.parse.urlencode({"payload": push("course-a")}).encode()),
    ("update", "POST", "/update", "push", "application/json", push("course-a").encode()),
    ("busy /queue", "GET", "/queue", None, None, b""),
    ("bad JSON", "POST", "/", "push", "application/json", b"{not json"),
    ("form without payload", "POST", "/", "push", "application/x-www-form-urlencoded", b"a=1"),
    ("JSON without repository", "POST", "/", "push", "application/json",
     b'{"ref": "refs/heads/master"}'),
    ("unknown path", "GET", "/nope", None, None, b""),
]


def normalize(value, base):
    return json.loads(json.dumps(value).replace(base, "<REPODIR-host>"))


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release (or set BIN)")
    if not os.path.exists(os.path.join(GR_VENV, "bin", "gunicorn")):
        print("installing gitreload 0.2.5 into", GR_VENV)
        subprocess.run([sys.executable, "-m", "venv", GR_VENV], check=True)
        subprocess.run([os.path.join(GR_VENV, "bin", "pip"), "install", "-q", "gitreload==0.2.5",
                        "Jinja2<3.1", "itsdangerous<2.1", "markupsafe<2.1", "werkzeug<2.1"],
                       check=True)
    theirs, tenv = host("theirs")
    ours, oenv = host("ours")
    tport, oport = free_port(), free_port()
    tenv["VIRTUAL_ENV"] = os.path.join(theirs, "venv")
    gr = subprocess.Popen([os.path.join(GR_VENV, "bin", "gunicorn"), "-b", "127.0.0.1:%d" % tport,
                           "-w", "1", "gitreload.web:app"], cwd=theirs, env=tenv,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    oenv["ORC_GITRELOAD_DB"] = os.path.join(ours, "gitreload.db")
    orc = subprocess.Popen([BIN, "gitreload", "--allow-unsigned", "--port", str(oport)], cwd=ours,
                           env=oenv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(tport)
        wait_up(oport)
        same_all = True
        print("| request | gitreload 0.2.5 | orcoursetrion gitreload | same status | same body |")
        print("|---|---|---|---|---|")
        for name, method, path, event, ctype, body in CASES:
            t = call(tport, method, path, event, ctype, body)
            o = call(oport, method, path, event, ctype, body)
            tv, ov = normalize(t[1], theirs), normalize(o[1], ours)
            same = t[0] == o[0] and tv == ov
            same_all &= same
            fmt = lambda r, v: "%d `%s` (%s)" % (r[0], json.dumps(v), r[2] or "-")
            yes = lambda b: "yes" if b else "**no**"
            print("| %s | %s | %s | %s | %s |" % (name, fmt(t, tv), fmt(o, ov), yes(t[0] == o[0]),
                                                 yes(tv == ov)))
        # Three imports of 2 s each, one after another, on both sides.
        time.sleep(8)
        calls = []
        for base in (theirs, ours):
            try:
                with open(os.path.join(base, "calls")) as f:
                    calls.append(f.read().replace(base, "<host>"))
            except FileNotFoundError:
                calls.append("")
        print("\nimport commands recorded by gitreload's stand-in python:\n" + calls[0])
        print("by ours:\n" + calls[1])
        print("same import commands:", "yes" if calls[0] == calls[1] else "**no**")
        print("all answers the same:", "yes" if same_all else "no (see the rows marked **no**)")
    finally:
        for p in (gr, orc):
            p.terminate()
            p.wait()
        shutil.rmtree(ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()
