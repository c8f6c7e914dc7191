/*
 * libsse._speedups: builds the Event objects of a batch straight from
 * libsse's memory (a CPython extension; optional, see _speedups_build.py).
 *
 * One call per pull: it takes a batch (sse_next_batch, the GIL released
 * while it waits) or the parser's pending items (sse_parser_next), and
 * turns the consecutive messages from the current position into a list of
 * Event named tuples: each tuple allocated with the Event type's tp_alloc
 * and filled in place, each data string decoded once from the library's
 * bytes (PyUnicode_DecodeUTF8, "replace": one copy), and the type and id
 * strings shared with the previous event when their bytes are equal (no
 * copy for a type or id shared by many events). Other kinds (open, error,
 * comments unless skipped, ...) stop a run: their address goes back to
 * Python, which converts them through cffi (the slow path).
 *
 * It does not link against libsse: bind() receives the addresses of the
 * libsse functions the binding loaded through cffi, so it works with
 * whichever libsse.so the binding found.
 *
 * The hand-over protocol (see _batch.py): a pull returns a result and its
 * number seq; the result stays in the Batch until a pull is made with
 * taken == seq (the caller stored it when it took the result). A pull with
 * taken != seq (a KeyboardInterrupt struck between the call and the
 * hand-over) returns the same result again.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

struct sse_event;
struct sse_client;
struct sse_parser;
struct sse_batch;

/* sse_item_view: an item's fields as the accessors give them (libsse
 * fills a whole batch's with one sse_batch_views call). */
struct view {
    const struct sse_event *event;
    int kind;
    const char *type;
    uintptr_t type_len;
    const char *data;
    uintptr_t data_len;
    const char *id;
    uintptr_t id_len;
    int64_t retry;
};

/* libsse functions, by address (enums are returned as int). */
static struct {
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
    uintptr_t (*views)(const struct sse_batch *, uintptr_t, struct view *, uintptr_t);
} api;

#define API_FUNCTIONS 14

static PyTypeObject *event_type = NULL; /* libsse.Event (a NamedTuple), bound by bind() */

#define KIND_MESSAGE 0
#define SMALL_BATCH 64 /* items a Batch keeps room for between pulls */
#define KIND_COMMENT 1
#define STATUS_TIMEOUT 1

/* A type or id string shared by consecutive events: the str object, whose
 * UTF-8 form the next event's bytes are compared with (a compact ASCII str
 * is its own UTF-8; another keeps its UTF-8 once asked). Only the object:
 * no copy of its bytes in every client's Batch. */
#define CACHE_BYTES 128
typedef struct {
    PyObject *str;
    const char *utf8; /* its UTF-8 form (owned by str) */
    Py_ssize_t len;
} cached_str;

typedef struct {
    PyObject_HEAD
    struct sse_batch *batch;  /* the client source, or NULL */
    struct sse_event **evs;   /* the parser source: owned events (NULL once handed out) */
    size_t max;               /* capacity of evs */
    size_t pos;               /* first item not handed out yet */
    size_t count;             /* items in the source */
    /* (the flags as bytes, together: a Batch per client, 8 bytes less) */
    unsigned char other;       /* the last result is the item at pos (slow path) */
    unsigned char in_pull;     /* a pull is waiting with the GIL released */
    unsigned char views_ready; /* views holds the current source's items */
    Py_ssize_t seq;           /* counts the pulls that produced a result */
    Py_ssize_t max_pack;      /* most messages per result (0: no limit) */
    Py_ssize_t max_bytes;     /* data bytes per result, about (0: no limit) */
    PyObject *result;         /* the last result's events (an iterator), or NULL */
    const struct view **scratch; /* the messages of the run being built */
    size_t scratch_cap;
    struct view *views;       /* every item of the source (count of them) */
    size_t views_cap;
    cached_str type_cache;
    cached_str id_cache;
} Batch;

/* The item at pos (NULL when none is left). */
static const struct sse_event *current(Batch *b, size_t p)
{
    if (p >= b->count)
        return NULL;
    return b->views[p].event;
}

