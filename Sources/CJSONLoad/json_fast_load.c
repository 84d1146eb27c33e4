// Parsing of published events into jansson values, for every event the gateway receives.
//
// json_loadb costs ~30,000 instructions for a 150-byte chat event, the largest single step of a
// publish: it reads the input one byte at a time through a function pointer, copies each byte
// into a growing text buffer, scans every string twice and allocates each key twice. This loader
// walks the bytes once and builds the same values with jansson's own constructors, so the result
// is an ordinary json_t (the plugin ABI's type) that jansson frees.
//
// It is a fast path, not a second JSON grammar: it accepts only what it is sure jansson accepts,
// with the value jansson would build, and gives up (NULL) on everything else, invalid documents
// included; the caller then asks json_loadb, which returns the value or its error message. What
// it gives up on besides errors: reals (jansson's strtod and overflow rules), \u0000 (refused by
// jansson in the flags the gateway uses, with its own message), documents deeper than 512
// levels. JSONParsingTests and the FuzzEventNormalizer target compare its result with
// json_loadb's.
//
// The rules it mirrors (jansson 2.14's load.c, flags JSON_DECODE_ANY | JSON_REJECT_DUPLICATES):
// whitespace is space, tab, LF, CR; any value at the top, then only whitespace; strings are
// UTF-8 without overlong forms, surrogates or code points above U+10FFFF, no control character
// below 0x20, escapes \" \\ \/ \b \f \n \r \t and \u with four hex digits (surrogate pairs joined, a lone surrogate
// refused); integers without leading zeros that fit a long long; true, false, null; an object
// key at most once.
#include "json_fast_load.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GW_LOAD_MAX_DEPTH 512
// Strings with escapes up to this size are decoded on the stack.
#define GW_LOAD_STACK_TEXT 512

typedef struct {
    const unsigned char *at;
    const unsigned char *end;
    int depth;
} gw_reader;

static json_t *read_value(gw_reader *reader);

static void skip_space(gw_reader *reader) {
    while (reader->at < reader->end) {
        unsigned char byte = *reader->at;
        if (byte != ' ' && byte != '\n' && byte != '\r' && byte != '\t') return;
        reader->at++;
    }
}

// Length of the well-formed UTF-8 sequence starting at `at` (first byte >= 0x80), 0 if none.
static size_t utf8_sequence(const unsigned char *at, const unsigned char *end) {
    unsigned char first = at[0];
    size_t count;
    unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
    if (first >= 0xC2 && first <= 0xDF) count = 2;
    else if (first >= 0xE0 && first <= 0xEF) {
        count = 3;
        if (first == 0xE0) low = 0xA0;        // overlong
        else if (first == 0xED) high = 0x9F;  // surrogates
    } else if (first >= 0xF0 && first <= 0xF4) {
        count = 4;
        if (first == 0xF0) low = 0x90;        // overlong
        else if (first == 0xF4) high = 0x8F;  // above U+10FFFF
    } else return 0;
    if ((size_t)(end - at) < count) return 0;
    if (at[1] < low || at[1] > high) return 0;
    for (size_t index = 2; index < count; index++) {
        if (at[index] < 0x80 || at[index] > 0xBF) return 0;
    }
    return count;
}

static int hex_value(const unsigned char *at, const unsigned char *end) {
    if (end - at < 4) return -1;
    int value = 0;
    for (int index = 0; index < 4; index++) {
        unsigned char digit = at[index];
        value <<= 4;
        if (digit >= '0' && digit <= '9') value += digit - '0';
        else if (digit >= 'a' && digit <= 'f') value += digit - 'a' + 10;
        else if (digit >= 'A' && digit <= 'F') value += digit - 'A' + 10;
        else return -1;
    }
    return value;
}

