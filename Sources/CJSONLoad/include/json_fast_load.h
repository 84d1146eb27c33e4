#ifndef JSON_FAST_LOAD_H
#define JSON_FAST_LOAD_H
#include <jansson.h>
#include <stddef.h>

/// The document in `buffer` as jansson values, the very values
/// json_loadb(buffer, length, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, ...) returns, or NULL
/// when this loader leaves the document to jansson: anything it does not accept (every invalid
/// document, and valid ones it does not handle: reals, deeper than 512 levels). Call json_loadb
/// then; it returns the value or the error to show. So a NULL here is never an answer by itself.
json_t *gw_json_load_fast(const char *buffer, size_t length);

#endif