/* Room for `n` views; 0, or -1 with MemoryError set. */
static int reserve_views(Batch *b, size_t n)
{
    if (n <= b->views_cap)
        return 0;
    struct view *views = PyMem_Realloc(b->views, n * sizeof(*views));
    if (views == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->views = views;
    b->views_cap = n;
    return 0;
}

/* An owned event's view, from the accessors (the parser source). */
static void view_of(const struct sse_event *ev, struct view *v)
{
    v->event = ev;
    v->kind = api.kind(ev);
    v->type = api.type(ev);
    v->type_len = api.type_len(ev);
    v->data = api.data(ev, &v->data_len);
    v->id = api.id(ev);
    v->id_len = api.id_len(ev);
    v->retry = api.retry(ev);
}

/* Hands the item at pos out: frees it if it is an owned (parser) event. */
static void advance(Batch *b)
{
    if (b->pos >= b->count)
        return;
    if (b->batch == NULL && b->evs != NULL) {
        struct sse_event *ev = b->evs[b->pos];
        b->evs[b->pos] = NULL;
        if (ev != NULL)
            api.free(ev);
    }
    b->pos++;
}

/* Frees the views and the scratch array (nothing may point into them). */
static void free_arrays(Batch *b)
{
    PyMem_Free(b->views);
    b->views = NULL;
    b->views_cap = 0;
    b->views_ready = 0;
    PyMem_Free(b->scratch);
    b->scratch = NULL;
    b->scratch_cap = 0;
}

/* Frees every item still held. */
static void release_items(Batch *b)
{
    if (b->batch != NULL) {
        struct sse_batch *batch = b->batch;
        b->batch = NULL;
        api.batch_free(batch);
    }
    if (b->evs != NULL) {
        for (size_t i = 0; i < b->max; i++) {
            if (b->evs[i] != NULL) {
                struct sse_event *ev = b->evs[i];
                b->evs[i] = NULL;
                api.free(ev);
            }
        }
    }
    b->pos = 0;
    b->count = 0;
    b->views_ready = 0;
    /* Sized to the traffic: the arrays of a burst's large batch go with
     * it (a quiet client keeps room for a few items, not ~100 KB). */
    if (b->views_cap > SMALL_BATCH) {
        PyMem_Free(b->views);
        b->views = NULL;
        b->views_cap = 0;
    }
    if (b->scratch_cap > SMALL_BATCH) {
        PyMem_Free(b->scratch);
        b->scratch = NULL;
        b->scratch_cap = 0;
    }
    b->other = 0;
}

/* Whether n bytes at a and b are equal (short strings, such as an event
 * type, compared inline: cheaper than a call to memcmp). */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
    if (n > 16)
        return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* A str of bytes, shared with the previous one when they are equal. */
static PyObject *shared_str(cached_str *cache, const char *bytes, size_t len)
{
    if (cache->str != NULL && (size_t)cache->len == len && same_bytes(cache->utf8, bytes, len)) {
        Py_INCREF(cache->str);
        return cache->str;
    }
    PyObject *str = PyUnicode_DecodeUTF8(bytes, (Py_ssize_t)len, "replace");
    if (str == NULL)
        return NULL;
    if (len <= CACHE_BYTES) {
        /* its UTF-8 form, kept with it (a "replace"d string's differs
         * from bytes: never equal to them, so decoded each time) */
        Py_ssize_t utf8_len;
        const char *utf8 = PyUnicode_AsUTF8AndSize(str, &utf8_len);
        if (utf8 == NULL) {
            PyErr_Clear(); /* (no memory for its UTF-8): not cached */
            return str;
        }
        Py_INCREF(str);
        Py_XSETREF(cache->str, str);
        cache->utf8 = utf8;
        cache->len = utf8_len;
    }
    return str;
}

/* ------------------------------------------------------------- recycling
 * Up to 3.13, an Event freed goes to a short list of its own (its items
 * cleared, its memory kept) and new_event() takes it from there: no
 * allocation, no generic subclass deallocation (subtype_dealloc re-tracks
 * the object for the collector only for tuple's dealloc to untrack it)
 * and no freeing per event: a quarter of the consumer's CPU per small
 * event (146 -> 110 ns on 3.11). bind() sets event_dealloc as the Event type's dealloc
 * when the type is a plain tuple subclass (NamedTuple's: no __del__, no
 * weak references, no dict); a side effect: `obj.__class__ = Event` from
 * another NamedTuple is refused (CPython then sees a different layout). Not
 * in builds that count references
 * (Py_REF_DEBUG, Py_TRACE_REFS), nor free-threaded ones (the list relies
 * on the GIL). Tools that follow allocations (tracemalloc) see a reused
 * event as its first allocation. */
#if PY_VERSION_HEX < 0x030E0000 && !defined(Py_GIL_DISABLED) && !defined(Py_REF_DEBUG) \
    && !defined(Py_TRACE_REFS)
#define RECYCLE_EVENTS 1
#else
#define RECYCLE_EVENTS 0
#endif

#if RECYCLE_EVENTS
#ifndef Py_SET_REFCNT /* (3.8) */
#define Py_SET_REFCNT(ob, n) (Py_REFCNT(ob) = (n))
#endif
#if PY_VERSION_HEX >= 0x03090000
#define GC_IS_TRACKED(op) PyObject_GC_IsTracked(op)
#define GC_IS_FINALIZED(op) PyObject_GC_IsFinalized(op)
#else
#define GC_IS_TRACKED(op) _PyObject_GC_IS_TRACKED(op)
#define GC_IS_FINALIZED(op) _PyGC_FINALIZED(op)
#endif
#define RECYCLED_MAX 32
static PyObject *recycled[RECYCLED_MAX];
static int recycled_count = 0;

/* Whether every item of the tuple op is a str, an int, None or empty: what
 * the builder's events hold, whose freeing frees no other object. */
static inline int holds_only_atoms(PyObject *op)
{
    for (Py_ssize_t i = 0; i < Py_SIZE(op); i++) {
        PyObject *item = ((PyTupleObject *)op)->ob_item[i];
        if (item != NULL && item != Py_None && !PyUnicode_CheckExact(item) && !PyLong_CheckExact(item))
            return 0;
    }
    return 1;
}

/* event_dealloc's work once op is untracked: its items released, its
 * memory recycled or freed, its type's reference dropped. */
static void event_release(PyObject *op, PyTypeObject *type, int own)
{
    Py_ssize_t n = Py_SIZE(op);
    for (Py_ssize_t i = 0; i < n; i++)
        Py_CLEAR(((PyTupleObject *)op)->ob_item[i]);
    /* (not one a finalizer ran on: the mark would stay with the memory) */
    if (own && type == event_type && n == 4 && type->tp_finalize == NULL && !GC_IS_FINALIZED(op)
        && recycled_count < RECYCLED_MAX)
        recycled[recycled_count++] = op;
    else
        type->tp_free(op);
    Py_DECREF(type);
}

/* The Event type's tp_dealloc (set by bind()). An instance of a heap type
 * holds a reference to its type, dropped here: also for a subclass of
 * Event, whose subtype_dealloc calls this as its base's (having run the
 * subclass's finalizer) and leaves that to a base that is a heap type
 * (CPython 3.8 and later). Like tuple's dealloc, it goes through the
 * trashcan when an item may hold more objects: a chain of Events made by
 * hand, each holding the next, is freed without a C recursion per link. A `__del__` given to Event
 * itself later runs first (then the event is not recycled). */
static void event_dealloc(PyObject *op)
{
    PyTypeObject *type = Py_TYPE(op);
    int own = type->tp_dealloc == event_dealloc; /* not a subclass's base call */
    if (own && type->tp_finalize != NULL) {
        if (!GC_IS_TRACKED(op))
            PyObject_GC_Track(op); /* (as subtype_dealloc: resurrected, it stays tracked) */
        if (PyObject_CallFinalizerFromDealloc(op) < 0)
            return; /* resurrected */
    }
    PyObject_GC_UnTrack(op);
    if (holds_only_atoms(op)) {
        event_release(op, type, own); /* (freeing them cannot come back here) */
        return;
    }
    Py_TRASHCAN_BEGIN(op, event_dealloc)
    event_release(op, type, own);
    Py_TRASHCAN_END
}

/* Whether `type`'s instances may be recycled: a heap type directly below
 * tuple, with nothing of its own to finalize or clear. */
static int recyclable(PyTypeObject *type)
{
    return (type->tp_flags & Py_TPFLAGS_HEAPTYPE) && type->tp_base == &PyTuple_Type
        && type->tp_finalize == NULL && type->tp_del == NULL && type->tp_weaklistoffset == 0
        && type->tp_dictoffset == 0 && type->tp_free == PyObject_GC_Del;
}
#endif

/* An Event of four NULL items, not tracked by the cycle collector: it
 * will hold only strs, an int or None, so it cannot be part of a cycle
 * (CPython untracks such tuples itself, lazily). Up to 3.13, a tuple
 * subclass instance is its header and items: a recycled one, or one
 * allocated as tuple.__new__(Event, ...) would, minus the zeroing and the
 * tracking. Later versions (a tuple may carry more state, e.g. a cached
 * hash) get a plain tuple here, which finish_event() passes to
 * tuple.__new__. */
static PyObject *new_event(void)
{
#if RECYCLE_EVENTS
    if (recycled_count > 0 && event_type->tp_dealloc == event_dealloc) {
        PyObject *tuple = recycled[--recycled_count];
        Py_SET_REFCNT(tuple, 1); /* (its items were cleared when it was freed) */
        Py_INCREF(event_type);
        return tuple;
    }
#endif
#if PY_VERSION_HEX < 0x030E0000
    PyObject *tuple = (PyObject *)PyObject_GC_NewVar(PyTupleObject, event_type, 4);
    if (tuple == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < 4; i++)
        PyTuple_SET_ITEM(tuple, i, NULL);
    return tuple;
#else
    return PyTuple_New(4);
#endif
}

/* The filled result of new_event() as an Event (steals the reference). */
static PyObject *finish_event(PyObject *tuple)
{
#if PY_VERSION_HEX < 0x030E0000
    return tuple;
#else
    PyObject *args = PyTuple_Pack(1, tuple);
    Py_DECREF(tuple);
    if (args == NULL)
        return NULL;
    PyObject *event = PyTuple_Type.tp_new(event_type, args, NULL);
    Py_DECREF(args);
    return event;
#endif
}

/* One message as an Event; NULL with an exception set on failure. Every
 * field is read from the view (the library's memory) before the Event is
 * allocated: that allocation may run the collector, whose finalizers may
 * let another thread close the client and free the batch; strings and
 * ints never trigger a collection. */
static PyObject *make_event(Batch *b, const struct view *v)
{
    PyObject *type = shared_str(&b->type_cache, v->type, v->type_len);
    if (type == NULL)
        return NULL;
    PyObject *data = PyUnicode_DecodeUTF8(v->data != NULL ? v->data : "",
                                          (Py_ssize_t)(v->data != NULL ? v->data_len : 0), "replace");
    if (data == NULL) {
        Py_DECREF(type);
        return NULL;
    }
    PyObject *id = shared_str(&b->id_cache, v->id, v->id_len);
    if (id == NULL) {
        Py_DECREF(type);
        Py_DECREF(data);
        return NULL;
    }
    PyObject *retry = Py_None;
    if (v->retry >= 0)
        retry = PyLong_FromLongLong((long long)v->retry);
    else
        Py_INCREF(retry);
    if (retry == NULL) {
        Py_DECREF(type);
        Py_DECREF(data);
        Py_DECREF(id);
        return NULL;
    }
    /* (v is not read from here on) */
    PyObject *tuple = new_event();
    if (tuple == NULL) {
        Py_DECREF(type);
        Py_DECREF(data);
        Py_DECREF(id);
        Py_DECREF(retry);
        return NULL;
    }
    PyTuple_SET_ITEM(tuple, 0, type);
    PyTuple_SET_ITEM(tuple, 1, data);
    PyTuple_SET_ITEM(tuple, 2, id);
    PyTuple_SET_ITEM(tuple, 3, retry);
    return finish_event(tuple);
}

/* ------------------------------------------------------------------- run
 * The events of a client result, built one at a time as they are asked
 * for, straight from the libsse batch (which the Batch keeps until its
 * next pull or release): each event is made, handed out and usually freed
 * before the next is made, so a batch never exists as a list of thousands
 * of Events (no list, the same few memory blocks reused while they are
 * hot, no collector run triggered by a thousand live tuples).
 * Before the Batch frees the items, settle() builds what is left into a
 * list the Run then hands out (nothing is lost) and detaches the Run: only
 * the Batch's latest result can still point into its items. */

typedef struct {
    PyObject_HEAD
    Batch *owner;                 /* borrowed (see settle); NULL once detached */
    const struct view **evs;      /* the run's messages, in order (the Batch's views) */
    size_t next, n;
    PyObject *rest;               /* once settled: the iterator of what was left */
} Run;

static PyTypeObject RunType;

static PyObject *Run_iternext(Run *r)
{
    if (r->rest != NULL)
        return Py_TYPE(r->rest)->tp_iternext(r->rest);
    if (r->owner == NULL || r->next >= r->n)
        return NULL;
    /* Taken before it is built: if building lets another thread settle
     * this Run (see make_event), the event is not built twice. */
    Batch *owner = r->owner;
    size_t i = r->next++;
    PyObject *event = make_event(owner, r->evs[i]);
    if (event == NULL && r->owner == owner && r->next == i + 1)
        r->next = i; /* (on failure: the same event again at the next call) */
    return event;
}

static void Run_detach(Run *r)
{
    r->owner = NULL;
    PyMem_Free(r->evs);
    r->evs = NULL;
    r->next = r->n = 0;
}

static void Run_dealloc(Run *r)
{
    Py_CLEAR(r->rest);
    PyMem_Free(r->evs);
    PyObject_Free(r);
}

static PyTypeObject RunType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libsse._speedups.Run",
    .tp_basicsize = sizeof(Run),
    .tp_dealloc = (destructor)Run_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The events of one pull, built as they are taken.",
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)Run_iternext,
};