static size_t utf8_encode(int32_t code, char *out) {
    if (code < 0x80) { out[0] = (char)code; return 1; }
    if (code < 0x800) {
        out[0] = (char)(0xC0 | (code >> 6));
        out[1] = (char)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (char)(0xE0 | (code >> 12));
        out[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        out[2] = (char)(0x80 | (code & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (code >> 18));
    out[1] = (char)(0x80 | ((code >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((code >> 6) & 0x3F));
    out[3] = (char)(0x80 | (code & 0x3F));
    return 4;
}

// Decodes the escapes of a string whose raw bytes (between the quotes) are [start, end), already
// checked for UTF-8 and control characters, into `out` (at least end - start bytes). Returns the
// decoded length, or -1 for what jansson refuses (a bad escape, a lone surrogate) or \u0000.
static long decode_escapes(const unsigned char *start, const unsigned char *end, char *out) {
    size_t length = 0;
    const unsigned char *at = start;
    while (at < end) {
        if (*at != '\\') { out[length++] = (char)*at++; continue; }
        at++;
        if (at >= end) return -1;
        unsigned char kind = *at++;
        switch (kind) {
        case '"': case '\\': case '/': out[length++] = (char)kind; break;
        case 'b': out[length++] = '\b'; break;
        case 'f': out[length++] = '\f'; break;
        case 'n': out[length++] = '\n'; break;
        case 'r': out[length++] = '\r'; break;
        case 't': out[length++] = '\t'; break;
        case 'u': {
            int32_t code = hex_value(at, end);
            if (code < 0) return -1;
            at += 4;
            if (code >= 0xD800 && code <= 0xDBFF) {
                if (end - at < 6 || at[0] != '\\' || at[1] != 'u') return -1;
                int32_t second = hex_value(at + 2, end);
                if (second < 0xDC00 || second > 0xDFFF) return -1;
                at += 6;
                code = ((code - 0xD800) << 10) + (second - 0xDC00) + 0x10000;
            } else if (code >= 0xDC00 && code <= 0xDFFF) {
                return -1;
            } else if (code == 0) {
                return -1;
            }
            length += utf8_encode(code, out + length);
            break;
        }
        default: return -1;
        }
    }
    return (long)length;
}

// The string at the reader (after its opening quote), passed to `use` with its decoded bytes.
// Returns the result of `use`, or NULL when the string is not one this loader takes.
typedef json_t *(*gw_string_use)(const char *text, size_t length, void *context);

static json_t *read_string(gw_reader *reader, gw_string_use use, void *context) {
    const unsigned char *start = reader->at;
    const unsigned char *at = start;
    int escaped = 0;
    for (;;) {
        if (at >= reader->end) return NULL;
        unsigned char byte = *at;
        if (byte == '"') break;
        if (byte < 0x20) return NULL;
        if (byte == '\\') {
            // Skip the escaped byte so an escaped quote does not end the string; the escape
            // itself is checked when decoding.
            escaped = 1;
            at += 2;
            continue;
        }
        if (byte >= 0x80) {
            size_t count = utf8_sequence(at, reader->end);
            if (count == 0) return NULL;
            at += count;
            continue;
        }
        at++;
    }
    if (at > reader->end) return NULL;
    reader->at = at + 1;
    size_t raw = (size_t)(at - start);
    if (!escaped) return use((const char *)start, raw, context);
    char small[GW_LOAD_STACK_TEXT];
    char *decoded = raw <= sizeof small ? small : malloc(raw);
    if (!decoded) return NULL;
    long length = decode_escapes(start, at, decoded);
    json_t *result = length < 0 ? NULL : use(decoded, (size_t)length, context);
    if (decoded != small) free(decoded);
    return result;
}

static json_t *string_value(const char *text, size_t length, void *context) {
    (void)context;
    return json_stringn_nocheck(text, length);
}

static json_t *read_number(gw_reader *reader) {
    const unsigned char *at = reader->at;
    int negative = 0;
    if (*at == '-') { negative = 1; at++; }
    if (at >= reader->end || *at < '0' || *at > '9') return NULL;
    uint64_t magnitude = 0;
    if (*at == '0') {
        at++;
        if (at < reader->end && *at >= '0' && *at <= '9') return NULL;  // leading zero
    } else {
        while (at < reader->end && *at >= '0' && *at <= '9') {
            unsigned digit = *at - '0';
            if (magnitude > (UINT64_MAX - digit) / 10) return NULL;
            magnitude = magnitude * 10 + digit;
            at++;
        }
    }
    // Reals are jansson's (strtod, its overflow error).
    if (at < reader->end && (*at == '.' || *at == 'e' || *at == 'E')) return NULL;
    json_int_t value;
    if (negative) {
        if (magnitude > (uint64_t)INT64_MAX + 1) return NULL;
        value = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)magnitude;
    } else {
        if (magnitude > (uint64_t)INT64_MAX) return NULL;
        value = (json_int_t)magnitude;
    }
    reader->at = at;
    return json_integer(value);
}

static int read_word(gw_reader *reader, const char *word, size_t length) {
    if ((size_t)(reader->end - reader->at) < length || memcmp(reader->at, word, length) != 0) return 0;
    // jansson reads the whole identifier: "truex" is one invalid token.
    const unsigned char *after = reader->at + length;
    if (after < reader->end && ((*after >= 'a' && *after <= 'z') || (*after >= 'A' && *after <= 'Z'))) return 0;
    reader->at = after;
    return 1;
}

typedef struct {
    json_t *object;
    json_t *value;
} gw_member;

// Sets the member; a key that is already there (jansson refuses duplicates) gives NULL.
static json_t *set_member(const char *key, size_t length, void *context) {
    gw_member *member = context;
    if (memchr(key, '\0', length)) return NULL;
    size_t before = json_object_size(member->object);
    json_t *value = member->value;
    member->value = NULL;  // the set takes it, or frees it when it fails
    if (json_object_setn_new_nocheck(member->object, key, length, value) != 0) return NULL;
    // Setting an existing key replaces its value and leaves the size as it was.
    return json_object_size(member->object) > before ? member->object : NULL;
}

static json_t *read_object(gw_reader *reader) {
    json_t *object = json_object();
    if (!object) return NULL;
    skip_space(reader);
    if (reader->at < reader->end && *reader->at == '}') {
        reader->at++;
        return object;
    }
    for (;;) {
        if (reader->at >= reader->end || *reader->at != '"') goto fail;
        // The key is decoded after its value is read (set_member needs both); remember where.
        reader->at++;
        gw_reader key_reader = *reader;
        // Skip the key: find its end without building anything.
        const unsigned char *at = reader->at;
        for (;;) {
            if (at >= reader->end) goto fail;
            if (*at == '"') break;
            at += *at == '\\' ? 2 : 1;
        }
        if (at >= reader->end) goto fail;
        reader->at = at + 1;
        skip_space(reader);
        if (reader->at >= reader->end || *reader->at != ':') goto fail;
        reader->at++;
        skip_space(reader);
        gw_member member = {object, read_value(reader)};
        if (!member.value) goto fail;
        if (!read_string(&key_reader, set_member, &member)) {
            if (member.value) json_decref(member.value);
            goto fail;
        }
        skip_space(reader);
        if (reader->at >= reader->end) goto fail;
        if (*reader->at == ',') {
            reader->at++;
            skip_space(reader);
            continue;
        }
        if (*reader->at == '}') {
            reader->at++;
            return object;
        }
        goto fail;
    }
fail:
    json_decref(object);
    return NULL;
}

static json_t *read_array(gw_reader *reader) {
    json_t *array = json_array();
    if (!array) return NULL;
    skip_space(reader);
    if (reader->at < reader->end && *reader->at == ']') {
        reader->at++;
        return array;
    }
    for (;;) {
        json_t *element = read_value(reader);
        if (!element || json_array_append_new(array, element) != 0) goto fail;
        skip_space(reader);
        if (reader->at >= reader->end) goto fail;
        if (*reader->at == ',') {
            reader->at++;
            skip_space(reader);
            continue;
        }
        if (*reader->at == ']') {
            reader->at++;
            return array;
        }
        goto fail;
    }
fail:
    json_decref(array);
    return NULL;
}

// The value at the reader (whitespace before it already skipped).
static json_t *read_value(gw_reader *reader) {
    if (reader->at >= reader->end) return NULL;
    if (++reader->depth > GW_LOAD_MAX_DEPTH) return NULL;
    json_t *value;
    switch (*reader->at) {
    case '{': reader->at++; value = read_object(reader); break;
    case '[': reader->at++; value = read_array(reader); break;
    case '"': reader->at++; value = read_string(reader, string_value, NULL); break;
    case 't': value = read_word(reader, "true", 4) ? json_true() : NULL; break;
    case 'f': value = read_word(reader, "false", 5) ? json_false() : NULL; break;
    case 'n': value = read_word(reader, "null", 4) ? json_null() : NULL; break;
    default: value = read_number(reader); break;
    }
    reader->depth--;
    return value;
}

json_t *gw_json_load_fast(const char *buffer, size_t length) {
    if (!buffer) return NULL;
    gw_reader reader = {(const unsigned char *)buffer, (const unsigned char *)buffer + length, 0};
    skip_space(&reader);
    json_t *value = read_value(&reader);
    if (!value) return NULL;
    skip_space(&reader);
    if (reader.at != reader.end) {
        json_decref(value);
        return NULL;
    }
    return value;
}
