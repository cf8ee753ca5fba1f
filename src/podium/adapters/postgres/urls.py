"""One parser for every database URL setting, as hosts hand them out.

Accepted: ``postgres://``, ``postgresql://`` and ``postgresql+asyncpg://`` URLs in libpq's URI form
(https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS), with several
``host:port`` pairs if need be, and these query options, as libpq reads them:

* ``sslmode`` (``disable``, ``allow``, ``prefer`` — libpq's default —, ``require``, ``verify-ca``,
  ``verify-full``), ``sslrootcert`` (a CA file, or ``system`` for the system's trusted CAs),
  ``sslcert``, ``sslkey``, ``sslpassword``;
* ``application_name``, ``connect_timeout`` (seconds), ``options`` (``-c name=value`` sent at connect);
* ``host``, ``port``, ``dbname``, ``user``, ``password`` (libpq allows them in the query too);
* ``ssl`` (asyncpg's spelling of ``sslmode``), ``channel_binding=disable|prefer``.

Anything else — or a value it cannot honour — is a :class:`DatabaseUrlError` naming the setting, never
the password. The result drives asyncpg (an :class:`ssl.SSLContext` made here, so ``verify-full`` checks
the certificate chain and the host name), and libpq's tools (``pg_dump``) through :meth:`libpq_uri`
with the password kept out of the URI.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

SCHEMES = ("postgres", "postgresql", "postgresql+asyncpg")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
OPTIONS = (
    "sslmode",
    "ssl",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "application_name",
    "connect_timeout",
    "options",
    "channel_binding",
    "host",
    "port",
    "dbname",
    "user",
    "password",
)
DEFAULT_PORT = 5432
# asyncpg's spelling of sslmode (``?ssl=true`` is verify-full for asyncpg, ``false`` disable).
_ASYNCPG_SSL = {"true": "verify-full", "false": "disable", "1": "verify-full", "0": "disable"}


class DatabaseUrlError(ValueError):
    """A database URL that cannot be used as written; the message names the setting, never the password."""


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL: where, who, and how to secure the connection."""

    setting: str
    hosts: tuple[str, ...]
    ports: tuple[int, ...]
    database: str
    user: str | None
    password: str | None = field(repr=False)
    sslmode: str  # one of SSLMODES ("prefer" when the URL says nothing, as libpq)
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    sslpassword: str | None = field(default=None, repr=False)
    application_name: str | None = None
    connect_timeout: float | None = None
    options: str | None = None

    @property
    def is_socket(self) -> bool:
        return all(host.startswith("/") for host in self.hosts)

    def describe(self) -> str:
        """``host:port/database`` for messages, logs and metrics: never the credentials."""
        where = ",".join(
            host if host.startswith("/") else f"{host}:{port}"
            for host, port in zip(self.hosts, self.ports, strict=True)
        )
        return f"{where}/{self.database}"

    def ssl_context(self) -> ssl.SSLContext | str | bool:
        """What asyncpg's ``ssl`` argument takes for ``sslmode``.

        ``allow`` and ``prefer`` stay asyncpg's own modes (they fall back to plain connections, so they
        cannot be one context); they check nothing, as in libpq. ``require`` encrypts and, given a
        ``sslrootcert``, checks the chain (libpq does the same); ``verify-ca`` checks the chain;
        ``verify-full`` the chain and that the certificate names the host.
        """
        if self.sslmode == "disable" or self.is_socket:
            return False
        if self.sslmode in ("allow", "prefer"):
            return self.sslmode
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = self.sslmode == "verify-full"
        rootcert = self.sslrootcert
        if rootcert is None and self.sslmode != "require":
            rootcert = _default_rootcert()
        if rootcert is None:
            context.verify_mode = ssl.CERT_NONE
        else:
            context.verify_mode = ssl.CERT_REQUIRED
            if rootcert == "system":
                context.load_default_certs(ssl.Purpose.SERVER_AUTH)
            else:
                self._load(context.load_verify_locations, "sslrootcert", cafile=rootcert)
        if self.sslcert:
            self._load(
                context.load_cert_chain,
                "sslcert",
                self.sslcert,
                keyfile=self.sslkey,
                password=self.sslpassword or None,
            )
        return context

    def _load(self, loader: Any, option: str, *args: object, **kwargs: object) -> None:
        try:
            loader(*args, **kwargs)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DatabaseUrlError(f"{self.setting}: cannot read {option} ({reason})") from exc

    def connect_kwargs(self, *, connect_timeout: float, application_name: str) -> dict[str, Any]:
        """asyncpg ``connect()`` arguments (what SQLAlchemy's ``connect_args`` and the listener pass)."""
        server_settings = {"application_name": self.application_name or application_name}
        if self.options:
            server_settings["options"] = self.options
        kwargs: dict[str, Any] = {
            "host": list(self.hosts) if len(self.hosts) > 1 else self.hosts[0],
            "port": list(self.ports) if len(self.ports) > 1 else self.ports[0],
            "database": self.database,
            "ssl": self.ssl_context(),
            "timeout": self.connect_timeout or connect_timeout,
            "server_settings": server_settings,
        }
        if self.user is not None:
            kwargs["user"] = self.user
        if self.password is not None:
            kwargs["password"] = self.password
        return kwargs

    def sqlalchemy_url(self) -> str:
        """A ``postgresql+asyncpg://`` URL naming the first host (the engine's label and dialect); the
        connection itself is made from :meth:`connect_kwargs`."""
        host = self.hosts[0]
        auth = quote(self.user, safe="") + "@" if self.user else ""
        if host.startswith("/"):
            return (
                f"postgresql+asyncpg://{auth}/{quote(self.database)}?host={quote(host)}&port={self.ports[0]}"
            )
        netloc = f"[{host}]" if ":" in host else host
        return f"postgresql+asyncpg://{auth}{netloc}:{self.ports[0]}/{quote(self.database)}"

    def libpq_uri(self) -> str:
        """The same connection for libpq's tools, without the password (pass it as ``PGPASSWORD``)."""
        netloc = ",".join(
            f"{'[' + host + ']' if ':' in host else host}:{port}"
            for host, port in zip(self.hosts, self.ports, strict=True)
            if not host.startswith("/")
        )
        query: list[tuple[str, str]] = []
        if self.is_socket:
            query += [("host", self.hosts[0]), ("port", str(self.ports[0]))]
        query.append(("sslmode", self.sslmode))
        rootcert = self.sslrootcert
        if rootcert == "system":
            # libpq before 16 knows no "system": name the file Python's OpenSSL trusts.
            paths = ssl.get_default_verify_paths()
            rootcert = paths.cafile or paths.openssl_cafile
        for name, value in (
            ("sslrootcert", rootcert),
            ("sslcert", self.sslcert),
            ("sslkey", self.sslkey),
            ("application_name", self.application_name),
            ("options", self.options),
            ("connect_timeout", None if self.connect_timeout is None else str(round(self.connect_timeout))),
        ):
            if value is not None:
                query.append((name, value))
        if self.user:
            query.append(("user", self.user))
        return f"postgresql://{netloc}/{quote(self.database, safe='')}?{urlencode(query, quote_via=quote)}"


