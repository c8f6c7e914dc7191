"""Builds ``libsse._speedups``, the optional batch packer (cffi API mode).

The binding calls libsse through cffi's ABI mode (no compiler needed).
Reading one event through the C ABI takes four calls (type, data, id,
free), about 1 us per event from Python. This small C module makes those
calls natively for a whole batch and packs every message of the batch into
two buffers (``data NUL`` per message; ``type NUL id NUL`` per message,
flagged when all messages share the first type and id, the common case),
so Python crosses the FFI boundary once per batch and builds the events
with a handful of C-speed operations (one decode, one split, zip/map).

Client items come through ``sse_next_batch`` (one network read's items,
owned by the batch: no per-event free); parser items through
``sse_parser_next``. Messages the packing cannot carry (NUL bytes in data
or type, a per-message ``retry``) go through the slow path.

It does not link against libsse: the binding hands it the addresses of the
libsse functions it loaded (``libsse_py_api``), so it works with whichever
``libsse.so`` the binding found. Without a C compiler the package still
works, only slower (see ``libsse.ACCELERATED``).

Build in place (what ``run-tests.sh`` does)::

    python3 -m libsse._speedups_build
"""

import os

import cffi

CDEF = """
struct sse_event;
struct sse_client;
struct sse_parser;
struct sse_batch;

typedef struct libsse_py_api {
    int (*next_batch)(struct sse_client *, int32_t, struct sse_batch **);
    uintptr_t (*batch_len)(const struct sse_batch *);
    const struct sse_event *(*batch_event)(const struct sse_batch *, uintptr_t);
    void (*batch_free)(struct sse_batch *);
    int (*parser_next)(struct sse_parser *, struct sse_event **);
    int (*kind)(const struct sse_event *);
    const char *(*type)(const struct sse_event *);
    uintptr_t (*type_len)(const struct sse_event *);
    const char *(*data)(const struct sse_event *, uintptr_t *);
    const char *(*id)(const struct sse_event *);
    uintptr_t (*id_len)(const struct sse_event *);
    int64_t (*retry)(const struct sse_event *);
    void (*free)(struct sse_event *);
} libsse_py_api;

typedef struct libsse_py_batch {
    struct sse_batch *batch;
    struct sse_event **evs;
    size_t max;
    size_t pos;
    size_t count;
    char *out;
    size_t cap;
    char *meta;
    size_t meta_cap;
    size_t packed;
    size_t used;
    size_t meta_used;
    int uniform;
    int other;
    size_t seq;
    size_t max_pack;
} libsse_py_batch;

int libsse_py_client_pull(const libsse_py_api *api, struct sse_client *client,
                          int32_t timeout_ms, libsse_py_batch *b, int skip_comments);
int libsse_py_parser_pull(const libsse_py_api *api, struct sse_parser *parser,
                          libsse_py_batch *b, int skip_comments);
const struct sse_event *libsse_py_current(const libsse_py_api *api, libsse_py_batch *b);
void libsse_py_advance(const libsse_py_api *api, libsse_py_batch *b);
void libsse_py_batch_release(const libsse_py_api *api, libsse_py_batch *b);
"""

