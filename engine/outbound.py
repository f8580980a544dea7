"""Outbound requests (webhooks, service tasks) reach only public addresses, and exactly the one that was checked.

A URL comes from an administrator or a model, so it may point back inside: at this machine, the database's
network or the cloud's metadata service (``169.254.169.254`` hands out credentials). Every spelling of an
address counts — ``2852039166``, ``0xA9FEA9FE``, ``0251.0376.0251.0376``, ``169.254.169.254.``,
``[::ffff:169.254.169.254]``, NAT64 and 6to4 forms — because the system's resolver accepts them all. So the
host is resolved once (numeric forms the way the C library reads them, names through an injectable
resolver), every address it gives is normalised with :mod:`ipaddress` and must be global unicast unless
allow-listed (``HUHUA_OUTBOUND_ALLOW``: addresses or networks, e.g. ``127.0.0.1`` for a receiver on this
machine in tests), and the connection is then made to that checked address, with the name kept for the
``Host`` header and TLS (SNI and certificate), so a name cannot resolve to somewhere else between check and use.
Redirects are never followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: host, port -> the addresses the name stands for (as text).
Resolver = Callable[[str, int], list[str]]

#: Cloud metadata services: refused even inside an allow-listed network.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.123", "100.100.100.200", "fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL = 2000
_URL_SAFE = "/%:@!$&'()*+,;=-._~?"  # what stays as it is in a path or query; the rest (non-ASCII, spaces) is quoted


class RefusedAddress(Exception):
    """The URL may not be called; the message names the host and why."""


class Unresolved(RefusedAddress):
    """The host's name did not resolve, which may pass (a resolver away for a moment), unlike a refusal."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise Unresolved(f"host '{host}' does not resolve: {err}") from None
    return [str(info[4][0]) for info in answers]


@dataclass(frozen=True)
class OutboundPolicy:
    #: Addresses or networks that may be called although not public (a receiver on this machine, say).
    allow: tuple[Network, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)
    #: Certificates trusted for https (None: the system's); tests give their own authority.
    tls: ssl.SSLContext | None = field(default=None, compare=False)

    @classmethod
    def from_allow(cls, entries: Iterable[str], resolver: Resolver = system_resolver) -> OutboundPolicy:
        """``entries`` as ``HUHUA_OUTBOUND_ALLOW`` gives them: addresses or CIDR networks."""
        networks = []
        for entry in (e.strip() for e in entries):
            if entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(f"HUHUA_OUTBOUND_ALLOW: '{entry}' is neither an address nor a network") from None
        return cls(tuple(networks), resolver)

    def target(self, url: str) -> Target:
        """Where ``url`` may be called: its parts and the one checked address; RefusedAddress otherwise."""
        if len(url) > MAX_URL:
            raise RefusedAddress(f"the URL is longer than {MAX_URL} characters")
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise RefusedAddress(f"'{shown_url(url)}' has a bad port") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RefusedAddress(f"'{shown_url(url)}' is not an http(s) URL")
        host = parts.hostname.rstrip(".")  # 'a.b.' is 'a.b' to the resolver
        literal = numeric_address(host)
        candidates = [literal] if literal is not None else [_parse(a) for a in self.resolver(host, port)]
        if not candidates:
            raise Unresolved(f"host '{host}' does not resolve")
        for address in candidates:  # every address the name has must be fine: the resolver picks any of them
            reason = self.refusal(address)
            if reason:
                shown = host if literal is None else parts.hostname
                raise RefusedAddress(f"'{shown}' is {address}, {reason}; outbound requests go to public addresses "
                                     "only (HUHUA_OUTBOUND_ALLOW lists exceptions)")
        query = f"?{quote(parts.query, safe=_URL_SAFE)}" if parts.query else ""
        path = quote(parts.path or "/", safe=_URL_SAFE) + query
        return Target(parts.scheme, parts.hostname, port, candidates[0], path)

    def refusal(self, address: Address) -> str | None:
        """Why ``address`` may not be called, or None."""
        inner = embedded_ipv4(address) or address
        if inner in METADATA or address in METADATA:
            return "a cloud metadata address"
        if any(inner in network or address in network for network in self.allow):
            return None
        for flag, reason in (("is_loopback", "a loopback address"), ("is_private", "a private address"),
                             ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
                             ("is_unspecified", "the unspecified address"), ("is_reserved", "a reserved address")):
            if getattr(inner, flag) or getattr(address, flag):
                return reason
        if not inner.is_global:
            return "not a public address"
        return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written: the Host header and the TLS server name
    port: int
    address: Address  # the checked address the connection goes to
    path: str


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def shown_url(url: str) -> str:
    """``url`` as messages may show it: no query, fragment or credentials, which may carry a key or token."""
    parts = urlsplit(url)
    host = (parts.netloc.rpartition("@")[2] or "") if parts.netloc else ""
    shown = f"{parts.scheme}://{host}{parts.path}" if parts.scheme or host else parts.path
    return shown + ("?…" if parts.query or parts.fragment else "")


def numeric_address(host: str) -> Address | None:
    """``host`` as an address if it is written as one, in any spelling the C library accepts; None for a name."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))  # 2852039166, 0xA9FEA9FE, 0251.0376.0251.0376, 127.1
    except OSError:
        return None


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo), which is where the packets end up."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    return None


def request(policy: OutboundPolicy, method: str, url: str, *, body: bytes | None, headers: dict[str, str],
            timeout: float, max_bytes: int) -> Answer:
    """One request to the checked address of ``url``, no redirects; at most ``max_bytes + 1`` bytes of answer read.

    RefusedAddress for a URL that may not be called; OSError (or http.client.HTTPException) when the call fails.
    """
    target = policy.target(url)
    connection = _connection(target, timeout, policy.tls)
    try:
        connection.request(method, target.path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.headers.get_content_type(), response.read(max_bytes + 1))
    finally:
        connection.close()


def _connection(target: Target, timeout: float, tls: ssl.SSLContext | None) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _PinnedHTTPS(target.host, target.port, timeout=timeout, address=str(target.address),
                            context=tls or ssl.create_default_context())
    return _PinnedHTTP(target.host, target.port, timeout=timeout, address=str(target.address))


class _PinnedHTTP(http.client.HTTPConnection):
    """Speaks to ``host`` (its Host header) but connects to the address that was checked."""

    def __init__(self, host: str, port: int, *, timeout: float, address: str) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to the checked address, with ``host`` as the server name (SNI) and the certificate's name."""

    def __init__(self, host: str, port: int, *, timeout: float, address: str, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        plain = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(plain, server_hostname=self.host)


def _parse(text: str) -> Address:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        raise RefusedAddress(f"the resolver answered '{text}', which is not an address") from None