/* Makes the latest result independent of the items before they are freed:
 * a Run's events not taken yet are built into a list (when build_rest),
 * and the Run detached. Returns 0, or -1 with an exception set (the Run
 * is then unchanged). */
static int settle(Batch *b, int build_rest)
{
    if (b->result == NULL || Py_TYPE(b->result) != &RunType)
        return 0;
    Run *r = (Run *)b->result;
    if (r->owner == NULL)
        return 0;
    if (build_rest && r->next < r->n) {
        PyObject *list = PyList_New((Py_ssize_t)(r->n - r->next));
        if (list == NULL)
            return -1;
        for (size_t i = r->next; i < r->n; i++) {
            PyObject *event = make_event(b, r->evs[i]);
            if (event == NULL) {
                Py_DECREF(list);
                return -1;
            }
            PyList_SET_ITEM(list, (Py_ssize_t)(i - r->next), event);
        }
        PyObject_GC_UnTrack(list); /* (see build) */
        r->rest = PyObject_GetIter(list);
        Py_DECREF(list);
        if (r->rest == NULL)
            return -1;
    }
    Run_detach(r);
    return 0;
}

/* Builds the result from pos on: the messages (comments skipped when
 * skip_comments) up to the first other item or max_pack messages, as an
 * iterator in b->result; or, when the first item is another kind, marks
 * it as the result (b->other). Returns 0, or -1 with an exception set
 * (nothing moved: the next pull tries again). */
