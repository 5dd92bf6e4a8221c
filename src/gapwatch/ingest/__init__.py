"""Ingest: files, Python tables and live API batches become scored experiences, or rejected rows with reasons.

Owns the first three steps of the data path (ingest → score → store): reading files and
tables in chunks (``readers``), the progress bar (``progress``), the file and table use
case (``files``) and the live batches posted to ``POST /v1/events`` (``batches``). The
mapping itself is compiled and run by the store adapter behind :mod:`gapwatch.ports`.
May import the core (``domain``, ``stats``, ``config``, ``metrics``), ``ports``,
``sqlport``, ``expectations``, ``workspace``, and the rooms ``customers`` (the
suppression list) and ``live`` (stored rows go straight to live detection); never a face
(``api``, ``web``, ``cli``, ``client``) or ``serve``.
"""

from __future__ import annotations
