"""The cffi declarations (libsse/_cdef.py) match include/sse.h exactly."""

from __future__ import annotations

import os
import re

import cffi
import pytest

import libsse
from libsse import _cdef, _errors
from conftest import REPO

HEADER = os.path.join(REPO, "include", "sse.h")


def header_text() -> str:
    if not os.path.exists(HEADER):
        pytest.skip("include/sse.h not found (installed package without the repository)")
    with open(HEADER) as f:
        return f.read()


def integer_defines(text: str) -> dict:
    """The header's integer constants, e.g. ``{"SSE_STATS_STATUS_SLOTS": 32}``
    (``(64 * 1024)`` evaluated: cffi takes only plain numbers)."""
    found = {}
    for name, expr in re.findall(r"^#define (\w+) ([ \d()*+-]+)$", text, flags=re.M):
        found[name] = eval(expr, {"__builtins__": {}})  # digits and operators only
    return found


def sanitize(header: str) -> str:
    """The header as cffi's cdef reads it: no comments, no preprocessor
    lines (integer constants kept, as plain numbers), no ``extern "C"``
    block (see TOOLCHAIN.md)."""
    text = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    lines = [f"#define {name} {value}" for name, value in integer_defines(text).items()]
    skip = 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#ifdef __cplusplus"):
            skip = 1
            continue
        if skip:
            if stripped.startswith("#endif"):
                skip = 0
            continue
        if stripped.startswith("#"):
            continue
        lines.append(line)
    return "\n".join(lines)


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")").strip()


def prototypes(text: str) -> dict:
    found = {}
    for statement in normalize(text).split(";"):
        statement = statement.strip()
        match = re.match(r"^[\w\s\*]*?\b(sse_\w+)\s*\(.*\)$", statement)
        if match and not statement.startswith("typedef"):
            found[match.group(1)] = statement
    return found


def test_header_parses_with_cffi_after_sanitizing() -> None:
    ffi = cffi.FFI()
    ffi.cdef(sanitize(header_text()))


def test_every_header_function_is_declared_identically() -> None:
    header = prototypes(sanitize(header_text()))
    ours = prototypes(_cdef.FUNCTIONS)
    assert header, "no prototype found in the header"
    missing = sorted(set(header) - set(ours))
    extra = sorted(set(ours) - set(header))
    assert not missing, f"functions of sse.h not declared in _cdef.py: {missing}"
    assert not extra, f"functions of _cdef.py absent from sse.h: {extra}"
    for name in header:
        assert ours[name] == header[name], name


def test_enums_match_the_header() -> None:
    header = cffi.FFI()
    header.cdef(sanitize(header_text()))
    ours = cffi.FFI()
    ours.cdef(_cdef.CDEF)
    for enum in ("sse_status", "sse_kind", "sse_close_reason", "sse_log_level", "sse_error_policy", "sse_on_end"):
        assert ours.typeof(f"enum {enum}").relements == header.typeof(f"enum {enum}").relements, enum
    for number, name in _errors.STATUS_NAMES.items():
        assert header.typeof("enum sse_status").relements[name] == number


def test_structs_match_the_header() -> None:
    """Same size, field offsets and types: cffi lays ``sse_stats`` out from _cdef.py."""
    header = cffi.FFI()
    header.cdef(sanitize(header_text()))
    ours = cffi.FFI()
    ours.cdef(_cdef.CDEF)
    for struct in ("struct sse_stats",):
        fields = [name for name, _ in header.typeof(struct).fields]
        assert [name for name, _ in ours.typeof(struct).fields] == fields, struct
        assert ours.sizeof(struct) == header.sizeof(struct), struct
        for (name, mine), (_, theirs) in zip(ours.typeof(struct).fields, header.typeof(struct).fields):
            assert ours.offsetof(struct, name) == header.offsetof(struct, name), (struct, name)
            assert mine.type.cname == theirs.type.cname, (struct, name)


def test_status_names_agree_with_the_library() -> None:
    for number, name in _errors.STATUS_NAMES.items():
        assert libsse._ffi.string(libsse._lib.sse_status_name(number)).decode() == name


def test_version_matches_the_header() -> None:
    match = re.search(r'#define SSE_VERSION_STRING "([^"]+)"', header_text())
    assert match and libsse.library_version() == match.group(1)


