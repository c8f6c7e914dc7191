/* The shared parser vectors (tests/vectors/parser_vectors.json, format in
 * tests/vectors/README.md) through the C parser API (sse_parser_*).
 *
 * The JSON file is read with the small JSON reader and base64 decoder
 * below (no dependency). Every case is fed whole, one byte at a time, cut
 * in two at every point (inputs up to 512 bytes) and cut at random points
 * (seeded); after sse_parser_finish the reported messages and comments
 * must equal the case's `items` (retry items excepted), the last event id
 * `last_event_id`, and sse_parser_retry_ms() the case's `retry` (the last
 * retry item's value; the C API reports only the final value).
 * The same runs under ASan and valgrind (about 4 s there).
 *
 * usage: test_vectors [FILE] */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sse.h"

/* ------------------------------------------------------- a JSON reader */

typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } json_type;

typedef struct json json;
struct json {
    json_type type;
    bool boolean;
    double number;
    char *string; /* J_STRING: decoded UTF-8, may hold NUL; `length` bytes */
    size_t length;
    json *items; /* J_ARRAY / J_OBJECT values */
    char **keys; /* J_OBJECT keys (NUL-terminated; no NUL in keys here) */
    size_t count;
};

typedef struct {
    const char *text;
    size_t pos, len;
    const char *error;
} json_reader;

static void skip_ws(json_reader *r) {
    while (r->pos < r->len && strchr(" \t\r\n", r->text[r->pos]) != NULL) r->pos++;
}

static bool fail_json(json_reader *r, const char *why) {
    if (r->error == NULL) r->error = why;
    return false;
}

static void append_utf8(char *out, size_t *n, uint32_t cp) {
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static bool read_hex4(json_reader *r, uint32_t *out) {
    if (r->pos + 4 > r->len) return fail_json(r, "short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->text[r->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return fail_json(r, "bad hex digit in \\u escape");
    }
    *out = v;
    return true;
}

/* A JSON string at r->pos (after the opening quote). Escapes are never
 * longer than what they decode to, so the output fits in the input span. */
static bool read_string(json_reader *r, char **out, size_t *out_len) {
    size_t start = r->pos;
    size_t end = start;
    while (end < r->len && r->text[end] != '"') end += r->text[end] == '\\' ? 2 : 1;
    if (end >= r->len) return fail_json(r, "unterminated string");
    char *s = malloc(end - start + 1);
    if (s == NULL) return fail_json(r, "out of memory");
    size_t n = 0;
    while (r->pos < end) {
        char c = r->text[r->pos++];
        if ((unsigned char)c < 0x20) {
            free(s);
            return fail_json(r, "control character in string");
        }
        if (c != '\\') {
            s[n++] = c;
            continue;
        }
        char e = r->text[r->pos++];
        switch (e) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!read_hex4(r, &cp)) {
                free(s);
                return false;
            }
            if (cp >= 0xD800 && cp < 0xDC00 && r->pos + 6 <= end && r->text[r->pos] == '\\' &&
                r->text[r->pos + 1] == 'u') {
                size_t save = r->pos;
                r->pos += 2;
                uint32_t low;
                if (read_hex4(r, &low) && low >= 0xDC00 && low < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else {
                    r->pos = save;
                }
            }
            append_utf8(s, &n, cp); /* a lone surrogate stays as WTF-8; never in these files */
            break;
        }
        default: free(s); return fail_json(r, "bad escape");
        }
    }
    r->pos = end + 1;
    s[n] = '\0';
    *out = s;
    *out_len = n;
    return true;
}

static void json_free(json *v);

