/* thumbnailer_config.c — strict parsing: an unknown key or an out-of-range value is an error. */
#include "thumbnailer_config.h"

#include <limits.h>
#include <string.h>

typedef struct integer_key {
    const char *name;
    json_int_t minimum;
    json_int_t maximum;
} integer_key;

/* max_bytes stops at INT_MAX because libgd takes buffer sizes as int. max_dimension stops at
 * 1000000 so width * height cannot overflow anywhere downstream. */
static const integer_key keys[] = {
    {"max_bytes", 1, INT_MAX},
    {"max_pixels", 1, (json_int_t)1 << 40},
    {"max_dimension", 1, 1000000},
    {"max_jpeg_scans", 1, 10000},
    {"jpeg_quality", 1, 100},
};
enum { KEY_COUNT = sizeof keys / sizeof keys[0] };

static void set_key(thumbnailer_config *config, size_t index, json_int_t value) {
    switch (index) {
    case 0: config->limits.max_bytes = (size_t)value; break;
    case 1: config->limits.max_pixels = (uint64_t)value; break;
    case 2: config->limits.max_dimension = (uint32_t)value; break;
    case 3: config->limits.max_jpeg_scans = (uint32_t)value; break;
    case 4: config->jpeg_quality = (int)value; break;
    }
}

int thumbnailer_config_parse(const json_t *json, thumbnailer_config *config, gw_message *error) {
    config->limits.max_bytes = 20u * 1024 * 1024;
    config->limits.max_pixels = 40000000;
    config->limits.max_dimension = 16384;
    config->limits.max_jpeg_scans = 100;
    config->jpeg_quality = 85;
    if (json == NULL) return 0;
    if (!json_is_object(json)) {
        gw_message_set(error, "thumbnailer.config_invalid: the config must be a table (JSON object)");
        return -1;
    }
    const char *key;
    json_t *value;
    /* jansson's iteration macro takes a non-const object; it only reads. */
    json_object_foreach((json_t *)json, key, value) {
        size_t index = 0;
        while (index < KEY_COUNT && strcmp(keys[index].name, key) != 0) index++;
        if (index == KEY_COUNT) {
            gw_message_set(error, "thumbnailer.config_unknown_key: unknown key '%s' (known: max_bytes, "
                           "max_pixels, max_dimension, max_jpeg_scans, jpeg_quality)", key);
            return -1;
        }
        const integer_key *spec = &keys[index];
        if (!json_is_integer(value) || json_integer_value(value) < spec->minimum
            || json_integer_value(value) > spec->maximum) {
            gw_message_set(error, "thumbnailer.config_invalid_value: '%s' must be an integer from %lld to %lld",
                           key, (long long)spec->minimum, (long long)spec->maximum);
            return -1;
        }
        set_key(config, index, json_integer_value(value));
    }
    return 0;
}
