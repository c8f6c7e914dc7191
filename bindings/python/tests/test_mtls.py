"""cert=: client certificates (mutual TLS), against a demo server that
requires one (``--client-auth-out``)."""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import subprocess
import tempfile
from typing import Iterator

import pytest

import libsse
from libsse import InvalidArgument, TLSError
from conftest import DemoServer

TICKS = ["tick 1", "tick 2"]

# The library refuses an encrypted key by its PEM label alone: no real
# encryption needed to exercise the refusal.
FAKE_ENCRYPTED_KEY = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"


class MTLSServer:
    """The demo server in client-auth mode on loopback, and its files."""

    def __init__(self, server: DemoServer, tmp: pathlib.Path) -> None:
        self.server = server
        self.tmp = tmp
        self.url = server.url + "/ticker?count=2"
        self.ca = str(tmp / "ca.pem")
        self.client_pem = str(tmp / "client.pem")
        self.client_key = str(tmp / "client.key")
        self.stranger_pem = str(tmp / "stranger.pem")
        self.stranger_key = str(tmp / "stranger.key")
        self.combined = str(tmp / "client-combined.pem")  # certificate and key in one file
        with open(self.combined, "w") as out:
            for part in (self.client_pem, self.client_key):
                with open(part) as f:
                    out.write(f.read())
        self.encrypted_key = str(tmp / "fake-encrypted.key")
        with open(self.encrypted_key, "w") as f:
            f.write(FAKE_ENCRYPTED_KEY)


@pytest.fixture(scope="module")
def mtls() -> Iterator[MTLSServer]:
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="libsse-mtls-"))
    try:
        server = DemoServer("--tls", "--ca-out", str(tmp / "ca.pem"), "--client-auth-out", str(tmp))
        try:
            yield MTLSServer(server, tmp)
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 60))


def ticks(mtls: MTLSServer, **options) -> list:  # type: ignore[no-untyped-def]
    with libsse.connect(mtls.url, cafile=mtls.ca, retry_first_connect=False, max_retries=0, **options) as client:
        return [event.data for event in client]


async def ticks_async(mtls: MTLSServer, **options) -> list:  # type: ignore[no-untyped-def]
    async with libsse.connect_async(
        mtls.url, cafile=mtls.ca, retry_first_connect=False, max_retries=0, **options
    ) as client:
        return [event.data async for event in client]


# -- accepted certificate ------------------------------------------------------


def test_cert_and_key_tuple(mtls: MTLSServer) -> None:
    assert ticks(mtls, cert=(mtls.client_pem, mtls.client_key)) == TICKS
    assert ticks(mtls, cert=(pathlib.Path(mtls.client_pem), pathlib.Path(mtls.client_key))) == TICKS
    # httpx's triple, without a password.
    assert ticks(mtls, cert=(mtls.client_pem, mtls.client_key, None)) == TICKS


def test_single_file_holding_both(mtls: MTLSServer) -> None:
    assert ticks(mtls, cert=mtls.combined) == TICKS
    assert ticks(mtls, cert=pathlib.Path(mtls.combined)) == TICKS
    assert ticks(mtls, cert=(mtls.combined, None)) == TICKS


def test_async_with_accepted_cert(mtls: MTLSServer) -> None:
    async def main():  # type: ignore[no-untyped-def]
        return (
            await ticks_async(mtls, cert=(mtls.client_pem, mtls.client_key)),
            await ticks_async(mtls, cert=mtls.combined),
        )

    assert run(main()) == (TICKS, TICKS)


# -- refused by the server -----------------------------------------------------


def test_no_cert_is_a_tls_error(mtls: MTLSServer) -> None:
    with pytest.raises(TLSError):
        ticks(mtls)


def test_stranger_cert_is_a_tls_error(mtls: MTLSServer) -> None:
    with pytest.raises(TLSError):
        ticks(mtls, cert=(mtls.stranger_pem, mtls.stranger_key))


def test_async_tls_errors(mtls: MTLSServer) -> None:
    async def main(**options):  # type: ignore[no-untyped-def]
        with pytest.raises(TLSError):
            await ticks_async(mtls, **options)

    run(main())
    run(main(cert=(mtls.stranger_pem, mtls.stranger_key)))


def test_tls_error_item_without_cert(mtls: MTLSServer) -> None:
    with libsse.connect(mtls.url, cafile=mtls.ca, retry_first_connect=False) as client:
        items = list(client.all())
    errors = [item for item in items if isinstance(item, libsse.Error)]
    assert errors and isinstance(errors[0].error, TLSError) and errors[0].fatal


# -- refused at connect ----------------------------------------------------------