static int build(Batch *b, int skip_comments)
{
    /* The source's views, once per source (a MemoryError here leaves the
     * items in place: the next pull tries again, nothing is lost). */
    if (!b->views_ready) {
        if (reserve_views(b, b->count) < 0)
            return -1;
        if (b->batch != NULL)
            api.views(b->batch, 0, b->views, b->count);
        else
            for (size_t i = 0; i < b->count; i++)
                view_of(b->evs[i], &b->views[i]);
        b->views_ready = 1;
    }
    /* One pass over the items for the run's extent (up to max_pack
     * messages, and no message after the one that reached max_bytes),
     * keeping the messages' addresses; then the Events, into a list of
     * the exact size. */
    size_t left = b->count - b->pos;
    if (left > b->scratch_cap) {
        const struct view **scratch = PyMem_Realloc(b->scratch, left * sizeof(*scratch));
        if (scratch == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->scratch = scratch;
        b->scratch_cap = left;
    }
    size_t p = b->pos, n = 0, bytes = 0;
    while ((b->max_pack == 0 || n < (size_t)b->max_pack) && p < b->count) {
        const struct view *v = &b->views[p];
        int kind = v->kind;
        if (kind == KIND_MESSAGE) {
            if (b->max_bytes != 0) {
                if (n != 0 && bytes >= (size_t)b->max_bytes)
                    break;
                bytes += v->data_len;
            }
            b->scratch[n++] = v;
        } else if (kind != KIND_COMMENT || !skip_comments) {
            break;
        }
        p++;
    }
    size_t end = p;
    if (n == 0) {
        /* skipped comments only, then maybe an item for the slow path */
        while (b->pos < end)
            advance(b);
        b->other = b->pos < b->count;
        b->seq++;
        return 0;
    }
    if (b->batch != NULL) {
        /* client items (the libsse batch stays until the next pull): a Run */
        Run *r = PyObject_New(Run, &RunType);
        if (r == NULL)
            return -1;
        r->owner = b;
        r->next = 0;
        r->n = n;
        r->rest = NULL;
        r->evs = PyMem_Malloc(n * sizeof(*r->evs));
        if (r->evs == NULL) {
            Py_DECREF(r);
            PyErr_NoMemory();
            return -1;
        }
        memcpy(r->evs, b->scratch, n * sizeof(*r->evs));
        while (b->pos < end)
            advance(b);
        b->result = (PyObject *)r;
        b->other = 0;
        b->seq++;
        return 0;
    }
    /* parser items (each freed as it is handed out): built at once */
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (list == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        PyObject *event = make_event(b, b->scratch[i]);
        if (event == NULL) {
            Py_DECREF(list);
            return -1;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, event);
    }
    /* Only untracked Events inside, and only the iterator refers to the
     * list: no cycle can go through it, so the collector's young
     * generation need not walk its items at every collection. */
    PyObject_GC_UnTrack(list);
    PyObject *it = PyObject_GetIter(list);
    Py_DECREF(list);
    if (it == NULL)
        return -1;
    while (b->pos < end)
        advance(b);
    b->result = it;
    b->other = 0;
    b->seq++;
    return 0;
}

/* (status, events or None, address of the other item or None, seq) */
static PyObject *result_tuple(Batch *b, int status)
{
    PyObject *events = Py_None, *other = Py_None;
    if (status == 0) {
        if (b->result != NULL)
            events = b->result;
        if (b->other) {
            other = PyLong_FromVoidPtr((void *)current(b, b->pos));
            if (other == NULL)
                return NULL;
            return Py_BuildValue("(iONn)", status, events, other, b->seq);
        }
    }
    return Py_BuildValue("(iOOn)", status, events, other, b->seq);
}

/* Drops the last result (it was handed over; what it did not hand out
 * yet is built, see settle): the slow-path item is handed out. Returns 0,
 * or -1 with an exception set (nothing changed). */
static int start_pull(Batch *b)
{
    if (settle(b, 1) < 0)
        return -1;
    Py_CLEAR(b->result);
    if (b->other) {
        b->other = 0;
        advance(b);
    }
    return 0;
}

static int check_bound(void)
{
    if (event_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "libsse._speedups: bind() was not called");
        return -1;
    }
    return 0;
}

