#ifndef JSON_COMPACT_DUMP_H
#define JSON_COMPACT_DUMP_H
#include <jansson.h>
#include <stddef.h>

/// The document as compact JSON (no spaces, keys in insertion order), byte for byte what
/// json_dumpb(json, buffer, size, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) writes,
/// and with its contract: writes at most `size` bytes and returns the length the whole document
/// needs (call again with a larger buffer when it is larger than `size`), 0 on error.
size_t gw_json_dump_compact(const json_t *json, char *buffer, size_t size);

#endif