def _default_rootcert() -> str | None:
    """libpq's default CA file, ``~/.postgresql/root.crt``, when it exists."""
    try:
        path = Path.home() / ".postgresql" / "root.crt"
    except RuntimeError:
        return None
    return str(path) if path.is_file() else None


def parse_database_url(url: str, setting: str) -> DatabaseUrl:
    """Parse ``url`` (the value of ``setting``); a :class:`DatabaseUrlError` names what is wrong."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise DatabaseUrlError(
            f"{setting}: expected a postgresql:// (or postgres://, postgresql+asyncpg://) URL"
            + (f", got a {scheme}:// one" if sep and "@" not in scheme else "")
        )
    rest, _, _fragment = rest.partition("#")
    rest, _, query_text = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    user: str | None = None
    password: str | None = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        name, colon, secret = userinfo.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if colon else None
    hosts: list[str] = []
    ports: list[str] = []
    for part in netloc.split(",") if netloc else []:
        host, port = _host_port(part, setting)
        hosts.append(host)
        ports.append(port)
    database = unquote(path) if slash else ""
    options: dict[str, str] = {}
    for pair in query_text.split("&") if query_text else []:
        # As libpq: percent-decoded, and a "+" is a plus sign.
        name, equals, value = (unquote(part) for part in pair.partition("="))
        if not equals:
            raise DatabaseUrlError(f"{setting}: the part after '?' is not name=value pairs")
        if name not in OPTIONS:
            supported = ", ".join(sorted(set(OPTIONS) - {"host", "port", "dbname", "user", "password"}))
            raise DatabaseUrlError(f"{setting}: unsupported option {name!r} (supported: {supported})")
        options[name] = value
    if "host" in options:
        hosts = options["host"].split(",")
    if "port" in options:
        ports = options["port"].split(",")
    user = options.get("user", user)
    password = options.get("password", password)
    database = options.get("dbname", database)
    return _build(setting, hosts, ports, database, user, password, options)


def _host_port(part: str, setting: str) -> tuple[str, str]:
    if part.startswith("["):  # an IPv6 address
        host, _, after = part[1:].partition("]")
        return host, after.removeprefix(":")
    host, _, port = part.partition(":")
    return unquote(host), port


def _build(
    setting: str,
    hosts: list[str],
    ports: list[str],
    database: str,
    user: str | None,
    password: str | None,
    options: dict[str, str],
) -> DatabaseUrl:
    hosts = [host for host in hosts if host] or ["localhost"]
    ports = ports or [""]
    if len(ports) == 1 and len(hosts) > 1:
        ports = ports * len(hosts)
    if len(ports) != len(hosts):
        raise DatabaseUrlError(f"{setting}: {len(hosts)} hosts but {len(ports)} ports")
    numbers: list[int] = []
    for port in ports:
        if not port:
            numbers.append(DEFAULT_PORT)
        elif port.isdigit() and 1 <= int(port) <= 65_535:
            numbers.append(int(port))
        else:
            raise DatabaseUrlError(f"{setting}: the port must be a number from 1 to 65535, got {port!r}")
    sslmode = options.get("sslmode")
    if sslmode is None and "ssl" in options:
        sslmode = _ASYNCPG_SSL.get(options["ssl"].lower(), options["ssl"].lower())
    sslmode = sslmode or "prefer"
    if sslmode not in SSLMODES:
        raise DatabaseUrlError(f"{setting}: sslmode must be one of {', '.join(SSLMODES)}, got {sslmode!r}")
    if options.get("channel_binding", "prefer") not in ("disable", "prefer"):
        raise DatabaseUrlError(
            f"{setting}: channel_binding={options['channel_binding']} cannot be honoured (the asyncpg driver "
            "does not do channel binding): remove it, and use sslmode=verify-full to authenticate the server"
        )
    if (options.get("sslcert") or options.get("sslkey")) and sslmode in ("disable", "allow", "prefer"):
        raise DatabaseUrlError(f"{setting}: sslcert/sslkey need sslmode=require, verify-ca or verify-full")
    if options.get("sslkey") and not options.get("sslcert"):
        raise DatabaseUrlError(f"{setting}: sslkey needs sslcert (the client certificate it belongs to)")
    timeout: float | None = None
    if options.get("connect_timeout"):
        raw = options["connect_timeout"]
        if not raw.isdigit():
            raise DatabaseUrlError(f"{setting}: connect_timeout must be whole seconds, got {raw!r}")
        # libpq: 0 waits forever; 1 is taken as 2 (too short to be meant).
        timeout = None if int(raw) == 0 else float(max(int(raw), 2))
    parsed = DatabaseUrl(
        setting=setting,
        hosts=tuple(hosts),
        ports=tuple(numbers),
        database=database or user or "postgres",
        user=user,
        password=password,
        sslmode=sslmode,
        sslrootcert=options.get("sslrootcert") or None,
        sslcert=options.get("sslcert") or None,
        sslkey=options.get("sslkey") or None,
        sslpassword=options.get("sslpassword") or None,
        application_name=options.get("application_name") or None,
        connect_timeout=timeout,
        options=options.get("options") or None,
    )
    if sslmode in ("verify-ca", "verify-full") and parsed.sslrootcert is None and _default_rootcert() is None:
        raise DatabaseUrlError(
            f"{setting}: sslmode={sslmode} needs the CA that signed the server's certificate: add "
            "sslrootcert=/path/to/ca.pem (your host's CA bundle), or sslrootcert=system for the system's "
            "trusted CAs"
        )
    parsed.ssl_context()  # a CA or key file that cannot be read is a start-up error, not a failed connect
    return parsed