static int check_idle(Batch *b)
{
    if (b->in_pull) {
        PyErr_SetString(PyExc_RuntimeError, "libsse batch: used by two threads at once");
        return -1;
    }
    return 0;
}

/* pull_client(client, timeout_ms, skip_comments, taken) */
static PyObject *Batch_pull_client(Batch *b, PyObject *args)
{
    PyObject *client_obj;
    int timeout_ms, skip_comments;
    Py_ssize_t taken;
    if (!PyArg_ParseTuple(args, "Oipn", &client_obj, &timeout_ms, &skip_comments, &taken))
        return NULL;
    if (check_bound() < 0 || check_idle(b) < 0)
        return NULL;
    if (taken != b->seq)  /* the last result was not handed over: again */
        return result_tuple(b, 0);
    struct sse_client *client = (struct sse_client *)PyLong_AsVoidPtr(client_obj);
    if (client == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "NULL client");
        return NULL;
    }
    if (start_pull(b) < 0)
        return NULL;
    if (b->pos >= b->count) {
        release_items(b);
        struct sse_batch *batch = NULL;
        int status;
        b->in_pull = 1;
        Py_BEGIN_ALLOW_THREADS
        status = api.next_batch(client, (int32_t)timeout_ms, &batch);
        Py_END_ALLOW_THREADS
        b->in_pull = 0;
        if (status != 0) {
            /* Nothing came (the client is idle, or ended): it keeps no
             * arrays while it waits (made again for its next batch; no
             * result points into them: start_pull dropped the last). */
            free_arrays(b);
            return result_tuple(b, status);
        }
        b->batch = batch;
        b->count = api.batch_len(batch);
    }
    if (build(b, skip_comments) < 0)
        return NULL;
    return result_tuple(b, 0);
}

