"""07_coroutine/optional.py: greenlet and gevent, which the interpreter may lack (Debian
packages them as python3-greenlet and python3-gevent; `make compare` installs them for
/usr/bin/python3). Without them their rows say "not installed" and the rest runs.

gevent is imported only where it runs, in a fresh interpreter (its fork hooks and hub
stay out of the measuring process): here, only whether it is there.
"""
import importlib.util

try:
    import greenlet
except ImportError:
    greenlet = None
HAVE_GEVENT = importlib.util.find_spec("gevent") is not None

NOT_INSTALLED = {"greenlet": "not installed (Debian: python3-greenlet)",
                 "gevent": "not installed (Debian: python3-gevent)"}