SOURCE = r"""
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sse_event;
struct sse_client;
struct sse_parser;
struct sse_batch;

/* libsse functions, by address (enums are returned as int). */
typedef struct libsse_py_api {
    int (*next_batch)(struct sse_client *, int32_t, struct sse_batch **);
    uintptr_t (*batch_len)(const struct sse_batch *);
    const struct sse_event *(*batch_event)(const struct sse_batch *, uintptr_t);
    void (*batch_free)(struct sse_batch *);
    int (*parser_next)(struct sse_parser *, struct sse_event **);
    int (*kind)(const struct sse_event *);
    const char *(*type)(const struct sse_event *);
    uintptr_t (*type_len)(const struct sse_event *);
    const char *(*data)(const struct sse_event *, uintptr_t *);
    const char *(*id)(const struct sse_event *);
    uintptr_t (*id_len)(const struct sse_event *);
    int64_t (*retry)(const struct sse_event *);
    void (*free)(struct sse_event *);
} libsse_py_api;

/* Items taken from libsse wait at [pos..count) of one source: a packed
 * batch of a client (`batch`, which owns its events: one free for all), or
 * owned events of a parser in evs (each freed when handed out; slots
 * before pos are NULL, so freeing every non-NULL slot of evs[0..count) is
 * always correct, even after a KeyboardInterrupt). */
typedef struct libsse_py_batch {
    struct sse_batch *batch; /* the client source, or NULL */
    struct sse_event **evs;  /* the parser source */
    size_t max;      /* capacity of evs */
    size_t pos;      /* first item not handed out yet */
    size_t count;    /* items in the source */
    char *out;       /* packed data: data NUL per message */
    size_t cap;      /* capacity of out */
    char *meta;      /* packed type NUL id NUL per message */
    size_t meta_cap; /* capacity of meta */
    size_t packed;   /* messages packed by the last call */
    size_t used;     /* bytes of out used by the last call */
    size_t meta_used;/* bytes of meta used by the last call */
    int uniform;     /* every packed message has the type and id of the first */
    int other;       /* the last call stopped at an item for the slow path (at pos) */
    size_t seq;      /* counts the calls that produced a result */
    size_t max_pack; /* most messages packed per call (0: no limit) */
} libsse_py_batch;

#define KIND_MESSAGE 0
#define KIND_COMMENT 1

/* The item at pos (NULL when none is left). */
const struct sse_event *libsse_py_current(const libsse_py_api *api, libsse_py_batch *b)
{
    if (b->pos >= b->count)
        return NULL;
    return b->batch != NULL ? api->batch_event(b->batch, b->pos) : b->evs[b->pos];
}

/* Hands the item at pos out: frees it if it is an owned event. */
void libsse_py_advance(const libsse_py_api *api, libsse_py_batch *b)
{
    if (b->pos >= b->count)
        return;
    if (b->batch == NULL) {
        struct sse_event *ev = b->evs[b->pos];
        b->evs[b->pos] = NULL;
        api->free(ev);
    }
    b->pos++;
}

/* Frees every item still held. */
void libsse_py_batch_release(const libsse_py_api *api, libsse_py_batch *b)
{
    if (b->batch != NULL) {
        api->batch_free(b->batch);
        b->batch = NULL;
    }
    for (size_t i = 0; i < b->count && i < b->max; i++) {
        if (b->evs[i] != NULL) {
            api->free(b->evs[i]);
            b->evs[i] = NULL;
        }
    }
    b->pos = 0;
    b->count = 0;
    b->other = 0;
    b->packed = 0;
}

/* Packs the messages from pos on; stops at any other kind (except comments
 * when skip_comments), at a message the packing cannot carry (a NUL byte
 * in its data, type or id: NUL is the separator; a per-message retry),
 * when a buffer is full or after max_pack messages. The slow path converts
 * what it stops at. */
static void pack(const libsse_py_api *api, libsse_py_batch *b, int skip_comments)
{
    size_t used = 0, meta_used = 0, packed = 0;
    const char *first_type = NULL, *first_id = NULL;
    size_t first_type_len = 0, first_id_len = 0;
    int uniform = 1;
    const struct sse_event *ev;
    while ((b->max_pack == 0 || packed < b->max_pack) && (ev = libsse_py_current(api, b)) != NULL) {
        int kind = api->kind(ev);
        if (kind != KIND_MESSAGE) {
            if (kind == KIND_COMMENT && skip_comments) {
                libsse_py_advance(api, b);
                continue;
            }
            break;
        }
        const char *type = api->type(ev);
        size_t type_len = api->type_len(ev);
        uintptr_t data_len = 0;
        const char *data = api->data(ev, &data_len);
        const char *id = api->id(ev);
        size_t id_len = api->id_len(ev);
        if (data_len >= b->cap - used || type_len + id_len + 2 > b->meta_cap - meta_used)
            break;
        if (data_len != 0 && memchr(data, 0, data_len) != NULL)
            break;
        if (memchr(type, 0, type_len) != NULL || api->retry(ev) >= 0)
            break;
        memcpy(b->out + used, data, data_len);
        used += data_len;
        b->out[used++] = 0;
        char *m = b->meta + meta_used;
        memcpy(m, type, type_len); m[type_len] = 0;
        memcpy(m + type_len + 1, id, id_len); m[type_len + 1 + id_len] = 0;
        if (packed == 0) {
            first_type = m; first_type_len = type_len;
            first_id = m + type_len + 1; first_id_len = id_len;
        } else if (uniform && (type_len != first_type_len || id_len != first_id_len
                               || memcmp(type, first_type, type_len) != 0
                               || memcmp(id, first_id, id_len) != 0)) {
            uniform = 0;
        }
        meta_used += type_len + id_len + 2;
        libsse_py_advance(api, b);
        packed++;
    }
    b->packed = packed;
    b->used = used;
    b->meta_used = meta_used;
    b->uniform = uniform;
}

/* A result (the packed messages, or the item at pos when `other`) stays
 * in the batch until the next call: Python converts it, and a conversion
 * cut short (a KeyboardInterrupt) is done again from the same result, the
 * binding comparing `seq` with the last result it took. The next call
 * drops the result: it hands the slow-path item out. */
static void start_pull(const libsse_py_api *api, libsse_py_batch *b)
{
    if (b->other) {
        b->other = 0;
        libsse_py_advance(api, b);
    }
    b->packed = 0;
    b->used = 0;
    b->meta_used = 0;
}

/* Packs, then records the result. */
static void finish_pull(const libsse_py_api *api, libsse_py_batch *b, int skip_comments)
{
    pack(api, b, skip_comments);
    b->other = b->packed == 0 && b->pos < b->count;
    b->seq++;
}

/* Takes a batch from the client when none is pending (waiting up to
 * timeout_ms), then packs. Returns SSE_OK (0) or the status of
 * sse_next_batch (SSE_TIMEOUT, SSE_CLOSED, the final error). */
int libsse_py_client_pull(const libsse_py_api *api, struct sse_client *client,
                          int32_t timeout_ms, libsse_py_batch *b, int skip_comments)
{
    start_pull(api, b);
    if (b->pos >= b->count) {
        libsse_py_batch_release(api, b);
        struct sse_batch *batch = NULL;
        int status = api->next_batch(client, timeout_ms, &batch);
        if (status != 0)
            return status;
        b->batch = batch;
        b->count = api->batch_len(batch);
    }
    finish_pull(api, b, skip_comments);
    return 0;
}

/* Takes the parser's pending items when none is pending here, then packs.
 * Returns 0, or 1 (SSE_TIMEOUT) when the parser has nothing pending. */
int libsse_py_parser_pull(const libsse_py_api *api, struct sse_parser *parser,
                          libsse_py_batch *b, int skip_comments)
{
    start_pull(api, b);
    if (b->pos >= b->count) {
        libsse_py_batch_release(api, b);
        while (b->count < b->max) {
            struct sse_event *ev = NULL;
            if (api->parser_next(parser, &ev) != 0)
                break;
            b->evs[b->count++] = ev;
        }
        if (b->count == 0)
            return 1;
    }
    finish_pull(api, b, skip_comments);
    return 0;
}
"""

ffibuilder = cffi.FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source("libsse._speedups", SOURCE, extra_compile_args=["-O2"])


def build_in_place() -> str:
    """Compiles the module and copies it next to this file; returns its path."""
    import shutil
    import tempfile

    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(prefix="libsse-cffi-") as tmp:
        built = ffibuilder.compile(tmpdir=tmp, verbose=False)
        target = os.path.join(here, os.path.basename(built))
        shutil.copyfile(built, target + ".tmp")
        os.replace(target + ".tmp", target)
    return target


if __name__ == "__main__":
    path = build_in_place()
    print(path)