/* pull_parser(parser, skip_comments) */
static PyObject *Batch_pull_parser(Batch *b, PyObject *args)
{
    PyObject *parser_obj;
    int skip_comments;
    if (!PyArg_ParseTuple(args, "Op", &parser_obj, &skip_comments))
        return NULL;
    if (check_bound() < 0 || check_idle(b) < 0)
        return NULL;
    struct sse_parser *parser = (struct sse_parser *)PyLong_AsVoidPtr(parser_obj);
    if (parser == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "NULL parser");
        return NULL;
    }
    if (b->evs == NULL) {
        b->evs = PyMem_Calloc(b->max, sizeof(struct sse_event *));
        if (b->evs == NULL)
            return PyErr_NoMemory();
    }
    if (start_pull(b) < 0)
        return NULL;
    if (b->pos >= b->count) {
        release_items(b);
        while (b->count < b->max) {
            struct sse_event *ev = NULL;
            if (api.parser_next(parser, &ev) != 0)
                break;
            b->evs[b->count++] = ev;
        }
        if (b->count == 0)
            return result_tuple(b, STATUS_TIMEOUT);
    }
    if (build(b, skip_comments) < 0)
        return NULL;
    return result_tuple(b, 0);
}

static PyObject *Batch_release(Batch *b, PyObject *Py_UNUSED(ignored))
{
    if (check_idle(b) < 0)
        return NULL;
    if (settle(b, 1) < 0) {
        /* no memory to build what the last result did not hand out yet:
         * it ends there (the items are freed all the same) */
        PyErr_Clear();
        settle(b, 0);
    }
    Py_CLEAR(b->result);
    if (event_type != NULL)
        release_items(b);
    return PyLong_FromSsize_t(b->seq);
}

static PyObject *Batch_pending(Batch *b, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(b->pos < b->count);
}

static int Batch_init(Batch *b, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"max_items", NULL};
    Py_ssize_t max_items = 1024;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|n", kwlist, &max_items))
        return -1;
    if (max_items < 1) {
        PyErr_SetString(PyExc_ValueError, "max_items must be at least 1");
        return -1;
    }
    if (b->evs != NULL || b->batch != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Batch.__init__ called twice");
        return -1;
    }
    b->max = (size_t)max_items;
    return 0;
}

