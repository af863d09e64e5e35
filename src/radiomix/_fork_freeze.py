"""The last module a fork server imports: its objects leave the garbage collector.

Every worker forked from the server of :func:`radiomix.cohort.worker_context` starts with
the server's objects: the imported modules (with deep features, torch and MONAI: hundreds of
thousands of objects), the kernels and network of the warm-up. A worker's full collections
walked them all, and walking them writes to their pages, which the worker then copies from
the server (copy-on-write) only to leave them unchanged. :func:`gc.freeze` moves them to a
permanent generation that collections do not visit, as the :mod:`gc` documentation advises
before a fork. They all live as long as the server anyway (the modules, the warm-up's
records); the workers' own objects are collected as before.

Measured on the sarcoma study (``radiomix run examples/sts/study.yaml --jobs 2``, two idle
cores, four alternating pairs): 8.82 against 8.04 s wall, 15.95 against 15.31 busy
core-seconds. Only a fork server imports this module, last of its preload
(:func:`radiomix.cohort.worker_context` adds it): the servers of cohort runs, of the
analysis engine's workers and of the other local pools.
"""

from __future__ import annotations

import gc

gc.freeze()