def test_soname_alone_is_found(tmp_path):
    """A runtime-only install has libsse.so.0 and no libsse.so link: the
    package, away from the checkout and without a library beside it,
    loads the SONAME from the system search path."""
    import shutil
    import subprocess
    import sys

    built = libsse._native.LIBRARY_PATH
    if not os.path.isabs(built):
        pytest.skip("libsse was loaded from the system search path")
    pkg = tmp_path / "site" / "libsse"
    shutil.copytree(os.path.dirname(libsse.__file__), pkg,
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy(built, libdir / "libsse.so.0")
    env = {k: v for k, v in os.environ.items() if k != "LIBSSE_LIBRARY"}
    env.update(PYTHONPATH=str(tmp_path / "site"), LD_LIBRARY_PATH=str(libdir))
    code = "import libsse, libsse._native as n; print(n.LIBRARY_PATH, libsse.Parser)"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("libsse.so.0 "), out.stdout
    # Without it, the error names both names it tried.
    (libdir / "libsse.so.0").unlink()
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "libsse.so and libsse.so.0 on the system search path" in out.stderr, out.stderr


def test_generated_ffi_declares_exactly_the_cdef() -> None:
    """``libsse/_abi.py`` (cffi's out-of-line ABI mode, what the package
    loads) holds the declarations of ``_cdef.py``: the same functions with
    the same C types, the same constants, types and struct layouts. After a
    change to _cdef.py: ``python3 libsse/_abi_build.py``."""
    from libsse import _abi

    def same(cname: str) -> str:  # `struct sse_event *` and `sse_event *` are one type
        return re.sub(r"\b(?:struct|enum) (sse_\w+)", r"\1", cname)

    generated = _abi.ffi
    parsed = cffi.FFI()
    parsed.cdef(_cdef.CDEF)
    ours = generated.dlopen(libsse.LIBRARY_PATH)
    theirs = parsed.dlopen(libsse.LIBRARY_PATH)
    assert sorted(dir(ours)) == sorted(dir(theirs)), "regenerate: python3 libsse/_abi_build.py"
    for name in dir(theirs):
        value = getattr(theirs, name)
        if isinstance(value, int):
            assert getattr(ours, name) == value, name
        else:
            assert same(generated.typeof(getattr(ours, name)).cname) == same(parsed.typeof(value).cname), name
    assert generated.list_types() == parsed.list_types()
    for typedef in parsed.list_types()[0]:
        assert same(generated.typeof(typedef).cname) == same(parsed.typeof(typedef).cname), typedef
    for struct in ("struct sse_stats",):
        assert generated.sizeof(struct) == parsed.sizeof(struct)
        assert [(n, same(f.type.cname), f.offset) for n, f in generated.typeof(struct).fields] == [
            (n, same(f.type.cname), f.offset) for n, f in parsed.typeof(struct).fields
        ]
    for enum in ("sse_status", "sse_kind", "sse_close_reason", "sse_log_level", "sse_error_policy", "sse_on_end"):
        assert generated.typeof(f"enum {enum}").relements == parsed.typeof(f"enum {enum}").relements, enum


def test_generated_ffi_is_what_the_generator_writes() -> None:
    """``_abi.py`` is the generator's output for this ``_cdef.py`` (same
    text when the installed cffi writes the format as the one that
    generated it did; cffi's format has been stable since 1.0)."""
    from libsse import _abi_build

    with open(_abi_build.TARGET) as f:
        committed = f.read()
    assert committed == _abi_build.source(), "regenerate: python3 libsse/_abi_build.py"


def test_import_needs_neither_pycparser_nor_asyncio() -> None:
    """``import libsse`` loads the pre-parsed declarations (no cffi parser)
    and leaves asyncio (and the ssl it imports) to the first use of the
    asyncio client."""
    import subprocess
    import sys

    code = (
        "import sys, libsse\n"
        "print(sorted(m for m in ('asyncio', 'ssl', 'pycparser', 'cffi') if m in sys.modules))\n"
        "libsse.connect_async\n"
        "print('asyncio' in sys.modules, libsse.AsyncClient.__module__, 'connect_async' in dir(libsse))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[]", "True libsse._async True"], out.stdout