def test_encrypted_key_refused_at_connect(mtls: MTLSServer) -> None:
    for cert in ((mtls.client_pem, mtls.encrypted_key),):
        with pytest.raises(InvalidArgument, match="encrypted"):
            libsse.connect(mtls.url, cert=cert)
        with pytest.raises(InvalidArgument, match="encrypted"):
            libsse.connect_async(mtls.url, cert=cert)
    # A password cannot help: libsse reads only unencrypted keys.
    with pytest.raises(InvalidArgument, match="encrypted"):
        libsse.connect(mtls.url, cert=(mtls.client_pem, mtls.client_key, "secret"))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_really_encrypted_key_refused_at_connect(mtls: MTLSServer) -> None:
    """Keys encrypted by openssl, PKCS#8 and the traditional (Proc-Type) form."""
    tried = 0
    for name, args in (
        ("pkcs8", ["openssl", "pkey", "-aes256"]),
        ("traditional", ["openssl", "ec", "-aes256"]),  # the demo server's keys are ECDSA
    ):
        out = str(mtls.tmp / f"encrypted-{name}.key")
        done = subprocess.run(
            [*args, "-in", mtls.client_key, "-passout", "pass:secret", "-out", out],
            capture_output=True, timeout=30,
        )
        if done.returncode != 0:
            continue  # this openssl cannot write that form
        tried += 1
        with pytest.raises(InvalidArgument, match="encrypted"):
            libsse.connect(mtls.url, cert=(mtls.client_pem, out))
        combined = str(mtls.tmp / f"encrypted-{name}-combined.pem")
        with open(combined, "wb") as f:
            f.write(pathlib.Path(mtls.client_pem).read_bytes() + pathlib.Path(out).read_bytes())
        with pytest.raises(InvalidArgument, match="encrypted"):
            libsse.connect(mtls.url, cert=combined)
    assert tried, "openssl wrote no encrypted key"


def test_invalid_cert_values(mtls: MTLSServer) -> None:
    missing = str(mtls.tmp / "missing.pem")
    for bad in (
        missing,  # unreadable: the library's message
        (mtls.client_pem, missing),
        mtls.client_pem,  # no key in the file
        mtls.client_key,  # no certificate in the file
        "",
        "ca\0.pem",
        (mtls.client_pem, "key\0.pem"),
        42,
        (mtls.client_pem,),
        (mtls.client_pem, mtls.client_key, None, None),
        (mtls.client_pem, 7),
        (None, mtls.client_key),
    ):
        with pytest.raises(InvalidArgument) as info:
            libsse.connect(mtls.url, cert=bad)  # type: ignore[arg-type]
        assert str(info.value), bad
        with pytest.raises(InvalidArgument):
            libsse.connect_async(mtls.url, cert=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="missing.pem"):
        libsse.connect(mtls.url, cert=missing)
    with pytest.raises(ValueError):  # InvalidArgument is a ValueError
        libsse.connect(mtls.url, cert=(mtls.client_pem, missing))


def test_key_of_another_certificate(mtls: MTLSServer) -> None:
    """A key that does not match the certificate: InvalidArgument, not a
    TLS error, and not retried. (libsse checks the pair when it builds the
    TLS configuration for the first connection, not when it is set: the
    error comes out of iteration; accepting it at connect is fine too.)"""
    with pytest.raises(InvalidArgument, match="(?i)key"):
        with libsse.connect(mtls.url, cafile=mtls.ca, cert=(mtls.client_pem, mtls.stranger_key)) as client:
            list(client)


def test_pem_entry_point(mtls: MTLSServer) -> None:
    """sse_config_set_client_cert_pem, declared in the cdef, through the ABI."""
    ffi, lib = libsse._ffi, libsse._lib
    chain = pathlib.Path(mtls.client_pem).read_bytes()
    key = pathlib.Path(mtls.client_key).read_bytes()
    config = lib.sse_config_new(mtls.url.encode())
    try:
        assert lib.sse_config_set_client_cert_pem(config, chain, len(chain), key, len(key)) == libsse._errors.OK
        encrypted = FAKE_ENCRYPTED_KEY.encode()
        status = lib.sse_config_set_client_cert_pem(config, chain, len(chain), encrypted, len(encrypted))
        assert status == libsse._errors.ERR_ARGUMENT
        assert b"encrypted" in ffi.string(lib.sse_config_last_error(config))
    finally:
        lib.sse_config_free(config)


def test_cert_files_are_read_at_connect(mtls: MTLSServer) -> None:
    """The files are read by connect(): removing them afterwards is harmless."""
    copy = str(mtls.tmp / "copy.pem")
    shutil.copy(mtls.combined, copy)
    client = libsse.connect(mtls.url, cafile=mtls.ca, cert=copy, retry_first_connect=False, max_retries=0)
    os.unlink(copy)
    with client:
        assert [event.data for event in client] == TICKS