static bool read_value(json_reader *r, json *v, int depth) {
    memset(v, 0, sizeof *v);
    if (depth > 64) return fail_json(r, "nested too deep");
    skip_ws(r);
    if (r->pos >= r->len) return fail_json(r, "unexpected end");
    char c = r->text[r->pos];
    if (c == '"') {
        r->pos++;
        v->type = J_STRING;
        return read_string(r, &v->string, &v->length);
    }
    if (c == '[' || c == '{') {
        bool object = c == '{';
        v->type = object ? J_OBJECT : J_ARRAY;
        r->pos++;
        size_t cap = 0;
        skip_ws(r);
        if (r->pos < r->len && r->text[r->pos] == (object ? '}' : ']')) {
            r->pos++;
            return true;
        }
        for (;;) {
            if (v->count == cap) {
                cap = cap ? cap * 2 : 8;
                json *items = realloc(v->items, cap * sizeof *items);
                char **keys = object ? realloc(v->keys, cap * sizeof *keys) : NULL;
                if (items) v->items = items;
                if (keys) v->keys = keys;
                if (!items || (object && !keys)) return fail_json(r, "out of memory");
            }
            if (object) {
                skip_ws(r);
                if (r->pos >= r->len || r->text[r->pos] != '"') return fail_json(r, "expected a key");
                r->pos++;
                size_t key_len;
                if (!read_string(r, &v->keys[v->count], &key_len)) return false;
                skip_ws(r);
                if (r->pos >= r->len || r->text[r->pos] != ':') {
                    free(v->keys[v->count]);
                    return fail_json(r, "expected ':'");
                }
                r->pos++;
            }
            if (!read_value(r, &v->items[v->count], depth + 1)) {
                if (object) free(v->keys[v->count]);
                json_free(&v->items[v->count]);
                return false;
            }
            v->count++;
            skip_ws(r);
            if (r->pos < r->len && r->text[r->pos] == ',') {
                r->pos++;
                continue;
            }
            if (r->pos < r->len && r->text[r->pos] == (object ? '}' : ']')) {
                r->pos++;
                return true;
            }
            return fail_json(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (strncmp(r->text + r->pos, "null", 4) == 0) {
        r->pos += 4;
        v->type = J_NULL;
        return true;
    }
    if (strncmp(r->text + r->pos, "true", 4) == 0 || strncmp(r->text + r->pos, "false", 5) == 0) {
        v->type = J_BOOL;
        v->boolean = c == 't';
        r->pos += v->boolean ? 4 : 5;
        return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char *end = NULL;
        v->type = J_NUMBER;
        v->number = strtod(r->text + r->pos, &end);
        r->pos = (size_t)(end - r->text);
        return true;
    }
    return fail_json(r, "unexpected character");
}

static void json_free(json *v) {
    free(v->string);
    for (size_t i = 0; i < v->count; i++) {
        json_free(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static const json *json_get(const json *object, const char *key) {
    if (object == NULL || object->type != J_OBJECT) return NULL;
    for (size_t i = 0; i < object->count; i++) {
        if (strcmp(object->keys[i], key) == 0) return &object->items[i];
    }
    return NULL;
}

static const json *json_get_string(const json *object, const char *key) {
    const json *v = json_get(object, key);
    return v != NULL && v->type == J_STRING ? v : NULL;
}

/* ------------------------------------------------------------- base64 */

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 with '=' padding; NULL if malformed. */
static uint8_t *base64_decode(const char *text, size_t len, size_t *out_len) {
    while (len > 0 && text[len - 1] == '=') len--;
    if (len % 4 == 1) return NULL;
    uint8_t *out = malloc(len * 3 / 4 + 1);
    if (out == NULL) return NULL;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)text[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = n;
    return out;
}

/* ---------------------------------------------------------- the runner */

typedef struct {
    const char *name;
    const uint8_t *input;
    size_t input_len;
    const json *items;
    const json *last_event_id;
    long long retry; /* -1: null */
} vector;

static int cases_failed_in_mode = 0;
static size_t nul_type_prefix_checks = 0;

static bool same_bytes(const char *got, size_t got_len, const json *want) {
    return want != NULL && got_len == want->length && memcmp(got, want->string, got_len) == 0;
}

static void show(const char *label, const char *s, size_t len) {
    fprintf(stderr, "    %s (%zu bytes): \"", label, len);
    for (size_t i = 0; i < len && i < 120; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\') fprintf(stderr, "\\x%02x", c);
        else fputc(c, stderr);
    }
    fprintf(stderr, "%s\"\n", len > 120 ? "..." : "");
}

/* Feeds `v` in the chunks given by `cuts` (sorted cut offsets), finishes,
 * and compares. Returns true when everything matched. */
static bool run_chunked(const vector *v, const size_t *cuts, size_t ncuts, const char *mode) {
    sse_parser *parser = sse_parser_new(0);
    if (parser == NULL) {
        harness_fail(__FILE__, __LINE__, "%s: sse_parser_new returned NULL", v->name);
        return false;
    }
    bool ok = true;
    char why[256] = "";
    size_t start = 0;
    for (size_t i = 0; i <= ncuts && ok; i++) {
        size_t end = i < ncuts ? cuts[i] : v->input_len;
        sse_status status = sse_parser_feed(parser, v->input + start, end - start);
        if (status != SSE_OK) {
            snprintf(why, sizeof why, "sse_parser_feed returned %s", sse_status_name(status));
            ok = false;
        }
        start = end;
    }
    if (ok && sse_parser_finish(parser) != SSE_OK) {
        snprintf(why, sizeof why, "sse_parser_finish failed");
        ok = false;
    }
    size_t index = 0; /* in the expected items, retry items skipped */
    sse_event *ev = NULL;
    while (ok && sse_parser_next(parser, &ev) == SSE_OK) {
        while (index < v->items->count) {
            const json *kind = json_get_string(&v->items->items[index], "kind");
            if (kind == NULL || strcmp(kind->string, "retry") != 0) break;
            index++;
        }
        if (index >= v->items->count) {
            snprintf(why, sizeof why, "an extra item of kind %d", (int)sse_event_kind(ev));
            ok = false;
            sse_event_free(ev);
            break;
        }
        const json *want = &v->items->items[index];
        const json *kind = json_get_string(want, "kind");
        size_t len = 0;
        const char *data = sse_event_data(ev, &len);
        if (kind != NULL && strcmp(kind->string, "event") == 0) {
            const json *type = json_get_string(want, "type");
            const json *id = json_get_string(want, "id");
            const char *got_type = sse_event_type(ev);
            const char *got_id = sse_event_id(ev);
            size_t got_type_len = sse_event_type_len(ev);
            /* Exact bytes, with the length: a type may hold a NUL. */
            bool type_ok = same_bytes(got_type, got_type_len, type);
            if (type != NULL && memchr(type->string, '\0', type->length) != NULL) {
                nul_type_prefix_checks++;
            }
            if (sse_event_kind(ev) != SSE_KIND_MESSAGE) {
                snprintf(why, sizeof why, "item %zu: kind %d, expected a message", index,
                         (int)sse_event_kind(ev));
                ok = false;
            } else if (!type_ok) {
                snprintf(why, sizeof why, "item %zu: event type differs", index);
                show("got", got_type, got_type_len);
                if (type) show("expected", type->string, type->length);
                ok = false;
            } else if (!same_bytes(data, len, json_get_string(want, "data"))) {
                snprintf(why, sizeof why, "item %zu: data differs", index);
                show("got", data, len);
                const json *d = json_get_string(want, "data");
                if (d) show("expected", d->string, d->length);
                ok = false;
            } else if (!same_bytes(got_id, strlen(got_id), id)) {
                snprintf(why, sizeof why, "item %zu: id differs", index);
                show("got", got_id, strlen(got_id));
                if (id) show("expected", id->string, id->length);
                ok = false;
            }
        } else if (kind != NULL && strcmp(kind->string, "comment") == 0) {
            if (sse_event_kind(ev) != SSE_KIND_COMMENT) {
                snprintf(why, sizeof why, "item %zu: kind %d, expected a comment", index,
                         (int)sse_event_kind(ev));
                ok = false;
            } else if (!same_bytes(data, len, json_get_string(want, "text"))) {
                snprintf(why, sizeof why, "item %zu: comment text differs", index);
                show("got", data, len);
                const json *t = json_get_string(want, "text");
                if (t) show("expected", t->string, t->length);
                ok = false;
            }
        } else {
            snprintf(why, sizeof why, "item %zu: unknown kind in the vector file", index);
            ok = false;
        }
        sse_event_free(ev);
        index++;
    }
    while (ok && index < v->items->count) {
        const json *kind = json_get_string(&v->items->items[index], "kind");
        if (kind == NULL || strcmp(kind->string, "retry") != 0) {
            snprintf(why, sizeof why, "item %zu (%s) missing", index,
                     kind ? kind->string : "?");
            ok = false;
        }
        index++;
    }
    if (ok) {
        const char *id = sse_parser_last_event_id(parser);
        if (id == NULL || !same_bytes(id, strlen(id), v->last_event_id)) {
            snprintf(why, sizeof why, "last event id \"%s\", expected \"%s\"", id ? id : "(null)",
                     v->last_event_id ? v->last_event_id->string : "?");
            ok = false;
        }
    }
    if (ok && sse_parser_retry_ms(parser) != v->retry) {
        snprintf(why, sizeof why, "retry %lld, expected %lld",
                 (long long)sse_parser_retry_ms(parser), v->retry);
        ok = false;
    }
    sse_parser_free(parser);
    if (!ok) {
        harness_fail(__FILE__, __LINE__, "case %s, fed %s: %s", v->name, mode, why);
        cases_failed_in_mode++;
    }
    return ok;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int compare_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static const char *vector_file = "tests/vectors/parser_vectors.json";
static json root;

static void test_parser_vectors(void) {
    FILE *f = fopen(vector_file, "rb");
    REQUIRE(f != NULL, "cannot open %s", vector_file);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    REQUIRE(text != NULL);
    size_t got = fread(text, 1, (size_t)size, f);
    fclose(f);
    text[got] = '\0';
    json_reader reader = {text, 0, got, NULL};
    bool parsed = read_value(&reader, &root, 0);
    free(text);
    if (!parsed) json_free(&root);
    REQUIRE(parsed, "%s: JSON error at byte %zu: %s", vector_file, reader.pos, reader.error);

    const json *version = json_get(&root, "version");
    CHECK(version != NULL && version->type == J_NUMBER && version->number == 1,
          "unknown vector file version");
    const json *cases = json_get(&root, "cases");
    REQUIRE(cases != NULL && cases->type == J_ARRAY && cases->count > 0, "no cases");

    const size_t split_limit = 512;
    const int random_runs = 5;
    size_t runs = 0, failed_cases = 0;
    for (size_t c = 0; c < cases->count; c++) {
        const json *kase = &cases->items[c];
        const json *name = json_get_string(kase, "name");
        const json *b64 = json_get_string(kase, "input_b64");
        const json *items = json_get(kase, "items");
        const json *retry = json_get(kase, "retry");
        vector v = {name ? name->string : "?", NULL, 0, items,
                    json_get_string(kase, "last_event_id"), -1};
        if (b64 == NULL || items == NULL || items->type != J_ARRAY || retry == NULL ||
            v.last_event_id == NULL) {
            harness_fail(__FILE__, __LINE__, "case %s: a field is missing", v.name);
            continue;
        }
        if (retry->type == J_NUMBER) v.retry = (long long)retry->number;
        uint8_t *input = base64_decode(b64->string, b64->length, &v.input_len);
        if (input == NULL) {
            harness_fail(__FILE__, __LINE__, "case %s: bad base64", v.name);
            continue;
        }
        v.input = input;
        /* The readable copy, when present, must be the same bytes. */
        const json *plain = json_get_string(kase, "input");
        if (plain != NULL) {
            CHECK(plain->length == v.input_len && memcmp(plain->string, input, v.input_len) == 0,
                  "case %s: input and input_b64 differ", v.name);
        }
        int before = cases_failed_in_mode;
        run_chunked(&v, NULL, 0, "whole");
        runs++;
        size_t *cuts = malloc((v.input_len + 1) * sizeof *cuts);
        if (cuts == NULL) {
            free(input);
            continue;
        }
        if (v.input_len > 1) {
            for (size_t i = 0; i + 1 < v.input_len; i++) cuts[i] = i + 1;
            run_chunked(&v, cuts, v.input_len - 1, "one byte at a time");
            runs++;
        }
        if (v.input_len <= split_limit) {
            for (size_t at = 1; at < v.input_len && cases_failed_in_mode == before; at++) {
                char mode[64];
                snprintf(mode, sizeof mode, "in two at byte %zu", at);
                cuts[0] = at;
                run_chunked(&v, cuts, 1, mode);
                runs++;
            }
        }
        for (int r = 0; r < random_runs && v.input_len > 2; r++) {
            size_t ncuts = 1 + (size_t)(rng_next() % (v.input_len < 64 ? v.input_len - 1 : 64));
            for (size_t i = 0; i < ncuts; i++) cuts[i] = 1 + (size_t)(rng_next() % (v.input_len - 1));
            qsort(cuts, ncuts, sizeof *cuts, compare_size);
            char mode[64];
            snprintf(mode, sizeof mode, "in %zu random pieces (run %d)", ncuts + 1, r);
            run_chunked(&v, cuts, ncuts, mode);
            runs++;
        }
        free(cuts);
        free(input);
        if (cases_failed_in_mode != before) failed_cases++;
    }
    printf("  %zu cases, %zu feeding runs (whole, byte by byte, every split in two up to %zu "
           "bytes, %d random chunkings), %zu cases failed\n",
           cases->count, runs, split_limit, random_runs, failed_cases);
    if (nul_type_prefix_checks) {
        printf("  %zu exact comparisons of an event type holding a NUL (sse_event_type_len)\n",
               nul_type_prefix_checks);
    }
    json_free(&root);
}

int main(int argc, char **argv) {
    static const harness_test tests[] = {{"parser_vectors", test_parser_vectors}};
    if (argc > 1) vector_file = argv[1];
    return harness_run("test_vectors", tests, 1, 1, argv);
}