static void Batch_dealloc(Batch *b)
{
    /* The owners release() before they free the client or parser; items
     * still held here are left alone (their owner may be gone). */
    settle(b, 0); /* (the items may be gone: a Run left ends here) */
    Py_CLEAR(b->result);
    Py_CLEAR(b->type_cache.str);
    Py_CLEAR(b->id_cache.str);
    PyMem_Free(b->evs);
    PyMem_Free(b->scratch);
    PyMem_Free(b->views);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static PyMethodDef Batch_methods[] = {
    {"pull_client", (PyCFunction)Batch_pull_client, METH_VARARGS,
     "pull_client(client_address, timeout_ms, skip_comments, taken) -> (status, events, other_address, seq)"},
    {"pull_parser", (PyCFunction)Batch_pull_parser, METH_VARARGS,
     "pull_parser(parser_address, skip_comments) -> (status, events, other_address, seq)"},
    {"release", (PyCFunction)Batch_release, METH_NOARGS, "Frees every item held; returns seq."},
    {"pending", (PyCFunction)Batch_pending, METH_NOARGS, "Whether items are left."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Batch_members[] = {
    {"seq", T_PYSSIZET, offsetof(Batch, seq), READONLY, "the number of the last result"},
    {"max_pack", T_PYSSIZET, offsetof(Batch, max_pack), 0, "most messages per result (0: no limit)"},
    {"max_bytes", T_PYSSIZET, offsetof(Batch, max_bytes), 0,
     "no message in a result after the one that reached these data bytes (0: no limit)"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject BatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libsse._speedups.Batch",
    .tp_basicsize = sizeof(Batch),
    .tp_dealloc = (destructor)Batch_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Items taken from libsse, handed to Python as Event objects.",
    .tp_methods = Batch_methods,
    .tp_members = Batch_members,
    .tp_init = (initproc)Batch_init,
    .tp_new = PyType_GenericNew,
};

/* bind(addresses, Event): addresses of the libsse functions, in the order
 * of the api struct; Event the NamedTuple type of messages. */
static PyObject *bind(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *addresses, *type;
    if (!PyArg_ParseTuple(args, "O!O!", &PyTuple_Type, &addresses, &PyType_Type, &type))
        return NULL;
    if (PyTuple_GET_SIZE(addresses) != API_FUNCTIONS) {
        PyErr_Format(PyExc_ValueError, "bind: %d addresses expected", API_FUNCTIONS);
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type)
        || ((PyTypeObject *)type)->tp_basicsize != PyTuple_Type.tp_basicsize
        || ((PyTypeObject *)type)->tp_itemsize != PyTuple_Type.tp_itemsize) {
        PyErr_SetString(PyExc_TypeError, "bind: Event must be a tuple subclass without extra fields");
        return NULL;
    }
    void *table[API_FUNCTIONS];
    for (Py_ssize_t i = 0; i < API_FUNCTIONS; i++) {
        table[i] = PyLong_AsVoidPtr(PyTuple_GET_ITEM(addresses, i));
        if (table[i] == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "bind: NULL function address");
            return NULL;
        }
    }
    memcpy(&api, table, sizeof(api));
#if RECYCLE_EVENTS
    /* The package imported again (a new Event type): the memory kept for
     * the former type's events is freed while that type still lives. */
    if (event_type != (PyTypeObject *)type)
        while (recycled_count > 0)
            PyObject_GC_Del(recycled[--recycled_count]);
#endif
    Py_INCREF(type);
    Py_XSETREF(event_type, (PyTypeObject *)type);
#if RECYCLE_EVENTS
    if (recyclable(event_type))
        event_type->tp_dealloc = event_dealloc;
#endif
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ ready
 * An awaitable whose await gives a value at once, without suspending: the
 * asyncio client's __anext__ (AsyncBase below) returns one when an event
 * is already there, which costs far less than a coroutine per event. */

typedef struct {
    PyObject_HEAD
    PyObject *value;
} Ready;

static PyTypeObject ReadyType;

/* (The object caches below rely on the GIL: a free-threaded build makes
 * an object per event.) */
#if PY_VERSION_HEX >= 0x030C0000 && !defined(Py_GIL_DISABLED)
#define REUSE_STOP 1
#endif
#if PY_VERSION_HEX < 0x030C0000 || defined(Py_GIL_DISABLED)
#define REUSE_STOP 0
#endif

#if REUSE_STOP
/* From 3.12 on, `await` takes a value from an awaitable that is not a
 * coroutine through tp_iternext and StopIteration (am_send is no longer
 * used): one StopIteration instance is kept and raised again while nobody
 * else holds it (the interpreter takes the value out and drops it at
 * once), instead of one exception object per event. */
static PyObject *stop_cache = NULL;

/* stop_cache, ready to carry a value: fresh, unseen by anyone else. */
static PyObject *reusable_stop(void)
{
    PyBaseExceptionObject *e = (PyBaseExceptionObject *)stop_cache;
    if (e != NULL && Py_REFCNT(e) == 1 && e->traceback == NULL && e->context == NULL && e->cause == NULL
        && e->notes == NULL && e->dict == NULL)
        return stop_cache;
    PyObject *fresh = PyObject_CallNoArgs(PyExc_StopIteration);
    if (fresh == NULL)
        return NULL;
    Py_XSETREF(stop_cache, fresh);
    return fresh;
}
#endif

/* Sets StopIteration(value) (a tuple value is wrapped, not unpacked). */
static void stop_with(PyObject *value)
{
#if REUSE_STOP
    PyObject *stop = reusable_stop();
    if (stop != NULL) {
        Py_INCREF(value);
        Py_XSETREF(((PyStopIterationObject *)stop)->value, value);
        PyErr_SetRaisedException(Py_NewRef(stop));
    }
#else
    PyObject *exc = PyObject_CallFunctionObjArgs(PyExc_StopIteration, value, NULL);
    if (exc != NULL) {
        PyErr_SetObject(PyExc_StopIteration, exc);
        Py_DECREF(exc);
    }
#endif
}

static PyObject *Ready_await(PyObject *self)
{
    Py_INCREF(self);
    return self;
}

static PyObject *Ready_iternext(Ready *r)
{
    PyObject *value = r->value;
    if (value == NULL)
        return NULL; /* StopIteration: awaited twice gives None */
    r->value = NULL;
    stop_with(value);
    Py_DECREF(value);
    return NULL;
}

#if PY_VERSION_HEX >= 0x030A0000
static PySendResult Ready_send(Ready *r, PyObject *Py_UNUSED(arg), PyObject **result)
{
    PyObject *value = r->value;
    r->value = NULL;
    if (value == NULL) {
        Py_INCREF(Py_None);
        value = Py_None;
    }
    *result = value;
    return PYGEN_RETURN;
}
#endif

static void Ready_dealloc(Ready *r)
{
    Py_CLEAR(r->value);
    PyObject_Free(r);
}

static PyAsyncMethods Ready_async = {
    .am_await = (unaryfunc)Ready_await,
#if PY_VERSION_HEX >= 0x030A0000
    .am_send = (sendfunc)Ready_send,
#endif
};

static PyTypeObject ReadyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libsse._speedups.Ready",
    .tp_basicsize = sizeof(Ready),
    .tp_dealloc = (destructor)Ready_dealloc,
    .tp_as_async = &Ready_async,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An awaitable that gives its value at once.",
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)Ready_iternext,
};

/* ------------------------------------------------------------ async base
 * The base of libsse.AsyncClient when this module is built: its
 * __anext__ (am_anext) hands out an event already received as a Ready,
 * with no Python code run per event; every `_check` events it looks at the
 * clock, and past `_slice_end` (or with no event at hand) it returns the
 * coroutine of the Python method `_anext`, which gives the loop a turn,
 * pulls and waits. The fields are the client's `_it` (the iterator of
 * events received, or None), `_countdown`, `_slice_end` and `_check`. */

#include <time.h>

typedef struct {
    PyObject_HEAD
    PyObject *it;
    int countdown;
    int check;
    double slice_end;
} AsyncBase;

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* time.monotonic()'s clock on Linux */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One Ready kept for reuse: handed out again once nobody else holds it
 * (the awaiting frame drops it as soon as it has the value). */
static Ready *ready_cache = NULL;

/* A Ready giving item (steals the reference). */
static PyObject *make_ready(PyObject *item)
{
#ifndef Py_GIL_DISABLED
    if (ready_cache != NULL && Py_REFCNT(ready_cache) == 1) {
        Py_XSETREF(ready_cache->value, item);
        Py_INCREF(ready_cache);
        return (PyObject *)ready_cache;
    }
#endif
    Ready *r = PyObject_New(Ready, &ReadyType);
    if (r == NULL) {
        Py_DECREF(item);
        return NULL;
    }
    r->value = item;
#ifndef Py_GIL_DISABLED
    if (ready_cache == NULL) {
        Py_INCREF(r);
        ready_cache = r;
    }
#endif
    return (PyObject *)r;
}

static PyObject *AsyncBase_anext(AsyncBase *self)
{
    PyObject *it = self->it;
    if (it != NULL && it != Py_None && Py_TYPE(it)->tp_iternext != NULL) {
        int countdown = self->countdown - 1;
        if (countdown > 0 || monotonic_now() < self->slice_end) {
            Py_INCREF(it);
            PyObject *item = Py_TYPE(it)->tp_iternext(it);
            Py_DECREF(it);
            if (item != NULL) {
                self->countdown = countdown > 0 ? countdown : (self->check > 0 ? self->check : 1);
                return make_ready(item);
            }
            if (PyErr_Occurred()) {
                if (!PyErr_ExceptionMatches(PyExc_StopIteration))
                    return NULL;
                PyErr_Clear();
            }
        }
    }
    return PyObject_CallMethod((PyObject *)self, "_anext", NULL);
}

static int AsyncBase_traverse(AsyncBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->it);
    return 0;
}

