/*
 * probe_formats.h — the per-format walkers behind image_probe_inspect(). Internal.
 *
 * Each walker gets bytes whose magic already matched, reads the dimensions, calls
 * probe_check_dimensions() BEFORE walking the rest (so a bomb is named as a bomb, not as
 * "truncated"), then walks the structure to its end marker.
 */
#ifndef THUMBNAILER_PROBE_FORMATS_H
#define THUMBNAILER_PROBE_FORMATS_H

#include "image_probe.h"

/* Internal to libThumbnailer.so: only gateway_plugin_entry is exported. */
#pragma GCC visibility push(hidden)

/** GW_OK when width x height is within limits; GW_REJECT with a coded message otherwise. */
gw_result probe_check_dimensions(const char *what, uint64_t width, uint64_t height,
                                 const image_limits *limits, gw_message *message);

gw_result probe_png(const uint8_t *bytes, size_t length, const image_limits *limits,
                    image_probe *probe, gw_message *message);
gw_result probe_jpeg(const uint8_t *bytes, size_t length, const image_limits *limits,
                     image_probe *probe, gw_message *message);
gw_result probe_gif(const uint8_t *bytes, size_t length, const image_limits *limits,
                    image_probe *probe, gw_message *message);

static inline uint32_t probe_read_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint16_t probe_read_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint16_t probe_read_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

#pragma GCC visibility pop

#endif /* THUMBNAILER_PROBE_FORMATS_H */
