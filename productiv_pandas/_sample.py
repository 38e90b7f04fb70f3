"""The sample export: what ``pp.sample_events`` generates and ``pp.SAMPLE_OPTIONS`` publishes it with.

The export is what a workplace suite's audit log looks like once someone clicks "Export CSV":
three apps (a doc editor, a CRM, a chat app) plus the single sign-on that leads into them, a few
thousand users, and the defects real exports have (data/README.md lists them with their rates).
Times are generated relative to ``now``: Productiv only guarantees to aggregate events pushed
within 12 hours of their occurrence, so a fixed file would be all stale a day later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CATALOG", "RATES", "SAMPLE_COLUMNS", "SAMPLE_OPTIONS", "SAMPLE_TZ", "sample_events"]

#: The zone of the export's local times (the ones written without an offset).
SAMPLE_TZ = "America/New_York"

#: Event names by app, with their relative frequency. ``sso_login`` is the one Login event.
EVENTS: dict[str, dict[str, float]] = {
    "docs": {
        "opened_file": 30, "edited_doc": 20, "commented_doc": 6, "shared_doc": 5,
        "created_doc": 4, "downloaded_file": 3,
    },
    "crm": {"viewed_contact": 10, "updated_deal": 5, "logged_call": 4, "created_deal": 2, "closed_deal": 1},
    "chat": {"sent_message": 35, "reacted_to_message": 8, "joined_channel": 2, "started_call": 3},
    "sso": {"sso_login": 18},
}  # fmt: skip
LOGIN_EVENT = "sso_login"
#: What the SSO log calls the app a user signed in to (the ``targetApp`` of Login events).
TARGET_APPS = ("DocHub", "DealFlow CRM", "TeamChat")
#: The app's event mapping: every name Productiv knows for this app.
CATALOG = frozenset(name for names in EVENTS.values() for name in names)
#: Typos seen in hand-edited exports, by the name they should have been.
TYPOS = {
    "opened_file": ("opend_file", "opened_flie", "Opened_File"),
    "edited_doc": ("edited_dco", "edtied_doc"),
    "sent_message": ("sent_mesage", "sent_messsage", "send_message"),
    "viewed_contact": ("viewd_contact",),
    "shared_doc": ("shared-doc",),
}

#: Export column -> API field, for ``validate(columns=...)``.
SAMPLE_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "occurred_at": "timestamp",
        "user_email": "email",
        "action": "eventName",
        "target_app": "targetApp",
    }
)
#: The options that read the sample as meant, and that the demo publishes it with (plus
#: ``on_stale="skip"``): its column names, the zone of its local times, its Login event and its
#: app's event mapping: ``pp.validate(frame, **pp.SAMPLE_OPTIONS)``. Read-only, because it is
#: shared by every caller in the process: one that changed it (say, to try another ``tz``)
#: would silently change the demo and the notebooks that run after it.
SAMPLE_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {
        "columns": SAMPLE_COLUMNS,
        "tz": SAMPLE_TZ,
        "login_events": frozenset({LOGIN_EVENT}),
        "allowed_events": CATALOG,
    }
)

#: Share of rows (or of users, or of login rows) with each trait; data/README.md explains them.
RATES = {
    "stale": 0.04,  # rows 12 hours to 4 days old (of base rows)
    "naive_local": 0.20,  # "2025-06-10 09:14:03": New York wall time, no offset
    "local_offset": 0.10,  # "2025-06-10T09:14:03.250-04:00"
    "epoch_seconds": 0.003,  # "1749561243": epoch seconds written as text
    "bad_email": 0.004,  # no domain, no '@', a space, no dot in the domain
    "typo": 0.003,  # an event name that is not in the catalog
    "login_without_target": 0.05,  # of sso_login rows
    "mixed_case_user": 0.04,  # of users: the directory spells them "Ana.Lopez@Acme-Corp.com"
    "exact_duplicate": 0.015,  # of all rows: the same line twice (overlapping export pages)
    "email_variant_duplicate": 0.005,  # the same event, email differing in case or whitespace
    "reformatted_duplicate": 0.002,  # the same event, its time written with an offset instead of Z
}
USERS = 2_400
FRESH_WITHIN = dt.timedelta(hours=11)  # an hour's margin: a sample written or kept a while stays fresh
STALE_UP_TO = dt.timedelta(days=4)

_FIRST = (
    "ana", "ben", "chloe", "david", "elena", "farid", "grace", "hiro", "ines", "jamal", "kate",
    "liam", "maya", "noah", "olga", "pedro", "quinn", "rosa", "sam", "tara", "umar", "vera",
    "wei", "xena", "yusuf", "zoe", "amir", "bella", "carlos", "dana", "emil", "fatima", "gabe",
    "hana", "ivan", "julia", "kofi", "lena", "marco", "nina", "omar", "priya", "raj", "sofia",
    "tom", "uma", "victor", "wanda", "yara", "zane",
)  # fmt: skip
_LAST = (
    "lopez", "smith", "nguyen", "okafor", "muller", "rossi", "kim", "patel", "silva", "cohen",
    "novak", "garcia", "tanaka", "brown", "ivanova", "haddad", "larsen", "dubois", "costa",
    "wright", "khan", "moreau", "schmidt", "jensen", "fischer", "santos", "kowalski", "ali",
    "baker", "chen", "diaz", "evans", "ferreira", "gupta", "hughes", "ito", "jones", "kaur",
    "lee", "martin", "nakamura", "oliveira", "park", "reyes", "sato", "taylor", "walsh", "young",
)  # fmt: skip
_DOMAINS = ("acme-corp.com", "acme-labs.io")


def _users(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Emails as the export spells them, their canonical form, and each user's activity weight."""
    pairs = rng.choice(len(_FIRST) * len(_LAST), size=USERS, replace=False)
    first = np.array(_FIRST)[pairs // len(_LAST)]
    last = np.array(_LAST)[pairs % len(_LAST)]
    domain = np.where(rng.random(USERS) < 0.85, _DOMAINS[0], _DOMAINS[1])
    parts = zip(first, last, domain, strict=True)
    canonical = np.array([f"{f}.{la}@{d}" for f, la, d in parts], dtype=object)
    spelled = canonical.copy()
    mixed = rng.random(USERS) < RATES["mixed_case_user"]
    spelled[mixed] = [
        f"{f.title()}.{la.title()}@{d.title()}"
        for f, la, d in zip(first[mixed], last[mixed], domain[mixed], strict=True)
    ]
    weight = 1.0 / np.arange(1, USERS + 1) ** 0.7  # a few heavy users, a long tail
    return spelled, canonical, rng.permutation(weight / weight.sum())


def _render_times(ms: np.ndarray, form: np.ndarray) -> np.ndarray:
    """Write each instant in its form: 'z', 'offset', 'naive' (New York wall time) or 'epoch'."""
    if len(ms) == 0:
        return np.empty(0, dtype=object)
    utc = ms.astype("datetime64[ms]")
    zone = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(SAMPLE_TZ)
    shift = (zone.tz_localize(None).to_numpy() - utc).astype("timedelta64[m]").astype(np.int64)
    local = utc + shift.astype("timedelta64[m]")
    sign = np.where(shift < 0, "-", "+").astype(object)
    hours, minutes = np.abs(shift) // 60, np.abs(shift) % 60
    offset = sign + np.char.zfill(hours.astype(str), 2).astype(object) + ":"
    offset = offset + np.char.zfill(minutes.astype(str), 2).astype(object)
    rendered = {
        "z": np.datetime_as_string(utc, unit="ms").astype(object) + "Z",
        "offset": np.datetime_as_string(local, unit="ms").astype(object) + offset,
        "naive": np.char.replace(np.datetime_as_string(local, unit="s"), "T", " ").astype(object),
        "epoch": (ms // 1000).astype(str).astype(object),
    }
    out = np.empty(len(ms), dtype=object)
    for name, texts in rendered.items():
        chosen = form == name
        out[chosen] = texts[chosen]
    return out


def _bad_email(rng: np.random.Generator, email: str) -> str:
    local, domain = email.split("@")
    kind = rng.integers(4)
    if kind == 0:
        return f"{local}@"  # the domain got cut off
    if kind == 1:
        return local  # a username where the email should be
    if kind == 2:
        return f"{local.replace('.', ' ', 1)}@{domain}"  # a display name pasted in
    return f"{local}@{domain.split('.')[0]}"  # no top-level domain


def _email_variant(rng: np.random.Generator, email: str) -> str:
    kind = rng.integers(3)
    if kind == 0:
        return email.upper()
    if kind == 1:
        return f" {email}"
    return f"{email} "


def _take(pool: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` positions of ``pool`` (fewer if it is short), and the rest of it."""
    return pool[:count], pool[count:]


def sample_events(
    n: int = 30_000, *, seed: int = 7, now: pd.Timestamp | dt.datetime | str | None = None
) -> pd.DataFrame:
    """The messy sample export: a workplace suite's activity log, as someone's "Export CSV" gives it.

    It is in the package (not in the checkout's ``data/``) so that ``productiv-pandas demo``,
    the notebooks and your own experiments work wherever the package is installed. Every column
    is text, as ``pd.read_csv(path, dtype="str")`` would read it; the defects real exports have
    (duplicate lines, broken emails, typos, epoch seconds, logins without their app, naive local
    times, rows older than Productiv's 12-hour window) are mixed in at fixed rates. Publish it
    with :data:`SAMPLE_OPTIONS`.

    Parameters
    ----------
    n : int, default 30_000
        Number of rows, duplicates included.
    seed : int, default 7
        Seed of the random generator: the same ``seed`` and ``now`` give the same frame.
    now : Timestamp, datetime or str, optional
        The moment the export is taken (naive means UTC); default the current time. Times are
        generated relative to it, so that the fresh rows stay within Productiv's 12 hours.

    Returns
    -------
    DataFrame
        Columns ``occurred_at``, ``user_email``, ``action``, ``target_app``, ``ip`` and
        ``session_id``, in time order.

    Examples
    --------
    >>> import productiv_pandas as pp
    >>> frame = pp.sample_events(1_000, now="2025-06-10T15:00:00Z")
    >>> list(frame.columns)
    ['occurred_at', 'user_email', 'action', 'target_app', 'ip', 'session_id']
    >>> report = pp.validate(frame, **pp.SAMPLE_OPTIONS, now="2025-06-10T15:00:00Z", on_stale="ignore")
    >>> sorted(report["status"].unique())
    ['duplicate', 'invalid', 'valid']
    """
    rows = n
    moment = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    now_ms = int(moment.value // 1_000_000)
    rng = np.random.default_rng(seed)
    n_dup = {k: round(RATES[k] * rows) for k in RATES if k.endswith("duplicate")}
    n = rows - sum(n_dup.values())

    spelled, canonical, weight = _users(rng)
    user = rng.choice(USERS, size=n, p=weight)
    email = spelled[user]
    apps = list(EVENTS)
    app_weight = np.array([sum(EVENTS[a].values()) for a in apps])
    app = rng.choice(len(apps), size=n, p=app_weight / app_weight.sum())
    action = np.empty(n, dtype=object)
    for i, name in enumerate(apps):
        members = np.flatnonzero(app == i)
        names, freq = np.array(list(EVENTS[name]), dtype=object), np.array(list(EVENTS[name].values()))
        action[members] = names[rng.choice(len(names), len(members), p=freq / freq.sum())]
    login = action == LOGIN_EVENT
    target = np.full(n, None, dtype=object)
    target[login] = np.array(TARGET_APPS, dtype=object)[rng.integers(len(TARGET_APPS), size=int(login.sum()))]

    age = rng.uniform(30_000, FRESH_WITHIN / dt.timedelta(milliseconds=1), size=n)
    stale = rng.random(n) < RATES["stale"]
    age[stale] = rng.uniform(12 * 3_600_000 + 60_000, STALE_UP_TO / dt.timedelta(milliseconds=1), stale.sum())
    ms = now_ms - age.astype(np.int64)
    draw = rng.random(n)
    form = np.full(n, "z", dtype=object)
    form[draw < RATES["naive_local"] + RATES["local_offset"]] = "offset"
    form[draw < RATES["naive_local"]] = "naive"

    # Row defects are kept apart (one per row) so each shows up with its own reason.
    pool = rng.permutation(n)
    bad_email, pool = _take(pool, round(RATES["bad_email"] * n))
    epoch, pool = _take(pool, round(RATES["epoch_seconds"] * n))
    typo_pool = pool[~login[pool] & np.isin(action[pool], list(TYPOS))]
    typo, _ = _take(typo_pool, round(RATES["typo"] * n))
    login_pool = pool[login[pool]]
    no_target, _ = _take(login_pool, round(RATES["login_without_target"] * len(login_pool)))
    email[bad_email] = [_bad_email(rng, canonical[u]) for u in user[bad_email]]
    form[epoch] = "epoch"
    action[typo] = [TYPOS[a][rng.integers(len(TYPOS[a]))] for a in action[typo]]
    target[no_target] = None
    clean = np.setdiff1d(np.flatnonzero(form == "z"), np.concatenate([bad_email, epoch, typo, no_target]))

    ip_of_user = np.array(
        [f"10.{a}.{b}.{c}" for a, b, c in rng.integers(1, 255, size=(USERS, 3))], dtype=object
    )
    remote = rng.random(n) < 0.15  # off the VPN
    ip = ip_of_user[user]
    ip[remote] = [f"198.51.100.{x}" for x in rng.integers(1, 255, size=int(remote.sum()))]
    slot = (ms // (3 * 3_600_000)).astype(np.int64)
    _, session_key = np.unique(user.astype(np.int64) * 1_000_000_000 + slot, return_inverse=True)
    # A generator of their own: how many sessions there are depends on ``now``, and the rows
    # drawn after this should not.
    sessions = int(session_key.max(initial=-1)) + 1
    tokens = np.random.default_rng((seed, 1)).integers(0, 16**12, size=sessions)
    session = np.array([f"s-{t:012x}" for t in tokens], dtype=object)[session_key]

    base = pd.DataFrame(
        {
            "occurred_at": _render_times(ms, form),
            "user_email": email,
            "action": action,
            "target_app": target,
            "ip": ip,
            "session_id": session,
            "_ms": ms,
        }
    )
    sources = rng.permutation(clean)
    exact, sources = _take(sources, n_dup["exact_duplicate"])
    variant, sources = _take(sources, n_dup["email_variant_duplicate"])
    reformatted, _ = _take(sources, n_dup["reformatted_duplicate"])
    copies = [base.iloc[exact]]
    changed = base.iloc[variant].copy()
    changed["user_email"] = [_email_variant(rng, e) for e in changed["user_email"]]
    copies.append(changed)
    changed = base.iloc[reformatted].copy()
    changed["occurred_at"] = _render_times(changed["_ms"].to_numpy(), np.full(len(changed), "offset"))
    copies.append(changed)
    # An export is in time order; a repeated line lands right after the one it repeats.
    frame = pd.concat([base, *copies]).sort_values("_ms", kind="stable")
    return frame.drop(columns="_ms").reset_index(drop=True).astype("str")