static int AsyncBase_clear(AsyncBase *self)
{
    Py_CLEAR(self->it);
    return 0;
}

static void AsyncBase_dealloc(AsyncBase *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->it);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef AsyncBase_members[] = {
    {"_it", T_OBJECT, offsetof(AsyncBase, it), 0, "the events received, not yet handed out (an iterator), or None"},
    {"_countdown", T_INT, offsetof(AsyncBase, countdown), 0, "events until the next look at the clock"},
    {"_check", T_INT, offsetof(AsyncBase, check), 0, "events between two looks at the clock"},
    {"_slice_end", T_DOUBLE, offsetof(AsyncBase, slice_end), 0, "when this reader's run ends (time.monotonic())"},
    {NULL, 0, 0, 0, NULL},
};

static PyAsyncMethods AsyncBase_async = {
    .am_anext = (unaryfunc)AsyncBase_anext,
};

static PyTypeObject AsyncBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libsse._speedups.AsyncBase",
    .tp_basicsize = sizeof(AsyncBase),
    .tp_dealloc = (destructor)AsyncBase_dealloc,
    .tp_as_async = &AsyncBase_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The compiled __anext__ of libsse.AsyncClient.",
    .tp_traverse = (traverseproc)AsyncBase_traverse,
    .tp_clear = (inquiry)AsyncBase_clear,
    .tp_members = AsyncBase_members,
    .tp_new = PyType_GenericNew,
};

static PyMethodDef module_methods[] = {
    {"bind", bind, METH_VARARGS, "bind(addresses, Event): the libsse functions and the Event type."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "libsse._speedups",
    .m_doc = "Builds libsse's Event objects straight from the library's memory.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    if (sizeof(api) != API_FUNCTIONS * sizeof(void *))
        return PyErr_Format(PyExc_ImportError, "libsse._speedups: unexpected function table layout");
    if (PyType_Ready(&BatchType) < 0 || PyType_Ready(&RunType) < 0 || PyType_Ready(&ReadyType) < 0
        || PyType_Ready(&AsyncBaseType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    Py_INCREF(&BatchType);
    if (PyModule_AddObject(m, "Batch", (PyObject *)&BatchType) < 0) {
        Py_DECREF(&BatchType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&AsyncBaseType);
    if (PyModule_AddObject(m, "AsyncBase", (PyObject *)&AsyncBaseType) < 0) {
        Py_DECREF(&AsyncBaseType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "ABI", 3) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
