// Compact JSON encoding of jansson documents, for every event the gateway delivers.
//
// json_dumpb costs ~30,000 instructions for a small chat event: it formats each object's address
// with snprintf and keeps a hash table of the objects being dumped (loop detection), calls a
// callback per token and checks each string's UTF-8 again. The gateway's documents are trees
// (built by the normalizer, never cyclic) of strings jansson already validated, so this writer
// walks them once into the caller's buffer. Its output is json_dumpb's, byte for byte
// (JSONEncodingTests compares them): the same escapes (\" \\ \b \f \n \r \t, other control
// characters as \u00XX in upper-case hex, '/' and non-ASCII as they are), integers as %lld does, and
// reals left to jansson itself (rare, and its "%.17g" plus ".0" rules are subtle).
#include "json_compact_dump.h"
#include <string.h>

// Deeper than any event; a deeper (or cyclic) document is left to json_dumpb, which refuses cycles.
#define GW_MAX_DEPTH 512

typedef struct {
    char *buffer;
    size_t size;
    size_t length;  // bytes the document needs so far; only those below `size` are stored
} gw_out;

static void put(gw_out *out, const char *bytes, size_t count) {
    if (out->length < out->size) {
        size_t room = out->size - out->length;
        memcpy(out->buffer + out->length, bytes, count < room ? count : room);
    }
    out->length += count;
}

static void put_byte(gw_out *out, char byte) {
    if (out->length < out->size) out->buffer[out->length] = byte;
    out->length += 1;
}

static void put_string(gw_out *out, const char *text, size_t count) {
    static const char hex[] = "0123456789ABCDEF";
    put_byte(out, '"');
    size_t run = 0;  // start of the bytes not yet written that need no escape
    for (size_t index = 0; index < count; index++) {
        unsigned char byte = (unsigned char)text[index];
        if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
        put(out, text + run, index - run);
        run = index + 1;
        switch (byte) {
        case '"': put(out, "\\\"", 2); break;
        case '\\': put(out, "\\\\", 2); break;
        case '\b': put(out, "\\b", 2); break;
        case '\f': put(out, "\\f", 2); break;
        case '\n': put(out, "\\n", 2); break;
        case '\r': put(out, "\\r", 2); break;
        case '\t': put(out, "\\t", 2); break;
        default: {
            char escape[6] = {'\\', 'u', '0', '0', hex[byte >> 4], hex[byte & 0xF]};
            put(out, escape, 6);
        }
        }
    }
    put(out, text + run, count - run);
    put_byte(out, '"');
}

// 0 on success, -1 when the document must be left to json_dumpb (too deep) or cannot be dumped.
static int put_value(gw_out *out, const json_t *json, int depth) {
    if (depth > GW_MAX_DEPTH) return -1;
    switch (json_typeof(json)) {
    case JSON_NULL: put(out, "null", 4); return 0;
    case JSON_TRUE: put(out, "true", 4); return 0;
    case JSON_FALSE: put(out, "false", 5); return 0;
    case JSON_INTEGER: {
        // "%lld" by hand: snprintf cost ~800 instructions per integer.
        json_int_t value = json_integer_value(json);
        unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
        char digits[24];
        size_t start = sizeof digits;
        do {
            digits[--start] = (char)('0' + magnitude % 10);
            magnitude /= 10;
        } while (magnitude > 0);
        if (value < 0) digits[--start] = '-';
        put(out, digits + start, sizeof digits - start);
        return 0;
    }
    case JSON_REAL: {
        char digits[64];
        size_t count = json_dumpb(json, digits, sizeof digits, JSON_COMPACT | JSON_ENCODE_ANY);
        if (count == 0 || count > sizeof digits) return -1;
        put(out, digits, count);
        return 0;
    }
    case JSON_STRING:
        put_string(out, json_string_value(json), json_string_length(json));
        return 0;
    case JSON_ARRAY: {
        size_t count = json_array_size(json);
        put_byte(out, '[');
        for (size_t index = 0; index < count; index++) {
            if (index > 0) put_byte(out, ',');
            if (put_value(out, json_array_get(json, index), depth + 1) != 0) return -1;
        }
        put_byte(out, ']');
        return 0;
    }
    case JSON_OBJECT: {
        put_byte(out, '{');
        int first = 1;
        for (void *iter = json_object_iter((json_t *)json); iter; iter = json_object_iter_next((json_t *)json, iter)) {
            if (!first) put_byte(out, ',');
            first = 0;
            put_string(out, json_object_iter_key(iter), json_object_iter_key_len(iter));
            put_byte(out, ':');
            if (put_value(out, json_object_iter_value(iter), depth + 1) != 0) return -1;
        }
        put_byte(out, '}');
        return 0;
    }
    }
    return -1;
}

size_t gw_json_dump_compact(const json_t *json, char *buffer, size_t size) {
    if (!json) return 0;
    gw_out out = {buffer, size, 0};
    if (put_value(&out, json, 0) == 0) return out.length;
    return json_dumpb(json, buffer, size, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}
